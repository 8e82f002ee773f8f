//! The settings of the builders (their methods and environment variables), the configuration
//! errors that name them, and the flows of requests to the provider that log lines name.

/// A setting of [`AuthBuilder`](crate::AuthBuilder) or [`ApiAuthBuilder`](crate::ApiAuthBuilder): its builder method, and its environment
/// variable where [`Auth::from_env`](crate::Auth::from_env) reads one. [`ConfigError`] names
/// settings with it.
///
/// ```
/// use axum_identity_runtime::Setting;
///
/// assert_eq!(Setting::RedirectUri.builder_method(), "redirect_uri");
/// assert_eq!(Setting::RedirectUri.variable(), Some("REDIRECT_URI"));
/// assert_eq!(Setting::LoginPath.variable(), None);
/// assert_eq!(Setting::RedirectUri.to_string(), "`redirect_uri` (environment variable REDIRECT_URI)");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Setting {
    /// `client_id`, `CLIENT_ID`.
    ClientId,
    /// `client_secret`, `CLIENT_SECRET`.
    ClientSecret,
    /// `client_certificate_file` (or `client_certificate_pem`), `CLIENT_CERTIFICATE`.
    ClientCertificate,
    /// `client_key_id`, `CLIENT_KEY_ID`: the `kid` of a client key without a certificate.
    ClientKeyId,
    /// `client_assertion_file`, `AZURE_FEDERATED_TOKEN_FILE`.
    ClientAssertionFile,
    /// `redirect_uri`, `REDIRECT_URI`.
    RedirectUri,
    /// `authority`, `AUTHORITY`.
    Authority,
    /// `oidc_authority`, `OIDC_AUTHORITY`.
    OidcAuthority,
    /// `b2c_tenant_name`, `B2C_TENANT_NAME`.
    B2cTenantName,
    /// `b2c_signup_signin_user_flow`, `SIGNUPSIGNIN_USER_FLOW`.
    B2cSignupSigninUserFlow,
    /// `b2c_edit_profile_user_flow`, `EDITPROFILE_USER_FLOW`.
    B2cEditProfileUserFlow,
    /// `b2c_reset_password_user_flow`, `RESETPASSWORD_USER_FLOW`.
    B2cResetPasswordUserFlow,
    /// `scopes`.
    Scopes,
    /// `post_logout_redirect`.
    PostLogoutRedirect,
    /// `login_path`.
    LoginPath,
    /// `logout_path`.
    LogoutPath,
    /// `http_timeout`.
    HttpTimeout,
    /// `cookie_name`.
    CookieName,
    /// `token_encryption_key`, `TOKEN_ENCRYPTION_KEY` (and `token_decryption_keys`,
    /// `TOKEN_DECRYPTION_KEYS`).
    TokenEncryptionKey,
    /// [`ApiAuthBuilder::audiences`](crate::ApiAuthBuilder::audiences), `AUDIENCE`.
    Audiences,
    /// `allowed_tenants` (of [`AuthBuilder`](crate::AuthBuilder) and
    /// [`ApiAuthBuilder`](crate::ApiAuthBuilder)), `ALLOWED_TENANTS`.
    AllowedTenants,
    /// `allowed_email_domains`, `ALLOWED_EMAIL_DOMAINS`.
    AllowedEmailDomains,
    /// `provider` (named providers), `IDENTITY_PROVIDERS`.
    Providers,
    /// `application_root`, `APPLICATION_ROOT`.
    ApplicationRoot,
    /// `token_endpoint_auth_method`, `TOKEN_ENDPOINT_AUTH_METHOD`.
    TokenEndpointAuthMethod,
    /// `resource`, `RESOURCE`: RFC 8707 resource indicators.
    Resource,
    /// `backchannel_logout_key`, `BACKCHANNEL_LOGOUT_KEY`.
    BackchannelLogoutKey,
    /// `client_assertion_managed_identity`, `CLIENT_ASSERTION_MANAGED_IDENTITY` (`system`, or
    /// the client id of a user-assigned identity): a managed identity's token as the client
    /// assertion of a federated credential.
    ClientAssertionManagedIdentity,
    /// [`ManagedIdentity::from_env`](crate::ManagedIdentity::from_env)'s identity,
    /// `MANAGED_IDENTITY_CLIENT_ID` (`system`, or a user-assigned identity's client id).
    ManagedIdentityClientId,
    /// [`ManagedIdentityBuilder::app_service_endpoint`](crate::ManagedIdentityBuilder::app_service_endpoint)'s
    /// endpoint, `IDENTITY_ENDPOINT` (set by App Service, Functions and Container Apps).
    IdentityEndpoint,
    /// [`ManagedIdentityBuilder::app_service_endpoint`](crate::ManagedIdentityBuilder::app_service_endpoint)'s
    /// header value, `IDENTITY_HEADER` (set next to `IDENTITY_ENDPOINT`).
    IdentityHeader,
    /// [`ManagedIdentityBuilder::imds_endpoint`](crate::ManagedIdentityBuilder::imds_endpoint),
    /// `AZURE_POD_IDENTITY_AUTHORITY_HOST`: the instance metadata service's base address.
    ImdsEndpoint,
    /// [`DownstreamApi::new`](crate::DownstreamApi::new): a downstream API's base URL and scopes.
    DownstreamApi,
    /// `resolve_group_overage`, `RESOLVE_GROUP_OVERAGE`.
    ResolveGroupOverage,
    /// `graph_base_url`, `GRAPH_BASE_URL`.
    GraphBaseUrl,
}

