//! A web API that accepts tokens from several authorities (workforce and customer tenants, or a
//! move from one provider to another): each named authority is a complete [`ApiAuth`] (its
//! issuer rule, audiences, tenants, keys and cache of verified tokens), and a token is checked
//! by the one its `iss` names, never tried against every key set. An issuer none of them has
//! is refused without fetching anything.

use serde_json::Value;

use super::{ApiAuth, ApiAuthBuilder};
use crate::core::error::{ConfigError, Setting};
use crate::oidc::access_token::Rejected;
use crate::oidc::jws;

/// The longest authority name, as for a web app's providers.
const MAX_NAME: usize = 32;

impl ApiAuth {
    /// The name of the authority this `ApiAuth` accepts tokens of, as given to
    /// [`ApiAuthBuilder::provider`]; `""` for an API with one authority it did not name.
    pub fn authority_name(&self) -> &str {
        self.name()
    }

    /// The authority that checks `token`: with one, this one; with several, the one whose
    /// issuer rule the token's (unverified) `iss` fits, from the discovery documents the
    /// authorities keep (fetched once, at `warm_up` or the first token).
    pub(crate) async fn for_token(&self, token: &str) -> Result<&ApiAuth, Rejected> {
        if self.others().is_empty() {
            return Ok(self);
        }
        // An opaque token names no issuer: the default authority introspects it.
        let Ok(claims) = jws::payload(token) else {
            return Ok(self);
        };
        if claims.get("iss").and_then(Value::as_str).is_none() {
            return Err(Rejected::Invalid("the token has no `iss`".into()));
        }
        for api in std::iter::once(self).chain(self.others()) {
            // An authority that cannot be reached right now is not the one: its tokens fail
            // below as from an unknown issuer, and the others' keep working.
            let Ok(meta) = api.provider().metadata().await else {
                continue;
            };
            let rules = api
                .provider()
                .authority()
                .access_token_issuers(&meta.issuer_rule);
            if rules.iter().any(|rule| rule.check(&claims).is_ok()) {
                return Ok(api);
            }
        }
        Err(Rejected::Invalid(
            "it was issued by an issuer this API does not accept".into(),
        ))
    }
}

impl ApiAuthBuilder {
    /// Accepts tokens of one more authority, called `name` (letters, digits, `-` and `_`),
    /// configured by its own builder: its authority, client id (the audience), audiences and
    /// allowed tenants. Timing, cache, realm, resource metadata and the `at+jwt` rule are the
    /// API's, from this builder. The first is the default (it introspects opaque tokens).
    /// Each token is checked by the authority its `iss` names, and
    /// [`ApiClaims::authority`](crate::ApiClaims::authority) says which one.
    ///
    /// ```
    /// use axum_identity_runtime::ApiAuth;
    ///
    /// let api = ApiAuth::builder()
    ///     .provider(
    ///         "work",
    ///         ApiAuth::builder()
    ///             .client_id("orders-api")
    ///             .authority("https://login.microsoftonline.com/contoso.onmicrosoft.com"),
    ///     )
    ///     .provider(
    ///         "customer",
    ///         ApiAuth::builder()
    ///             .client_id("orders-api-customers")
    ///             .oidc_authority("https://id.example.com"),
    ///     )
    ///     .build()?;
    /// assert_eq!(api.authority_name(), "work");
    /// # Ok::<(), axum_identity_runtime::ConfigError>(())
    /// ```
    pub fn provider(mut self, name: impl Into<String>, authority: ApiAuthBuilder) -> Self {
        self.named.push((name.into(), authority));
        self
    }

