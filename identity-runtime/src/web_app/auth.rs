//! [`Auth`], the composition root: the checked settings and the services built from them (the
//! provider cache, the client registration, the token cache, the logout markers, the pages and
//! the clock), each owning its state. The flows above read it; nothing below knows it.

use std::sync::Arc;
use std::time::Duration;

use axum::response::Response;
use tower_sessions::Session;
use tower_sessions::session_store::SessionStore;
use url::Url;

use crate::core::clock::Clock;
use crate::core::error::Error;
use crate::core::params::{Prompt, encode};
use crate::core::return_path::{under_root, within_root};
use crate::core::start_limit::StartLimit;
use crate::oidc::client::Client;
use crate::oidc::id_token::TimeRules;
use crate::oidc::provider::Provider;
use crate::services::app_tokens::{AppTokens, ClientToken};
use crate::services::backchannel::LogoutMarkers;
use crate::services::on_behalf_of;
use crate::services::tokens::{TokenCache, Upstream};
use crate::store::seal::Sealer;
use crate::store::session::{Expiring, SessionPolicy, UserFlow};
use crate::store::single_use::SingleUse;
use crate::web_app::admission::Admission;
use crate::web_app::context::{Links, SessionTokens, TokenFuture};
use crate::web_app::pages::{Pages, render_error};
use crate::web_app::sign_in_params::LoginUrl;
use crate::web_app::step_up::Needs;

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
/// assert_eq!(auth.login_url("/reports?year=2025"), "/login?next=%2Freports%3Fyear%3D2025");
///
/// // Under a path prefix, every path the library hands out has it.
/// let auth = Auth::builder()
///     .client_id("my-client")
///     .redirect_uri("http://localhost:5000/app/redirect")
///     .oidc_authority("http://127.0.0.1:3000")
///     .application_root("/app")
///     .build()
///     .expect("valid settings");
/// assert_eq!(auth.application_root(), Some("/app"));
/// assert_eq!(auth.login_path(), "/app/login");
/// assert_eq!(auth.login_url("/app/reports"), "/app/login?next=%2Fapp%2Freports");
/// ```
#[derive(Clone)]
pub struct Auth {
    inner: Arc<Inner>,
    /// The session store, once [`Auth::layer`] has put this `Auth` in front of it: the
    /// back-channel logout markers live there.
    store: Option<Arc<dyn SessionStore>>,
}

struct Inner {
    settings: Settings,
    client: Client,
    provider: Provider,
    b2c: B2cFlows,
    tokens: TokenCache,
    app_tokens: AppTokens,
    markers: LogoutMarkers,
    once: SingleUse,
    sealer: Sealer,
    pages: Arc<dyn Pages>,
    clock: Clock,
    /// The application's other providers, each a complete `Auth` with the same application
    /// settings (see `web_app/providers.rs`); empty with one provider.
    others: Vec<Auth>,
    /// Device Code sign-ins started in the last minute.
    device_starts: StartLimit,
}

/// The checked settings that shape the flows (everything else lives in a service).
pub(crate) struct Settings {
    pub(crate) prompt: Option<Prompt>,
    pub(crate) secure_cookies: bool,
    pub(crate) cookie_name: String,
    /// Scopes asked for at every sign-in, beyond the OpenID ones.
    pub(crate) scopes: Vec<String>,
    /// The application's root path, `""` for none: every path below is under it.
    pub(crate) root: String,
    /// Where the browser goes after signing out: a local path.
    pub(crate) post_logout: String,
    pub(crate) login_path: String,
    /// The login and logout paths and the root, shared by every `Context` without a copy.
    pub(crate) links: Arc<Links>,
    pub(crate) signed_out_path: String,
    pub(crate) app_name: String,
    /// How many Device Code sign-ins may start per minute.
    pub(crate) device_starts_per_minute: u32,
    /// The clock skew tolerated on token times.
    pub(crate) clock_skew: Duration,
    pub(crate) session: SessionPolicy,
    /// Whether `<logout_path>/backchannel` receives the provider's logout tokens.
    pub(crate) backchannel: bool,
    /// Who may sign in: the allow-lists and the application's hook.
    pub(crate) admission: Admission,
    /// Microsoft Graph, when a groups overage is resolved at sign-in.
    pub(crate) graph: Option<Url>,
}