impl Setting {
    /// The [`AuthBuilder`](crate::AuthBuilder) method that sets it.
    pub fn builder_method(self) -> &'static str {
        match self {
            Setting::ClientId => "client_id",
            Setting::ClientSecret => "client_secret",
            Setting::ClientCertificate => "client_certificate_file",
            Setting::ClientKeyId => "client_key_id",
            Setting::ClientAssertionFile => "client_assertion_file",
            Setting::RedirectUri => "redirect_uri",
            Setting::Authority => "authority",
            Setting::OidcAuthority => "oidc_authority",
            Setting::B2cTenantName => "b2c_tenant_name",
            Setting::B2cSignupSigninUserFlow => "b2c_signup_signin_user_flow",
            Setting::B2cEditProfileUserFlow => "b2c_edit_profile_user_flow",
            Setting::B2cResetPasswordUserFlow => "b2c_reset_password_user_flow",
            Setting::Scopes => "scopes",
            Setting::PostLogoutRedirect => "post_logout_redirect",
            Setting::LoginPath => "login_path",
            Setting::LogoutPath => "logout_path",
            Setting::HttpTimeout => "http_timeout",
            Setting::CookieName => "cookie_name",
            Setting::TokenEncryptionKey => "token_encryption_key",
            Setting::Audiences => "audiences",
            Setting::AllowedTenants => "allowed_tenants",
            Setting::AllowedEmailDomains => "allowed_email_domains",
            Setting::Providers => "provider",
            Setting::ApplicationRoot => "application_root",
            Setting::TokenEndpointAuthMethod => "token_endpoint_auth_method",
            Setting::Resource => "resource",
            Setting::BackchannelLogoutKey => "backchannel_logout_key",
            Setting::ClientAssertionManagedIdentity => "client_assertion_managed_identity",
            Setting::ManagedIdentityClientId => "ManagedIdentity::builder",
            Setting::IdentityEndpoint | Setting::IdentityHeader => "app_service_endpoint",
            Setting::ImdsEndpoint => "imds_endpoint",
            Setting::DownstreamApi => "DownstreamApi::new",
            Setting::ResolveGroupOverage => "resolve_group_overage",
            Setting::GraphBaseUrl => "graph_base_url",
        }
    }

    /// The environment variable [`Auth::from_env`](crate::Auth::from_env) reads it from.
    pub fn variable(self) -> Option<&'static str> {
        match self {
            Setting::ClientId => Some("CLIENT_ID"),
            Setting::ClientSecret => Some("CLIENT_SECRET"),
            Setting::ClientCertificate => Some("CLIENT_CERTIFICATE"),
            Setting::ClientKeyId => Some("CLIENT_KEY_ID"),
            Setting::ClientAssertionFile => Some("AZURE_FEDERATED_TOKEN_FILE"),
            Setting::RedirectUri => Some("REDIRECT_URI"),
            Setting::Authority => Some("AUTHORITY"),
            Setting::OidcAuthority => Some("OIDC_AUTHORITY"),
            Setting::B2cTenantName => Some("B2C_TENANT_NAME"),
            Setting::B2cSignupSigninUserFlow => Some("SIGNUPSIGNIN_USER_FLOW"),
            Setting::B2cEditProfileUserFlow => Some("EDITPROFILE_USER_FLOW"),
            Setting::B2cResetPasswordUserFlow => Some("RESETPASSWORD_USER_FLOW"),
            Setting::TokenEncryptionKey => Some("TOKEN_ENCRYPTION_KEY"),
            Setting::Audiences => Some("AUDIENCE"),
            Setting::ApplicationRoot => Some("APPLICATION_ROOT"),
            Setting::TokenEndpointAuthMethod => Some("TOKEN_ENDPOINT_AUTH_METHOD"),
            Setting::Resource => Some("RESOURCE"),
            Setting::BackchannelLogoutKey => Some("BACKCHANNEL_LOGOUT_KEY"),
            Setting::AllowedTenants => Some("ALLOWED_TENANTS"),
            Setting::AllowedEmailDomains => Some("ALLOWED_EMAIL_DOMAINS"),
            Setting::Providers => Some("IDENTITY_PROVIDERS"),
            Setting::ClientAssertionManagedIdentity => Some("CLIENT_ASSERTION_MANAGED_IDENTITY"),
            Setting::ManagedIdentityClientId => Some("MANAGED_IDENTITY_CLIENT_ID"),
            Setting::IdentityEndpoint => Some("IDENTITY_ENDPOINT"),
            Setting::IdentityHeader => Some("IDENTITY_HEADER"),
            Setting::ImdsEndpoint => Some("AZURE_POD_IDENTITY_AUTHORITY_HOST"),
            Setting::ResolveGroupOverage => Some("RESOLVE_GROUP_OVERAGE"),
            Setting::GraphBaseUrl => Some("GRAPH_BASE_URL"),
            Setting::DownstreamApi
            | Setting::Scopes
            | Setting::PostLogoutRedirect
            | Setting::LoginPath
            | Setting::LogoutPath
            | Setting::HttpTimeout
            | Setting::CookieName => None,
        }
    }
}

