//! [`ApiAuth`]: the web-API half, Python `identity`'s `ApiAuth` — who this API is at the
//! provider, which tokens it accepts, and the services that check them (the provider's key
//! cache, shared in kind with sign-in's, and the cache of verified tokens).

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value};

use crate::core::clock::Clock;
use crate::core::error::{ConfigError, Error, Setting};
use crate::oidc::access_token::{self, Policy, Rejected};
use crate::oidc::client::Client;
use crate::oidc::credential::{Credential, KeySource};
use crate::oidc::provider::Provider;
use crate::oidc::provider_options::{ProviderOptions, provider_setters};
use crate::web_api::challenge::Realm;
use crate::web_api::introspection::{self, Introspector};
use crate::web_api::metadata::{self, ResourceMetadata};
use crate::web_api::verified::{self, VerifiedTokens};
use crate::web_app::auth::Auth;

/// How many bytes of verified tokens are remembered by default: about 500 typical Entra
/// access tokens with 200 groups each, or thousands of small ones.
const DEFAULT_CACHE_BYTES: u64 = 32 << 20;

/// A web API's configuration: which provider issues the access tokens it accepts and for
/// which audience. Cheap to clone, built once at startup; put it on the router with
/// [`ApiAuth::layer`], and protect handlers with `#[authorization_required]` or by taking an
/// [`ApiContext`](crate::ApiContext).
///
/// Access tokens are verified locally — signature against the provider's published keys,
/// `iss`, `aud`, `exp`, `nbf` — and a verified token is remembered (by a hash of the whole
/// token, never past its `exp`), so a repeated token costs a lookup.
///
/// ```
/// use axum::{Json, Router, routing::get};
/// use axum_identity_runtime::{ApiAuth, ApiContext};
///
/// async fn resource(context: ApiContext) -> Json<serde_json::Value> {
///     Json(serde_json::json!({ "sub": context.claims.subject() }))
/// }
///
/// let api = ApiAuth::builder()
///     .client_id("my-api-client-id")
///     .authority("https://login.microsoftonline.com/organizations")
///     .build()?;
/// let app: Router = Router::new().route("/resource", get(resource)).layer(api.layer());
/// # Ok::<(), axum_identity_runtime::ConfigError>(())
/// ```
#[derive(Clone)]
pub struct ApiAuth {
    inner: Arc<Inner>,
}

struct Inner {
    /// The name of this authority in an API that accepts several (`""` with one).
    name: Arc<str>,
    /// The API's other authorities, each a complete `ApiAuth` (see `web_api/issuers.rs`).
    others: Vec<ApiAuth>,
    client_id: String,
    realm: Realm,
    /// RFC 9728: the resource URI and its metadata document, when configured.
    metadata: Option<ResourceMetadata>,
    provider: Provider,
    policy: Policy,
    verified: VerifiedTokens<Map<String, Value>>,
    clock: Clock,
    downstream: Option<Auth>,
    /// For tokens that are not JWTs, when the API has credentials to introspect them.
    introspector: Option<Introspector>,
}

impl std::fmt::Debug for ApiAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiAuth")
            .field("client_id", &self.inner.client_id)
            .field("authority", &self.inner.provider.authority().url)
            .field("audiences", &self.inner.policy.audiences)
            .field("resource", &self.resource())
            .field("downstream", &self.inner.downstream.is_some())
            .finish_non_exhaustive()
    }
}

impl ApiAuth {
    /// Starts a configuration in code.
    pub fn builder() -> ApiAuthBuilder {
        ApiAuthBuilder::default()
    }

    /// Reads `CLIENT_ID`, `AUTHORITY` or `OIDC_AUTHORITY`, `AUDIENCE` (optional: more
    /// accepted audiences, comma-separated, each an exact value) and `RESOURCE` (optional: the
    /// API's resource URI, see [`ApiAuthBuilder::resource`]) from the environment.
    pub fn from_env() -> Result<ApiAuth, ConfigError> {
        Self::builder_from_env().build()
    }

    /// Like [`ApiAuth::from_env`], returning the builder so code can add to it.
    pub fn builder_from_env() -> ApiAuthBuilder {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        ApiAuthBuilder {
            client_id: var("CLIENT_ID"),
            provider: ProviderOptions::from_env(var),
            audiences: var("AUDIENCE")
                .map(|a| crate::core::params::comma_list(&a))
                .unwrap_or_default(),
            resource: var("RESOURCE"),
            client_secret: var("CLIENT_SECRET"),
            client_certificate: var("CLIENT_CERTIFICATE").map(|p| KeySource::File(p.into())),
            ..ApiAuthBuilder::default()
        }
    }

