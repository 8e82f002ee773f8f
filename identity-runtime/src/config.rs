//! Turning settings into a ready [`Auth`]: the builder, the environment, and their errors.

use std::sync::Arc;
use std::time::Duration;

use url::Url;

use crate::authority::{Authority, is_loopback};
use crate::pages::{DefaultPages, Pages};
use crate::provider::Provider;

/// A setting that is missing, malformed, or contradicts another one. Returned by
/// [`AuthBuilder::build`] and [`Auth::from_env`], so a bad configuration stops the application
/// at startup, naming the setting and its environment variable, instead of at the first login.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A required setting is missing.
    #[error("`{setting}` is not set (environment variable {variable})")]
    Missing {
        /// The builder method.
        setting: &'static str,
        /// The environment variable.
        variable: &'static str,
    },
    /// A setting has a value that cannot work.
    #[error("`{setting}` (environment variable {variable}) is invalid: {reason}")]
    Invalid {
        /// The builder method.
        setting: &'static str,
        /// The environment variable.
        variable: &'static str,
        /// Why.
        reason: String,
    },
    /// Two settings exclude each other.
    #[error(
        "`{first}` ({first_variable}) and `{second}` ({second_variable}) cannot both be set: {reason}"
    )]
    Conflict {
        /// One builder method.
        first: &'static str,
        /// Its environment variable.
        first_variable: &'static str,
        /// The other builder method.
        second: &'static str,
        /// Its environment variable.
        second_variable: &'static str,
        /// Why.
        reason: &'static str,
    },
    /// The provider's discovery document does not fit the configured authority.
    #[error("the identity provider's configuration is unusable: {0}")]
    Provider(String),
}

/// The configured identity of the application: who it is at the provider, where the provider
/// is, and how sign-in behaves. Cheap to clone (one `Arc`), built once at startup, independent
/// of any `Router` — so it suits the application-factory pattern (build it, then hand it to as
/// many routers as you like).
///
/// ```
/// use axum_identity_runtime::Auth;
///
/// let auth = Auth::builder()
///     .client_id("my-client")
///     .client_secret("my-secret")
///     .redirect_uri("http://localhost:5000/redirect")
///     .oidc_authority("http://127.0.0.1:3000")
///     .build()
///     .expect("valid settings");
/// assert_eq!(auth.login_path(), "/login");
/// assert_eq!(auth.redirect_path(), "/redirect");
/// ```
#[derive(Clone)]
pub struct Auth {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the client secret.
        f.debug_struct("Auth")
            .field("client_id", &self.inner.client_id)
            .field("authority", &self.inner.authority.url)
            .field("redirect_uri", &self.inner.redirect_uri.as_str())
            .finish_non_exhaustive()
    }
}

pub(crate) struct Inner {
    pub(crate) client_id: String,
    pub(crate) client_secret: Option<String>,
    pub(crate) redirect_uri: Url,
    pub(crate) authority: Authority,
    pub(crate) scopes: Vec<String>,
    pub(crate) post_logout: String,
    pub(crate) login_path: String,
    pub(crate) logout_path: String,
    pub(crate) signed_out_path: String,
    pub(crate) app_name: String,
    pub(crate) pages: Arc<dyn Pages>,
    pub(crate) login_timeout: Duration,
    pub(crate) idle_timeout: Duration,
    pub(crate) session_lifetime: Duration,
    pub(crate) provider: Provider,
    pub(crate) flights: crate::token::Flights,
}

impl Auth {
    /// Starts a configuration in code.
    pub fn builder() -> AuthBuilder {
        AuthBuilder::default()
    }

    /// Reads the configuration from the environment variables the Python `identity` samples
    /// use: `CLIENT_ID`, `CLIENT_SECRET`, `REDIRECT_URI`, and either `AUTHORITY` (Entra ID,
    /// External ID, B2C) or `OIDC_AUTHORITY` (any OpenID provider, custom domains). Empty
    /// variables count as unset.
    pub fn from_env() -> Result<Auth, ConfigError> {
        Self::builder_from_env().build()
    }

    /// Like [`Auth::from_env`], but returns the builder so code can add what the environment
    /// does not say (pages, paths, the application name).
    pub fn builder_from_env() -> AuthBuilder {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let mut builder = AuthBuilder::default();
        builder.client_id = var("CLIENT_ID");
        builder.client_secret = var("CLIENT_SECRET");
        builder.redirect_uri = var("REDIRECT_URI");
        builder.authority = var("AUTHORITY");
        builder.oidc_authority = var("OIDC_AUTHORITY");
        builder
    }

