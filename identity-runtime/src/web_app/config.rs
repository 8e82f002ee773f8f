//! Turning settings into a ready [`Auth`]: the builder and the environment.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::core::clock::Clock;
use crate::core::error::BoxError;
use crate::core::error::ConfigError;
use crate::core::params::{Prompt, TokenEndpointAuthMethod, comma_list};
use crate::oidc::credential::KeySource;
use crate::oidc::managed_identity::{ManagedIdentity, ManagedIdentityId};
use crate::oidc::provider_options::{ProviderOptions, provider_setters};
use crate::store::lock::RefreshLock;
use crate::web_app::admission::{self, Hook, SignInDecision, SignInEvent};
use crate::web_app::auth::Auth;
use crate::web_app::pages::Pages;

impl Auth {
    /// Starts a configuration in code.
    pub fn builder() -> AuthBuilder {
        AuthBuilder::default()
    }

    /// Reads the configuration from the environment variables the Python `identity` samples
    /// use: `CLIENT_ID`, `CLIENT_SECRET`, `REDIRECT_URI`, and either `AUTHORITY` (Entra ID,
    /// External ID, B2C) or `OIDC_AUTHORITY` (any OpenID provider, custom domains); and
    /// `APPLICATION_ROOT` (as in Flask) when the application is served under a path. Empty
    /// variables count as unset. Instead of a secret, `CLIENT_CERTIFICATE` (a PEM file with the
    /// private key and the certificate; `CLIENT_KEY_ID` for a key without certificate) or
    /// `AZURE_FEDERATED_TOKEN_FILE` (a client assertion another system keeps fresh, with
    /// `AZURE_CLIENT_ID` as the client id when `CLIENT_ID` is unset).
    pub fn from_env() -> Result<Auth, ConfigError> {
        Self::builder_from_env().build()
    }

    /// Like [`Auth::from_env`], but returns the builder so code can add what the environment
    /// does not say (pages, paths, the application name).
    pub fn builder_from_env() -> AuthBuilder {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let mut builder = AuthBuilder::from_vars(&var);
        // `IDENTITY_PROVIDERS=work,customer`: each provider's settings under its name,
        // upper-cased, as a prefix (`WORK_CLIENT_ID`, `WORK_OIDC_AUTHORITY`...).
        for name in var("IDENTITY_PROVIDERS")
            .map(|raw| comma_list(&raw))
            .unwrap_or_default()
        {
            let prefix = name.to_uppercase().replace('-', "_");
            let provider =
                AuthBuilder::from_vars(&|setting: &str| var(&format!("{prefix}_{setting}")));
            builder = builder.provider(name, provider);
        }
        builder
    }
}

