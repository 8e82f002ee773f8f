//! Who may sign in: the allow-lists (tenants, verified email domains) and the application's
//! sign-in hook, decided once per completed sign-in, before anything is stored.
//!
//! A refusal or a failure here happens before the session holds a signed-in user, so there is
//! never a half-signed-in session: the browser gets a 403 (refused) or a 500 (the hook failed)
//! page and stays signed out.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::core::error::{BoxError, ConfigError, Error, Setting};
use crate::web_app::context::User;

/// How long a sign-in hook may take by default before the sign-in fails: long enough for a
/// database query or an API call, short enough that a user is not left waiting on a hung one.
pub(crate) const DEFAULT_HOOK_TIMEOUT: Duration = Duration::from_secs(10);

/// The future a sign-in hook returns.
pub(crate) type HookFuture = Pin<Box<dyn Future<Output = Result<SignInDecision, BoxError>> + Send>>;

/// The application's sign-in hook, as the builder keeps it.
pub(crate) type Hook = Arc<dyn Fn(SignInEvent) -> HookFuture + Send + Sync>;

/// How the user signed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignInMethod {
    /// The authorization code flow, at the redirect URI.
    AuthorizationCode,
    /// The Device Code flow (RFC 8628).
    DeviceCode,
}

/// A sign-in the provider completed and this library verified, as the application's
/// [sign-in hook](crate::AuthBuilder::on_sign_in) sees it: the user is not signed in yet.
#[non_exhaustive]
pub struct SignInEvent {
    /// The verified ID token's claims.
    pub user: User,
    /// The access token of the same answer, for [`scopes`](SignInEvent::scopes), when the
    /// provider issued one: for a call to an API (Microsoft Graph, say) before admitting the
    /// user.
    pub access_token: Option<String>,
    /// The scopes the provider granted with it.
    pub scopes: Vec<String>,
    /// How the user signed in.
    pub method: SignInMethod,
    /// The provider the user signed in with, as the application named it (`""` for the one
    /// provider of an application that names none).
    pub provider: String,
}

impl std::fmt::Debug for SignInEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Tokens never reach a log line.
        f.debug_struct("SignInEvent")
            .field("user", &self.user)
            .field(
                "access_token",
                &self.access_token.as_ref().map(|_| "<redacted>"),
            )
            .field("scopes", &self.scopes)
            .field("method", &self.method)
            .field("provider", &self.provider)
            .finish()
    }
}

/// What a sign-in hook decides: let the user in (with data of the application's kept in the
/// session), or turn them away with a reason they see.
///
/// ```
/// use axum_identity_runtime::SignInDecision;
///
/// let allowed = SignInDecision::allow().with_data("app_user", "u-42");
/// assert!(!allowed.is_denied());
/// let denied = SignInDecision::deny("Your account is suspended.");
/// assert!(denied.is_denied());
/// ```
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct SignInDecision {
    denied: Option<String>,
    data: Map<String, Value>,
}

impl SignInDecision {
    /// Let the user in.
    pub fn allow() -> Self {
        SignInDecision::default()
    }

    /// Turn the user away: they see `reason` on a 403 page and stay signed out. Say what they
    /// can do about it; do not say more than they may know.
    pub fn deny(reason: impl Into<String>) -> Self {
        SignInDecision {
            denied: Some(reason.into()),
            data: Map::new(),
        }
    }

    /// Keeps `value` under `key` in the session, for
    /// [`User::app_data`](crate::User::app_data) on every later request (on every instance
    /// sharing the session store). A value that does not serialize to JSON is left out and
    /// logged.
    pub fn with_data(mut self, key: impl Into<String>, value: impl Serialize) -> Self {
        let key = key.into();
        match serde_json::to_value(value) {
            Ok(value) => {
                self.data.insert(key, value);
            }
            Err(error) => tracing::warn!(%key, %error, "sign-in hook data left out"),
        }
        self
    }

    /// Whether the user is turned away.
    pub fn is_denied(&self) -> bool {
        self.denied.is_some()
    }
}

/// Wraps an application's async function as a [`Hook`].
pub(crate) fn hook<F, Fut, E>(f: F) -> Hook
where
    F: Fn(SignInEvent) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<SignInDecision, E>> + Send + 'static,
    E: Into<BoxError>,
{
    Arc::new(move |event| {
        let future = f(event);
        Box::pin(async move { future.await.map_err(Into::into) })
    })
}

/// The allow-lists of a web app: tenants (`tid`) and verified email domains.
#[derive(Debug, Clone, Default)]
pub(crate) struct AllowList {
    /// Lower-cased tenant ids; empty: any tenant.
    tenants: Vec<String>,
    /// Lower-cased domains; empty: any email, or none.
    email_domains: Vec<String>,
    /// Whether the provider is Entra (External ID, B2C), whose verified-domain claim counts.
    microsoft: bool,
}

