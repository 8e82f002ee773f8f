//! The downstream-API client: [`DownstreamApi`] calls an API with a bearer token for its scopes
//! from a [`TokenSource`] (the signed-in user's `Context`, a web API's `ApiContext` on behalf of
//! its caller, or the application itself), and maps the API's answer: a claims challenge goes
//! back to the source (a sign-in for a web app, a `403` challenge for a web API), a `401
//! invalid_token` gets one fresh token and one retry, anything else keeps its status.
//!
//! It composes reqwest (already the provider's client) rather than wrapping it in a middleware
//! stack: the one thing a middleware would add, a retry, needs the token source, which only the
//! call knows. The sources' impls live on their own floors (`web_app`, `web_api`).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::http::{HeaderName, HeaderValue, header};
use reqwest::{Method, RequestBuilder, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;
use url::Url;

use crate::core::error::{ConfigError, Setting};
use crate::core::http::{BodyError, default_client, read_limited};
use crate::core::params::is_single_scope;
use crate::core::www_authenticate::{bearer_error, claims_of};
use crate::oidc::authority::is_loopback;
use crate::services::downstream_error::DownstreamError;

/// The most of an error answer an error keeps.
const ERROR_BODY_BYTES: usize = 4096;
/// The largest answer [`DownstreamRequest::fetch_json`] reads by default.
const DEFAULT_MAX_BODY: usize = 4 << 20;

/// Where a [`DownstreamApi`] call gets its bearer token: the signed-in user's
/// [`Context`](crate::Context) (from the session's token cache), a web API's
/// [`ApiContext`](crate::ApiContext) (on behalf of its caller) or
/// [`AppOnly`](crate::AppOnly) (the application itself). An application implements it for a
/// source of its own (a token another library keeps, a fixed token in a test).
///
/// ```
/// use axum_identity_runtime::{DownstreamError, Error, TokenSource};
///
/// /// A token the application got elsewhere, which it cannot replace.
/// struct Fixed(String);
///
/// impl TokenSource for Fixed {
///     async fn token(&self, _scopes: &[&str], refused: Option<&str>) -> Result<String, DownstreamError> {
///         match refused {
///             Some(_) => Err(DownstreamError::Request("the fixed token was refused".into())),
///             None => Ok(self.0.clone()),
///         }
///     }
///
///     fn claims_challenge(&self, claims: &str, _scopes: &[&str]) -> DownstreamError {
///         DownstreamError::Token(Error::InteractionRequired {
///             detail: "the API wants more claims".into(),
///             claims: Some(claims.to_owned()),
///         })
///     }
/// }
/// ```
pub trait TokenSource: Send + Sync {
    /// An access token for `scopes`. `refused` is a token the API has just answered with
    /// `invalid_token`: the source must not hand it out again from a cache.
    fn token(
        &self,
        scopes: &[&str],
        refused: Option<&str>,
    ) -> impl Future<Output = Result<String, DownstreamError>> + Send;

    /// What a claims challenge of the API (`claims`: the decoded JSON) becomes for this source:
    /// for a web app the user signs in again with the claims, for a web API its caller is told.
    fn claims_challenge(&self, claims: &str, scopes: &[&str]) -> DownstreamError;
}

/// A downstream API: its base URL, the scopes its token is asked for, and the HTTP client.
/// Build it once and share it (cheap to clone); call it with the token source of the request.
///
/// ```no_run
/// use axum::{Extension, Json};
/// use axum_identity_runtime::{Context, DownstreamApi, DownstreamError};
/// use serde_json::Value;
///
/// // let graph = DownstreamApi::new("https://graph.microsoft.com/v1.0", ["User.Read"])?;
/// // Router::new().route("/me", get(me)).layer(Extension(graph))
/// async fn me(context: Context, Extension(graph): Extension<DownstreamApi>) -> Result<Json<Value>, DownstreamError> {
///     // A claims challenge sends the user through sign-in and back here; an expired or
///     // revoked token is replaced once; a 404 stays a 404.
///     Ok(Json(graph.get(&context, "/me").fetch_json().await?))
/// }
/// ```
#[derive(Clone)]
pub struct DownstreamApi {
    inner: Arc<Inner>,
}

struct Inner {
    base: Url,
    scopes: Vec<String>,
    http: reqwest::Client,
    max_body: usize,
}

impl std::fmt::Debug for DownstreamApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DownstreamApi")
            .field("base_url", &self.inner.base.as_str())
            .field("scopes", &self.inner.scopes)
            .finish_non_exhaustive()
    }
}

