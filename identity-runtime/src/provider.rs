//! The provider's metadata and keys, fetched once and cached, and the one HTTP client that
//! talks to the provider.

use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use openidconnect::core::{
    CoreClient, CoreJsonWebKeySet, CoreJwsSigningAlgorithm, CoreProviderMetadata,
};
use openidconnect::{
    AuthType, ClientId, ClientSecret, EndpointNotSet, EndpointSet, IssuerUrl, RedirectUrl,
};
use serde::Deserialize;

use crate::Error;
use crate::authority::{Authority, IssuerRule};

/// The OpenID client with the endpoints every flow needs.
pub(crate) type OidcClient = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
    EndpointNotSet,
>;

/// After a failed fetch, callers fail fast for this long instead of queueing on a dead provider.
const FAILURE_BACKOFF: Duration = Duration::from_secs(5);
/// An unknown `kid` re-fetches the keys at most this often, so forged tokens cannot turn us
/// into a request amplifier against the provider.
const JWKS_REFETCH_INTERVAL: Duration = Duration::from_secs(30);

/// The largest response read from the provider. Real token responses and discovery documents
/// are a few kilobytes (a 20 KB ID token with many groups is fine); a hostile or broken
/// provider must not make us buffer megabytes.
pub(crate) const MAX_RESPONSE_BYTES: usize = 256 * 1024;

