//! [`AuthBuilder::build`]: the settings checked and turned into an [`Auth`], in named steps:
//! the B2C user flows and the authority they make, the public paths, the cookie, the session
//! policy, and the credential with what depends on it.

use std::sync::Arc;
use std::time::Duration;

use url::Url;

use super::AuthBuilder;
use crate::core::error::{ConfigError, Setting};
use crate::core::params::is_single_scope;
use crate::core::return_path::safe_return_path;
use crate::oidc::authority::{Authority, AuthorityKind, is_loopback};
use crate::oidc::checks::{
    B2c, check_auth_method, check_cookie_name, check_path, check_resources, check_root,
    check_token_keys, parse_redirect_uri,
};
use crate::oidc::client::Client;
use crate::oidc::credential::Credential;
use crate::oidc::provider::Provider;
use crate::services::backchannel::LogoutMarkers;
use crate::services::graph::{DEFAULT_GRAPH_URL, GRAPH_SCOPE};
use crate::services::tokens::TokenCache;
use crate::store::session::SessionPolicy;
use crate::store::single_use::SingleUse;
use crate::web_app::admission::{Admission, AllowList, DEFAULT_HOOK_TIMEOUT};
use crate::web_app::auth::{Auth, B2cFlows, Parts, Settings};
use crate::web_app::context::Links;
use crate::web_app::pages::DefaultPages;

/// The public paths of the library's routes, with the application root, as a browser asks.
struct Paths {
    root: String,
    login: String,
    logout: String,
    signed_out: String,
    post_logout: String,
}

/// The authorities of the B2C user flows a tenant and flow names make.
#[derive(Default)]
struct B2cUrls {
    sign_in: Option<String>,
    edit_profile: Option<String>,
    reset_password: Option<String>,
}

impl AuthBuilder {
    /// Checks the settings and builds the [`Auth`]. Does not contact the provider (see
    /// [`Auth::warm_up`]).
    pub fn build(self) -> Result<Auth, ConfigError> {
        if self.has_named_providers() {
            return self.build_several();
        }
        Ok(Auth::new(self.parts("")?, Vec::new()))
    }

    /// The services of one provider's `Auth`, `name` being the provider's.
    pub(super) fn parts(mut self, name: &str) -> Result<Parts, ConfigError> {
        let client_id = self
            .client_id
            .take()
            .filter(|v| !v.trim().is_empty())
            .ok_or(ConfigError::missing(Setting::ClientId, None))?;
        let redirect_uri = self
            .redirect_uri
            .take()
            .as_deref()
            .map(parse_redirect_uri)
            .transpose()?;
        let b2c = self.b2c_urls()?;
        if let Some(sign_in) = b2c.sign_in {
            self.b2c_is_the_authority(sign_in)?;
        }
        let authority = self.provider.checked_authority()?;
        if redirect_uri.is_none() && authority.kind == AuthorityKind::B2c {
            return Err(ConfigError::missing(
                Setting::RedirectUri,
                Some("Azure AD B2C has no Device Code flow"),
            ));
        }
        let paths = self.paths(redirect_uri.as_ref())?;
        if let Some(scope) = self.scopes.iter().find(|s| !is_single_scope(s)) {
            return Err(ConfigError::invalid(
                Setting::Scopes,
                format!("`{scope}` is not a single scope"),
            ));
        }
        let (http, ttl) = self.provider.transport()?;
        let flow_provider = |url: Option<String>| -> Result<Option<Provider>, ConfigError> {
            url.map(|url| {
                let authority = Authority::microsoft(&url)
                    .map_err(|reason| ConfigError::invalid(Setting::B2cTenantName, reason))?;
                Ok(Provider::new(authority, http.clone(), ttl))
            })
            .transpose()
        };
        let b2c_flows = B2cFlows {
            edit_profile: flow_provider(b2c.edit_profile)?,
            reset_password: flow_provider(b2c.reset_password)?,
        };
        let mut settings = self.settings(paths, redirect_uri.as_ref())?;
        // An email allow-list needs the email address: ask for it at every sign-in.
        if !self.allowed_email_domains.is_empty() && !settings.scopes.iter().any(|s| s == "email") {
            settings.scopes.push("email".to_owned());
        }
        settings.admission = self.admission(&authority)?;
        settings.graph = self.graph()?;
        // Graph's groups of an overage are read with the user's token for `User.Read`.
        if settings.graph.is_some() && !settings.scopes.iter().any(|s| s == GRAPH_SCOPE) {
            settings.scopes.push(GRAPH_SCOPE.to_owned());
        }
        let sealer = check_token_keys(
            self.token_encryption_key.as_deref(),
            &self.token_decryption_keys,
        )?;
        let markers = LogoutMarkers::from_settings(
            self.backchannel,
            self.backchannel_logout_key.as_deref(),
            self.token_encryption_key.as_deref(),
        )?;
        let client = self.client(client_id, redirect_uri)?;
        settings.links = Arc::new(Links {
            provider: name.to_owned(),
            ..Links::clone(&settings.links)
        });
        Ok(Parts {
            settings,
            client,
            provider: Provider::new(authority, http, ttl),
            b2c: b2c_flows,
            tokens: TokenCache::new(self.refresh_lock.clone()),
            once: SingleUse::new(self.refresh_lock),
            markers,
            sealer,
            pages: self.pages.unwrap_or_else(|| Arc::new(DefaultPages)),
            clock: self.clock.unwrap_or_default(),
            app_token_cache_bytes: self
                .app_token_cache_bytes
                .unwrap_or(crate::services::app_tokens::DEFAULT_CACHE_BYTES),
        })
    }

