//! The web app's token sources for the downstream-API client: the signed-in user's [`Context`]
//! (the handler's own token when it covers the API's scopes, else the session's token cache),
//! and [`AppOnly`], the application itself (the client credentials grant).

use crate::core::error::Error;
use crate::services::downstream::TokenSource;
use crate::services::downstream_error::DownstreamError;
use crate::services::tokens::Failure;
use crate::web_app::auth::Auth;
use crate::web_app::context::Context;

impl TokenSource for Context {
    async fn token(
        &self,
        scopes: &[&str],
        refused: Option<&str>,
    ) -> Result<String, DownstreamError> {
        // The handler declared the API's scopes: its token, with no store read.
        let own = !self.access_token.is_empty()
            && refused != Some(self.access_token.as_str())
            && scopes.iter().all(|s| self.scopes.iter().any(|t| t == s));
        if own {
            return Ok(self.access_token.clone());
        }
        let Some(origin) = &self.origin else {
            return Err(DownstreamError::Token(Error::Setup(
                "this Context has no session to take a token from: take it as an extractor",
            )));
        };
        match origin.tokens.token(&origin.session, scopes, refused).await {
            Ok(token) => Ok(token),
            // No refresh token, or the grant is gone: the user signs in again for the scopes.
            Err(Failure::SignIn) => Err(DownstreamError::SignIn(self.sign_in_again(scopes, None))),
            Err(Failure::Declined(scopes)) => {
                Err(DownstreamError::Token(Error::ScopesNotGranted(scopes)))
            }
            Err(Failure::Error(error)) => Err(DownstreamError::Token(error)),
        }
    }

    /// The user signs in again with the claims and the API's scopes, back to this page, where
    /// the handler calls the API with the new token.
    fn claims_challenge(&self, claims: &str, scopes: &[&str]) -> DownstreamError {
        DownstreamError::SignIn(self.sign_in_again(scopes, Some(claims)))
    }
}

/// The application itself as a [`TokenSource`]: app-only tokens from
/// [`Auth::token_for_client`] (for Entra ID, scopes such as `api://<api id>/.default`), for a
/// daemon or a background job.
///
/// ```no_run
/// use axum_identity_runtime::{AppOnly, Auth, DownstreamApi};
///
/// # async fn run(auth: Auth) -> Result<(), Box<dyn std::error::Error>> {
/// let reports = DownstreamApi::new("https://reports.example/api", ["api://reports/.default"])?;
/// let app = AppOnly::new(auth);
/// let answer: serde_json::Value = reports.get(&app, "/daily").fetch_json().await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct AppOnly(Auth);

impl AppOnly {
    /// App-only tokens of `auth`'s registration.
    pub fn new(auth: Auth) -> AppOnly {
        AppOnly(auth)
    }
}

impl TokenSource for AppOnly {
    async fn token(
        &self,
        scopes: &[&str],
        refused: Option<&str>,
    ) -> Result<String, DownstreamError> {
        self.0
            .token_for_client_replacing(scopes, refused)
            .await
            .map(|token| token.access_token)
            .map_err(DownstreamError::Token)
    }

    /// No user to ask: the API's demand is an error of the application's (`403`).
    fn claims_challenge(&self, claims: &str, _: &[&str]) -> DownstreamError {
        DownstreamError::Token(Error::InteractionRequired {
            detail: "the downstream API asked an app-only token for more claims".into(),
            claims: Some(claims.to_owned()),
        })
    }
}