impl DownstreamApi {
    /// The API at `base_url` (`https`, or `http` on loopback; paths are appended to it), called
    /// with a token for `scopes` (for Entra ID `api://<api id>/<scope>`, or `User.Read` for
    /// Graph). The HTTP client follows no redirect (a token must not travel to where a redirect
    /// points) and times out after 30 seconds; [`with_http_client`](Self::with_http_client)
    /// replaces it.
    ///
    /// ```
    /// use axum_identity_runtime::DownstreamApi;
    ///
    /// let api = DownstreamApi::new("https://reports.example/api/", ["api://reports/read"])?;
    /// assert_eq!(api.base_url(), "https://reports.example/api");
    /// assert!(DownstreamApi::new("ftp://reports.example", ["a"]).is_err());
    /// assert!(DownstreamApi::new("https://reports.example", Vec::<String>::new()).is_err());
    /// # Ok::<(), axum_identity_runtime::ConfigError>(())
    /// ```
    pub fn new<I, S>(base_url: &str, scopes: I) -> Result<DownstreamApi, ConfigError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let invalid = |reason: String| ConfigError::invalid(Setting::DownstreamApi, reason);
        let mut base = Url::parse(base_url.trim())
            .map_err(|e| invalid(format!("the base URL `{base_url}` is not a URL: {e}")))?;
        if !(base.scheme() == "https" || base.scheme() == "http" && is_loopback(&base))
            || base.query().is_some()
            || base.fragment().is_some()
        {
            return Err(invalid(format!(
                "the base URL `{base_url}` must be https (or http on loopback), without a query or fragment"
            )));
        }
        let path = base.path().trim_end_matches('/').to_owned();
        base.set_path(&path);
        let scopes: Vec<String> = scopes.into_iter().map(Into::into).collect();
        if scopes.is_empty() || !scopes.iter().all(|s| is_single_scope(s)) {
            return Err(invalid(format!(
                "the API's token needs one or more scopes, each a single scope, not {scopes:?}"
            )));
        }
        let http = default_client(Duration::from_secs(30))
            .map_err(|e| invalid(format!("the HTTP client could not be built: {e}")))?;
        Ok(DownstreamApi {
            inner: Arc::new(Inner {
                base,
                scopes,
                http,
                max_body: DEFAULT_MAX_BODY,
            }),
        })
    }

    /// Calls the API through `client` (proxies, root certificates, timeouts). It should not
    /// follow redirects: the bearer token would travel with them.
    pub fn with_http_client(self, client: reqwest::Client) -> DownstreamApi {
        self.rebuilt(|inner| inner.http = client)
    }

    /// The largest answer [`DownstreamRequest::fetch_json`] and
    /// [`DownstreamRequest::fetch_text`] read (default 4 MiB); a larger one is an error, never
    /// buffered whole.
    pub fn with_max_body(self, bytes: usize) -> DownstreamApi {
        self.rebuilt(|inner| inner.max_body = bytes)
    }

    fn rebuilt(self, change: impl FnOnce(&mut Inner)) -> DownstreamApi {
        let mut inner = Inner {
            base: self.inner.base.clone(),
            scopes: self.inner.scopes.clone(),
            http: self.inner.http.clone(),
            max_body: self.inner.max_body,
        };
        change(&mut inner);
        DownstreamApi {
            inner: Arc::new(inner),
        }
    }

    /// The base URL, without a trailing `/`.
    pub fn base_url(&self) -> &str {
        self.inner.base.as_str().trim_end_matches('/')
    }

    /// The scopes the API's token is asked for.
    pub fn scopes(&self) -> &[String] {
        &self.inner.scopes
    }

    /// `GET <base><path>` with a token from `source`.
    pub fn get<'a, S: TokenSource>(
        &'a self,
        source: &'a S,
        path: &str,
    ) -> DownstreamRequest<'a, S> {
        self.request(source, Method::GET, path)
    }

    /// `method <base><path>` with a token from `source`; `path` is empty (the base URL itself),
    /// a query (`?a=b`) or starts with `/`. Add a body or headers, then
    /// [`send`](DownstreamRequest::send).
    pub fn request<'a, S: TokenSource>(
        &'a self,
        source: &'a S,
        method: Method,
        path: &str,
    ) -> DownstreamRequest<'a, S> {
        let builder = self
            .url(path)
            .map(|url| self.inner.http.request(method, url));
        DownstreamRequest {
            api: self,
            source,
            builder,
        }
    }

    /// The body of an answer [`send`](DownstreamRequest::send) returned, as text (lossy UTF-8),
    /// read with the API's size limit ([`with_max_body`](Self::with_max_body)).
    pub async fn text(&self, response: Response) -> Result<String, DownstreamError> {
        let body = read(response, self.inner.max_body).await?;
        Ok(String::from_utf8_lossy(&body).into_owned())
    }

    /// `<base><path>`, refused when `path` would leave the base URL's origin.
    fn url(&self, path: &str) -> Result<Url, DownstreamError> {
        let malformed =
            || DownstreamError::Request(format!("`{path}` is no path under the API's base URL"));
        if !(path.is_empty() || path.starts_with(['/', '?'])) || path.starts_with("//") {
            return Err(malformed());
        }
        let url = Url::parse(&format!("{}{path}", self.base_url())).map_err(|_| malformed())?;
        if url.origin() != self.inner.base.origin() {
            return Err(malformed());
        }
        Ok(url)
    }
}