impl std::fmt::Display for Setting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "`{}`", self.builder_method())?;
        if let Some(variable) = self.variable() {
            write!(f, " (environment variable {variable})")?;
        }
        Ok(())
    }
}

/// A setting that is missing, malformed, or contradicts another one. Returned by
/// [`AuthBuilder::build`](crate::AuthBuilder::build) and [`Auth::from_env`](crate::Auth::from_env),
/// so a bad configuration stops the application at startup, naming the setting and its
/// environment variable, instead of at the first login.
///
/// ```
/// use axum_identity_runtime::{Auth, ConfigError, Setting};
///
/// let error = Auth::builder().build().unwrap_err();
/// assert!(matches!(error, ConfigError::Missing { setting: Setting::ClientId, .. }));
/// assert_eq!(error.to_string(), "`client_id` (environment variable CLIENT_ID) is not set");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A required setting is missing.
    #[error("{setting} is not set{}", because.map(|b| format!(" ({b})")).unwrap_or_default())]
    Missing {
        /// The setting.
        setting: Setting,
        /// Why it is required here, when it is not always.
        because: Option<&'static str>,
    },
    /// A setting has a value that cannot work.
    #[error("{setting} is invalid: {reason}")]
    Invalid {
        /// The setting.
        setting: Setting,
        /// Why.
        reason: String,
    },
    /// Two settings exclude each other.
    #[error("{first} and {second} cannot both be set: {reason}")]
    Conflict {
        /// One setting.
        first: Setting,
        /// The other.
        second: Setting,
        /// Why.
        reason: &'static str,
    },
    /// A setting of one of several named providers: which provider, and what is wrong (its
    /// environment variables carry the provider's name as a prefix, `WORK_CLIENT_ID`).
    #[error("provider `{provider}` (its variables are prefixed {}_): {error}", provider.to_uppercase().replace('-', "_"))]
    Named {
        /// The provider's name.
        provider: String,
        /// What is wrong with its settings.
        error: Box<ConfigError>,
    },
    /// The provider's discovery document does not fit the configured authority.
    #[error("the identity provider's configuration is unusable: {0}")]
    Provider(String),
    /// The provider refused a request because of how the application is registered or
    /// configured (`invalid_client`, `unauthorized_client`, `unsupported_grant_type`): retrying
    /// never helps, a setting has to change.
    #[error(
        "{flow}: the identity provider refused the application's request ({answer}); check {fix}"
    )]
    Refused {
        /// The flow whose request was refused: `sign-in`, `refresh`, `app token`, ...
        flow: Flow,
        /// The provider's words: its error code and description, clipped.
        answer: String,
        /// The settings (or the registration at the provider) to check.
        fix: String,
    },
}

/// The flow a request to the provider belongs to, named in log lines and errors so that a
/// failed silent refresh does not read as a failed sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Flow {
    /// Signing a user in (the authorization code exchange).
    SignIn,
    /// Signing a user in with the Device Code flow.
    DeviceCode,
    /// Refreshing a user's access token.
    Refresh,
    /// A token the application asks for itself (client credentials, on-behalf-of).
    AppToken,
    /// Revoking a refresh token at sign-out.
    Revocation,
    /// Introspecting an access token a web API received.
    Introspection,
}

impl std::fmt::Display for Flow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Flow::SignIn => "sign-in",
            Flow::DeviceCode => "device code sign-in",
            Flow::Refresh => "token refresh",
            Flow::AppToken => "app token",
            Flow::Revocation => "revocation",
            Flow::Introspection => "introspection",
        })
    }
}

impl ConfigError {
    /// A required setting is missing.
    pub(crate) fn missing(setting: Setting, because: Option<&'static str>) -> Self {
        ConfigError::Missing { setting, because }
    }

    /// A setting has a value that cannot work.
    pub(crate) fn invalid(setting: Setting, reason: impl Into<String>) -> Self {
        ConfigError::Invalid {
            setting,
            reason: reason.into(),
        }
    }
}