    /// The API's application (client) id.
    pub fn client_id(&self) -> &str {
        &self.inner.client_id
    }

    /// The audiences a token may be for: the client id and `api://<client id>` (with a
    /// [resource URI](ApiAuthBuilder::resource), the resource URI in their place at an OpenID
    /// provider, next to them at Microsoft's authorities), and any configured with
    /// [`ApiAuthBuilder::audiences`].
    pub fn audiences(&self) -> &[String] {
        &self.inner.policy.audiences
    }

    /// The `realm` of the `WWW-Authenticate` challenges.
    pub fn realm(&self) -> &str {
        self.inner.realm.name()
    }

    /// The resource URI ([`ApiAuthBuilder::resource`]), when configured.
    pub fn resource(&self) -> Option<&str> {
        self.inner.metadata.as_ref().map(|m| m.resource.as_str())
    }

    /// The URL of the protected-resource metadata document (RFC 9728) that every challenge
    /// names in `resource_metadata`, when a resource URI is configured: its path-insertion
    /// form, `https://mcp.example.com/.well-known/oauth-protected-resource/mcp` for the
    /// resource `https://mcp.example.com/mcp`.
    pub fn resource_metadata_url(&self) -> Option<&str> {
        self.inner.metadata.as_ref().map(|m| m.url.as_str())
    }

    /// The protected-resource metadata document (RFC 9728 §2), when a resource URI is
    /// configured: `resource`, `authorization_servers`, `bearer_methods_supported`, and
    /// `scopes_supported` and `resource_name` when set.
    pub fn resource_metadata(&self) -> Option<&serde_json::Value> {
        self.inner.metadata.as_ref().map(|m| &m.document)
    }

    /// The resource metadata, when a resource URI is configured.
    pub(crate) fn resource_meta(&self) -> Option<&ResourceMetadata> {
        self.inner.metadata.as_ref()
    }

    /// Where the provider's discovery document is.
    #[cfg_attr(not(feature = "openapi"), allow(dead_code))]
    pub(crate) fn discovery_url(&self) -> String {
        self.inner.provider.authority().discovery_url()
    }

    /// The layer that makes this `ApiAuth` reachable from the extractors. No sessions: an API
    /// is stateless. It protects nothing by itself (the extractors do, per handler); to
    /// protect every request of a service, axum's or any other tower service (gRPC, MCP), use
    /// [`bearer_layer`](Self::bearer_layer).
    pub fn layer(&self) -> axum::Extension<ApiAuth> {
        axum::Extension(self.clone())
    }

    /// Fetches the provider's discovery document and keys now (of every authority, with
    /// several), so that a misconfiguration is reported at startup rather than at the first
    /// request.
    pub async fn warm_up(&self) -> Result<(), Error> {
        self.inner.provider.metadata().await?;
        for other in &self.inner.others {
            other.inner.provider.metadata().await?;
        }
        Ok(())
    }

    /// The realm of the challenges, with the metadata URL when there is one.
    pub(crate) fn challenge_realm(&self) -> Realm {
        self.inner.realm.clone()
    }

    /// The client that asks for tokens on behalf of this API's callers, when there is one.
    pub(crate) fn downstream(&self) -> Option<&Auth> {
        self.inner.downstream.as_ref()
    }

    /// The claims of a valid token and the name of the authority that issued it: with
    /// several authorities, checked by the one its `iss` names (see `web_api/issuers.rs`).
    pub(crate) async fn authorize(
        &self,
        token: &str,
    ) -> Result<(Arc<Map<String, Value>>, &ApiAuth), Rejected> {
        let api = self.for_token(token).await?;
        Ok((api.authorize_here(token).await?, api))
    }

    /// The name of this authority (`""` in an API with one).
    pub(crate) fn name(&self) -> &Arc<str> {
        &self.inner.name
    }

    /// The API's other authorities.
    pub(crate) fn others(&self) -> &[ApiAuth] {
        &self.inner.others
    }

    /// The authority's provider.
    pub(crate) fn provider(&self) -> &Provider {
        &self.inner.provider
    }

