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
/// assert_eq!(auth.redirect_path(), Some("/redirect"));
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
            .field(
                "redirect_uri",
                &self.inner.redirect_uri.as_ref().map(Url::as_str),
            )
            .finish_non_exhaustive()
    }
}

pub(crate) struct Inner {
    pub(crate) client_id: String,
    pub(crate) client_secret: Option<String>,
    /// `None`: the Device Code flow signs users in.
    pub(crate) redirect_uri: Option<Url>,
    pub(crate) authority: Authority,
    pub(crate) prompt: Option<Prompt>,
    pub(crate) secure_cookies: bool,
    /// Azure AD B2C's other user flows, when configured.
    pub(crate) b2c: B2cFlows,
    pub(crate) scopes: Vec<String>,
    pub(crate) post_logout: String,
    pub(crate) login_path: String,
    /// Shared by every `Context` without a copy.
    pub(crate) logout_path: Arc<str>,
    pub(crate) signed_out_path: String,
    pub(crate) app_name: String,
    pub(crate) pages: Arc<dyn Pages>,
    pub(crate) login_timeout: Duration,
    pub(crate) idle_timeout: Duration,
    pub(crate) session_lifetime: Duration,
    pub(crate) provider: Provider,
    pub(crate) flights: crate::token::Flights,
    pub(crate) refresh_lock: Option<Arc<dyn crate::RefreshLock>>,
    /// Whether `<logout_path>/backchannel` receives the provider's logout tokens.
    pub(crate) backchannel: bool,
    pub(crate) marks: crate::backchannel::Marks,
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
        AuthBuilder {
            client_id: var("CLIENT_ID"),
            client_secret: var("CLIENT_SECRET"),
            redirect_uri: var("REDIRECT_URI"),
            authority: var("AUTHORITY"),
            oidc_authority: var("OIDC_AUTHORITY"),
            b2c_tenant_name: var("B2C_TENANT_NAME"),
            b2c_signup_signin_user_flow: var("SIGNUPSIGNIN_USER_FLOW"),
            b2c_edit_profile_user_flow: var("EDITPROFILE_USER_FLOW"),
            b2c_reset_password_user_flow: var("RESETPASSWORD_USER_FLOW"),
            ..AuthBuilder::default()
        }
    }

    /// The path that starts a sign-in; `?next=/page` says where to return afterwards.
    pub fn login_path(&self) -> &str {
        &self.inner.login_path
    }

    /// The path that signs the user out (Python's `url_for("identity.logout")`).
    pub fn logout_path(&self) -> &str {
        &self.inner.logout_path
    }

    /// The path of the redirect URI, where the provider sends the browser back; `None` when
    /// the Device Code flow is used (no redirect URI configured).
    pub fn redirect_path(&self) -> Option<&str> {
        self.inner.redirect_uri.as_ref().map(Url::path)
    }

    /// Whether users sign in with the Device Code flow (no redirect URI is configured).
    pub fn uses_device_code(&self) -> bool {
        self.inner.redirect_uri.is_none()
    }

    /// The URL of Azure AD B2C's edit-profile user flow, for templates (Python's
    /// `get_edit_profile_url()`); `None` unless `b2c_edit_profile_user_flow` is configured. The
    /// return trip refreshes the user's claims.
    pub fn edit_profile_url(&self, next: &str) -> Option<String> {
        self.inner.b2c.edit_profile.as_ref()?;
        let next = crate::return_path::safe_return_path(next);
        Some(format!(
            "{}?flow=edit_profile&next={}",
            self.inner.login_path,
            encode(&next)
        ))
    }

    /// The path that receives back-channel logout tokens, when enabled.
    pub fn backchannel_logout_path(&self) -> Option<String> {
        self.inner.backchannel.then(|| {
            format!(
                "{}/backchannel",
                self.inner.logout_path.trim_end_matches('/')
            )
        })
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
        self.inner.secure_cookies
    }

    /// Fetches the provider's discovery document and keys now, instead of at the first sign-in,
    /// so a misconfigured provider is reported at startup. The application works without
    /// calling it (and keeps working when the provider is down at startup).
    pub async fn warm_up(&self) -> Result<(), crate::Error> {
        self.inner.provider.metadata().await.map(|_| ())
    }

    pub(crate) fn render_error(&self, error: &crate::Error) -> axum::response::Response {
        error.render(
            &*self.inner.pages,
            &self.inner.app_name,
            &self.inner.login_path,
        )
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
    prompt: Option<Prompt>,
    secure_cookies: Option<bool>,
    http_client: Option<reqwest::Client>,
    refresh_lock: Option<Arc<dyn crate::RefreshLock>>,
    backchannel: bool,
    b2c_tenant_name: Option<String>,
    b2c_signup_signin_user_flow: Option<String>,
    b2c_edit_profile_user_flow: Option<String>,
    b2c_reset_password_user_flow: Option<String>,
}

