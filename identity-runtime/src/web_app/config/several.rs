//! Several providers in one application ([`AuthBuilder::provider`]): each named provider's
//! builder holds that provider's settings (authority, client id, credential, scopes), inherits
//! what it does not say from the application's builder, and becomes an `Auth` of its own; the
//! first is the default one and holds the others.

use super::AuthBuilder;
use crate::core::error::{ConfigError, Setting};
use crate::web_app::auth::Auth;

/// The longest provider name: it goes into URLs, log lines and environment variable names.
const MAX_NAME: usize = 32;

impl AuthBuilder {
    /// Adds a provider called `name` (letters, digits, `-` and `_`), configured by its own
    /// builder: the provider's authority (each must set one), and its client id, credential,
    /// scopes, resources, `prompt` and client capabilities when they differ from the
    /// application's. Everything else (paths, cookie, sessions, pages, allow-lists, the sign-in
    /// hook, encryption keys) is the application's, from this builder. The first provider is
    /// the default one. Variables: `IDENTITY_PROVIDERS=work,customer`, then each provider's
    /// variables with its name upper-cased as a prefix (`WORK_CLIENT_ID`,
    /// `WORK_CLIENT_SECRET`, `WORK_AUTHORITY` or `WORK_OIDC_AUTHORITY`, `CUSTOMER_CLIENT_ID`...).
    ///
    /// One redirect URI serves every provider (a sign-in in progress knows its provider, and
    /// the callback completes it there): register the same URI at each. `GET /login?provider=
    /// <name>` starts a sign-in at one; without it, a page lets the user choose
    /// ([`Pages::choose_provider`](crate::Pages::choose_provider)).
    ///
    /// ```
    /// use axum_identity_runtime::Auth;
    ///
    /// let auth = Auth::builder()
    ///     .redirect_uri("http://localhost:5000/redirect")
    ///     .provider(
    ///         "work",
    ///         Auth::builder()
    ///             .client_id("staff-app")
    ///             .client_secret("staff-secret")
    ///             .authority("https://login.microsoftonline.com/contoso.onmicrosoft.com"),
    ///     )
    ///     .provider(
    ///         "customer",
    ///         Auth::builder()
    ///             .client_id("shop-app")
    ///             .client_secret("shop-secret")
    ///             .authority("https://contosoid.ciamlogin.com/contosoid.onmicrosoft.com"),
    ///     )
    ///     .build()?;
    /// assert_eq!(auth.provider_names(), ["work", "customer"]);
    /// # Ok::<(), axum_identity_runtime::ConfigError>(())
    /// ```
    pub fn provider(mut self, name: impl Into<String>, provider: AuthBuilder) -> Self {
        self.named.push((name.into(), provider));
        self
    }

    pub(super) fn has_named_providers(&self) -> bool {
        !self.named.is_empty()
    }

    /// Builds each named provider with the application's settings; the first holds the others.
    pub(super) fn build_several(mut self) -> Result<Auth, ConfigError> {
        if self.provider.names_an_authority() || self.b2c_tenant_name.is_some() {
            return Err(ConfigError::invalid(
                Setting::Providers,
                "with named providers, each provider sets its own authority (WORK_AUTHORITY or \
                 WORK_OIDC_AUTHORITY for a provider named `work`), not the application",
            ));
        }
        let named = std::mem::take(&mut self.named);
        let mut seen: Vec<String> = Vec::new();
        let mut parts = Vec::new();
        let mut registrations: Vec<(String, String)> = Vec::new();
        for (name, mut provider) in named {
            check_name(&name, &seen)?;
            seen.push(name.clone());
            if provider.has_named_providers() {
                return Err(ConfigError::invalid(
                    Setting::Providers,
                    format!("provider `{name}` names providers of its own"),
                ));
            }
            if let (Some(own), Some(app)) = (&provider.redirect_uri, &self.redirect_uri)
                && own != app
            {
                return Err(ConfigError::invalid(
                    Setting::RedirectUri,
                    format!(
                        "provider `{name}` has the redirect URI `{own}`: one redirect URI \
                         (`{app}`) serves every provider; register it at each"
                    ),
                ));
            }
            provider.inherit(&self);
            let built = provider
                .parts(&name)
                .map_err(|error| named_error(&name, error))?;
            let registration = (
                built.provider.authority().url.to_string(),
                built.client.id().to_owned(),
            );
            if let Some(twin) = registrations.iter().position(|r| *r == registration) {
                return Err(ConfigError::invalid(
                    Setting::Providers,
                    format!(
                        "providers `{}` and `{name}` are the same authority and client id",
                        seen[twin]
                    ),
                ));
            }
            registrations.push(registration);
            parts.push(built);
        }
        let mut parts = parts.into_iter();
        let first = parts.next().expect("at least one named provider");
        let others = parts.map(|p| Auth::new(p, Vec::new())).collect();
        Ok(Auth::new(first, others))
    }