impl AuthBuilder {
    /// The settings `var` reads, by their variable names.
    fn from_vars(var: &dyn Fn(&str) -> Option<String>) -> AuthBuilder {
        AuthBuilder {
            client_id: var("CLIENT_ID").or_else(|| var("AZURE_CLIENT_ID")),
            client_secret: var("CLIENT_SECRET"),
            client_certificate: var("CLIENT_CERTIFICATE").map(|p| KeySource::File(p.into())),
            client_key_id: var("CLIENT_KEY_ID"),
            client_assertion_file: var("AZURE_FEDERATED_TOKEN_FILE").map(PathBuf::from),
            client_assertion_managed_identity: var("CLIENT_ASSERTION_MANAGED_IDENTITY")
                .map(|raw| managed_identity_from_var(&raw)),
            redirect_uri: var("REDIRECT_URI"),
            token_endpoint_auth_method: var("TOKEN_ENDPOINT_AUTH_METHOD")
                .map(|raw| raw.parse::<TokenEndpointAuthMethod>()),
            resources: var("RESOURCE")
                .map(|raw| comma_list(&raw))
                .unwrap_or_default(),
            application_root: var("APPLICATION_ROOT"),
            provider: ProviderOptions::from_env(var),
            b2c_tenant_name: var("B2C_TENANT_NAME"),
            b2c_signup_signin_user_flow: var("SIGNUPSIGNIN_USER_FLOW"),
            b2c_edit_profile_user_flow: var("EDITPROFILE_USER_FLOW"),
            b2c_reset_password_user_flow: var("RESETPASSWORD_USER_FLOW"),
            token_encryption_key: var("TOKEN_ENCRYPTION_KEY"),
            backchannel_logout_key: var("BACKCHANNEL_LOGOUT_KEY"),
            allowed_tenants: var("ALLOWED_TENANTS")
                .map(|raw| comma_list(&raw))
                .unwrap_or_default(),
            allowed_email_domains: var("ALLOWED_EMAIL_DOMAINS")
                .map(|raw| comma_list(&raw))
                .unwrap_or_default(),
            resolve_group_overage: var("RESOLVE_GROUP_OVERAGE").map(|raw| parse_flag(&raw)),
            graph_base_url: var("GRAPH_BASE_URL"),
            client_capabilities: var("CLIENT_CAPABILITIES")
                .map(|raw| comma_list(&raw))
                .unwrap_or_default(),
            token_decryption_keys: var("TOKEN_DECRYPTION_KEYS")
                .map(|keys| {
                    keys.split([',', ' '])
                        .filter(|k| !k.is_empty())
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default(),
            ..AuthBuilder::default()
        }
    }
}

/// Builds an [`Auth`]. Every setting has the name of its Python `identity` counterpart where
/// one exists.
#[derive(Default)]
#[must_use]
pub struct AuthBuilder {
    client_id: Option<String>,
    client_secret: Option<String>,
    client_certificate: Option<KeySource>,
    client_key_id: Option<String>,
    client_assertion_file: Option<PathBuf>,
    /// From the builder, or made from the variable (its mistake reported by `build`).
    client_assertion_managed_identity: Option<Result<ManagedIdentity, ConfigError>>,
    /// From the builder, or the raw variable (checked in `build`).
    token_endpoint_auth_method: Option<Result<TokenEndpointAuthMethod, String>>,
    resources: Vec<String>,
    redirect_uri: Option<String>,
    application_root: Option<String>,
    /// The authority, the HTTP client and the metadata lifetime.
    provider: ProviderOptions,
    scopes: Vec<String>,
    post_logout_redirect: Option<String>,
    login_path: Option<String>,
    logout_path: Option<String>,
    app_name: Option<String>,
    pages: Option<Arc<dyn Pages>>,
    login_timeout: Option<Duration>,
    idle_timeout: Option<Duration>,
    session_lifetime: Option<Duration>,
    prompt: Option<Prompt>,
    secure_cookies: Option<bool>,
    refresh_lock: Option<Arc<dyn RefreshLock>>,
    backchannel: bool,
    clock: Option<Clock>,
    clock_skew: Option<Duration>,
    cookie_name: Option<String>,
    token_encryption_key: Option<String>,
    token_decryption_keys: Vec<String>,
    backchannel_logout_key: Option<String>,
    app_token_cache_bytes: Option<u64>,
    device_starts_per_minute: Option<u32>,
    allow_readable_key_file: bool,
    b2c_tenant_name: Option<String>,
    b2c_signup_signin_user_flow: Option<String>,
    b2c_edit_profile_user_flow: Option<String>,
    b2c_reset_password_user_flow: Option<String>,
    allowed_tenants: Vec<String>,
    allowed_email_domains: Vec<String>,
    sign_in_hook: Option<Hook>,
    sign_in_hook_timeout: Option<Duration>,
    client_capabilities: Vec<String>,
    /// Named providers ([`AuthBuilder::provider`]), in order: the first is the default.
    named: Vec<(String, AuthBuilder)>,
    /// From the builder, or the raw variable (checked in `build`).
    resolve_group_overage: Option<Result<bool, String>>,
    graph_base_url: Option<String>,
}

/// A yes-or-no variable: `true`/`false`, `1`/`0`, `yes`/`no`, `on`/`off`; anything else is
/// kept as it came, for `build` to refuse by name.
fn parse_flag(raw: &str) -> Result<bool, String> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err(raw.to_owned()),
    }
}

impl std::fmt::Debug for AuthBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthBuilder")
            .field("client_id", &self.client_id)
            .field("provider", &self.provider)
            .finish_non_exhaustive()
    }
}

impl AuthBuilder {
    provider_setters!();

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