    /// The claims of a valid token of this authority: from the cache of verified tokens, or
    /// verified now.
    async fn authorize_here(&self, token: &str) -> Result<Arc<Map<String, Value>>, Rejected> {
        let inner = &*self.inner;
        let now = inner.clock.now();
        // An opaque token (RFC 7662): introspected, with a cache of its own.
        if crate::oidc::jws::header(token).is_err() {
            return match &inner.introspector {
                Some(introspector) => {
                    introspector
                        .claims(&inner.provider, &inner.policy, token, now)
                        .await
                }
                None => {
                    tracing::info!(
                        "a bearer token is not a JWT, and this API has no client credentials to \
                         introspect it (set CLIENT_SECRET or CLIENT_CERTIFICATE)"
                    );
                    Err(introspection::not_a_jwt())
                }
            };
        }
        let key = verified::key(token);
        if let Some(claims) = inner.verified.get(&key, now) {
            return Ok(claims);
        }
        let verified = access_token::verify(&inner.provider, &inner.policy, token, now).await?;
        let claims = Arc::new(verified.claims);
        let weight = token.len() as u64 + verified::weigh(&claims);
        inner
            .verified
            .insert(key, claims.clone(), weight, verified.exp, now);
        Ok(claims)
    }
}

/// Builds an [`ApiAuth`].
#[derive(Default)]
#[must_use]
pub struct ApiAuthBuilder {
    client_id: Option<String>,
    /// The authority, the HTTP client and the metadata lifetime.
    provider: ProviderOptions,
    audiences: Vec<String>,
    resource: Option<String>,
    resource_name: Option<String>,
    scopes_supported: Vec<String>,
    tenants: Option<Vec<String>>,
    leeway: Option<Duration>,
    realm: Option<String>,
    cache_bytes: Option<u64>,
    require_at_jwt: bool,
    clock: Option<Clock>,
    downstream: Option<Auth>,
    client_secret: Option<String>,
    client_certificate: Option<KeySource>,
    introspection_ttl: Option<Duration>,
    /// Named authorities ([`ApiAuthBuilder::provider`]), the first the default.
    pub(crate) named: Vec<(String, ApiAuthBuilder)>,
}

impl std::fmt::Debug for ApiAuthBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiAuthBuilder")
            .field("client_id", &self.client_id)
            .field("provider", &self.provider)
            .finish_non_exhaustive()
    }
}

impl ApiAuthBuilder {
    provider_setters!();

    /// The API's application (client) id; tokens for it, or for `api://<client id>`, are
    /// accepted. Variable: `CLIENT_ID`.
    pub fn client_id(mut self, value: impl Into<String>) -> Self {
        self.client_id = Some(value.into());
        self
    }

    /// The API's own client secret (variable `CLIENT_SECRET`): with it, bearer tokens that are
    /// not JWTs (opaque tokens, which several providers issue by default) are introspected at
    /// the provider's introspection endpoint (RFC 7662, from its discovery document or its
    /// RFC 8414 metadata). Without it (or a certificate), such tokens are refused.
    pub fn client_secret(mut self, secret: impl Into<String>) -> Self {
        self.client_secret = Some(secret.into());
        self
    }

    /// The API's own certificate (a PEM file with the private key and the certificate;
    /// variable `CLIENT_CERTIFICATE`), for introspection as [`client_secret`](Self::client_secret).
    pub fn client_certificate_file(mut self, path: impl Into<std::path::PathBuf>) -> Self {
        self.client_certificate = Some(KeySource::File(path.into()));
        self
    }

    /// How long an introspection answer is trusted, at most (never past the token's `exp`):
    /// the time a token revoked at the provider may still be accepted. Default 60 seconds;
    /// zero asks the provider about every request.
    pub fn introspection_ttl(mut self, ttl: Duration) -> Self {
        self.introspection_ttl = Some(ttl);
        self
    }

    /// More accepted audiences (`aud`), such as an Application ID URI of your own
    /// (`https://api.contoso.com`) or an RFC 8707 resource indicator. Variable: `AUDIENCE`.
    pub fn audiences<I, S>(mut self, audiences: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.audiences = audiences.into_iter().map(Into::into).collect();
        self
    }