impl AllowList {
    /// Checks the configured lists.
    pub(crate) fn new(
        tenants: Vec<String>,
        email_domains: Vec<String>,
        microsoft: bool,
    ) -> Result<Self, ConfigError> {
        let tenants = tenants
            .iter()
            .map(|t| t.trim().to_ascii_lowercase())
            .collect::<Vec<_>>();
        if let Some(bad) = tenants.iter().find(|t| {
            t.is_empty()
                || !t
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-.".contains(c))
        }) {
            return Err(ConfigError::invalid(
                Setting::AllowedTenants,
                format!("`{bad}` is not a tenant id (a GUID) or a tenant domain"),
            ));
        }
        let email_domains = email_domains
            .iter()
            .map(|d| d.trim().trim_start_matches('@').to_ascii_lowercase())
            .collect::<Vec<_>>();
        if let Some(bad) = email_domains.iter().find(|d| {
            d.is_empty()
                || !d.contains('.')
                || !d
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-.".contains(c))
        }) {
            return Err(ConfigError::invalid(
                Setting::AllowedEmailDomains,
                format!("`{bad}` is not a domain name such as `contoso.com`"),
            ));
        }
        Ok(AllowList {
            tenants,
            email_domains,
            microsoft,
        })
    }

    /// Whether a tenant list is configured.
    pub(crate) fn has_tenants(&self) -> bool {
        !self.tenants.is_empty()
    }

    /// Lets the verified claims through, or says why not (in words for the user).
    pub(crate) fn check(&self, claims: &Map<String, Value>) -> Result<(), Error> {
        let str_claim = |name: &str| claims.get(name).and_then(Value::as_str);
        if !self.tenants.is_empty() {
            let tenant = str_claim("tid").map(str::to_ascii_lowercase);
            if !tenant.is_some_and(|t| self.tenants.contains(&t)) {
                return Err(Error::SignInDenied(
                    "this application does not admit accounts of your organization.".into(),
                ));
            }
        }
        if !self.email_domains.is_empty() {
            let Some(email) = str_claim("email").filter(|_| self.email_is_verified(claims)) else {
                return Err(Error::SignInDenied(
                    "this application admits only verified email addresses of certain \
                     domains, and your account has no verified email address."
                        .into(),
                ));
            };
            let domain = email.rsplit_once('@').map(|(_, d)| d.to_ascii_lowercase());
            if !domain.is_some_and(|d| self.email_domains.contains(&d)) {
                return Err(Error::SignInDenied(
                    "this application does not admit email addresses of your domain.".into(),
                ));
            }
        }
        Ok(())
    }

    /// OpenID Connect's `email_verified`; for Entra, whose ID tokens do not carry it, the
    /// optional claim `xms_edov` (the email's domain is verified by the user's tenant).
    fn email_is_verified(&self, claims: &Map<String, Value>) -> bool {
        let truthy = |name: &str| match claims.get(name) {
            Some(Value::Bool(b)) => *b,
            Some(Value::String(s)) => s == "true" || s == "1",
            Some(Value::Number(n)) => n.as_u64() == Some(1),
            _ => false,
        };
        truthy("email_verified") || (self.microsoft && truthy("xms_edov"))
    }
}

/// The allow-lists and the hook, with the hook's time bound.
#[derive(Clone, Default)]
pub(crate) struct Admission {
    pub(crate) allow: AllowList,
    pub(crate) hook: Option<Hook>,
    pub(crate) timeout: Duration,
}

impl Admission {
    /// Decides a verified sign-in: the allow-lists, then the hook (bounded by the timeout; a
    /// panic is caught). Returns the data to keep in the session.
    pub(crate) async fn admit(&self, event: SignInEvent) -> Result<Map<String, Value>, Error> {
        self.allow.check(event.user.claims())?;
        let Some(hook) = &self.hook else {
            return Ok(Map::new());
        };
        // On a task of its own: a panic in the application's code ends that task, not the
        // request, and a hung hook is abandoned at the timeout.
        let mut task = tokio::spawn(hook(event));
        let outcome = match tokio::time::timeout(self.timeout, &mut task).await {
            Ok(Ok(outcome)) => outcome,
            Ok(Err(join)) if join.is_panic() => {
                return Err(Error::SignInHook("it panicked".into()));
            }
            Ok(Err(_)) => return Err(Error::SignInHook("it was cancelled".into())),
            Err(_) => {
                task.abort();
                return Err(Error::SignInHook(format!(
                    "no answer within {} ms (`sign_in_hook_timeout`)",
                    self.timeout.as_millis()
                )));
            }
        };
        match outcome {
            Ok(SignInDecision {
                denied: Some(reason),
                ..
            }) => Err(Error::SignInDenied(reason)),
            Ok(SignInDecision { data, .. }) => Ok(data),
            Err(error) => Err(Error::SignInHook(error.to_string())),
        }
    }
}

#[cfg(test)]
mod tests;