/// The `prompt` parameter of the sign-in request (OpenID Connect Core §3.1.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Prompt {
    /// Let the user pick one of several signed-in accounts.
    SelectAccount,
    /// Ask for credentials even when the provider has a session.
    Login,
    /// Ask for consent even when it was given before.
    Consent,
    /// Show nothing; fail when interaction would be needed.
    None,
}

impl Prompt {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Prompt::SelectAccount => "select_account",
            Prompt::Login => "login",
            Prompt::Consent => "consent",
            Prompt::None => "none",
        }
    }
}

/// The B2C user flows besides sign-up/sign-in, each an authority of its own.
#[derive(Default)]
pub(crate) struct B2cFlows {
    pub(crate) edit_profile: Option<Provider>,
    pub(crate) reset_password: Option<Provider>,
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
    /// `identity_routes!`. Variable: `REDIRECT_URI`. Without one, users sign in with the Device
    /// Code flow (like Python `identity`): the login page shows a code to enter at the provider
    /// on any device.
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

    /// Azure AD B2C: the tenant name (`contoso` for `contoso.onmicrosoft.com`); with
    /// [`b2c_signup_signin_user_flow`](Self::b2c_signup_signin_user_flow) it makes the authority
    /// `https://<tenant>.b2clogin.com/<tenant>.onmicrosoft.com/<flow>`. Variable:
    /// `B2C_TENANT_NAME`.
    pub fn b2c_tenant_name(mut self, value: impl Into<String>) -> Self {
        self.b2c_tenant_name = Some(value.into());
        self
    }

    /// Azure AD B2C's sign-up/sign-in user flow, e.g. `B2C_1_signupsignin1`. Variable:
    /// `SIGNUPSIGNIN_USER_FLOW`.
    pub fn b2c_signup_signin_user_flow(mut self, value: impl Into<String>) -> Self {
        self.b2c_signup_signin_user_flow = Some(value.into());
        self
    }

    /// Azure AD B2C's edit-profile user flow; enables [`Auth::edit_profile_url`]. Variable:
    /// `EDITPROFILE_USER_FLOW`.
    pub fn b2c_edit_profile_user_flow(mut self, value: impl Into<String>) -> Self {
        self.b2c_edit_profile_user_flow = Some(value.into());
        self
    }

    /// Azure AD B2C's password-reset user flow: B2C's "forgot your password?" (`AADB2C90118`)
    /// sends the user through it. Variable: `RESETPASSWORD_USER_FLOW`.
    pub fn b2c_reset_password_user_flow(mut self, value: impl Into<String>) -> Self {
        self.b2c_reset_password_user_flow = Some(value.into());
        self
    }

    /// The `prompt` of every sign-in request. Default: none sent.
    pub fn prompt(mut self, prompt: Prompt) -> Self {
        self.prompt = Some(prompt);
        self
    }

    /// Whether the session cookie is `Secure`. Default: when the redirect URI is https.
    pub fn secure_cookies(mut self, secure: bool) -> Self {
        self.secure_cookies = Some(secure);
        self
    }