    /// The API's resource URI (RFC 8707 and RFC 9728; variable `RESOURCE`): the https URL
    /// clients call it at, such as an MCP server's `https://mcp.example.com/mcp`. With it:
    ///
    /// - the protected-resource metadata document (RFC 9728) is served
    ///   ([`ApiAuth::metadata_routes`], or the [tower layer](ApiAuth::bearer_layer)) and every
    ///   `WWW-Authenticate` challenge names it in `resource_metadata`, so a client that gets a
    ///   `401` finds the provider that issues tokens for this API, as the MCP authorization
    ///   specification requires;
    /// - tokens must be for it: at an OpenID provider, their `aud` must be the resource URI
    ///   (or one of [`audiences`](Self::audiences)), no longer the client id — the provider
    ///   puts the `resource` the client asked for in `aud` (RFC 8707). Microsoft's
    ///   authorities put the API's client id or Application ID URI (`api://<client id>`) in
    ///   `aud` whatever the client asked for, so there the client id and `api://<client id>`
    ///   stay accepted, next to the resource URI (which Entra issues only when it is the
    ///   API's Application ID URI, on a verified domain).
    ///
    /// It must be an absolute https URL (plain http on loopback only, for development),
    /// without a query or a fragment: anything else is a [`ConfigError`] at `build`.
    ///
    /// ```
    /// use axum_identity_runtime::ApiAuth;
    ///
    /// let api = ApiAuth::builder()
    ///     .client_id("notes-mcp")
    ///     .oidc_authority("https://idp.example")
    ///     .resource("https://notes.example/mcp")
    ///     .scopes_supported(["notes.read"])
    ///     .build()?;
    /// assert_eq!(api.audiences(), ["https://notes.example/mcp"]);
    ///
    /// let err = ApiAuth::builder()
    ///     .client_id("notes-mcp")
    ///     .oidc_authority("https://idp.example")
    ///     .resource("http://notes.example/mcp")
    ///     .build()
    ///     .unwrap_err();
    /// assert!(err.to_string().contains("RESOURCE"));
    /// # Ok::<(), axum_identity_runtime::ConfigError>(())
    /// ```
    pub fn resource(mut self, uri: impl Into<String>) -> Self {
        self.resource = Some(uri.into());
        self
    }

    /// The `resource_name` of the protected-resource metadata: a name for people, shown by
    /// clients that ask for consent.
    pub fn resource_name(mut self, name: impl Into<String>) -> Self {
        self.resource_name = Some(name.into());
        self
    }

    /// The `scopes_supported` of the protected-resource metadata: the scopes a client may ask
    /// for to call this API (MCP clients ask for these when the challenge names none).
    pub fn scopes_supported<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes_supported = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// Accept tokens from these tenants only (their `tid`): for a multi-tenant API on
    /// `organizations` or `common` that serves some customers' tenants.
    ///
    /// Without it, a multi-tenant authority accepts a token from **any** tenant, and the app
    /// roles in it were granted by that tenant's administrators: anyone can create a tenant,
    /// consent to the API and give themselves every role it defines. Set it (or check
    /// [`ApiClaims::tenant_id`](crate::ApiClaims::tenant_id) in every handler) whenever roles
    /// or scopes decide access; `build` logs a warning on a multi-tenant authority without it.
    pub fn allowed_tenants<I, S>(mut self, tenants: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.tenants = Some(tenants.into_iter().map(Into::into).collect());
        self
    }

    /// Requires the header's `typ` to be `at+jwt`, as RFC 9068 §4 says access tokens carry:
    /// every other kind of token (an ID token, also the one a refresh returns without a
    /// `nonce`; a logout token) is refused by its type, not only by its claims.
    ///
    /// Off by default for every authority: Entra ID and its External ID and B2C variants issue
    /// access tokens with `typ: JWT`, and many other providers send `JWT` or nothing. Without
    /// it, a token is refused when its `typ` names another kind of token, or it carries a
    /// `nonce` (an ID token) or `events` (a logout token). Switch it on when your provider
    /// issues RFC 9068 access tokens (`oidc-provider`, Auth0, Ory and others do).
    pub fn require_access_token_type(mut self, required: bool) -> Self {
        self.require_at_jwt = required;
        self
    }

