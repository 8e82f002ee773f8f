//! Who the provider is and how to reach it, as both builders take it: the authority (a
//! Microsoft one or any OpenID provider), the HTTP client or its timeout, and how long the
//! provider's metadata is kept. [`provider_setters!`] writes the builder methods, with their
//! docs, once for `AuthBuilder` and `ApiAuthBuilder`.

use std::time::Duration;

use crate::core::error::ConfigError;
use crate::oidc::authority::Authority;
use crate::oidc::checks::{check_authority, check_http_client};

/// How long discovery and keys are kept by default.
const DEFAULT_METADATA_TTL: Duration = Duration::from_secs(24 * 3600);

/// The provider settings of a builder.
#[derive(Default)]
pub(crate) struct ProviderOptions {
    /// `AUTHORITY`.
    pub(crate) authority: Option<String>,
    /// `OIDC_AUTHORITY`.
    pub(crate) oidc_authority: Option<String>,
    pub(crate) http_client: Option<reqwest::Client>,
    pub(crate) http_timeout: Option<Duration>,
    pub(crate) metadata_ttl: Option<Duration>,
}

impl std::fmt::Debug for ProviderOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderOptions")
            .field("authority", &self.authority)
            .field("oidc_authority", &self.oidc_authority)
            .finish_non_exhaustive()
    }
}

impl ProviderOptions {
    /// `AUTHORITY` and `OIDC_AUTHORITY`, as `var` reads them.
    pub(crate) fn from_env(var: impl Fn(&str) -> Option<String>) -> Self {
        ProviderOptions {
            authority: var("AUTHORITY"),
            oidc_authority: var("OIDC_AUTHORITY"),
            ..ProviderOptions::default()
        }
    }

    /// Whether an authority is named at all.
    pub(crate) fn names_an_authority(&self) -> bool {
        self.authority.is_some() || self.oidc_authority.is_some()
    }

    /// The authority, checked: exactly one of the two settings, each of its kind.
    pub(crate) fn checked_authority(&mut self) -> Result<Authority, ConfigError> {
        check_authority(self.authority.take(), self.oidc_authority.take())
    }

    /// The HTTP client (the application's, or the default one with the timeout) and how long
    /// metadata is kept, for every provider these settings make.
    pub(crate) fn transport(&mut self) -> Result<(reqwest::Client, Duration), ConfigError> {
        let http = check_http_client(self.http_client.take(), self.http_timeout)?;
        Ok((http, self.metadata_ttl.unwrap_or(DEFAULT_METADATA_TTL)))
    }
}

/// The provider setters of a builder whose `provider` field is a [`ProviderOptions`]: one text
/// of each method and its docs for both builders.
macro_rules! provider_setters {
    () => {
        /// A Microsoft authority: Entra ID `https://login.microsoftonline.com/<tenant>` (a
        /// tenant id or domain, `organizations` or `common`), External ID
        /// `https://<name>.ciamlogin.com/<name>.onmicrosoft.com`, or B2C
        /// `https://<t>.b2clogin.com/<t>.onmicrosoft.com/<user_flow>`. Each kind has its issuer
        /// rule (with `organizations` or `common`, each token's issuer is checked against its
        /// own `tid`). Variable: `AUTHORITY`.
        pub fn authority(mut self, value: impl Into<String>) -> Self {
            self.provider.authority = Some(value.into());
            self
        }

        /// Any OpenID provider by its issuer URL (and External ID custom domains). Its
        /// discovery document is `<url>/.well-known/openid-configuration`. Variable:
        /// `OIDC_AUTHORITY`.
        pub fn oidc_authority(mut self, value: impl Into<String>) -> Self {
            self.provider.oidc_authority = Some(value.into());
            self
        }

        /// The HTTP client for requests to the provider, for proxies or extra root
        /// certificates. It must not follow redirects (build it with
        /// `redirect::Policy::none()`), and should have timeouts; the default client has both.
        /// Build it with the reqwest this crate re-exports (`axum_identity::reqwest`), so its
        /// version always matches.
        pub fn http_client(mut self, client: reqwest::Client) -> Self {
            self.provider.http_client = Some(client);
            self
        }

        /// The timeout of every request to the provider. Default 10 seconds.
        pub fn http_timeout(mut self, timeout: std::time::Duration) -> Self {
            self.provider.http_timeout = Some(timeout);
            self
        }

        /// How long the discovery document and keys are cached. Default 24 hours; a token
        /// under an unknown key, or failing under a known one, re-fetches the keys earlier (at
        /// most every 30 seconds).
        pub fn metadata_ttl(mut self, ttl: std::time::Duration) -> Self {
            self.provider.metadata_ttl = Some(ttl);
            self
        }
    };
}

pub(crate) use provider_setters;