    /// The B2C user flows' authorities; a tenant without a sign-in flow, or a flow without a
    /// tenant, is a mistake that names the missing setting.
    fn b2c_urls(&self) -> Result<B2cUrls, ConfigError> {
        let b2c = B2c {
            tenant: self.b2c_tenant_name.as_deref(),
        };
        let urls = B2cUrls {
            sign_in: b2c.authority(
                self.b2c_signup_signin_user_flow.as_deref(),
                Setting::B2cSignupSigninUserFlow,
            )?,
            edit_profile: b2c.authority(
                self.b2c_edit_profile_user_flow.as_deref(),
                Setting::B2cEditProfileUserFlow,
            )?,
            reset_password: b2c.authority(
                self.b2c_reset_password_user_flow.as_deref(),
                Setting::B2cResetPasswordUserFlow,
            )?,
        };
        match (&self.b2c_tenant_name, &self.b2c_signup_signin_user_flow) {
            (Some(_), None) => {
                return Err(ConfigError::missing(
                    Setting::B2cSignupSigninUserFlow,
                    Some("B2C_TENANT_NAME is set"),
                ));
            }
            (None, Some(_)) => {
                return Err(ConfigError::missing(
                    Setting::B2cTenantName,
                    Some("SIGNUPSIGNIN_USER_FLOW is set"),
                ));
            }
            _ => {}
        }
        if self.b2c_tenant_name.is_none()
            && (self.b2c_edit_profile_user_flow.is_some()
                || self.b2c_reset_password_user_flow.is_some())
        {
            return Err(ConfigError::missing(
                Setting::B2cTenantName,
                Some("a B2C user flow is set"),
            ));
        }
        Ok(urls)
    }

    /// A B2C tenant and sign-in flow make the authority: an authority set besides is a
    /// contradiction.
    fn b2c_is_the_authority(&mut self, sign_in: String) -> Result<(), ConfigError> {
        let first = match (&self.provider.authority, &self.provider.oidc_authority) {
            (Some(_), _) => Some(Setting::Authority),
            (None, Some(_)) => Some(Setting::OidcAuthority),
            (None, None) => None,
        };
        if let Some(first) = first {
            return Err(ConfigError::Conflict {
                first,
                second: Setting::B2cTenantName,
                reason: "a B2C tenant and user flow make the authority; set one or the other",
            });
        }
        self.provider.authority = Some(sign_in);
        Ok(())
    }

    /// The public paths (every one with the root, as a browser asks for it), checked against
    /// each other and against the redirect URI's path.
    fn paths(&mut self, redirect_uri: Option<&Url>) -> Result<Paths, ConfigError> {
        let root = check_root(self.application_root.take())?;
        let login =
            root.clone() + &check_path(Setting::LoginPath, self.login_path.take(), "/login")?;
        let logout =
            root.clone() + &check_path(Setting::LogoutPath, self.logout_path.take(), "/logout")?;
        let signed_out = format!("{}/done", logout.trim_end_matches('/'));
        let post_logout = match self.post_logout_redirect.take() {
            Some(path) => {
                if safe_return_path(&path) != path {
                    return Err(ConfigError::invalid(
                        Setting::PostLogoutRedirect,
                        format!("`{path}` must be a local path such as `/`"),
                    ));
                }
                root.clone() + &path
            }
            None => signed_out.clone(),
        };
        if let Some(uri) = redirect_uri
            && !root.is_empty()
            && !uri
                .path()
                .strip_prefix(&root)
                .is_some_and(|route| route.len() > 1 && route.starts_with('/'))
        {
            return Err(ConfigError::invalid(
                Setting::RedirectUri,
                format!(
                    "`{uri}` must have a path of its own under APPLICATION_ROOT `{root}`, such as `{root}/redirect`"
                ),
            ));
        }
        let redirect_path = redirect_uri.map(Url::path).unwrap_or_default();
        for (setting, path) in [(Setting::LoginPath, &login), (Setting::LogoutPath, &logout)] {
            if path == redirect_path {
                return Err(ConfigError::invalid(
                    setting,
                    format!("`{path}` is also the path of REDIRECT_URI"),
                ));
            }
        }
        Ok(Paths {
            root,
            login,
            logout,
            signed_out,
            post_logout,
        })
    }

