//! A web API's token source for the downstream-API client: [`ApiContext`], whose token for
//! the downstream API comes from the on-behalf-of grant (or RFC 8693 token exchange) of the
//! API's downstream client, in exchange for the caller's own token.

use crate::core::error::Error;
use crate::services::downstream::TokenSource;
use crate::services::downstream_error::DownstreamError;
use crate::web_api::extract::ApiContext;

impl TokenSource for ApiContext {
    async fn token(
        &self,
        scopes: &[&str],
        refused: Option<&str>,
    ) -> Result<String, DownstreamError> {
        let Some((incoming, client)) = self.downstream() else {
            return Err(DownstreamError::Token(Error::Setup(
                "no downstream client for on-behalf-of tokens: add `.downstream_client(auth)` to the `ApiAuth` builder",
            )));
        };
        client
            .token_on_behalf_of_replacing(incoming, scopes, refused)
            .await
            .map(|token| token.access_token)
            .map_err(DownstreamError::Token)
    }

    /// The caller is told, as when the provider itself asks for the user's interaction: a
    /// `403` whose `WWW-Authenticate` carries the claims, for the caller to take its user
    /// through sign-in with them.
    fn claims_challenge(&self, claims: &str, _: &[&str]) -> DownstreamError {
        DownstreamError::Token(Error::InteractionRequired {
            detail: "insufficient_claims: the downstream API asked for more claims".into(),
            claims: Some(claims.to_owned()),
        })
    }
}