    /// Takes the application's settings, and the provider settings this builder does not set.
    fn inherit(&mut self, app: &AuthBuilder) {
        fn or<T: Clone>(own: &mut Option<T>, app: &Option<T>) {
            if own.is_none() {
                own.clone_from(app);
            }
        }
        fn list(own: &mut Vec<String>, app: &[String]) {
            if own.is_empty() {
                own.extend_from_slice(app);
            }
        }
        // The provider's own, unless it does not say.
        or(&mut self.client_id, &app.client_id);
        let has_credential = self.client_secret.is_some()
            || self.client_certificate.is_some()
            || self.client_assertion_file.is_some()
            || self.client_assertion_managed_identity.is_some();
        if !has_credential {
            self.client_secret.clone_from(&app.client_secret);
        }
        or(&mut self.prompt, &app.prompt);
        list(&mut self.scopes, &app.scopes);
        list(&mut self.resources, &app.resources);
        list(&mut self.client_capabilities, &app.client_capabilities);
        or(&mut self.provider.http_client, &app.provider.http_client);
        or(&mut self.provider.http_timeout, &app.provider.http_timeout);
        or(&mut self.provider.metadata_ttl, &app.provider.metadata_ttl);
        or(&mut self.resolve_group_overage, &app.resolve_group_overage);
        or(&mut self.graph_base_url, &app.graph_base_url);
        self.allow_readable_key_file |= app.allow_readable_key_file;
        // The application's, always: every provider's `Auth` serves the same routes, cookie
        // and sessions.
        self.redirect_uri.clone_from(&app.redirect_uri);
        self.application_root.clone_from(&app.application_root);
        self.post_logout_redirect
            .clone_from(&app.post_logout_redirect);
        self.login_path.clone_from(&app.login_path);
        self.logout_path.clone_from(&app.logout_path);
        self.app_name.clone_from(&app.app_name);
        self.pages.clone_from(&app.pages);
        self.login_timeout = app.login_timeout;
        self.idle_timeout = app.idle_timeout;
        self.session_lifetime = app.session_lifetime;
        self.secure_cookies = app.secure_cookies;
        self.refresh_lock.clone_from(&app.refresh_lock);
        self.backchannel = app.backchannel;
        self.clock.clone_from(&app.clock);
        self.clock_skew = app.clock_skew;
        self.cookie_name.clone_from(&app.cookie_name);
        self.token_encryption_key
            .clone_from(&app.token_encryption_key);
        self.token_decryption_keys
            .clone_from(&app.token_decryption_keys);
        self.backchannel_logout_key
            .clone_from(&app.backchannel_logout_key);
        self.app_token_cache_bytes = app.app_token_cache_bytes;
        self.device_starts_per_minute = app.device_starts_per_minute;
        self.allowed_tenants.clone_from(&app.allowed_tenants);
        self.allowed_email_domains
            .clone_from(&app.allowed_email_domains);
        self.sign_in_hook.clone_from(&app.sign_in_hook);
        self.sign_in_hook_timeout = app.sign_in_hook_timeout;
    }
}

/// A provider name: non-empty, short, of the characters a URL and a variable name take.
fn check_name(name: &str, seen: &[String]) -> Result<(), ConfigError> {
    let fits = !name.is_empty()
        && name.len() <= MAX_NAME
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !fits {
        return Err(ConfigError::invalid(
            Setting::Providers,
            format!(
                "`{name}` is not a provider name: use up to {MAX_NAME} letters, digits, `-` and `_`"
            ),
        ));
    }
    if seen.iter().any(|s| s.eq_ignore_ascii_case(name)) {
        return Err(ConfigError::invalid(
            Setting::Providers,
            format!("two providers are called `{name}`"),
        ));
    }
    Ok(())
}

/// A provider's configuration error, saying which provider (its variables carry its prefix).
fn named_error(name: &str, error: ConfigError) -> ConfigError {
    ConfigError::Named {
        provider: name.to_owned(),
        error: Box::new(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app() -> AuthBuilder {
        Auth::builder()
            .client_secret("secret")
            .redirect_uri("http://localhost:5000/redirect")
    }

    fn oidc(client_id: &str, issuer: &str) -> AuthBuilder {
        Auth::builder().client_id(client_id).oidc_authority(issuer)
    }

    #[test]
    fn each_provider_is_an_auth_of_its_own_with_the_applications_settings() {
        let auth = app()
            .app_name("Shop")
            .provider("work", oidc("staff", "https://work.example"))
            .provider(
                "customer",
                oidc("shop", "https://id.example").scopes(["api.read"]),
            )
            .build()
            .unwrap();
        assert_eq!(auth.provider_names(), ["work", "customer"]);
        let customer = auth.named("customer").unwrap();
        assert_eq!(customer.client().id(), "shop");
        assert_eq!(customer.settings().scopes, ["api.read"]);
        assert_eq!(customer.settings().app_name, "Shop");
        assert_eq!(customer.redirect_uri(), auth.redirect_uri());
        assert_eq!(customer.provider_key().as_deref(), Some("customer"));
        assert!(auth.named("nobody").is_none());
        assert_eq!(auth.for_provider(None).unwrap().provider_name(), "work");
    }

    #[test]
    fn mistakes_name_the_provider_or_the_setting() {
        let twins = app()
            .provider("a", oidc("same", "https://id.example"))
            .provider("b", oidc("same", "https://id.example"))
            .build()
            .unwrap_err();
        assert!(
            twins.to_string().contains("same authority and client id"),
            "{twins}"
        );
        let err = app()
            .oidc_authority("https://id.example")
            .provider("a", oidc("x", "https://a.example"))
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("IDENTITY_PROVIDERS"), "{err}");
        for bad in ["", "a b", "x/y", &"n".repeat(33)] {
            let err = app()
                .provider(bad, oidc("x", "https://a.example"))
                .build()
                .unwrap_err();
            assert!(
                err.to_string().contains("not a provider name"),
                "{bad:?}: {err}"
            );
        }
        let err = app()
            .provider("a", oidc("x", "https://a.example"))
            .provider("A", oidc("y", "https://b.example"))
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("two providers"), "{err}");
        let err = app()
            .provider("work", Auth::builder().client_id("x"))
            .build()
            .unwrap_err();
        assert!(
            matches!(&err, ConfigError::Named { provider, .. } if provider == "work"),
            "{err}"
        );
        assert!(err.to_string().contains("WORK_"), "{err}");
        let err = app()
            .provider(
                "work",
                oidc("x", "https://a.example").redirect_uri("http://localhost:5000/other"),
            )
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("one redirect URI"), "{err}");
    }
}