    /// The settings every request reads: the paths, the cookie, the session policy.
    fn settings(
        &mut self,
        paths: Paths,
        redirect_uri: Option<&Url>,
    ) -> Result<Settings, ConfigError> {
        let secure_cookies = self
            .secure_cookies
            .unwrap_or_else(|| redirect_uri.is_some_and(|u| u.scheme() == "https"));
        let cookie_name = match self.cookie_name.take() {
            Some(name) => check_cookie_name(name)?,
            // The `__Host-` prefix makes browsers accept the cookie only with `Secure`,
            // `Path=/` and no `Domain`, so neither a sibling subdomain nor a man in the middle
            // on plain http can plant a session cookie for this origin (RFC 6265bis §4.1.3.2).
            None if secure_cookies => "__Host-identity.sid".to_owned(),
            None => "identity.sid".to_owned(),
        };
        let links = Arc::new(Links {
            login: paths.login.clone(),
            logout: paths.logout,
            root: paths.root.clone(),
            provider: String::new(),
        });
        Ok(Settings {
            prompt: self.prompt,
            secure_cookies,
            cookie_name,
            scopes: std::mem::take(&mut self.scopes),
            root: paths.root,
            post_logout: paths.post_logout,
            login_path: paths.login,
            links,
            signed_out_path: paths.signed_out,
            app_name: self.app_name.take().unwrap_or_default(),
            device_starts_per_minute: self.device_starts_per_minute.unwrap_or(60),
            clock_skew: self.clock_skew.unwrap_or(Duration::from_secs(60)),
            session: SessionPolicy {
                idle_timeout: self.idle_timeout.unwrap_or(Duration::from_secs(8 * 3600)),
                lifetime: self
                    .session_lifetime
                    .unwrap_or(Duration::from_secs(24 * 3600)),
                login_timeout: self.login_timeout.unwrap_or(Duration::from_secs(600)),
            },
            backchannel: self.backchannel,
            admission: Admission::default(),
            graph: None,
        })
    }

    /// Microsoft Graph's URL when the groups overage is resolved: https, or http on loopback.
    fn graph(&mut self) -> Result<Option<Url>, ConfigError> {
        let resolve = match self.resolve_group_overage.take() {
            None => false,
            Some(Ok(resolve)) => resolve,
            Some(Err(raw)) => {
                return Err(ConfigError::invalid(
                    Setting::ResolveGroupOverage,
                    format!("`{raw}` is neither `true` nor `false`"),
                ));
            }
        };
        let raw = self.graph_base_url.take();
        let raw = raw.as_deref().unwrap_or(DEFAULT_GRAPH_URL).trim();
        let url = Url::parse(raw)
            .ok()
            .filter(|url| {
                (url.scheme() == "https" || url.scheme() == "http" && is_loopback(url))
                    && url.host_str().is_some()
                    && url.query().is_none()
                    && url.fragment().is_none()
            })
            .ok_or_else(|| {
                ConfigError::invalid(
                    Setting::GraphBaseUrl,
                    format!("`{raw}` is not an https URL (http only on loopback) without a query"),
                )
            })?;
        Ok(resolve.then_some(url))
    }

    /// This application's registration: its one credential, how it authenticates at the token
    /// endpoint and the resources it asks for.
    fn client(
        &mut self,
        client_id: String,
        redirect_uri: Option<Url>,
    ) -> Result<Client, ConfigError> {
        let credential = Credential::from_settings(
            self.client_secret.take().filter(|s| !s.is_empty()),
            self.client_certificate.take(),
            self.client_key_id.take(),
            self.client_assertion_file.take(),
            self.client_assertion_managed_identity.take().transpose()?,
            self.allow_readable_key_file,
        )?;
        let auth_method = check_auth_method(self.token_endpoint_auth_method.take(), &credential)?;
        let resources = check_resources(std::mem::take(&mut self.resources))?;
        // A confidential client without a redirect URI is most often a web application whose
        // REDIRECT_URI went missing: the Device Code flow it gets instead is refused by most
        // providers for such a client, so say it at startup.
        if redirect_uri.is_none() && !matches!(credential, Credential::None) {
            tracing::warn!(
                "REDIRECT_URI is not set, so users sign in with the Device Code flow; a web \
                 application needs REDIRECT_URI, the redirect URI registered at the provider"
            );
        }
        Ok(Client::new(client_id, credential, redirect_uri)
            .with_options(auth_method, resources)
            .with_capabilities(std::mem::take(&mut self.client_capabilities)))
    }

    /// Who may sign in: the allow-lists, checked, and the hook with its time bound. A
    /// multi-tenant authority without a tenant list admits every organization's users, which
    /// is said at startup.
    fn admission(&mut self, authority: &Authority) -> Result<Admission, ConfigError> {
        let allow = AllowList::new(
            std::mem::take(&mut self.allowed_tenants),
            std::mem::take(&mut self.allowed_email_domains),
            authority.is_microsoft(),
        )?;
        if authority.is_multi_tenant() && !allow.has_tenants() {
            tracing::warn!(
                authority = %authority.url,
                "this application signs in users of every Entra tenant: set `allowed_tenants` \
                 (ALLOWED_TENANTS) to the tenants you serve, or decide in a sign-in hook"
            );
        }
        Ok(Admission {
            allow,
            hook: self.sign_in_hook.take(),
            timeout: self.sign_in_hook_timeout.unwrap_or(DEFAULT_HOOK_TIMEOUT),
        })
    }
}