/// Reads a response body, refusing it as soon as it grows past `limit`.
pub(crate) async fn read_limited(
    mut response: reqwest::Response,
    limit: usize,
) -> Result<Vec<u8>, String> {
    if response
        .content_length()
        .is_some_and(|len| len > limit as u64)
    {
        return Err(format!("the response is larger than {limit} bytes"));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| e.to_string())? {
        if body.len() + chunk.len() > limit {
            return Err(format!("the response is larger than {limit} bytes"));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The HTTP client the OAuth requests go through: reqwest, with the response size bounded.
pub(crate) struct BoundedClient(pub(crate) reqwest::Client);

impl<'c> openidconnect::AsyncHttpClient<'c> for BoundedClient {
    type Error = openidconnect::HttpClientError<reqwest::Error>;
    type Future = std::pin::Pin<
        Box<
            dyn std::future::Future<Output = Result<openidconnect::HttpResponse, Self::Error>>
                + Send
                + Sync
                + 'c,
        >,
    >;

    fn call(&'c self, request: openidconnect::HttpRequest) -> Self::Future {
        Box::pin(async move {
            let request = reqwest::Request::try_from(request).map_err(Box::new)?;
            let response = self.0.execute(request).await.map_err(Box::new)?;
            let mut builder = axum::http::Response::builder().status(response.status());
            for (name, value) in response.headers() {
                builder = builder.header(name, value);
            }
            let body = read_limited(response, MAX_RESPONSE_BYTES)
                .await
                .map_err(openidconnect::HttpClientError::Other)?;
            builder
                .body(id_token_only_answer(body))
                .map_err(openidconnect::HttpClientError::Http)
        })
    }
}

/// Azure AD B2C answers a code redemption that asked for no API scope with an ID token and no
/// access token (a documented B2C behaviour). The OAuth types require `access_token`, so such
/// an answer gets an empty one; the token cache never stores an empty token.
fn id_token_only_answer(body: Vec<u8>) -> Vec<u8> {
    let Ok(serde_json::Value::Object(mut fields)) =
        serde_json::from_slice::<serde_json::Value>(&body)
    else {
        return body;
    };
    if fields.contains_key("access_token") || !fields.contains_key("id_token") {
        return body;
    }
    fields.insert("access_token".into(), "".into());
    fields
        .entry("token_type")
        .or_insert_with(|| "Bearer".into());
    serde_json::to_vec(&fields).unwrap_or(body)
}

/// Fields of the discovery document that `CoreProviderMetadata` does not carry.
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct ExtraMetadata {
    pub(crate) end_session_endpoint: Option<String>,
    pub(crate) device_authorization_endpoint: Option<String>,
    #[serde(default)]
    pub(crate) authorization_response_iss_parameter_supported: bool,
}

/// One fetched view of the provider.
pub(crate) struct Metadata {
    pub(crate) provider: CoreProviderMetadata,
    pub(crate) extra: ExtraMetadata,
    pub(crate) jwks: CoreJsonWebKeySet,
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

    /// Builds the OpenID client for these endpoints and keys.
    pub(crate) fn client(
        &self,
        client_id: &str,
        client_secret: Option<&str>,
        redirect_uri: Option<&url::Url>,
    ) -> Result<OidcClient, Error> {
        let token_url = self.provider.token_endpoint().cloned().ok_or_else(|| {
            Error::Config(crate::ConfigError::Provider(
                "the discovery document has no token_endpoint".into(),
            ))
        })?;
        // The verifier compares `iss` itself where the rule is exact; the tenant-template rule
        // is checked by us after verification.
        let issuer = IssuerUrl::new(self.issuer.clone())
            .map_err(|e| Error::Config(crate::ConfigError::Provider(e.to_string())))?;
        let mut client = CoreClient::new(
            ClientId::new(client_id.to_owned()),
            issuer,
            self.jwks.clone(),
        )
        .set_auth_uri(self.provider.authorization_endpoint().clone())
        .set_token_uri(token_url)
        .set_auth_type(self.auth_type());
        if let Some(redirect_uri) = redirect_uri {
            client = client.set_redirect_uri(RedirectUrl::from_url(redirect_uri.clone()));
        }
        if let Some(secret) = client_secret {
            client = client.set_client_secret(ClientSecret::new(secret.to_owned()));
        }
        Ok(client)
    }

    pub(crate) fn auth_type(&self) -> AuthType {
        use openidconnect::core::CoreClientAuthMethod as M;
        match self.provider.token_endpoint_auth_methods_supported() {
            Some(methods)
                if !methods.contains(&M::ClientSecretBasic)
                    && methods.contains(&M::ClientSecretPost) =>
            {
                AuthType::RequestBody
            }
            _ => AuthType::BasicAuth,
        }
    }
}

/// The client used unless the application brings its own.
pub(crate) fn default_client(timeout: Duration) -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        // Following redirects would let a hostile document point us anywhere (SSRF), and the
        // OAuth endpoints never legitimately redirect.
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(5)))
        .user_agent(concat!("axum-identity/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| e.to_string())
}

/// The cached view of the provider, refreshed when it ages.
pub(crate) struct Provider {
    authority: Authority,
    pub(crate) http: reqwest::Client,
    /// `http` with bounded responses, for the OAuth requests.
    pub(crate) oauth: BoundedClient,
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
                Some(message) => Error::Config(crate::ConfigError::Provider(message)),
                None => Error::ProviderUnavailable(
                    "the last attempt to reach it failed moments ago".into(),
                ),
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
                    Error::Config(crate::ConfigError::Provider(message)) => Some(message.clone()),
                    _ => None,
                };
                *self.last_failure.lock().unwrap_or_else(|e| e.into_inner()) =
                    Some((Instant::now(), config_error));
                match stale {
                    Some(stale) if !matches!(error, Error::Config(_)) => {
                        tracing::warn!(%error, "refreshing the provider metadata failed; using the cached copy");
                        Ok(stale)
                    }
                    _ => Err(error),
                }
            }
        }
    }

    /// Fetches the keys again because a token names a key we do not know (the provider rotated
    /// its keys). Rate limited; returns `None` when the limit says not now.
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
        let body = self.get_json_bytes(&url).await?;
        let provider: CoreProviderMetadata = serde_json::from_slice(&body).map_err(|e| {
            Error::ProviderUnavailable(format!("the discovery document at {url} is invalid: {e}"))
        })?;
        let extra: ExtraMetadata = serde_json::from_slice(&body).unwrap_or_default();
        let issuer = provider.issuer().as_str().to_owned();
        let issuer_rule = self
            .authority
            .issuer_rule(&issuer)
            .map_err(|e| Error::Config(crate::ConfigError::Provider(e)))?;
        let jwks = self.fetch_jwks(&provider).await?;
        tracing::debug!(%issuer, "fetched the provider metadata");
        Ok(Metadata {
            provider,
            extra,
            jwks,
            issuer,
            issuer_rule,
            fetched_at: Instant::now(),
        })
    }

    async fn fetch_jwks(
        &self,
        provider: &CoreProviderMetadata,
    ) -> Result<CoreJsonWebKeySet, Error> {
        let url = provider.jwks_uri().as_str();
        let body = self.get_json_bytes(url).await?;
        serde_json::from_slice(&body).map_err(|e| {
            Error::ProviderUnavailable(format!("the key set at {url} is invalid: {e}"))
        })
    }

    async fn get_json_bytes(&self, url: &str) -> Result<Vec<u8>, Error> {
        let response = self
            .http
            .get(url)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| Error::ProviderUnavailable(format!("GET {url}: {e}")))?;
        if !response.status().is_success() {
            return Err(Error::ProviderUnavailable(format!(
                "GET {url} answered {}",
                response.status()
            )));
        }
        read_limited(response, MAX_RESPONSE_BYTES)
            .await
            .map_err(|e| Error::ProviderUnavailable(format!("GET {url}: {e}")))
    }
}