/// The B2C user flows besides sign-up/sign-in, each an authority of its own.
#[derive(Default)]
pub(crate) struct B2cFlows {
    pub(crate) edit_profile: Option<Provider>,
    pub(crate) reset_password: Option<Provider>,
}

/// The services [`Auth`] is made of, as the configuration builds them.
pub(crate) struct Parts {
    pub(crate) settings: Settings,
    pub(crate) client: Client,
    pub(crate) provider: Provider,
    pub(crate) b2c: B2cFlows,
    pub(crate) tokens: TokenCache,
    pub(crate) once: SingleUse,
    pub(crate) markers: LogoutMarkers,
    pub(crate) sealer: Sealer,
    pub(crate) pages: Arc<dyn Pages>,
    pub(crate) clock: Clock,
    /// The bound of the app-only and on-behalf-of token cache.
    pub(crate) app_token_cache_bytes: u64,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the client secret.
        f.debug_struct("Auth")
            .field("client_id", &self.inner.client.id())
            .field("authority", &self.inner.provider.authority().url)
            .field(
                "redirect_uri",
                &self.inner.client.redirect_uri().map(Url::as_str),
            )
            .finish_non_exhaustive()
    }
}

impl Auth {
    pub(crate) fn new(parts: Parts, others: Vec<Auth>) -> Self {
        let device_starts = StartLimit::new(parts.settings.device_starts_per_minute);
        Auth {
            inner: Arc::new(Inner {
                settings: parts.settings,
                client: parts.client,
                provider: parts.provider,
                b2c: parts.b2c,
                tokens: parts.tokens,
                app_tokens: AppTokens::new(parts.app_token_cache_bytes),
                device_starts,
                markers: parts.markers,
                once: parts.once,
                sealer: parts.sealer,
                pages: parts.pages,
                clock: parts.clock,
                others,
            }),
            store: None,
        }
    }

    /// This `Auth` in front of `store`.
    pub(crate) fn with_store(&self, store: Arc<dyn SessionStore>) -> Self {
        Auth {
            inner: self.inner.clone(),
            store: Some(store),
        }
    }

    /// The application's root path (`APPLICATION_ROOT`, such as `/app`) when it is served under
    /// one; `None` at the root of its origin. Every path this `Auth` hands out starts with it,
    /// while [`Auth::routes`] serves them without it: nest the router under the root
    /// (`Router::new().nest(root, app)`), or let a reverse proxy strip it.
    pub fn application_root(&self) -> Option<&str> {
        let root = &self.inner.settings.root;
        (!root.is_empty()).then_some(root.as_str())
    }

    /// The path that starts a sign-in; `?next=/page` says where to return afterwards. Under an
    /// [application root](Auth::application_root), with the root.
    pub fn login_path(&self) -> &str {
        &self.inner.settings.login_path
    }

    /// The path that signs the user out (Python's `url_for("identity.logout")`), with the
    /// application root.
    pub fn logout_path(&self) -> &str {
        &self.inner.settings.links.logout
    }

    /// The path of the redirect URI, where the provider sends the browser back (with the
    /// application root, as in the URI); `None` when the Device Code flow is used (no redirect
    /// URI configured).
    pub fn redirect_path(&self) -> Option<&str> {
        self.inner.client.redirect_uri().map(Url::path)
    }

    /// The redirect URI, as registered at the provider; `None` with the Device Code flow.
    pub fn redirect_uri(&self) -> Option<&str> {
        self.inner.client.redirect_uri().map(Url::as_str)
    }