    /// Builds every named authority; the first holds the others.
    pub(super) fn build_several(mut self) -> Result<ApiAuth, ConfigError> {
        if self.provider.names_an_authority() || self.downstream.is_some() {
            return Err(ConfigError::invalid(
                Setting::Providers,
                "with named authorities, each sets its own authority (and downstream client), \
                 not the API",
            ));
        }
        let mut named = std::mem::take(&mut self.named);
        let mut seen: Vec<(String, String, String)> = Vec::new();
        for (name, authority) in &mut named {
            let fits = !name.is_empty()
                && name.len() <= MAX_NAME
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            if !fits || seen.iter().any(|(n, ..)| n.eq_ignore_ascii_case(name)) {
                return Err(ConfigError::invalid(
                    Setting::Providers,
                    format!(
                        "`{name}` is not a new authority name (up to {MAX_NAME} letters, digits, `-` and `_`)"
                    ),
                ));
            }
            authority.inherit(&self);
            let registration = (
                authority.provider.authority.clone().unwrap_or_default(),
                authority
                    .provider
                    .oidc_authority
                    .clone()
                    .unwrap_or_default(),
            );
            if let Some((twin, ..)) = seen
                .iter()
                .find(|(_, a, o)| (a, o) == (&registration.0, &registration.1))
            {
                return Err(ConfigError::invalid(
                    Setting::Providers,
                    format!("authorities `{twin}` and `{name}` are the same"),
                ));
            }
            seen.push((name.clone(), registration.0, registration.1));
        }
        let mut named = named.into_iter();
        let (first_name, first) = named.next().expect("at least one named authority");
        let others = named
            .map(|(name, authority)| {
                authority
                    .build_one(&name, Vec::new())
                    .map_err(|error| named_error(&name, error))
            })
            .collect::<Result<Vec<_>, _>>()?;
        first
            .build_one(&first_name, others)
            .map_err(|error| named_error(&first_name, error))
    }

    /// Takes the API's settings.
    fn inherit(&mut self, api: &ApiAuthBuilder) {
        if self.leeway.is_none() {
            self.leeway = api.leeway;
        }
        self.realm.clone_from(&api.realm);
        self.resource.clone_from(&api.resource);
        self.resource_name.clone_from(&api.resource_name);
        self.scopes_supported.clone_from(&api.scopes_supported);
        self.cache_bytes = api.cache_bytes;
        self.require_at_jwt |= api.require_at_jwt;
        self.clock.clone_from(&api.clock);
        if self.provider.http_client.is_none() {
            self.provider
                .http_client
                .clone_from(&api.provider.http_client);
        }
    }
}

fn named_error(name: &str, error: ConfigError) -> ConfigError {
    ConfigError::Named {
        provider: name.to_owned(),
        error: Box::new(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn authority(issuer: &str) -> ApiAuthBuilder {
        ApiAuth::builder().client_id("api").oidc_authority(issuer)
    }

    #[test]
    fn named_authorities_are_checked_at_startup() {
        let api = ApiAuth::builder()
            .provider("a", authority("https://a.example"))
            .provider("b", authority("https://b.example"))
            .build()
            .unwrap();
        assert_eq!(api.authority_name(), "a");
        assert_eq!(api.others()[0].authority_name(), "b");
        for (first, second) in [("a", "a"), ("a", "A"), ("a", "b c"), ("", "b")] {
            let err = ApiAuth::builder()
                .provider(first, authority("https://a.example"))
                .provider(second, authority("https://b.example"))
                .build()
                .unwrap_err();
            assert!(
                err.to_string().contains("not a new authority name"),
                "{err}"
            );
        }
        let twins = ApiAuth::builder()
            .provider("a", authority("https://a.example"))
            .provider("b", authority("https://a.example"))
            .build()
            .unwrap_err();
        assert!(twins.to_string().contains("are the same"), "{twins}");
        let err = ApiAuth::builder()
            .oidc_authority("https://a.example")
            .provider("b", authority("https://b.example"))
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("IDENTITY_PROVIDERS"), "{err}");
        let err = ApiAuth::builder()
            .provider("b", ApiAuth::builder().oidc_authority("https://b.example"))
            .build()
            .unwrap_err();
        assert!(matches!(err, ConfigError::Named { .. }), "{err}");
    }
}
