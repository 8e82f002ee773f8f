//! The provider's metadata and keys, fetched once and cached (keys again when a token names
//! one we do not know), and the HTTP client that talks to the provider.

use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use openidconnect::core::{CoreJsonWebKeySet, CoreJwsSigningAlgorithm, CoreProviderMetadata};
use serde::Deserialize;

use crate::core::error::{ConfigError, Error};
use crate::core::http::{
    AnswerSummary, BoundedClient, MAX_RESPONSE_BYTES, read_limited, untrusted_certificate,
};
use crate::oidc::authority::{Authority, IssuerRule};
use crate::oidc::keys::KeySet;

/// After a failed fetch, callers fail fast for this long instead of queueing on a dead provider.
const FAILURE_BACKOFF: Duration = Duration::from_secs(5);
/// An unknown `kid` re-fetches the keys at most this often, so forged tokens cannot turn us
/// into a request amplifier against the provider.
const JWKS_REFETCH_INTERVAL: Duration = Duration::from_secs(30);

/// Fields of the discovery document that `CoreProviderMetadata` does not carry.
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct ExtraMetadata {
    pub(crate) end_session_endpoint: Option<String>,
    pub(crate) device_authorization_endpoint: Option<String>,
    /// RFC 7009 (RFC 8414 metadata).
    pub(crate) revocation_endpoint: Option<String>,
    /// RFC 7662 (RFC 8414 metadata).
    pub(crate) introspection_endpoint: Option<String>,
    #[serde(default)]
    pub(crate) authorization_response_iss_parameter_supported: bool,
}

/// One fetched view of the provider.
pub(crate) struct Metadata {
    pub(crate) provider: CoreProviderMetadata,
    pub(crate) extra: ExtraMetadata,
    pub(crate) jwks: CoreJsonWebKeySet,
    /// The same keys, decoded for verification once per fetch (`jws::verify` takes them).
    pub(crate) keys: KeySet,
    pub(crate) issuer: String,
    pub(crate) issuer_rule: IssuerRule,
    fetched_at: Instant,
}

impl Metadata {
    /// Whether the provider lists `scope` as supported (or lists nothing at all).
    pub(crate) fn supports_scope(&self, scope: &str) -> bool {
        self.provider
            .scopes_supported()
            .is_none_or(|scopes| scopes.iter().any(|s| s.as_str() == scope))
    }

    /// The signing algorithms accepted for ID tokens: the asymmetric ones the provider lists.
    /// `none` and the HMAC family are never accepted, whatever the discovery document says:
    /// an HMAC key would be the client secret or, worse, a public key an attacker knows.
    pub(crate) fn allowed_algs(&self) -> Vec<CoreJwsSigningAlgorithm> {
        let algs: Vec<_> = self
            .provider
            .id_token_signing_alg_values_supported()
            .iter()
            .filter(|alg| {
                !matches!(
                    alg,
                    CoreJwsSigningAlgorithm::None
                        | CoreJwsSigningAlgorithm::HmacSha256
                        | CoreJwsSigningAlgorithm::HmacSha384
                        | CoreJwsSigningAlgorithm::HmacSha512
                )
            })
            .cloned()
            .collect();
        if algs.is_empty() {
            vec![CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256]
        } else {
            algs
        }
    }

    /// The token endpoint, which every grant needs.
    pub(crate) fn token_endpoint(&self) -> Result<&openidconnect::TokenUrl, Error> {
        self.provider.token_endpoint().ok_or_else(|| {
            Error::Config(ConfigError::Provider(
                "the discovery document has no token_endpoint".into(),
            ))
        })
    }
}

/// The cached view of the provider, refreshed when it ages.
pub(crate) struct Provider {
    authority: Authority,
    http: reqwest::Client,
    /// `http` with bounded responses, for the OAuth requests.
    oauth: BoundedClient,
    ttl: Duration,
    current: RwLock<Option<Arc<Metadata>>>,
    /// Serializes fetches, so a burst of first sign-ins makes one discovery request.
    fetching: tokio::sync::Mutex<()>,
    /// When the last fetch failed, and with which configuration error if it was one (so the
    /// back-off answers with the same error instead of "unavailable").
    last_failure: Mutex<Option<(Instant, Option<String>)>>,
    last_jwks_refetch: Mutex<Option<Instant>>,
}

impl Provider {
    pub(crate) fn new(authority: Authority, http: reqwest::Client, ttl: Duration) -> Self {
        Provider {
            authority,
            oauth: BoundedClient(http.clone()),
            http,
            ttl,
            current: RwLock::new(None),
            fetching: tokio::sync::Mutex::new(()),
            last_failure: Mutex::new(None),
            last_jwks_refetch: Mutex::new(None),
        }
    }

    /// The authority this provider was configured with.
    pub(crate) fn authority(&self) -> &Authority {
        &self.authority
    }