    /// The post-logout redirect URI to register at the provider next to the redirect URI:
    /// the post-logout path (default the signed-out page, `<logout_path>/done`) on the redirect
    /// URI's origin, which logout sends as `post_logout_redirect_uri`. `None` with the Device
    /// Code flow, whose logout does not involve the provider.
    ///
    /// ```
    /// use axum_identity_runtime::Auth;
    ///
    /// let auth = Auth::builder()
    ///     .client_id("id")
    ///     .redirect_uri("http://localhost:5000/redirect")
    ///     .oidc_authority("http://127.0.0.1:3000")
    ///     .build()?;
    /// assert_eq!(auth.redirect_uri(), Some("http://localhost:5000/redirect"));
    /// assert_eq!(
    ///     auth.post_logout_redirect_uri().as_deref(),
    ///     Some("http://localhost:5000/logout/done")
    /// );
    /// # Ok::<(), axum_identity_runtime::ConfigError>(())
    /// ```
    pub fn post_logout_redirect_uri(&self) -> Option<String> {
        let redirect = self.inner.client.redirect_uri()?;
        Some(format!(
            "{}{}",
            redirect.origin().ascii_serialization(),
            self.inner.settings.post_logout
        ))
    }

    /// The home page the library sends the browser to when it has no better place: `<root>/`.
    pub(crate) fn home(&self) -> String {
        format!("{}/", self.inner.settings.root)
    }

    /// Where `next`, as a request gave it, may send the browser after sign-in: a local path
    /// within the application root, else the [home](Self::home) page.
    pub(crate) fn return_path(&self, next: &str) -> String {
        within_root(&self.inner.settings.root, next)
    }