    /// Clock skew allowed on `exp`, `nbf` and `iat`. Default 30 seconds.
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = Some(leeway);
        self
    }

    /// The `realm` of the `WWW-Authenticate` challenges. Default: the client id.
    pub fn realm(mut self, realm: impl Into<String>) -> Self {
        self.realm = Some(realm.into());
        self
    }

    /// How many bytes the cache of verified tokens may hold: each entry weighs its token and
    /// its parsed claims (a token with a thousand groups weighs about 70 KB, a plain one 2–4
    /// KB). Default 32 MiB; 0 verifies every request. When it is full, the tokens used least
    /// recently and least often make room; an entry never outlives its token's `exp`.
    ///
    /// ```
    /// use axum_identity_runtime::ApiAuth;
    ///
    /// let api = ApiAuth::builder()
    ///     .client_id("my-api")
    ///     .oidc_authority("https://idp.example")
    ///     .token_cache_size(8 << 20) // 8 MiB
    ///     .build()?;
    /// # Ok::<(), axum_identity_runtime::ConfigError>(())
    /// ```
    pub fn token_cache_size(mut self, bytes: u64) -> Self {
        self.cache_bytes = Some(bytes);
        self
    }

    /// The clock `exp` and `nbf` are checked against (tests pass a [`Clock::manual`]).
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = Some(clock);
        self
    }

    /// The API's own confidential client (its client id with a secret or certificate), for
    /// calling downstream APIs on behalf of the caller with
    /// [`ApiContext::token_on_behalf_of`](crate::ApiContext::token_on_behalf_of): Entra ID's
    /// on-behalf-of grant, or RFC 8693 token exchange at other providers. Usually
    /// `Auth::from_env()?` with `CLIENT_SECRET` or `CLIENT_CERTIFICATE` set; no redirect URI
    /// is needed. The API takes its client id and authority from it unless they are set here.
    ///
    /// ```
    /// use axum_identity_runtime::{ApiAuth, Auth};
    ///
    /// let client = Auth::builder()
    ///     .client_id("my-api-client-id")
    ///     .client_secret("my-api-secret")
    ///     .authority("https://login.microsoftonline.com/organizations")
    ///     .build()?;
    /// let api = ApiAuth::builder()
    ///     .downstream_client(client)
    ///     .allowed_tenants(["72f988bf-86f1-41af-91ab-2d7cd011db47"])
    ///     .build()?;
    /// assert_eq!(api.client_id(), "my-api-client-id");
    /// # Ok::<(), axum_identity_runtime::ConfigError>(())
    /// ```
    pub fn downstream_client(mut self, client: Auth) -> Self {
        self.downstream = Some(client);
        self
    }

    /// Checks the settings and builds the [`ApiAuth`]. Does not contact the provider (see
    /// [`ApiAuth::warm_up`]).
    pub fn build(self) -> Result<ApiAuth, ConfigError> {
        if !self.named.is_empty() {
            return self.build_several();
        }
        self.build_one("", Vec::new())
    }

    /// One authority's `ApiAuth`, called `name`, holding `others`.
    pub(crate) fn build_one(
        mut self,
        name: &str,
        others: Vec<ApiAuth>,
    ) -> Result<ApiAuth, ConfigError> {
        // With a downstream client and no settings of its own, the API is that client
        // (an API and the client it calls downstream with share one registration).
        let client_id = self
            .client_id
            .map(|id| id.trim().to_owned())
            .filter(|id| !id.is_empty())
            .or_else(|| {
                self.downstream
                    .as_ref()
                    .map(|auth| auth.client().id().to_owned())
            })
            .ok_or(ConfigError::missing(Setting::ClientId, None))?;
        let authority = match &self.downstream {
            Some(auth) if !self.provider.names_an_authority() => {
                auth.provider().authority().clone()
            }
            _ => self.provider.checked_authority()?,
        };
        let resource = match self.resource.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(raw) => Some(metadata::check_resource(raw)?),
        };
        if resource.is_none() && (self.resource_name.is_some() || !self.scopes_supported.is_empty())
        {
            return Err(ConfigError::missing(
                Setting::Resource,
                Some(
                    "`resource_name` and `scopes_supported` describe the resource in its metadata",
                ),
            ));
        }
        let mut audiences = match &resource {
            // RFC 8707: the token is bound to the resource the client asked for.
            Some((uri, _)) if !authority.is_microsoft() => vec![uri.clone()],
            // Microsoft's tokens carry the client id or the Application ID URI.
            Some((uri, _)) => vec![client_id.clone(), format!("api://{client_id}"), uri.clone()],
            None => vec![client_id.clone(), format!("api://{client_id}")],
        };
        let resource_metadata = resource.map(|(uri, url)| {
            ResourceMetadata::new(
                uri,
                &url,
                &authority,
                self.resource_name.as_deref(),
                &self.scopes_supported,
            )
            .with_servers(others.iter().map(|other| other.inner.provider.authority()))
        });
        for audience in self.audiences {
            // Exact values: only an empty one (`a,,b`) or control characters are mistakes.
            if audience.trim().is_empty() || audience.contains(char::is_control) {
                return Err(ConfigError::invalid(
                    Setting::Audiences,
                    format!("`{}` is not an audience", audience.escape_debug()),
                ));
            }
            if !audiences.contains(&audience) {
                audiences.push(audience);
            }
        }
        if let Some(tenants) = &self.tenants {
            let valid = |t: &String| {
                !t.is_empty() && t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            };
            if tenants.is_empty() || !tenants.iter().all(valid) {
                return Err(ConfigError::invalid(
                    Setting::AllowedTenants,
                    "list one or more tenant ids (GUIDs)",
                ));
            }
        }
        if authority.is_multi_tenant() && self.tenants.is_none() {
            tracing::warn!(
                authority = %authority.url,
                "this web API accepts tokens from every tenant, with the roles and scopes that \
                 tenant granted: set `allowed_tenants` to the tenants you serve, or check \
                 `tenant_id()` in every handler"
            );
        }
        let (http, ttl) = self.provider.transport()?;
        let realm = self.realm.unwrap_or_else(|| client_id.clone());
        let credential = Credential::from_settings(
            self.client_secret.filter(|s| !s.is_empty()),
            self.client_certificate,
            None,
            None,
            None,
            // An API's key file is held to the same rule as a web app's: not readable by all.
            false,
        )?;
        let introspector = (!matches!(credential, Credential::None)).then(|| {
            Introspector::new(
                Client::new(client_id.clone(), credential, None),
                self.introspection_ttl.unwrap_or(introspection::DEFAULT_TTL),
            )
        });
        Ok(ApiAuth {
            inner: Arc::new(Inner {
                name: Arc::from(name),
                others,
                realm: Realm::new(&realm, resource_metadata.as_ref().map(|m| m.url.as_str())),
                metadata: resource_metadata,
                client_id,
                provider: Provider::new(authority, http, ttl),
                policy: Policy {
                    audiences,
                    tenants: self.tenants,
                    leeway: self.leeway.unwrap_or(Duration::from_secs(30)).as_secs() as i64,
                    require_at_jwt: self.require_at_jwt,
                },
                verified: VerifiedTokens::new(self.cache_bytes.unwrap_or(DEFAULT_CACHE_BYTES)),
                clock: self.clock.unwrap_or_default(),
                downstream: self.downstream,
                introspector,
            }),
        })
    }
}