    /// The HTTP client for requests to the provider, for proxies or extra root certificates.
    /// It must not follow redirects (build it with `redirect::Policy::none()`), and should have
    /// timeouts; the default client has both.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http_client = Some(client);
        self
    }

    /// Coordinates token refreshes across application instances that share a session store
    /// (see [`RefreshLock`](crate::RefreshLock); `RedisRefreshLock` with the `redis` feature).
    /// Without it, refreshes are single-flight within each process only.
    pub fn refresh_lock(mut self, lock: impl crate::RefreshLock) -> Self {
        self.refresh_lock = Some(Arc::new(lock));
        self
    }

    /// Receives OpenID Connect Back-Channel Logout at `<logout_path>/backchannel` (register that
    /// URL at the provider as the `backchannel_logout_uri`): when the provider says a user signed
    /// out, every session of that user here ends, on every instance sharing the session store
    /// (within a few seconds). Needs the session layer built with [`Auth::session_layer`].
    pub fn backchannel_logout(mut self, enabled: bool) -> Self {
        self.backchannel = enabled;
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
    pub fn build(mut self) -> Result<Auth, ConfigError> {
        let client_id =
            self.client_id
                .filter(|v| !v.trim().is_empty())
                .ok_or(ConfigError::Missing {
                    setting: "client_id",
                    variable: "CLIENT_ID",
                })?;
        let redirect_uri = self
            .redirect_uri
            .as_deref()
            .map(parse_redirect_uri)
            .transpose()?;
        let b2c_flow = |flow: &Option<String>,
                        setting: &'static str,
                        variable: &'static str|
         -> Result<Option<String>, ConfigError> {
            let (Some(tenant), Some(flow)) = (&self.b2c_tenant_name, flow) else {
                return Ok(None);
            };
            let valid = |s: &str| {
                !s.is_empty()
                    && s.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
            };
            if !valid(tenant) {
                return Err(ConfigError::Invalid {
                    setting: "b2c_tenant_name",
                    variable: "B2C_TENANT_NAME",
                    reason: format!("`{tenant}` is not a tenant name like `contoso`"),
                });
            }
            if !valid(flow) {
                return Err(ConfigError::Invalid {
                    setting,
                    variable,
                    reason: format!("`{flow}` is not a user flow name like `B2C_1_signupsignin1`"),
                });
            }
            Ok(Some(format!(
                "https://{tenant}.b2clogin.com/{tenant}.onmicrosoft.com/{flow}"
            )))
        };
        let b2c_authority = b2c_flow(
            &self.b2c_signup_signin_user_flow,
            "b2c_signup_signin_user_flow",
            "SIGNUPSIGNIN_USER_FLOW",
        )?;
        let b2c_edit = b2c_flow(
            &self.b2c_edit_profile_user_flow,
            "b2c_edit_profile_user_flow",
            "EDITPROFILE_USER_FLOW",
        )?;
        let b2c_reset = b2c_flow(
            &self.b2c_reset_password_user_flow,
            "b2c_reset_password_user_flow",
            "RESETPASSWORD_USER_FLOW",
        )?;
        match (&self.b2c_tenant_name, &self.b2c_signup_signin_user_flow) {
            (Some(_), None) => {
                return Err(ConfigError::Missing {
                    setting: "b2c_signup_signin_user_flow",
                    variable: "SIGNUPSIGNIN_USER_FLOW (B2C_TENANT_NAME is set)",
                });
            }
            (None, Some(_)) => {
                return Err(ConfigError::Missing {
                    setting: "b2c_tenant_name",
                    variable: "B2C_TENANT_NAME (SIGNUPSIGNIN_USER_FLOW is set)",
                });
            }
            _ => {}
        }
        if self.b2c_tenant_name.is_none()
            && (self.b2c_edit_profile_user_flow.is_some()
                || self.b2c_reset_password_user_flow.is_some())
        {
            return Err(ConfigError::Missing {
                setting: "b2c_tenant_name",
                variable: "B2C_TENANT_NAME (a B2C user flow is set)",
            });
        }
        if let Some(b2c) = b2c_authority {
            if let Some(first) = self
                .authority
                .as_ref()
                .map(|_| ("authority", "AUTHORITY"))
                .or(self
                    .oidc_authority
                    .as_ref()
                    .map(|_| ("oidc_authority", "OIDC_AUTHORITY")))
            {
                return Err(ConfigError::Conflict {
                    first: first.0,
                    first_variable: first.1,
                    second: "b2c_tenant_name",
                    second_variable: "B2C_TENANT_NAME",
                    reason: "a B2C tenant and user flow make the authority; set one or the other",
                });
            }
            self.authority = Some(b2c);
        }
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
            (Some(url), None) => {
                Authority::microsoft(&url).map_err(|reason| ConfigError::Invalid {
                    setting: "authority",
                    variable: "AUTHORITY",
                    reason,
                })?
            }
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
        if redirect_uri.is_none() && authority.kind == crate::authority::AuthorityKind::B2c {
            return Err(ConfigError::Missing {
                setting: "redirect_uri",
                variable: "REDIRECT_URI (Azure AD B2C has no Device Code flow)",
            });
        }
        let redirect_path = redirect_uri.as_ref().map(Url::path).unwrap_or_default();
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
        let http = match self.http_client {
            Some(client) => client,
            None => crate::provider::default_client(
                self.http_timeout.unwrap_or(Duration::from_secs(10)),
            )
            .map_err(|reason| ConfigError::Invalid {
                setting: "http_timeout",
                variable: "-",
                reason,
            })?,
        };
        let ttl = self.metadata_ttl.unwrap_or(Duration::from_secs(24 * 3600));
        let provider = Provider::new(authority.clone(), http.clone(), ttl);
        let flow_provider = |url: Option<String>| {
            url.map(|url| {
                let authority = Authority::microsoft(&url).expect("a B2C URL built above");
                Provider::new(authority, http.clone(), ttl)
            })
        };
        let b2c = B2cFlows {
            edit_profile: flow_provider(b2c_edit),
            reset_password: flow_provider(b2c_reset),
        };
        let secure_cookies = self
            .secure_cookies
            .unwrap_or_else(|| redirect_uri.as_ref().is_some_and(|u| u.scheme() == "https"));
        Ok(Auth {
            inner: Arc::new(Inner {
                client_id,
                client_secret: self.client_secret.filter(|s| !s.is_empty()),
                redirect_uri,
                authority,
                prompt: self.prompt,
                secure_cookies,
                b2c,
                scopes: self.scopes,
                post_logout,
                login_path,
                logout_path: Arc::from(logout_path),
                signed_out_path,
                app_name: self.app_name.unwrap_or_default(),
                pages: self.pages.unwrap_or_else(|| Arc::new(DefaultPages)),
                login_timeout: self.login_timeout.unwrap_or(Duration::from_secs(600)),
                idle_timeout: self.idle_timeout.unwrap_or(Duration::from_secs(8 * 3600)),
                session_lifetime: self
                    .session_lifetime
                    .unwrap_or(Duration::from_secs(24 * 3600)),
                provider,
                flights: Default::default(),
                refresh_lock: self.refresh_lock,
                backchannel: self.backchannel,
                marks: Default::default(),
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
        return Err(invalid(format!(
            "`{raw}` must not have a query or fragment"
        )));
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
        // Without a redirect URI the Device Code flow is used, but a provider is still needed.
        let err = Auth::builder().client_id("id").build().unwrap_err();
        assert!(err.to_string().contains("AUTHORITY"), "{err}");
        let err = base().build().unwrap_err();
        assert!(err.to_string().contains("AUTHORITY"), "{err}");
        let err = Auth::builder()
            .client_id("id")
            .b2c_tenant_name("contoso")
            .b2c_signup_signin_user_flow("B2C_1_susi")
            .build()
            .unwrap_err();
        assert!(
            err.to_string().contains("REDIRECT_URI"),
            "B2C has no Device Code flow: {err}"
        );
    }

    #[test]
    fn contradictions_and_bad_values_are_refused_at_build_time() {
        let err = base()
            .authority("https://login.microsoftonline.com/common")
            .oidc_authority("https://idp.example")
            .build()
            .unwrap_err();
        assert!(matches!(err, ConfigError::Conflict { .. }), "{err}");
        let err = base()
            .oidc_authority("http://idp.example")
            .build()
            .unwrap_err();
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
        let err = base()
            .oidc_authority("https://idp.example")
            .login_path("/redirect")
            .build();
        assert!(err.is_err());
    }

    #[test]
    fn login_urls_carry_only_local_return_paths() {
        let auth = base()
            .oidc_authority("https://idp.example")
            .build()
            .unwrap();
        assert_eq!(auth.login_url("/a?b=c"), "/login?next=%2Fa%3Fb%3Dc");
        assert_eq!(auth.login_url("//evil.example"), "/login");
        assert_eq!(auth.signed_out_path(), "/logout/done");
    }
}