    /// The route [`Auth::routes`] serves for one of the paths above: without the root.
    pub(crate) fn route<'a>(&self, path: &'a str) -> &'a str {
        path.strip_prefix(self.inner.settings.root.as_str())
            .filter(|route| route.starts_with('/'))
            .unwrap_or(path)
    }

    /// Whether users sign in with the Device Code flow (no redirect URI is configured).
    pub fn uses_device_code(&self) -> bool {
        self.inner.client.redirect_uri().is_none()
    }

    /// The URL of Azure AD B2C's edit-profile user flow, for templates (Python's
    /// `get_edit_profile_url()`); `None` unless `b2c_edit_profile_user_flow` is configured. The
    /// return trip refreshes the user's claims.
    pub fn edit_profile_url(&self, next: &str) -> Option<String> {
        self.inner.b2c.edit_profile.as_ref()?;
        Some(format!(
            "{}?flow=edit_profile&next={}",
            self.login_path(),
            encode(&under_root(&self.inner.settings.root, next))
        ))
    }

    /// The path that receives back-channel logout tokens, when enabled.
    pub fn backchannel_logout_path(&self) -> Option<String> {
        self.inner
            .settings
            .backchannel
            .then(|| format!("{}/backchannel", self.logout_path().trim_end_matches('/')))
    }

    /// The path of the built-in signed-out page.
    pub fn signed_out_path(&self) -> &str {
        &self.inner.settings.signed_out_path
    }

    /// The path of the Device Code page.
    pub fn device_code_path(&self) -> String {
        format!("{}/device", self.login_path().trim_end_matches('/'))
    }

    /// The login URL that returns to `next` (a local path) afterwards. Under an application
    /// root, `next` may name the page with the root (`/app/reports`, as under `Router::nest`) or
    /// without it (`/reports`, as behind a proxy that strips the root), which adds it.
    pub fn login_url(&self, next: &str) -> String {
        let next = under_root(&self.inner.settings.root, next);
        if next == self.home() {
            return self.login_path().to_owned();
        }
        format!("{}?next={}", self.login_path(), encode(&next))
    }

    /// A login URL that returns to `next`, with sign-in parameters of its own (`login_hint`,
    /// `domain_hint`, `prompt`, `ui_locales`): see [`LoginUrl`].
    pub fn login_link(&self, next: &str) -> LoginUrl {
        LoginUrl::new(self.login_url(next))
    }

    /// The login URL that returns to `next` and asks for `scopes` too, and for a fresh enough
    /// authentication when the page requires one.
    pub(crate) fn login_url_with_scopes(
        &self,
        next: &str,
        scopes: &[&str],
        needs: Needs,
    ) -> String {
        let mut login_url = self.login_url(next);
        let mut add = |name: &str, value: &str| {
            let separator = if login_url.contains('?') { '&' } else { '?' };
            login_url.push_str(&format!("{separator}{name}={}", encode(value)));
        };
        if !scopes.is_empty() {
            add("scope", &scopes.join(" "));
        }
        if let Some(max_age) = needs.max_age {
            add("max_age", &max_age.to_string());
        }
        if let Some(acr) = needs.acr {
            add("acr", acr);
        }
        if let Some(provider) = needs.provider {
            add("provider", provider);
        }
        login_url
    }

    /// The name of the session cookie: by default `__Host-identity.sid` when the application is
    /// served over https, `identity.sid` otherwise (set another with
    /// [`AuthBuilder::cookie_name`](crate::AuthBuilder::cookie_name)).
    pub fn cookie_name(&self) -> &str {
        &self.inner.settings.cookie_name
    }

    /// Whether cookies must be `Secure`: the application is served over https.
    pub fn requires_secure_cookies(&self) -> bool {
        self.inner.settings.secure_cookies
    }

    /// Fetches the provider's discovery document and keys now, instead of at the first sign-in,
    /// so a misconfigured provider is reported at startup; with several providers, of each
    /// (the first failure is returned). The application works without calling it (and keeps
    /// working when a provider is down at startup: sign-in at the others goes on).
    pub async fn warm_up(&self) -> Result<(), Error> {
        self.inner.provider.metadata().await?;
        for other in &self.inner.others {
            other.inner.provider.metadata().await?;
        }
        Ok(())
    }

    /// An access token of the application itself for `scopes` (Python's
    /// `get_token_for_client`; for Entra ID `api://<api id>/.default`), from the client
    /// credentials grant with the configured secret or certificate. Cached per scope set until
    /// shortly before it expires; callers asking at the same time share one request.
    ///
    /// ```no_run
    /// # async fn call(auth: axum_identity_runtime::Auth) -> Result<(), Box<dyn std::error::Error>> {
    /// let token = auth.token_for_client(&["api://reports/.default"]).await?;
    /// let response = reqwest::Client::new()
    ///     .get("https://reports.example/api")
    ///     .bearer_auth(&token.access_token)
    ///     .send()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn token_for_client(&self, scopes: &[&str]) -> Result<ClientToken, Error> {
        self.token_for_client_replacing(scopes, None).await
    }

    /// [`Auth::token_for_client`], where the cached token `refused` (an API answered it with
    /// `invalid_token`) is replaced by a new one.
    pub(crate) async fn token_for_client_replacing(
        &self,
        scopes: &[&str],
        refused: Option<&str>,
    ) -> Result<ClientToken, Error> {
        let inner = &self.inner;
        inner
            .app_tokens
            .get(
                &inner.client,
                &inner.provider,
                &inner.clock,
                scopes,
                refused,
            )
            .await
            .map_err(Error::ClientToken)
    }

    /// A token for a downstream API's `scopes` on behalf of the user whose access token
    /// `incoming` this web API received: Entra ID's on-behalf-of grant for Microsoft
    /// authorities, RFC 8693 token exchange for any other provider. Cached per incoming token
    /// and scope set. When the provider wants the user's interaction first (MFA, consent), the
    /// error is [`Error::InteractionRequired`], a 403 whose
    /// [`www_authenticate`](Error::www_authenticate) the API answers with.
    pub async fn token_on_behalf_of(
        &self,
        incoming: &str,
        scopes: &[&str],
    ) -> Result<ClientToken, Error> {
        self.token_on_behalf_of_replacing(incoming, scopes, None)
            .await
    }

    /// [`Auth::token_on_behalf_of`], where the cached token `refused` (an API answered it with
    /// `invalid_token`) is exchanged for again.
    pub(crate) async fn token_on_behalf_of_replacing(
        &self,
        incoming: &str,
        scopes: &[&str],
        refused: Option<&str>,
    ) -> Result<ClientToken, Error> {
        let inner = &self.inner;
        on_behalf_of::token_on_behalf_of(
            &inner.app_tokens,
            &inner.client,
            &inner.provider,
            &inner.clock,
            incoming,
            scopes,
            refused,
        )
        .await
        .map_err(Error::ClientToken)
    }

    /// The error's page, with the application's pages, name and login path.
    pub(crate) fn render_error(&self, error: &Error) -> Response {
        render_error(
            error,
            &*self.inner.pages,
            &self.inner.settings.app_name,
            self.login_path(),
        )
    }

    /// Who may sign in.
    pub(crate) fn admission(&self) -> &Admission {
        &self.inner.settings.admission
    }

    pub(crate) fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    pub(crate) fn client(&self) -> &Client {
        &self.inner.client
    }

    pub(crate) fn provider(&self) -> &Provider {
        &self.inner.provider
    }

    /// The provider of a user flow: B2C's edit-profile and password-reset flows are authorities
    /// of their own.
    pub(crate) fn provider_for(&self, flow: UserFlow) -> Result<&Provider, Error> {
        let b2c = &self.inner.b2c;
        match flow {
            UserFlow::SignIn => Ok(&self.inner.provider),
            UserFlow::EditProfile => b2c.edit_profile.as_ref().ok_or(Error::Malformed(
                "no edit-profile user flow is configured".into(),
            )),
            UserFlow::ResetPassword => b2c.reset_password.as_ref().ok_or(Error::Malformed(
                "no password-reset user flow is configured".into(),
            )),
        }
    }

    pub(crate) fn has_reset_password_flow(&self) -> bool {
        self.inner.b2c.reset_password.is_some()
    }

    /// The limit on Device Code sign-ins started per minute.
    pub(crate) fn device_starts(&self) -> &StartLimit {
        &self.inner.device_starts
    }

    pub(crate) fn tokens(&self) -> &TokenCache {
        &self.inner.tokens
    }

    /// Where token refreshes go.
    pub(crate) fn upstream(&self) -> Upstream<'_> {
        self.inner.upstream()
    }

    /// This `Auth`'s token cache, for a context to reach from a handler (one reference count).
    pub(crate) fn session_tokens(&self) -> Arc<dyn SessionTokens> {
        self.inner.clone()
    }

    /// How a record stored now expires.
    pub(crate) fn expiring(&self) -> Expiring<'_> {
        self.inner.settings.session.at(self.inner.clock.now())
    }

    /// How the user's tokens are stored.
    pub(crate) fn sealer(&self) -> &Sealer {
        &self.inner.sealer
    }

    /// The time rules for a token verified now.
    pub(crate) fn time_rules(&self) -> TimeRules {
        TimeRules {
            now: self.inner.clock.now(),
            leeway: self.inner.settings.clock_skew.as_secs() as i64,
        }
    }

    /// Callbacks and logout tokens redeemed once, across instances with a shared lock.
    pub(crate) fn once(&self) -> &SingleUse {
        &self.inner.once
    }

    pub(crate) fn markers(&self) -> &LogoutMarkers {
        &self.inner.markers
    }

    pub(crate) fn pages(&self) -> &dyn Pages {
        &*self.inner.pages
    }

    pub(crate) fn clock(&self) -> &Clock {
        &self.inner.clock
    }

    /// The session store, once this `Auth` was installed with [`Auth::layer`].
    pub(crate) fn store(&self) -> Option<&dyn SessionStore> {
        self.store.as_deref()
    }

    /// The application's other providers, without the store this one is in front of.
    pub(crate) fn others(&self) -> &[Auth] {
        &self.inner.others
    }

    /// `other` in front of the store this `Auth` is in front of.
    pub(crate) fn beside(&self, other: &Auth) -> Auth {
        Auth {
            inner: other.inner.clone(),
            store: self.store.clone(),
        }
    }
}

impl Inner {
    fn upstream(&self) -> Upstream<'_> {
        Upstream {
            client: &self.client,
            provider: &self.provider,
            clock: &self.clock,
            leeway: self.settings.clock_skew.as_secs() as i64,
            sealer: &self.sealer,
            policy: &self.settings.session,
        }
    }
}

impl SessionTokens for Inner {
    fn token<'a>(
        &'a self,
        session: &'a Session,
        scopes: &'a [&'a str],
        refused: Option<&'a str>,
    ) -> TokenFuture<'a> {
        Box::pin(
            self.tokens
                .for_session(self.upstream(), session, scopes, refused),
        )
    }
}