mod issuers;
mod resource;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_api_takes_its_client_id_and_authority_from_its_downstream_client() {
        let client = || {
            Auth::builder()
                .client_id("api-client")
                .client_secret("secret")
                .oidc_authority("https://idp.example")
                .build()
                .unwrap()
        };
        let api = ApiAuth::builder()
            .downstream_client(client())
            .build()
            .unwrap();
        assert_eq!(api.client_id(), "api-client");
        assert_eq!(api.inner.provider.authority().url, "https://idp.example");
        // Its own settings win.
        let api = ApiAuth::builder()
            .client_id("other")
            .oidc_authority("https://other.example")
            .downstream_client(client())
            .build()
            .unwrap();
        assert_eq!(api.client_id(), "other");
        assert_eq!(api.inner.provider.authority().url, "https://other.example");
    }

    #[test]
    fn settings_are_checked_at_build_time() {
        let err = ApiAuth::builder().build().unwrap_err();
        assert!(err.to_string().contains("CLIENT_ID"), "{err}");
        let err = ApiAuth::builder().client_id("api").build().unwrap_err();
        assert!(err.to_string().contains("AUTHORITY"), "{err}");
        let err = ApiAuth::builder()
            .client_id("api")
            .oidc_authority("https://idp.example")
            .audiences([" "])
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("AUDIENCE"), "{err}");
        let err = ApiAuth::builder()
            .client_id("api")
            .authority("https://login.microsoftonline.com/common")
            .allowed_tenants(Vec::<String>::new())
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("allowed_tenants"), "{err}");
        let err = ApiAuth::builder()
            .client_id("api")
            .oidc_authority("https://idp.example")
            .scopes_supported(["api.read"])
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("RESOURCE"), "{err}");
    }

    #[test]
    fn both_audience_forms_and_configured_ones_are_accepted() {
        let api = ApiAuth::builder()
            .client_id("api-id")
            .oidc_authority("https://idp.example")
            .audiences(["https://api.example", "api-id"])
            .build()
            .unwrap();
        assert_eq!(
            api.audiences(),
            ["api-id", "api://api-id", "https://api.example"]
        );
        assert_eq!(api.realm(), "api-id");
    }
}