    /// The path that starts a sign-in; `?next=/page` says where to return afterwards.
    pub fn login_path(&self) -> &str {
        &self.inner.login_path
    }

    /// The path that signs the user out (Python's `url_for("identity.logout")`).
    pub fn logout_path(&self) -> &str {
        &self.inner.logout_path
    }

    /// The path of the redirect URI: where the provider sends the browser back.
    pub fn redirect_path(&self) -> &str {
        self.inner.redirect_uri.path()
    }

    /// The path of the built-in signed-out page.
    pub fn signed_out_path(&self) -> &str {
        &self.inner.signed_out_path
    }

    /// The login URL that returns to `next` (a local path) afterwards.
    pub fn login_url(&self, next: &str) -> String {
        let next = crate::return_path::safe_return_path(next);
        if next == "/" {
            return self.inner.login_path.clone();
        }
        format!("{}?next={}", self.inner.login_path, encode(&next))
    }

    /// Whether cookies must be `Secure`: the application is served over https.
    pub fn requires_secure_cookies(&self) -> bool {
        self.inner.redirect_uri.scheme() == "https"
    }

    /// Fetches the provider's discovery document and keys now, instead of at the first sign-in,
    /// so a misconfigured provider is reported at startup. The application works without
    /// calling it (and keeps working when the provider is down at startup).
    pub async fn warm_up(&self) -> Result<(), crate::Error> {
        self.inner.provider.metadata().await.map(|_| ())
    }

    pub(crate) fn render_error(&self, error: &crate::Error) -> axum::response::Response {
        error.render(&*self.inner.pages, &self.inner.app_name, &self.inner.login_path)
    }
}

pub(crate) fn encode(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// Builds an [`Auth`]. Every setting has the name of its Python `identity` counterpart where
/// one exists.
#[derive(Default)]
#[must_use]
pub struct AuthBuilder {
    client_id: Option<String>,
    client_secret: Option<String>,
    redirect_uri: Option<String>,
    authority: Option<String>,
    oidc_authority: Option<String>,
    scopes: Vec<String>,
    post_logout_redirect: Option<String>,
    login_path: Option<String>,
    logout_path: Option<String>,
    app_name: Option<String>,
    pages: Option<Arc<dyn Pages>>,
    login_timeout: Option<Duration>,
    idle_timeout: Option<Duration>,
    session_lifetime: Option<Duration>,
    http_timeout: Option<Duration>,
    metadata_ttl: Option<Duration>,
}

impl std::fmt::Debug for AuthBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthBuilder")
            .field("client_id", &self.client_id)
            .field("authority", &self.authority)
            .field("oidc_authority", &self.oidc_authority)
            .finish_non_exhaustive()
    }
}

impl AuthBuilder {
    /// The application (client) id registered at the provider. Variable: `CLIENT_ID`.
    pub fn client_id(mut self, value: impl Into<String>) -> Self {
        self.client_id = Some(value.into());
        self
    }

    /// The client secret (Python's `client_credential`). Variable: `CLIENT_SECRET`. Without
    /// one, the application is a public client and relies on PKCE alone.
    pub fn client_secret(mut self, value: impl Into<String>) -> Self {
        self.client_secret = Some(value.into());
        self
    }

    /// The absolute URL the provider sends the browser back to; its path is served by
    /// `identity_routes!`. Variable: `REDIRECT_URI`.
    pub fn redirect_uri(mut self, value: impl Into<String>) -> Self {
        self.redirect_uri = Some(value.into());
        self
    }

    /// A Microsoft authority: Entra ID `https://login.microsoftonline.com/<tenant>`, External
    /// ID `https://<name>.ciamlogin.com/<name>.onmicrosoft.com`, or B2C
    /// `https://<t>.b2clogin.com/<t>.onmicrosoft.com/<user_flow>`. Variable: `AUTHORITY`.
    pub fn authority(mut self, value: impl Into<String>) -> Self {
        self.authority = Some(value.into());
        self
    }

    /// Any OpenID provider by its issuer URL (and External ID custom domains). Its discovery
    /// document is `<url>/.well-known/openid-configuration`. Variable: `OIDC_AUTHORITY`.
    pub fn oidc_authority(mut self, value: impl Into<String>) -> Self {
        self.oidc_authority = Some(value.into());
        self
    }

    /// Extra scopes to ask for at every sign-in, besides `openid profile offline_access`.
    pub fn scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// Where the browser lands after signing out (Python's `post_logout_view`): a local path
    /// such as `/`. Default: the built-in signed-out page.
    pub fn post_logout_redirect(mut self, path: impl Into<String>) -> Self {
        self.post_logout_redirect = Some(path.into());
        self
    }