    /// Authenticates with a certificate instead of a secret: the path of a PEM file holding the
    /// private key (RSA as PKCS#8 or PKCS#1, or P-256) and its certificate. Every request to
    /// the token endpoint then carries a client assertion signed with the key (RFC 7523
    /// `private_key_jwt`; RS256, or ES256 for P-256), whose `kid` and `x5t#S256` are the
    /// certificate's SHA-256 thumbprint (and `x5t` its SHA-1 one, for Entra ID). The file is
    /// read once, by
    /// [`build`](Self::build), which refuses it when every user of the machine can read it
    /// (see [`allow_readable_key_file`](Self::allow_readable_key_file)). Variable:
    /// `CLIENT_CERTIFICATE`.
    pub fn client_certificate_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.client_certificate = Some(KeySource::File(path.into()));
        self
    }

    /// Accepts a [client certificate file](Self::client_certificate_file) that every user of
    /// the machine can read (mode `o+r`, such as `0644`), with a warning at startup. By default
    /// such a file stops the start: it holds the client's private key. Some platforms mount
    /// secrets that way (Kubernetes' default `defaultMode: 0644`); prefer `0400` there.
    pub fn allow_readable_key_file(mut self, allowed: bool) -> Self {
        self.allow_readable_key_file = allowed;
        self
    }

    /// Like [`client_certificate_file`](Self::client_certificate_file), with the PEM itself.
    pub fn client_certificate_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.client_certificate = Some(KeySource::Pem(pem.into()));
        self
    }

    /// The `kid` of a client key given without a certificate (the provider has the public key
    /// in the client's registered JWKS). Variable: `CLIENT_KEY_ID`.
    pub fn client_key_id(mut self, kid: impl Into<String>) -> Self {
        self.client_key_id = Some(kid.into());
        self
    }

    /// Authenticates with a client assertion that another system writes to `path` and renews
    /// (federated credentials: Kubernetes and Azure workload identity). The file is read on each
    /// request to the token endpoint, so a rotated assertion is used without a restart.
    /// Variable: `AZURE_FEDERATED_TOKEN_FILE`.
    pub fn client_assertion_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.client_assertion_file = Some(path.into());
        self
    }

    /// Authenticates with a managed identity's token as the client assertion (a federated
    /// credential of the app registration whose issuer and subject are the managed
    /// identity's): no secret, certificate or file anywhere. Each request to the token endpoint
    /// carries the identity's token for `api://AzureADTokenExchange`, which the identity caches
    /// until shortly before it expires. Variable: `CLIENT_ASSERTION_MANAGED_IDENTITY` (`system`,
    /// or the client id of a user-assigned identity).
    ///
    /// ```no_run
    /// use axum_identity_runtime::{Auth, ManagedIdentity, ManagedIdentityId};
    ///
    /// # fn build() -> Result<Auth, Box<dyn std::error::Error>> {
    /// let identity = ManagedIdentity::builder(ManagedIdentityId::SystemAssigned).build()?;
    /// let auth = Auth::builder()
    ///     .authority("https://login.microsoftonline.com/contoso.onmicrosoft.com")
    ///     .client_id("5c2f1f3e-8d0a-4b61-9f5e-2a7d3c4b1e90")
    ///     .client_assertion_managed_identity(identity)
    ///     .redirect_uri("https://app.contoso.com/redirect")
    ///     .build()?;
    /// # Ok(auth) }
    /// ```
    pub fn client_assertion_managed_identity(mut self, identity: ManagedIdentity) -> Self {
        self.client_assertion_managed_identity = Some(Ok(identity));
        self
    }

    /// How the client authenticates at the token endpoint (variable
    /// `TOKEN_ENDPOINT_AUTH_METHOD`): needed when the client is registered for one method and
    /// the provider's discovery lists several (the library would pick `client_secret_basic`).
    /// `client_secret_basic` and `client_secret_post` need a client secret, `private_key_jwt` a
    /// certificate or key.
    pub fn token_endpoint_auth_method(mut self, method: TokenEndpointAuthMethod) -> Self {
        self.token_endpoint_auth_method = Some(Ok(method));
        self
    }

    /// An RFC 8707 resource indicator, the identifier of the API the tokens are for (variable
    /// `RESOURCE`, comma-separated for several): sent as `resource` with the sign-in, the code
    /// exchange, every refresh and client-credentials request, so that providers which put the
    /// granted scopes into `aud` otherwise issue tokens for that API. An absolute URI without
    /// fragment. Call it again for several.
    pub fn resource(mut self, resource: impl Into<String>) -> Self {
        self.resources.push(resource.into());
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

    /// The path the application is served under, such as `/app` (Flask's `APPLICATION_ROOT`;
    /// variable `APPLICATION_ROOT`). Default none; `""` and `/` mean none too.
    ///
    /// The paths configured here (`login_path`, `logout_path`, `post_logout_redirect`) are
    /// relative to it, and every path the library hands out or redirects to has it:
    /// `/app/login`, `/app/logout`, the page to return to after sign-in (kept within the
    /// root), the post-logout redirect URI. The redirect URI's path must start with it
    /// (`https://example.com/app/redirect`). [`Auth::routes`] serves the routes *without* it,
    /// for either way of mounting the application:
    ///
    /// - nested: `Router::new().nest("/app", app)`, where the request keeps the root in its
    ///   original URI;
    /// - behind a reverse proxy that strips the root (`https://example.com/app/x` reaches the
    ///   application as `/x`): the root is added back to the page a sign-in returns to.
    pub fn application_root(mut self, root: impl Into<String>) -> Self {
        self.application_root = Some(root.into());
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

    /// Coordinates token refreshes across application instances that share a session store
    /// (see [`RefreshLock`](crate::RefreshLock); `RedisRefreshLock` with the `redis` feature),
    /// and makes a callback, or a back-channel logout token, usable once across all of them.
    /// Without it, refreshes are single-flight and those checks hold within each process only.
    pub fn refresh_lock(mut self, lock: impl RefreshLock) -> Self {
        self.refresh_lock = Some(Arc::new(lock));
        self
    }

    /// Receives OpenID Connect Back-Channel Logout at `<logout_path>/backchannel` (register that
    /// URL at the provider as the `backchannel_logout_uri`): when the provider says a user signed
    /// out, every session of that user here ends, on every instance sharing the session store
    /// (within a few seconds). The markers live in the session store given to [`Auth::layer`].
    ///
    /// The markers are stored under ids keyed with [`backchannel_logout_key`](Self::backchannel_logout_key)
    /// (else with `TOKEN_ENCRYPTION_KEY`), so no cookie can name one; one of the two is required.
    pub fn backchannel_logout(mut self, enabled: bool) -> Self {
        self.backchannel = enabled;
        self
    }

    /// How many bytes the cache of app-only and on-behalf-of tokens may hold (their keys and
    /// tokens; one token is 1–4 KB). Default 16 MiB. On-behalf-of tokens are cached per
    /// incoming token, so the bound, not the number of callers, decides the memory; when it is
    /// spent the entries used least go first and are requested again when next needed.
    pub fn app_token_cache_size(mut self, bytes: u64) -> Self {
        self.app_token_cache_bytes = Some(bytes);
        self
    }

    /// How many Device Code sign-ins may start per minute in this process, whoever starts
    /// them. Default 60. Each start asks the provider for a code, and a provider that sees too
    /// many throttles the whole application; past the limit a visitor gets `429 Too Many
    /// Requests` with `Retry-After: 60`. (A start needs a person's click on a page that first
    /// set the session cookie, so cookie-less requests start none.)
    pub fn device_code_starts_per_minute(mut self, starts: u32) -> Self {
        self.device_starts_per_minute = Some(starts);
        self
    }

    /// The key of the back-channel logout markers' ids: a secret of at least 32 characters
    /// (`openssl rand -base64 32`), the same on every instance. Variable:
    /// `BACKCHANNEL_LOGOUT_KEY`. Default: `TOKEN_ENCRYPTION_KEY`.
    ///
    /// It is a key of its own, not the client secret, so that rotating the application's
    /// credentials does not forget which sessions the provider ended. Changing this key (or,
    /// without it, `TOKEN_ENCRYPTION_KEY`) does forget them: a session the provider ended
    /// within the last session lifetime would be current again. Keep it stable; if it must
    /// change, end every session (clear the store) at the same time.
    pub fn backchannel_logout_key(mut self, key: impl Into<String>) -> Self {
        self.backchannel_logout_key = Some(key.into());
        self
    }

    /// The clock that sign-in, token freshness and session timeouts read. Default: the wall
    /// clock; tests pass a [`Clock::manual`] and move it instead of sleeping.
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Encrypts the ID, access and refresh tokens in the session store with this key: the
    /// base64 of 32 random bytes (`openssl rand -base64 32`), the same on every instance.
    /// Variable: `TOKEN_ENCRYPTION_KEY`. The tokens are sealed with XChaCha20-Poly1305, bound to
    /// the sign-in they belong to; a session whose tokens do not open reads as signed out.
    pub fn token_encryption_key(mut self, base64: impl Into<String>) -> Self {
        self.token_encryption_key = Some(base64.into());
        self
    }

    /// Older encryption keys, still used to open tokens sealed before a key change, so keys
    /// rotate without signing anyone out. Variable: `TOKEN_DECRYPTION_KEYS` (comma-separated).
    pub fn token_decryption_keys<I, S>(mut self, keys: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.token_decryption_keys = keys.into_iter().map(Into::into).collect();
        self
    }

    /// The session cookie's name. Default `__Host-identity.sid` over https, `identity.sid` over
    /// plain http. Browsers do not separate cookies by port: two applications on one host
    /// (`localhost:5000` and `localhost:5001`) need names of their own.
    pub fn cookie_name(mut self, name: impl Into<String>) -> Self {
        self.cookie_name = Some(name.into());
        self
    }

    /// How much the provider's clock may differ from ours: a token is accepted this long after
    /// its `exp`, and refused when its `iat` or `nbf` is further than this in the future.
    /// Default 60 seconds.
    pub fn clock_skew(mut self, leeway: Duration) -> Self {
        self.clock_skew = Some(leeway);
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
    /// such as `/`, relative to the [application root](Self::application_root). Default: the
    /// built-in signed-out page.
    pub fn post_logout_redirect(mut self, path: impl Into<String>) -> Self {
        self.post_logout_redirect = Some(path.into());
        self
    }

    /// The path that starts a sign-in, relative to the [application
    /// root](Self::application_root). Default `/login`.
    pub fn login_path(mut self, path: impl Into<String>) -> Self {
        self.login_path = Some(path.into());
        self
    }

    /// The path that signs out, relative to the [application root](Self::application_root).
    /// Default `/logout`; the signed-out page is `<path>/done`.
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

    /// Admits only users of these Entra tenants (the ID token's `tid`), as
    /// [`ApiAuthBuilder::allowed_tenants`](crate::ApiAuthBuilder::allowed_tenants) does for an
    /// API: anyone else gets a 403 page and is not signed in. Variable: `ALLOWED_TENANTS`
    /// (comma-separated). Without it a multi-tenant authority (`common`, `organizations`)
    /// admits every organization's users, which `build` logs as a warning.
    ///
    /// ```
    /// use axum_identity_runtime::Auth;
    ///
    /// let auth = Auth::builder()
    ///     .client_id("id")
    ///     .client_secret("secret")
    ///     .redirect_uri("http://localhost:5000/redirect")
    ///     .authority("https://login.microsoftonline.com/organizations")
    ///     .allowed_tenants(["72f988bf-86f1-41af-91ab-2d7cd011db47"])
    ///     .build()?;
    /// # Ok::<(), axum_identity_runtime::ConfigError>(())
    /// ```
    pub fn allowed_tenants<I, S>(mut self, tenants: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.allowed_tenants = tenants.into_iter().map(Into::into).collect();
        self
    }

    /// Admits only users whose *verified* email address is in one of these domains (exactly:
    /// `contoso.com` admits `ada@contoso.com`, not `ada@sales.contoso.com`). Verified means the
    /// ID token's `email_verified` is true; Entra's ID tokens do not carry it, so for an Entra
    /// authority the optional claim `xms_edov` (the email's domain is verified by the user's
    /// tenant; add it to the app registration's token configuration) counts too. A user with no
    /// verified email address is not admitted. Sign-ins ask for the `email` scope when a list is
    /// set. Variable: `ALLOWED_EMAIL_DOMAINS` (comma-separated).
    pub fn allowed_email_domains<I, S>(mut self, domains: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.allowed_email_domains = domains.into_iter().map(Into::into).collect();
        self
    }

    /// An async function called once per completed sign-in (the authorization code flow and
    /// Device Code), after the library verified the ID token and the allow-lists let the user
    /// through, before anything is stored. It decides: [`SignInDecision::allow`] (with data of
    /// the application's, which every later request sees as
    /// [`User::app_data`](crate::User::app_data), on every instance sharing the session
    /// store), or [`SignInDecision::deny`] with a reason the user sees on a 403 page. An error,
    /// a panic or no answer within [`sign_in_hook_timeout`](AuthBuilder::sign_in_hook_timeout)
    /// fails the sign-in with a 500 page. Either way the user is not signed in.
    ///
    /// ```
    /// use axum_identity_runtime::{Auth, BoxError, SignInDecision, SignInEvent};
    ///
    /// async fn admit(event: SignInEvent) -> Result<SignInDecision, BoxError> {
    ///     // A lookup in the application's database would go here.
    ///     let local_id = format!("{}-local", event.user.subject());
    ///     Ok(SignInDecision::allow().with_data("app_user", local_id))
    /// }
    ///
    /// let auth = Auth::builder()
    ///     .client_id("id")
    ///     .client_secret("secret")
    ///     .redirect_uri("http://localhost:5000/redirect")
    ///     .oidc_authority("http://127.0.0.1:3000")
    ///     .on_sign_in(admit)
    ///     .build()?;
    /// # Ok::<(), axum_identity_runtime::ConfigError>(())
    /// ```
    pub fn on_sign_in<F, Fut, E>(mut self, hook: F) -> Self
    where
        F: Fn(SignInEvent) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Result<SignInDecision, E>> + Send + 'static,
        E: Into<BoxError>,
    {
        self.sign_in_hook = Some(admission::hook(hook));
        self
    }

    /// Resolves Entra's groups overage: when a user is in more groups than an ID token carries
    /// (over 200), the token names Graph instead of listing them (`_claim_names`, or
    /// `hasgroups`), and [`User::groups`](crate::User::groups) fails with
    /// [`GroupsOverage`](crate::GroupsOverage). With this on, the library asks Microsoft Graph
    /// for them once, when the user signs in (`POST /v1.0/me/getMemberObjects` with the user's
    /// token for `User.Read`, which sign-ins then ask for, every page of the answer), and
    /// keeps them with the session: `groups()` returns them on every later request with no
    /// network call, and the [sign-in hook](AuthBuilder::on_sign_in) sees them too. If Graph
    /// cannot answer (down, `403`, an unreadable answer), the sign-in goes on, a warning is
    /// logged, and `groups()` still reports the overage: never an empty list. Variable:
    /// `RESOLVE_GROUP_OVERAGE` (`true`/`false`).
    ///
    /// ```
    /// use axum_identity_runtime::Auth;
    ///
    /// let auth = Auth::builder()
    ///     .client_id("id")
    ///     .client_secret("secret")
    ///     .redirect_uri("http://localhost:5000/redirect")
    ///     .authority("https://login.microsoftonline.com/contoso.onmicrosoft.com")
    ///     .resolve_group_overage(true)
    ///     .build()?;
    /// # Ok::<(), axum_identity_runtime::ConfigError>(())
    /// ```
    pub fn resolve_group_overage(mut self, resolve: bool) -> Self {
        self.resolve_group_overage = Some(Ok(resolve));
        self
    }

    /// Where Microsoft Graph is, for [`resolve_group_overage`](AuthBuilder::resolve_group_overage):
    /// `https://graph.microsoft.com` by default; a national cloud's Graph
    /// (`https://graph.microsoft.us`, `https://microsoftgraph.chinacloudapi.cn`), or a stand-in
    /// on loopback (`http` is taken only there). Variable: `GRAPH_BASE_URL`.
    pub fn graph_base_url(mut self, url: impl Into<String>) -> Self {
        self.graph_base_url = Some(url.into());
        self
    }

    /// How long the [sign-in hook](AuthBuilder::on_sign_in) may take before the sign-in fails
    /// (and the user is not signed in). Default 10 seconds.
    pub fn sign_in_hook_timeout(mut self, timeout: Duration) -> Self {
        self.sign_in_hook_timeout = Some(timeout);
        self
    }

    /// Client capabilities announced in every token request, as MSAL's
    /// `client_capabilities`: `["cp1"]` says this application handles claims challenges (see
    /// [`Context::challenge`](crate::Context::challenge)), so Entra issues it tokens of
    /// continuous access evaluation (long-lived, revoked at once when the user's access is).
    /// Sent as the `xms_cc` claims request. Variable: `CLIENT_CAPABILITIES`
    /// (comma-separated).
    pub fn client_capabilities<I, S>(mut self, capabilities: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.client_capabilities = capabilities.into_iter().map(Into::into).collect();
        self
    }

    /// A sign-in is valid for at most this long, however active the user is; token refreshes do
    /// not extend it. Default 24 hours.
    pub fn session_lifetime(mut self, lifetime: Duration) -> Self {
        self.session_lifetime = Some(lifetime);
        self
    }
}

mod build;
mod several;

/// The managed identity `CLIENT_ASSERTION_MANAGED_IDENTITY` names (`system` or a client id).
fn managed_identity_from_var(raw: &str) -> Result<ManagedIdentity, ConfigError> {
    let id: ManagedIdentityId = raw.parse().map_err(|reason| {
        ConfigError::invalid(
            crate::core::error::Setting::ClientAssertionManagedIdentity,
            reason,
        )
    })?;
    ManagedIdentity::builder(id).build()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::error::Setting;

    fn base() -> AuthBuilder {
        Auth::builder()
            .client_id("id")
            .client_secret("secret")
            .redirect_uri("http://localhost:5000/redirect")
    }

    #[test]
    fn the_token_endpoint_auth_method_must_fit_the_credential() {
        let oidc = || base().oidc_authority("http://127.0.0.1:3000");
        assert!(
            oidc()
                .token_endpoint_auth_method(TokenEndpointAuthMethod::ClientSecretPost)
                .build()
                .is_ok()
        );
        let err = oidc()
            .token_endpoint_auth_method(TokenEndpointAuthMethod::PrivateKeyJwt)
            .build()
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "`token_endpoint_auth_method` (environment variable TOKEN_ENDPOINT_AUTH_METHOD) is \
             invalid: `private_key_jwt` needs CLIENT_CERTIFICATE (a client key)"
        );
        let mut builder = oidc();
        builder.token_endpoint_auth_method = Some("client_secret_jwt".parse());
        let err = builder.build().unwrap_err();
        assert!(
            err.to_string()
                .contains("`client_secret_jwt` is not one of"),
            "{err}"
        );
    }

    #[test]
    fn the_group_overage_settings_are_checked_and_ask_for_graphs_scope() {
        let entra =
            || base().authority("https://login.microsoftonline.com/contoso.onmicrosoft.com");
        let auth = entra().resolve_group_overage(true).build().unwrap();
        let graph = auth.settings().graph.as_ref().map(url::Url::as_str);
        assert_eq!(graph, Some("https://graph.microsoft.com/"));
        assert!(auth.settings().scopes.iter().any(|s| s == "User.Read"));
        let off = entra()
            .graph_base_url("https://graph.microsoft.us")
            .build()
            .unwrap();
        assert!(off.settings().graph.is_none());
        assert!(!off.settings().scopes.iter().any(|s| s == "User.Read"));
        let loopback = entra()
            .resolve_group_overage(true)
            .graph_base_url("http://127.0.0.1:9")
            .build()
            .unwrap();
        assert!(loopback.settings().graph.is_some());
        for bad in [
            "http://graph.example",
            "not a url",
            "https://graph.example/?x=1",
        ] {
            let err = entra()
                .resolve_group_overage(true)
                .graph_base_url(bad)
                .build()
                .unwrap_err();
            assert!(
                matches!(
                    err,
                    ConfigError::Invalid {
                        setting: Setting::GraphBaseUrl,
                        ..
                    }
                ),
                "{bad}: {err}"
            );
        }
        let mut builder = entra();
        builder.resolve_group_overage = Some(parse_flag("maybe"));
        assert_eq!(
            builder.build().unwrap_err().to_string(),
            "`resolve_group_overage` (environment variable RESOLVE_GROUP_OVERAGE) is invalid: \
             `maybe` is neither `true` nor `false`"
        );
        assert_eq!(parse_flag(" Yes "), Ok(true));
        assert_eq!(parse_flag("0"), Ok(false));
    }

    #[test]
    fn resources_are_absolute_uris_without_fragments() {
        let oidc = || base().oidc_authority("http://127.0.0.1:3000");
        assert!(
            oidc()
                .resource("https://api.example/orders")
                .build()
                .is_ok()
        );
        assert!(oidc().resource("urn:example:orders").build().is_ok());
        for bad in ["orders", "https://api.example/#x", ""] {
            let err = oidc().resource(bad).build().unwrap_err();
            assert!(err.to_string().contains("RESOURCE"), "{bad}: {err}");
        }
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
    fn a_secret_and_a_certificate_are_refused_saying_which_to_drop() {
        let err = base()
            .oidc_authority("https://idp.example")
            .client_certificate_file("no-such-dir/app.pem")
            .build()
            .unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("CLIENT_SECRET") && text.contains("CLIENT_CERTIFICATE"),
            "{text}"
        );
        assert!(text.contains("drop"), "{text}");
        let err = base()
            .oidc_authority("https://idp.example")
            .client_assertion_file("/var/run/token")
            .build()
            .unwrap_err();
        assert!(
            err.to_string().contains("AZURE_FEDERATED_TOKEN_FILE"),
            "{err}"
        );
        let err = Auth::builder()
            .client_id("id")
            .oidc_authority("https://idp.example")
            .client_certificate_file("no-such-dir/app.pem")
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("no-such-dir/app.pem"), "{err}");
        let err = Auth::builder()
            .client_id("id")
            .oidc_authority("https://idp.example")
            .client_assertion_file("/var/run/token")
            .backchannel_logout(true)
            .build()
            .unwrap_err();
        assert!(
            err.to_string().contains("BACKCHANNEL_LOGOUT_KEY")
                && err.to_string().contains("TOKEN_ENCRYPTION_KEY")
                && !err.to_string().contains("CLIENT_SECRET"),
            "{err}"
        );
        // A public client (the Device Code flow) needs no credential.
        Auth::builder()
            .client_id("id")
            .oidc_authority("https://idp.example")
            .build()
            .unwrap();
    }

    #[test]
    fn back_channel_markers_keep_their_ids_when_the_client_secret_rotates() {
        let with_secret = |secret: &str| {
            Auth::builder()
                .client_id("id")
                .client_secret(secret)
                .redirect_uri("http://localhost:5000/redirect")
                .oidc_authority("https://idp.example")
                .backchannel_logout(true)
                .backchannel_logout_key("marker-key-0123456789abcdefghijklmnopq")
                .build()
                .unwrap()
        };
        let (old, new) = (with_secret("old secret"), with_secret("new secret"));
        assert!(
            old.markers().marker_id("iss", "sub") == new.markers().marker_id("iss", "sub"),
            "a session the provider ended stays ended after the secret changes"
        );
        // The encryption key serves when there is no dedicated key; the secret never does.
        let keyed = |secret: &str| {
            Auth::builder()
                .client_id("id")
                .client_secret(secret)
                .redirect_uri("http://localhost:5000/redirect")
                .oidc_authority("https://idp.example")
                .backchannel_logout(true)
                .token_encryption_key("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=")
                .build()
                .unwrap()
        };
        assert!(
            keyed("a").markers().marker_id("iss", "sub")
                == keyed("b").markers().marker_id("iss", "sub")
        );
        let err = base()
            .oidc_authority("https://idp.example")
            .backchannel_logout(true)
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("BACKCHANNEL_LOGOUT_KEY"), "{err}");
        let err = base()
            .oidc_authority("https://idp.example")
            .backchannel_logout(true)
            .backchannel_logout_key("short")
            .build()
            .unwrap_err();
        assert!(
            err.to_string().contains("BACKCHANNEL_LOGOUT_KEY")
                && err.to_string().contains("at least 32 characters"),
            "{err}"
        );
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
        assert_eq!(auth.application_root(), None);
    }

    #[test]
    fn paths_under_an_application_root_have_it_and_routes_do_not() {
        let auth = base()
            .redirect_uri("http://localhost:5000/app/redirect")
            .oidc_authority("https://idp.example")
            .application_root("/app/")
            .post_logout_redirect("/bye")
            .build()
            .unwrap();
        assert_eq!(auth.application_root(), Some("/app"));
        assert_eq!(auth.login_path(), "/app/login");
        assert_eq!(auth.logout_path(), "/app/logout");
        assert_eq!(auth.signed_out_path(), "/app/logout/done");
        assert_eq!(auth.redirect_path(), Some("/app/redirect"));
        assert_eq!(auth.settings().post_logout, "/app/bye");
        assert_eq!(auth.route(auth.login_path()), "/login");
        assert_eq!(auth.route("/app/redirect"), "/redirect");
        assert_eq!(auth.login_url("/app/"), "/app/login");
        assert_eq!(auth.login_url("/"), "/app/login");
        assert_eq!(
            auth.login_url("/a?b=c"),
            "/app/login?next=%2Fapp%2Fa%3Fb%3Dc"
        );
        assert_eq!(auth.return_path("/other"), "/app/");
        assert_eq!(auth.return_path("/app/x"), "/app/x");
        for root in ["", "/"] {
            let auth = base()
                .oidc_authority("https://idp.example")
                .application_root(root)
                .build()
                .unwrap();
            assert_eq!(auth.application_root(), None, "{root:?}");
            assert_eq!(auth.login_path(), "/login");
        }
    }

    #[test]
    fn the_redirect_uri_lives_under_the_application_root() {
        for uri in [
            "http://localhost:5000/redirect",
            "http://localhost:5000/app",
            "http://localhost:5000/app/",
            "http://localhost:5000/application/redirect",
        ] {
            let err = base()
                .redirect_uri(uri)
                .oidc_authority("https://idp.example")
                .application_root("/app")
                .build()
                .unwrap_err();
            assert!(err.to_string().contains("REDIRECT_URI"), "{uri}: {err}");
        }
        let err = base()
            .oidc_authority("https://idp.example")
            .application_root("app")
            .build()
            .unwrap_err();
        assert!(
            matches!(
                err,
                ConfigError::Invalid {
                    setting: Setting::ApplicationRoot,
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("APPLICATION_ROOT"), "{err}");
    }

    #[test]
    fn the_managed_identity_variable_is_a_credential_of_its_own() {
        let vars = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        let common = [
            ("CLIENT_ID", "id"),
            ("OIDC_AUTHORITY", "https://idp.example"),
            ("REDIRECT_URI", "http://localhost:5000/redirect"),
        ];
        let with =
            |more: &[(&'static str, &'static str)]| -> &'static [(&'static str, &'static str)] {
                Box::leak([&common[..], more].concat().into_boxed_slice())
            };
        // `system` (or a client id) makes the managed identity the client's credential: an
        // assertion, so `private_key_jwt` fits it.
        AuthBuilder::from_vars(&vars(with(&[
            ("CLIENT_ASSERTION_MANAGED_IDENTITY", "system"),
            ("TOKEN_ENDPOINT_AUTH_METHOD", "private_key_jwt"),
        ])))
        .build()
        .unwrap();
        // Next to a secret: one credential, and the error names both variables.
        let err = AuthBuilder::from_vars(&vars(with(&[
            ("CLIENT_ASSERTION_MANAGED_IDENTITY", "system"),
            ("CLIENT_SECRET", "s"),
        ])))
        .build()
        .unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("CLIENT_SECRET") && text.contains("CLIENT_ASSERTION_MANAGED_IDENTITY"),
            "{text}"
        );
        // Neither `system` nor a client id.
        let err = AuthBuilder::from_vars(&vars(with(&[(
            "CLIENT_ASSERTION_MANAGED_IDENTITY",
            "my identity",
        )])))
        .build()
        .unwrap_err();
        assert!(
            matches!(
                err,
                ConfigError::Invalid {
                    setting: Setting::ClientAssertionManagedIdentity,
                    ..
                }
            ),
            "{err}"
        );
        // MANAGED_IDENTITY_CLIENT_ID alone does not make the identity the app's credential.
        let err = AuthBuilder::from_vars(&vars(with(&[
            ("MANAGED_IDENTITY_CLIENT_ID", "system"),
            ("TOKEN_ENDPOINT_AUTH_METHOD", "private_key_jwt"),
        ])))
        .build()
        .unwrap_err();
        assert!(err.to_string().contains("CLIENT_CERTIFICATE"), "{err}");
    }
}
