//! The one error type of the runtime, and how each case becomes an HTTP response.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use crate::config::ConfigError;
use crate::pages::{DefaultPages, ErrorPage, Pages};

/// Everything that can go wrong while signing a user in, refreshing a token or signing out.
///
/// Each case maps to the status a client deserves: a stale or tampered callback is the client's
/// problem (400), an unreachable provider or session store is ours (502/503), and only a broken
/// setup of the application itself is a 500.
///
/// ```
/// use axum::response::IntoResponse;
/// use axum_identity_runtime::Error;
///
/// let response = Error::UnknownState.into_response();
/// assert_eq!(response.status(), 400);
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The callback's `state` matches no sign-in this browser started: stale, replayed, forged,
    /// or started in a browser whose session has since ended.
    #[error("this sign-in link is stale or was already used; please sign in again")]
    UnknownState,
    /// The sign-in took longer than the configured login timeout.
    #[error("the sign-in took too long; please sign in again")]
    Expired,
    /// The provider sent the user back with an error (`access_denied`, `consent_required`, ...).
    #[error("the identity provider reported `{error}`: {description}")]
    Provider {
        /// The OAuth error code.
        error: String,
        /// The provider's `error_description`, or an empty string.
        description: String,
    },
    /// A callback parameter that must be present is missing.
    #[error("the sign-in response is missing `{0}`")]
    MissingParameter(&'static str),
    /// A callback parameter came more than once: nothing a real provider sends.
    #[error("the sign-in response has `{0}` more than once")]
    DuplicateParameter(String),
    /// The callback could not be parsed.
    #[error("the sign-in response is malformed: {0}")]
    Malformed(String),
    /// The ID token (or a response that should identify the same user) failed validation.
    #[error("the identity provider's answer was rejected: {0}")]
    InvalidToken(String),
    /// The provider refused the grant (`invalid_grant`: a used or expired code, a revoked
    /// refresh token). The user has to sign in again.
    #[error("the identity provider refused the grant: {0}")]
    InvalidGrant(String),
    /// The provider answered a token request with another error.
    #[error("the identity provider answered with an error: {0}")]
    TokenEndpoint(String),
    /// The provider could not be reached, timed out, or answered with something unusable.
    #[error("the identity provider is unavailable: {0}")]
    ProviderUnavailable(String),
    /// The session store failed.
    #[error("the session store is unavailable: {0}")]
    SessionStore(String),
    /// The scopes a handler needs were not granted by the user or the provider.
    #[error("the identity provider did not grant {0}")]
    ScopesNotGranted(String),
    /// The application's configuration is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The application is wired up wrongly (a missing layer): a bug in the application.
    #[error("axum-identity is not set up: {0}")]
    Setup(&'static str),
}

impl Error {
    /// The HTTP status this error deserves.
    pub fn status(&self) -> StatusCode {
        match self {
            Error::UnknownState
            | Error::Expired
            | Error::Provider { .. }
            | Error::MissingParameter(_)
            | Error::DuplicateParameter(_)
            | Error::Malformed(_)
            | Error::InvalidToken(_)
            | Error::InvalidGrant(_) => StatusCode::BAD_REQUEST,
            Error::ScopesNotGranted(_) => StatusCode::FORBIDDEN,
            Error::TokenEndpoint(_) => StatusCode::BAD_GATEWAY,
            Error::ProviderUnavailable(_) | Error::SessionStore(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Error::Config(_) | Error::Setup(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// A short title for the error page.
    pub fn title(&self) -> &'static str {
        match self {
            Error::UnknownState | Error::Expired => "Sign-in expired",
            Error::Provider { error, .. } if error == "access_denied" => "Sign-in cancelled",
            Error::Provider { .. } => "Sign-in failed",
            Error::MissingParameter(_)
            | Error::DuplicateParameter(_)
            | Error::Malformed(_)
            | Error::InvalidToken(_)
            | Error::InvalidGrant(_) => "Sign-in failed",
            Error::ScopesNotGranted(_) => "Permission not granted",
            Error::TokenEndpoint(_) | Error::ProviderUnavailable(_) => {
                "Identity provider unavailable"
            }
            Error::SessionStore(_) => "Service unavailable",
            Error::Config(_) | Error::Setup(_) => "Configuration error",
        }
    }

    /// Whether signing in again is the way out, so the page offers a link for it.
    pub fn can_sign_in_again(&self) -> bool {
        !matches!(self, Error::Config(_) | Error::Setup(_))
    }

    /// What the user is told. Server-side failures keep their details for the log.
    pub(crate) fn public_message(&self) -> String {
        match self {
            Error::SessionStore(_) => {
                "The service cannot reach its session store right now. Please try again shortly."
                    .into()
            }
            Error::ProviderUnavailable(_) | Error::TokenEndpoint(_) => {
                "The identity provider cannot be reached right now. Please try again shortly."
                    .into()
            }
            Error::Config(_) | Error::Setup(_) => {
                "The application's sign-in is not configured correctly.".into()
            }
            Error::UnknownState => {
                "This sign-in page was open too long, was already used, or belongs to another browser.".into()
            }
            Error::Expired => "The sign-in took too long to complete.".into(),
            Error::InvalidGrant(_) => "The identity provider did not accept this sign-in.".into(),
            other => {
                let text = other.to_string();
                let mut chars = text.chars();
                match chars.next() {
                    Some(first) => first.to_uppercase().chain(chars).collect::<String>() + ".",
                    None => text,
                }
            }
        }
    }

    pub(crate) fn render(&self, pages: &dyn Pages, app_name: &str, login_url: &str) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::error!(error = %self, "sign-in failed");
        } else {
            tracing::info!(error = %self, "sign-in rejected");
        }
        let page = ErrorPage {
            app_name,
            status,
            title: self.title(),
            message: &self.public_message(),
            login_url: self.can_sign_in_again().then_some(login_url),
        };
        let mut response = (status, Html(pages.error(&page))).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if status == StatusCode::SERVICE_UNAVAILABLE {
            headers.insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        }
        response
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        self.render(&DefaultPages, "", "/login")
    }
}

impl From<tower_sessions::session::Error> for Error {
    fn from(error: tower_sessions::session::Error) -> Self {
        Error::SessionStore(error.to_string())
    }
}