    /// The path that starts a sign-in. Default `/login`.
    pub fn login_path(mut self, path: impl Into<String>) -> Self {
        self.login_path = Some(path.into());
        self
    }

    /// The path that signs out. Default `/logout`; the signed-out page is `<path>/done`.
    pub fn logout_path(mut self, path: impl Into<String>) -> Self {
        self.logout_path = Some(path.into());
        self
    }

    /// The application's name, shown on the built-in pages.
    pub fn app_name(mut self, name: impl Into<String>) -> Self {
        self.app_name = Some(name.into());
        self
    }

    /// Replaces the built-in pages.
    pub fn pages(mut self, pages: impl Pages) -> Self {
        self.pages = Some(Arc::new(pages));
        self
    }

    /// How long a started sign-in stays valid. Default 10 minutes.
    pub fn login_timeout(mut self, timeout: Duration) -> Self {
        self.login_timeout = Some(timeout);
        self
    }

    /// A signed-in session that sees no request for this long is signed out. Default 8 hours.
    /// Activity is recorded at most every tenth of this, so protected requests do not write
    /// to the session store.
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = Some(timeout);
        self
    }

    /// A sign-in is valid for at most this long, however active the user is; token refreshes do
    /// not extend it. Default 24 hours.
    pub fn session_lifetime(mut self, lifetime: Duration) -> Self {
        self.session_lifetime = Some(lifetime);
        self
    }

    /// The timeout of every request to the provider. Default 10 seconds.
    pub fn http_timeout(mut self, timeout: Duration) -> Self {
        self.http_timeout = Some(timeout);
        self
    }

    /// How long the discovery document and keys are cached. Default 24 hours; an unknown
    /// signing key triggers an earlier (rate-limited) refresh of the keys.
    pub fn metadata_ttl(mut self, ttl: Duration) -> Self {
        self.metadata_ttl = Some(ttl);
        self
    }

    /// Checks the settings and builds the [`Auth`]. Does not contact the provider (see
    /// [`Auth::warm_up`]).
    pub fn build(self) -> Result<Auth, ConfigError> {
        let client_id = self
            .client_id
            .filter(|v| !v.trim().is_empty())
            .ok_or(ConfigError::Missing { setting: "client_id", variable: "CLIENT_ID" })?;
        let redirect_uri = self
            .redirect_uri
            .ok_or(ConfigError::Missing { setting: "redirect_uri", variable: "REDIRECT_URI" })?;
        let redirect_uri = parse_redirect_uri(&redirect_uri)?;
        let authority = match (self.authority, self.oidc_authority) {
            (Some(_), Some(_)) => {
                return Err(ConfigError::Conflict {
                    first: "authority",
                    first_variable: "AUTHORITY",
                    second: "oidc_authority",
                    second_variable: "OIDC_AUTHORITY",
                    reason: "set AUTHORITY for Microsoft authorities, OIDC_AUTHORITY for any other provider",
                });
            }
            (Some(url), None) => Authority::microsoft(&url).map_err(|reason| {
                ConfigError::Invalid { setting: "authority", variable: "AUTHORITY", reason }
            })?,
            (None, Some(url)) => Authority::oidc(&url).map_err(|reason| ConfigError::Invalid {
                setting: "oidc_authority",
                variable: "OIDC_AUTHORITY",
                reason,
            })?,
            (None, None) => {
                return Err(ConfigError::Missing {
                    setting: "authority",
                    variable: "AUTHORITY (or OIDC_AUTHORITY)",
                });
            }
        };
        let login_path = check_path("login_path", self.login_path, "/login")?;
        let logout_path = check_path("logout_path", self.logout_path, "/logout")?;
        let signed_out_path = format!("{}/done", logout_path.trim_end_matches('/'));
        let post_logout = match self.post_logout_redirect {
            Some(path) => {
                let safe = crate::return_path::safe_return_path(&path);
                if safe != path {
                    return Err(ConfigError::Invalid {
                        setting: "post_logout_redirect",
                        variable: "-",
                        reason: format!("`{path}` must be a local path such as `/`"),
                    });
                }
                path
            }
            None => signed_out_path.clone(),
        };
        let redirect_path = redirect_uri.path();
        for (setting, path) in [("login_path", &login_path), ("logout_path", &logout_path)] {
            if path == redirect_path {
                return Err(ConfigError::Invalid {
                    setting,
                    variable: "-",
                    reason: format!("`{path}` is also the path of REDIRECT_URI"),
                });
            }
        }
        for scope in &self.scopes {
            if scope.is_empty() || scope.contains(char::is_whitespace) {
                return Err(ConfigError::Invalid {
                    setting: "scopes",
                    variable: "-",
                    reason: format!("`{scope}` is not a single scope"),
                });
            }
        }
        let provider = Provider::new(
            authority.clone(),
            self.http_timeout.unwrap_or(Duration::from_secs(10)),
            self.metadata_ttl.unwrap_or(Duration::from_secs(24 * 3600)),
        )
        .map_err(|reason| ConfigError::Invalid { setting: "http_timeout", variable: "-", reason })?;
        Ok(Auth {
            inner: Arc::new(Inner {
                client_id,
                client_secret: self.client_secret.filter(|s| !s.is_empty()),
                redirect_uri,
                authority,
                scopes: self.scopes,
                post_logout,
                login_path,
                logout_path,
                signed_out_path,
                app_name: self.app_name.unwrap_or_default(),
                pages: self.pages.unwrap_or_else(|| Arc::new(DefaultPages)),
                login_timeout: self.login_timeout.unwrap_or(Duration::from_secs(600)),
                idle_timeout: self.idle_timeout.unwrap_or(Duration::from_secs(8 * 3600)),
                session_lifetime: self.session_lifetime.unwrap_or(Duration::from_secs(24 * 3600)),
                provider,
                flights: Default::default(),
            }),
        })
    }
}