/// One call to a [`DownstreamApi`], like a `reqwest::RequestBuilder`: add a body, a query or
/// headers, then [`send`](Self::send) (or [`fetch_json`](Self::fetch_json)).
///
/// ```no_run
/// use axum::Json;
/// use axum::extract::State;
/// use axum_identity_runtime::{Context, DownstreamApi, DownstreamError};
/// use reqwest::Method;
/// use serde_json::{Value, json};
///
/// // With `#[login_required(scopes = ["api://orders/write"])]` on it.
/// async fn order(
///     State(orders): State<DownstreamApi>,
///     context: Context,
/// ) -> Result<Json<Value>, DownstreamError> {
///     let created = orders
///         .request(&context, Method::POST, "/orders")
///         .query(&[("dry_run", "false")])
///         .json(&json!({"item": "book", "quantity": 1}))
///         .fetch_json()
///         .await?;
///     Ok(Json(created))
/// }
/// ```
#[must_use = "a request does nothing until it is sent"]
pub struct DownstreamRequest<'a, S> {
    api: &'a DownstreamApi,
    source: &'a S,
    builder: Result<RequestBuilder, DownstreamError>,
}

impl<S> std::fmt::Debug for DownstreamRequest<'_, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DownstreamRequest")
            .field("api", self.api)
            .finish_non_exhaustive()
    }
}

impl<'a, S: TokenSource> DownstreamRequest<'a, S> {
    /// Any change reqwest's builder offers (a timeout, a form, a multipart body).
    pub fn with(mut self, change: impl FnOnce(RequestBuilder) -> RequestBuilder) -> Self {
        self.builder = self.builder.map(change);
        self
    }

    /// A JSON body.
    pub fn json<T: Serialize + ?Sized>(self, body: &T) -> Self {
        self.with(|b| b.json(body))
    }

    /// Query parameters, added to those of the path.
    pub fn query<T: Serialize + ?Sized>(self, query: &T) -> Self {
        self.with(|b| b.query(query))
    }

