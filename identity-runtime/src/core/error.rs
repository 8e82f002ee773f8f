//! The errors of the runtime and the settings they name: [`Error`] for what goes wrong while a
//! user signs in, [`ConfigError`] and [`Setting`] for a configuration that cannot work.

use std::sync::Arc;

use axum::http::StatusCode;

// Configuration errors, the settings they name and the flows of provider requests live in
// `setting`; they are errors of this crate too, so `crate::core::error` names them as well.
pub use super::setting::{ConfigError, Flow, Setting};

/// A boxed cause, as [`Error`] keeps it.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Everything that can go wrong while signing a user in, refreshing a token or signing out.
///
/// Each case maps to the status a client deserves: a stale or tampered callback is the client's
/// problem (400), an unreachable provider or session store is ours (502/503), and only a broken
/// setup of the application itself is a 500. Causes are kept ([`std::error::Error::source`]) for
/// the log; the page a user sees never shows them.
///
/// ```
/// use axum::response::IntoResponse;
/// use axum_identity_runtime::Error;
///
/// let response = Error::UnknownState.into_response();
/// assert_eq!(response.status(), 400);
/// assert_eq!(Error::UnknownState.title(), "Sign-in expired");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The callback's `state` matches no sign-in this browser started: stale, replayed, forged,
    /// or started in a browser whose session has since ended.
    #[error("this sign-in link is stale or was already used; please sign in again")]
    UnknownState,
    /// The callback's `state` matches no sign-in, and the browser sent no session cookie at
    /// all: most often the sign-in started on another origin than the redirect URI's (the app
    /// opened at `http://localhost:5000` with a redirect URI on `http://127.0.0.1:5000`, or the
    /// other way round), so the cookie set there is not sent here; or cookies are blocked.
    #[error(
        "the sign-in came back to {origin} without a session cookie; was it started on another origin?"
    )]
    NoSessionCookie {
        /// The redirect URI's origin: where the app should be opened.
        origin: String,
    },
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
    /// The provider answered a token request with another error, or with something unreadable.
    #[error("the identity provider answered with an error: {detail}")]
    TokenEndpoint {
        /// The provider's error code and description, or what was wrong with its answer.
        detail: String,
        /// Why the answer could not be read, when that is the problem.
        #[source]
        source: Option<BoxError>,
    },
    /// The provider could not be reached, timed out, or answered with something unusable.
    #[error("the identity provider is unavailable: {what}")]
    ProviderUnavailable {
        /// What was attempted (`GET <url>`) and what went wrong.
        what: String,
        /// The transport or parse error behind it.
        #[source]
        source: Option<BoxError>,
    },
    /// More Device Code sign-ins started in the last minute than the application allows
    /// (`AuthBuilder::device_code_starts_per_minute`): each costs a request to the provider,
    /// which throttles the whole application when there are too many.
    #[error("too many sign-ins started in the last minute")]
    TooManySignIns,
    /// The session store failed. The cause is boxed (a `tower_sessions::session::Error`, or
    /// the store's own), so the store's error type is not part of this API.
    #[error("the session store is unavailable")]
    SessionStore(#[source] BoxError),
    /// Signing out could not end the session in the store (it is down): the cookie was
    /// expired, but the session may live on until the store is back.
    #[error("signing out could not complete: the session store is unavailable")]
    SignOutIncomplete(#[source] BoxError),
    /// The provider wants the user to do something first (multi-factor authentication, consent)
    /// before it issues a token on their behalf: a 403 whose
    /// [`www_authenticate`](Error::www_authenticate) challenge lets the API's client act on it.
    #[error("the identity provider needs the user's interaction: {detail}")]
    InteractionRequired {
        /// The provider's error code and description.
        detail: String,
        /// The claims challenge (a JSON string), when the provider sent one.
        claims: Option<String>,
    },
    /// The scopes a handler needs were not granted by the user or the provider.
    #[error("the identity provider did not grant {}", quoted(.0))]
    ScopesNotGranted(Vec<String>),
    /// The signed-in user lacks app roles a handler requires (`#[login_required(roles = [..])]`).
    #[error("you need the role {} for this page", quoted(.0))]
    RolesMissing(Vec<String>),
    /// The application does not admit this user: an allow-list (tenants, email domains) or
    /// its sign-in hook said no. The reason is the application's, shown to the user (403); no
    /// session is signed in.
    #[error("{0}")]
    SignInDenied(String),
    /// The application's sign-in hook failed (an error, a panic, or no answer in time): the
    /// user is not signed in (500; the cause goes to the log only).
    #[error("the application's sign-in hook failed: {0}")]
    SignInHook(String),
    /// The page is for users of another of the application's providers
    /// (`#[login_required(provider = "..")]`): a 403, not a sign-in loop.
    #[error("this page is for users who sign in with `{0}`")]
    OtherProvider(String),
    /// A sign-in was asked of a provider the application does not have (404).
    #[error("there is no sign-in provider called `{0}`")]
    UnknownProvider(String),
    /// The provider signed the user in without what the page requires (a recent enough
    /// authentication for `max_age`, or the `acr` asked for): asking again would loop (403).
    #[error("{0}")]
    StepUpNotMet(String),
    /// A token refresh that this request waited for (together with others) failed.
    #[error("the token refresh failed: {0}")]
    Refresh(#[source] Arc<Error>),
    /// A token request of the application ([`Auth::token_for_client`](crate::Auth::token_for_client),
    /// [`Auth::token_on_behalf_of`](crate::Auth::token_on_behalf_of)) failed; callers that
    /// waited for it share its error.
    #[error("the application's token request failed: {0}")]
    ClientToken(#[source] Arc<Error>),
    /// The application's configuration is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The application is wired up wrongly (a missing layer): a bug in the application.
    #[error("axum-identity is not set up: {0}")]
    Setup(&'static str),
}

fn quoted(scopes: &[String]) -> String {
    scopes
        .iter()
        .map(|s| format!("`{s}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Error {
    /// The provider could not be reached or answered with something unusable.
    pub(crate) fn unavailable(what: impl Into<String>) -> Self {
        Error::ProviderUnavailable {
            what: what.into(),
            source: None,
        }
    }

    /// Like [`Error::unavailable`], keeping the cause.
    pub(crate) fn unavailable_because(
        what: impl Into<String>,
        source: impl Into<BoxError>,
    ) -> Self {
        Error::ProviderUnavailable {
            what: what.into(),
            source: Some(source.into()),
        }
    }

    /// The provider answered a token request with an error.
    pub(crate) fn token_endpoint(detail: impl Into<String>) -> Self {
        Error::TokenEndpoint {
            detail: detail.into(),
            source: None,
        }
    }

    /// A session-store failure outside a [`tower_sessions::Session`] (the logout markers).
    pub(crate) fn store(error: tower_sessions::session_store::Error) -> Self {
        Error::SessionStore(Box::new(tower_sessions::session::Error::Store(error)))
    }

    /// The error itself, seen through a shared refresh.
    fn underlying(&self) -> &Error {
        match self {
            Error::Refresh(shared) | Error::ClientToken(shared) => shared.underlying(),
            other => other,
        }
    }

    /// What failed, for the log line of an error page: a failed silent refresh or an
    /// application token is not a failed sign-in, and a configuration mistake says so.
    pub(crate) fn failure_label(&self) -> &'static str {
        match self {
            Error::Config(ConfigError::Refused {
                flow: Flow::Refresh,
                ..
            }) => "token refresh refused: the configuration needs fixing",
            Error::Config(ConfigError::Refused {
                flow: Flow::AppToken,
                ..
            }) => "app token request refused: the configuration needs fixing",
            Error::Config(_) => "sign-in is not configured correctly",
            Error::Refresh(inner) if matches!(**inner, Error::Config(_)) => {
                "token refresh refused: the configuration needs fixing"
            }
            Error::Refresh(_) => "token refresh failed",
            Error::ClientToken(inner) if matches!(**inner, Error::Config(_)) => {
                "app token request refused: the configuration needs fixing"
            }
            Error::ClientToken(_) => "app token request failed",
            Error::SignInDenied(_) => "sign-in refused by the application's rules",
            Error::SignInHook(_) => "the application's sign-in hook failed",
            Error::StepUpNotMet(_) => "the provider did not satisfy the page's sign-in requirement",
            _ => "sign-in failed",
        }
    }

    /// The `WWW-Authenticate` value a web API answers with when the provider asked for the
    /// user's interaction (RFC 6750 §3, with Entra ID's `insufficient_claims` and the claims
    /// challenge in base64): the API's client takes the user through sign-in with those claims.
    pub fn www_authenticate(&self) -> Option<String> {
        use base64::Engine as _;
        match self.underlying() {
            Error::InteractionRequired { claims, .. } => Some(match claims {
                Some(claims) => format!(
                    "Bearer error=\"insufficient_claims\", claims=\"{}\"",
                    base64::engine::general_purpose::STANDARD.encode(claims)
                ),
                None => "Bearer error=\"insufficient_scope\"".to_owned(),
            }),
            _ => None,
        }
    }

    /// The HTTP status this error deserves.
    pub fn status(&self) -> StatusCode {
        match self.underlying() {
            Error::UnknownState
            | Error::NoSessionCookie { .. }
            | Error::Expired
            | Error::Provider { .. }
            | Error::MissingParameter(_)
            | Error::DuplicateParameter(_)
            | Error::Malformed(_)
            | Error::InvalidToken(_)
            | Error::InvalidGrant(_) => StatusCode::BAD_REQUEST,
            Error::ScopesNotGranted(_)
            | Error::RolesMissing(_)
            | Error::SignInDenied(_)
            | Error::StepUpNotMet(_)
            | Error::OtherProvider(_)
            | Error::InteractionRequired { .. } => StatusCode::FORBIDDEN,
            Error::UnknownProvider(_) => StatusCode::NOT_FOUND,
            Error::TokenEndpoint { .. } => StatusCode::BAD_GATEWAY,
            Error::TooManySignIns => StatusCode::TOO_MANY_REQUESTS,
            Error::ProviderUnavailable { .. }
            | Error::SessionStore(_)
            | Error::SignOutIncomplete(_) => StatusCode::SERVICE_UNAVAILABLE,
            Error::Config(_)
            | Error::Setup(_)
            | Error::Refresh(_)
            | Error::ClientToken(_)
            | Error::SignInHook(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// A short title for the error page.
    pub fn title(&self) -> &'static str {
        match self.underlying() {
            Error::UnknownState | Error::NoSessionCookie { .. } | Error::Expired => {
                "Sign-in expired"
            }
            Error::Provider { error, .. } if error == "access_denied" => "Sign-in cancelled",
            Error::Provider { .. }
            | Error::MissingParameter(_)
            | Error::DuplicateParameter(_)
            | Error::Malformed(_)
            | Error::InvalidToken(_)
            | Error::InvalidGrant(_) => "Sign-in failed",
            Error::ScopesNotGranted(_) | Error::InteractionRequired { .. } => {
                "Permission not granted"
            }
            Error::RolesMissing(_) | Error::SignInDenied(_) | Error::OtherProvider(_) => {
                "Access denied"
            }
            Error::UnknownProvider(_) => "Not found",
            Error::StepUpNotMet(_) => "Stronger sign-in required",
            Error::SignInHook(_) => "Sign-in could not complete",
            Error::TokenEndpoint { .. } | Error::ProviderUnavailable { .. } => {
                "Identity provider unavailable"
            }
            Error::SessionStore(_) => "Service unavailable",
            Error::TooManySignIns => "Too many sign-ins",
            Error::SignOutIncomplete(_) => "Sign-out incomplete",
            Error::Config(_) | Error::Setup(_) | Error::Refresh(_) | Error::ClientToken(_) => {
                "Configuration error"
            }
        }
    }

    /// Whether signing in again is the way out, so the page offers a link for it.
    pub fn can_sign_in_again(&self) -> bool {
        !matches!(self.underlying(), Error::Config(_) | Error::Setup(_))
    }

    /// What the user is told. Server-side failures keep their details for the log.
    pub(crate) fn public_message(&self) -> String {
        match self.underlying() {
            Error::SessionStore(_) => {
                "The service cannot reach its session store right now. Please try again shortly."
                    .into()
            }
            Error::SignOutIncomplete(_) => {
                "Signing out could not complete: the service cannot reach its session store. This browser is signed out, but the session may still be active elsewhere; please sign out again shortly."
                    .into()
            }
            Error::ProviderUnavailable { .. } | Error::TokenEndpoint { .. } => {
                "The identity provider cannot be reached right now. Please try again shortly."
                    .into()
            }
            Error::Config(_) | Error::Setup(_) => {
                "The application's sign-in is not configured correctly.".into()
            }
            Error::TooManySignIns => {
                "Too many sign-ins are starting right now. Please try again in a minute.".into()
            }
            Error::UnknownState => {
                "This sign-in page was open too long, was already used, or belongs to another browser.".into()
            }
            Error::NoSessionCookie { origin } => format!(
                "Your browser came back from signing in without the cookie of this site. This \
                 happens when the sign-in was started at another address than {origin} (to a \
                 browser, localhost and 127.0.0.1 are different hosts): open {origin} and sign \
                 in again. Blocked cookies have the same effect."
            ),
            Error::Expired => "The sign-in took too long to complete.".into(),
            Error::InvalidGrant(_) => "The identity provider did not accept this sign-in.".into(),
            // Why a token was refused (a signature, an issuer, a nonce) helps an attacker more
            // than a user: it goes to the log, under the reference the page shows.
            Error::InvalidToken(_) => {
                "The identity provider's answer could not be verified, so you were not signed in. Please sign in again; if this keeps happening, tell the site's administrator the reference below.".into()
            }
            Error::MissingParameter(_) | Error::DuplicateParameter(_) => {
                "The answer from the identity provider was incomplete or malformed, so you were not signed in. Please sign in again.".into()
            }
            Error::SignInHook(_) => {
                "Sign-in could not complete: the application could not check your account. Please try again shortly.".into()
            }
            Error::SignInDenied(reason) => {
                let reason: String = reason.chars().take(300).collect();
                format!("You cannot sign in to this application: {}", reason.trim())
            }
            Error::InteractionRequired { .. } => {
                "The identity provider needs you to do something first (multi-factor authentication or consent). Please sign in again.".into()
            }
            // Text from an unauthenticated callback: shown, labelled as the provider's words.
            Error::Provider { error, description } => {
                let what = if error == "access_denied" {
                    "The sign-in was cancelled or refused."
                } else {
                    "The identity provider could not sign you in."
                };
                let description: String = description.chars().take(300).collect();
                if description.trim().is_empty() {
                    format!("{what} (The identity provider's error code: {error}.)")
                } else {
                    format!(
                        "{what} The identity provider's message (error code {error}): \u{201c}{}\u{201d}",
                        description.trim()
                    )
                }
            }
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

    /// The error and every cause behind it, for a log line. Control characters are escaped
    /// (`\n`, `\r`, `\u{1b}`): an error may quote what a request or a provider sent, and a
    /// raw line break in it would forge a log line of its own.
    pub(crate) fn chain(&self) -> String {
        let mut text = self.to_string();
        let mut source = std::error::Error::source(self);
        while let Some(cause) = source {
            let cause_text = cause.to_string();
            if !text.ends_with(&cause_text) {
                text.push_str(": ");
                text.push_str(&cause_text);
            }
            source = cause.source();
        }
        escape_controls(&text)
    }
}

/// `text` with its control characters escaped, for a log line.
pub(crate) fn escape_controls(text: &str) -> String {
    if !text.chars().any(char::is_control) {
        return text.to_owned();
    }
    text.chars()
        .fold(String::with_capacity(text.len() + 8), |mut out, c| {
            if c.is_control() {
                out.extend(c.escape_default());
            } else {
                out.push(c);
            }
            out
        })
}

impl From<tower_sessions::session::Error> for Error {
    fn from(error: tower_sessions::session::Error) -> Self {
        Error::SessionStore(Box::new(error))
    }
}

#[cfg(test)]
mod tests;