    /// The HTTP client, for the requests the OAuth types do not make (userinfo, device code).
    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// The HTTP client for openidconnect's requests, with bounded responses.
    pub(crate) fn oauth(&self) -> &BoundedClient {
        &self.oauth
    }

    fn cached(&self) -> Option<Arc<Metadata>> {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The provider's metadata and keys: from the cache while fresh, fetched otherwise. When a
    /// refresh fails and an older copy exists, the older copy keeps the application working.
    pub(crate) async fn metadata(&self) -> Result<Arc<Metadata>, Error> {
        if let Some(current) = self.cached().filter(|m| m.fetched_at.elapsed() < self.ttl) {
            return Ok(current);
        }
        let _guard = self.fetching.lock().await;
        // Someone else may have fetched while we waited.
        let stale = self.cached();
        if let Some(current) = stale.as_ref().filter(|m| m.fetched_at.elapsed() < self.ttl) {
            return Ok(current.clone());
        }
        let recent_failure = self
            .last_failure
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .filter(|(at, _)| at.elapsed() < FAILURE_BACKOFF);
        if let Some((_, config_error)) = recent_failure {
            return stale.ok_or_else(|| match config_error {
                Some(message) => Error::Config(ConfigError::Provider(message)),
                None => Error::unavailable("the last attempt to reach it failed moments ago"),
            });
        }
        match self.fetch().await {
            Ok(fresh) => {
                let fresh = Arc::new(fresh);
                *self.current.write().unwrap_or_else(|e| e.into_inner()) = Some(fresh.clone());
                *self.last_failure.lock().unwrap_or_else(|e| e.into_inner()) = None;
                Ok(fresh)
            }
            Err(error) => {
                let config_error = match &error {
                    Error::Config(ConfigError::Provider(message)) => Some(message.clone()),
                    _ => None,
                };
                *self.last_failure.lock().unwrap_or_else(|e| e.into_inner()) =
                    Some((Instant::now(), config_error));
                match stale {
                    Some(stale) if !matches!(error, Error::Config(_)) => {
                        tracing::warn!(error = %error.chain(), "refreshing the provider metadata failed; using the cached copy");
                        Ok(stale)
                    }
                    _ => Err(error),
                }
            }
        }
    }

    /// Fetches the keys again because a token names a key we do not know, or does not verify
    /// under the one it names (the provider rotated its keys). Rate limited; returns `None` when
    /// the limit says not now.
    pub(crate) async fn refetch_keys(
        &self,
        seen: &Arc<Metadata>,
    ) -> Result<Option<Arc<Metadata>>, Error> {
        let _guard = self.fetching.lock().await;
        if let Some(current) = self.cached().filter(|m| !Arc::ptr_eq(m, seen)) {
            return Ok(Some(current));
        }
        {
            let mut last = self
                .last_jwks_refetch
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            if last.is_some_and(|at| at.elapsed() < JWKS_REFETCH_INTERVAL) {
                return Ok(None);
            }
            *last = Some(Instant::now());
        }
        let jwks = self.fetch_jwks(&seen.provider).await?;
        let fresh = Arc::new(Metadata {
            provider: seen.provider.clone(),
            extra: seen.extra.clone(),
            keys: KeySet::new(&jwks),
            jwks,
            issuer: seen.issuer.clone(),
            issuer_rule: seen.issuer_rule.clone(),
            fetched_at: seen.fetched_at,
        });
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Some(fresh.clone());
        Ok(Some(fresh))
    }

    async fn fetch(&self) -> Result<Metadata, Error> {
        let url = self.authority.discovery_url();
        let (body, summary) = self.get_json_bytes(&url, true).await?;
        // A document that is not discovery at all (a web page, another JSON) means the URL is
        // wrong; one that is JSON with discovery's fields but bad values is the provider's.
        let provider: CoreProviderMetadata = serde_json::from_slice(&body).map_err(|e| {
            let is_object = matches!(
                serde_json::from_slice::<serde_json::Value>(&body),
                Ok(serde_json::Value::Object(ref fields)) if fields.contains_key("issuer")
            );
            if is_object {
                Error::unavailable_because(
                    format!("the discovery document at {url} is invalid ({summary})"),
                    e,
                )
            } else {
                Error::Config(ConfigError::Provider(format!(
                    "{url} is not an OpenID discovery document ({summary}): {e}; check {}",
                    self.authority.setting_name()
                )))
            }
        })?;
        let mut extra: ExtraMetadata = serde_json::from_slice(&body).unwrap_or_default();
        let issuer = provider.issuer().as_str().to_owned();
        let issuer_rule = self
            .authority
            .issuer_rule(&issuer)
            .map_err(|e| Error::Config(ConfigError::Provider(e)))?;
        // Some providers publish revocation and introspection only in their OAuth metadata
        // (RFC 8414), not in the OpenID discovery document. Microsoft's authorities have neither.
        if !self.authority.is_microsoft()
            && (extra.revocation_endpoint.is_none() || extra.introspection_endpoint.is_none())
        {
            let oauth = self.oauth_metadata(&issuer).await;
            extra.revocation_endpoint = extra.revocation_endpoint.or(oauth.revocation_endpoint);
            extra.introspection_endpoint = extra
                .introspection_endpoint
                .or(oauth.introspection_endpoint);
        }
        let jwks = self.fetch_jwks(&provider).await?;
        tracing::debug!(%issuer, "fetched the provider metadata");
        Ok(Metadata {
            provider,
            extra,
            keys: KeySet::new(&jwks),
            jwks,
            issuer,
            issuer_rule,
            fetched_at: Instant::now(),
        })
    }

    /// The provider's RFC 8414 metadata, at the path-insertion address of §3.1 and, for an
    /// issuer with a path, at the appended one many providers serve; accepted only when it
    /// declares the same issuer (§3.3), so another tenant's endpoints are never used. Optional:
    /// nothing there is an empty answer, and a debug line.
    async fn oauth_metadata(&self, issuer: &str) -> ExtraMetadata {
        #[derive(Deserialize)]
        struct OAuthMetadata {
            issuer: String,
            #[serde(flatten)]
            endpoints: ExtraMetadata,
        }
        for url in oauth_metadata_urls(issuer) {
            match self.get_json_bytes(&url, false).await {
                Ok((body, _)) => match serde_json::from_slice::<OAuthMetadata>(&body) {
                    Ok(found) if found.issuer == issuer => return found.endpoints,
                    Ok(found) => tracing::warn!(
                        %url,
                        declared = %crate::core::error::escape_controls(&found.issuer),
                        "the OAuth metadata declares another issuer; not used"
                    ),
                    Err(error) => tracing::debug!(%url, %error, "no usable OAuth metadata"),
                },
                Err(error) => tracing::debug!(%url, error = %error.chain(), "no OAuth metadata"),
            }
        }
        ExtraMetadata::default()
    }

    async fn fetch_jwks(
        &self,
        provider: &CoreProviderMetadata,
    ) -> Result<CoreJsonWebKeySet, Error> {
        let url = provider.jwks_uri().as_str();
        let (body, summary) = self.get_json_bytes(url, false).await?;
        serde_json::from_slice(&body).map_err(|e| {
            Error::unavailable_because(format!("the key set at {url} is invalid ({summary})"), e)
        })
    }

    /// GETs a JSON document of the provider. `discovery`: the URL comes from the configured
    /// authority, so an answer saying it does not exist (4xx) is a configuration mistake.
    async fn get_json_bytes(
        &self,
        url: &str,
        discovery: bool,
    ) -> Result<(Vec<u8>, AnswerSummary), Error> {
        let response = self
            .http
            .get(url)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| match untrusted_certificate(&e) {
                Some(why) => Error::Config(ConfigError::Provider(format!(
                    "GET {url}: the provider's TLS certificate is not trusted ({why}); if its CA \
                     is a private one, add it to the system's trust store or to the file \
                     SSL_CERT_FILE names, or pass a client that trusts it with `http_client`"
                ))),
                None => Error::unavailable_because(format!("GET {url}"), e),
            })?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = read_limited(response, MAX_RESPONSE_BYTES)
            .await
            .map_err(|e| Error::unavailable_because(format!("GET {url}"), e))?;
        let summary = AnswerSummary::new(status, &headers, &body);
        // 408 and 429 are the provider's load, not a wrong URL.
        if discovery && status.is_client_error() && !matches!(status.as_u16(), 408 | 429) {
            return Err(Error::Config(ConfigError::Provider(format!(
                "GET {url} answered {summary}: there is no OpenID discovery document at this \
                 URL; check {}",
                self.authority.setting_name()
            ))));
        }
        if !status.is_success() {
            return Err(Error::unavailable(format!("GET {url} answered {summary}")));
        }
        Ok((body, summary))
    }
}

/// Where RFC 8414 metadata of `issuer` may be: `/.well-known/oauth-authorization-server`
/// inserted between the host and the issuer's path (§3.1), then appended to the issuer.
pub(crate) fn oauth_metadata_urls(issuer: &str) -> Vec<String> {
    const WELL_KNOWN: &str = "/.well-known/oauth-authorization-server";
    let Ok(url) = url::Url::parse(issuer) else {
        return Vec::new();
    };
    let path = url.path().trim_end_matches('/');
    let origin = url.origin().ascii_serialization();
    let mut urls = vec![format!("{origin}{WELL_KNOWN}{path}")];
    if !path.is_empty() {
        urls.push(format!("{}{WELL_KNOWN}", issuer.trim_end_matches('/')));
    }
    urls
}

#[cfg(test)]
mod tests;
