//! App-only tokens of a managed identity (Python's `ManagedIdentityClient.acquire_token_for_client`):
//! the identity's own cache and single flight (`oidc/managed_identity.rs`), answered as the
//! [`ClientToken`] every app-only token is.

use crate::core::error::Error;
use crate::oidc::managed_identity::{ManagedIdentity, scope_to_resource};
use crate::services::app_tokens::ClientToken;

impl ManagedIdentity {
    /// An app-only token of the managed identity for `scopes`: one scope,
    /// `<resource>/.default`, which asks the endpoint for `resource` (as MSAL maps it). Cached
    /// until shortly before it expires; callers asking at the same time share one request;
    /// IMDS's and App Service's refusals that Microsoft says to retry (429, 5xx, and IMDS's
    /// 404 and 410 while it starts) are tried again with exponential back-off. An answer that
    /// is not JSON, has no token or one already expired is an error, and is not cached.
    ///
    /// ```no_run
    /// # async fn call(identity: axum_identity_runtime::ManagedIdentity) -> Result<(), Box<dyn std::error::Error>> {
    /// let token = identity.token_for_client(&["https://vault.azure.net/.default"]).await?;
    /// let secret = reqwest::Client::new()
    ///     .get("https://contoso.vault.azure.net/secrets/db?api-version=7.4")
    ///     .bearer_auth(&token.access_token)
    ///     .send()
    ///     .await?;
    /// # let _ = secret; Ok(()) }
    /// ```
    pub async fn token_for_client(&self, scopes: &[&str]) -> Result<ClientToken, Error> {
        let resource = scope_to_resource(scopes)?;
        let token = self.token(&resource).await.map_err(Error::ClientToken)?;
        Ok(ClientToken::from(&token))
    }
}