fn parse_redirect_uri(raw: &str) -> Result<Url, ConfigError> {
    let invalid = |reason: String| ConfigError::Invalid {
        setting: "redirect_uri",
        variable: "REDIRECT_URI",
        reason,
    };
    let url = Url::parse(raw.trim()).map_err(|e| invalid(format!("`{raw}` is not a URL ({e})")))?;
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&url) => {}
        _ => {
            return Err(invalid(format!(
                "`{raw}` must be https (plain http is allowed for localhost only)"
            )));
        }
    }
    if url.fragment().is_some() || url.query().is_some() {
        return Err(invalid(format!("`{raw}` must not have a query or fragment")));
    }
    if url.path() == "/" {
        return Err(invalid(format!(
            "`{raw}` needs a path of its own for the callback, such as /redirect"
        )));
    }
    Ok(url)
}

fn check_path(
    setting: &'static str,
    value: Option<String>,
    default: &str,
) -> Result<String, ConfigError> {
    let path = value.unwrap_or_else(|| default.to_owned());
    let ok = path.starts_with('/')
        && path.len() > 1
        && !path.contains(['?', '#', '{', '}', '*', ':'])
        && crate::return_path::safe_return_path(&path) == path;
    if ok {
        Ok(path)
    } else {
        Err(ConfigError::Invalid {
            setting,
            variable: "-",
            reason: format!("`{path}` must be a plain absolute path such as `{default}`"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> AuthBuilder {
        Auth::builder()
            .client_id("id")
            .client_secret("secret")
            .redirect_uri("http://localhost:5000/redirect")
    }

    #[test]
    fn missing_settings_name_their_variables() {
        let err = Auth::builder().build().unwrap_err();
        assert!(err.to_string().contains("CLIENT_ID"), "{err}");
        let err = Auth::builder().client_id("id").build().unwrap_err();
        assert!(err.to_string().contains("REDIRECT_URI"), "{err}");
        let err = base().build().unwrap_err();
        assert!(err.to_string().contains("AUTHORITY"), "{err}");
    }

    #[test]
    fn contradictions_and_bad_values_are_refused_at_build_time() {
        let err = base()
            .authority("https://login.microsoftonline.com/common")
            .oidc_authority("https://idp.example")
            .build()
            .unwrap_err();
        assert!(matches!(err, ConfigError::Conflict { .. }), "{err}");
        let err = base().oidc_authority("http://idp.example").build().unwrap_err();
        assert!(err.to_string().contains("OIDC_AUTHORITY"), "{err}");
        let err = base()
            .redirect_uri("http://app.example/redirect")
            .oidc_authority("https://idp.example")
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("REDIRECT_URI"), "{err}");
        let err = base()
            .oidc_authority("https://idp.example")
            .post_logout_redirect("https://evil.example")
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("post_logout_redirect"), "{err}");
        let err = base().oidc_authority("https://idp.example").login_path("/redirect").build();
        assert!(err.is_err());
    }

    #[test]
    fn login_urls_carry_only_local_return_paths() {
        let auth = base().oidc_authority("https://idp.example").build().unwrap();
        assert_eq!(auth.login_url("/a?b=c"), "/login?next=%2Fa%3Fb%3Dc");
        assert_eq!(auth.login_url("//evil.example"), "/login");
        assert_eq!(auth.signed_out_path(), "/logout/done");
    }
}