    /// A header (not `Authorization`: the token is the source's).
    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        if name == header::AUTHORIZATION {
            self.builder = Err(DownstreamError::Request(
                "the Authorization header is the token source's".into(),
            ));
            return self;
        }
        self.with(|b| b.header(name, value))
    }

    /// Sends the request with a token for the API's scopes, and maps its answer: a status below
    /// 400 is the response; a claims challenge is the source's
    /// [`claims_challenge`](TokenSource::claims_challenge); `401` with `invalid_token` gets one
    /// fresh token and one retry (a request whose body is a stream cannot be sent twice and is
    /// not retried); any other failure is [`DownstreamError::Status`].
    pub async fn send(self) -> Result<Response, DownstreamError> {
        let builder = self.builder?;
        let scopes: Vec<&str> = self.api.inner.scopes.iter().map(String::as_str).collect();
        let token = self.source.token(&scopes, None).await?;
        let spare = builder.try_clone();
        let response = attempt(builder, &token).await?;
        if response.status() != reqwest::StatusCode::UNAUTHORIZED {
            return answer(response).await;
        }
        let challenge = response
            .headers()
            .get(header::WWW_AUTHENTICATE)
            .map(|v| v.as_bytes().to_vec())
            .unwrap_or_default();
        if let Some(claims) = claims_of(&challenge) {
            return Err(self.source.claims_challenge(&claims, &scopes));
        }
        let (true, Some(spare)) = (
            bearer_error(&challenge).as_deref() == Some("invalid_token"),
            spare,
        ) else {
            return Err(failure(response).await);
        };
        // The token was revoked or rotated before it expired (Entra's continuous access
        // evaluation, a key rollover): one fresh token past every cache, one retry.
        tracing::debug!("the API refused the token as invalid: one fresh token, one retry");
        let fresh = self.source.token(&scopes, Some(&token)).await?;
        let response = attempt(spare, &fresh).await?;
        if response.status() == reqwest::StatusCode::UNAUTHORIZED
            && let Some(claims) = response
                .headers()
                .get(header::WWW_AUTHENTICATE)
                .and_then(|v| claims_of(v.as_bytes()))
        {
            return Err(self.source.claims_challenge(&claims, &scopes));
        }
        answer(response).await
    }

    /// [`send`](Self::send), then the answer's JSON, read with the API's size limit.
    pub async fn fetch_json<T: DeserializeOwned>(self) -> Result<T, DownstreamError> {
        let limit = self.api.inner.max_body;
        let body = read(self.send().await?, limit).await?;
        serde_json::from_slice(&body).map_err(|e| DownstreamError::Unreachable {
            what: format!("the answer is not the JSON expected: {e}"),
            source: None,
        })
    }

    /// [`send`](Self::send), then the answer as text, read with the API's size limit.
    pub async fn fetch_text(self) -> Result<String, DownstreamError> {
        let api = self.api;
        api.text(self.send().await?).await
    }
}

async fn attempt(builder: RequestBuilder, token: &str) -> Result<Response, DownstreamError> {
    builder
        .bearer_auth(token)
        .send()
        .await
        .map_err(|e| DownstreamError::Unreachable {
            what: "sending the request failed".into(),
            source: Some(e.without_url()),
        })
}

/// The response, when its status is no failure.
async fn answer(response: Response) -> Result<Response, DownstreamError> {
    if response.status().as_u16() < 400 {
        return Ok(response);
    }
    Err(failure(response).await)
}

/// A failed answer as an error: its status, its challenge, the first bytes of its body.
async fn failure(mut response: Response) -> DownstreamError {
    let status = response.status();
    let www_authenticate = response
        .headers()
        .get(header::WWW_AUTHENTICATE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.chars().take(ERROR_BODY_BYTES).collect());
    let mut head = Vec::new();
    while head.len() < ERROR_BODY_BYTES {
        match response.chunk().await {
            Ok(Some(chunk)) => head.extend_from_slice(&chunk),
            _ => break,
        }
    }
    head.truncate(ERROR_BODY_BYTES);
    DownstreamError::Status {
        status,
        www_authenticate,
        body: String::from_utf8_lossy(&head).into_owned(),
    }
}

async fn read(response: Response, limit: usize) -> Result<Vec<u8>, DownstreamError> {
    read_limited(response, limit)
        .await
        .map_err(|e| DownstreamError::Unreachable {
            what: format!("reading the answer failed: {e}"),
            source: match e {
                BodyError::Transport(e) => Some(e),
                BodyError::TooLarge(_) => None,
            },
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_under_the_base_url() {
        let api = DownstreamApi::new("http://127.0.0.1:8080/v1.0/", ["User.Read"]).unwrap();
        assert_eq!(
            api.url("/me").unwrap().as_str(),
            "http://127.0.0.1:8080/v1.0/me"
        );
        assert_eq!(
            api.url("/me?$select=id").unwrap().as_str(),
            "http://127.0.0.1:8080/v1.0/me?$select=id"
        );
        assert_eq!(api.url("").unwrap().as_str(), "http://127.0.0.1:8080/v1.0");
        assert_eq!(
            api.url("?a=b").unwrap().as_str(),
            "http://127.0.0.1:8080/v1.0?a=b"
        );
        for bad in ["me", "//evil.example/x", "@evil.example/x"] {
            assert!(api.url(bad).is_err(), "{bad}");
        }
        assert!(
            DownstreamApi::new("http://api.example", ["a"]).is_err(),
            "http off loopback"
        );
        assert!(DownstreamApi::new("https://api.example?x=1", ["a"]).is_err());
        assert!(DownstreamApi::new("https://api.example", ["a b"]).is_err());
    }
}
