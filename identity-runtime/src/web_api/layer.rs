//! [`ApiAuth`] as a tower layer: bearer-token protection for any service of `http::Request`s —
//! a `tonic` gRPC server, an MCP server's streamable HTTP service, a hyper service, an axum
//! router — not only for axum handlers. It verifies the token once (the same
//! `require_authorization` path as the extractors, the same cache of verified tokens), puts the
//! [`ApiContext`] in the request's extensions, and answers a refused request itself: RFC 6750
//! (and RFC 9728's `resource_metadata`) over HTTP, a gRPC status to a gRPC request.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::BoxError;
use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, Request, Response, StatusCode, header};
use axum::response::IntoResponse;
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use tower_layer::Layer;
use tower_service::Service;

use crate::core::response::set_challenge;
use crate::web_api::answer::Said;
use crate::web_api::auth::ApiAuth;
use crate::web_api::extract::{ApiContext, ApiRejection, verify};

/// The layer that requires a valid bearer token on every request of the service it wraps,
/// with scopes and app roles if set: [`ApiAuth::bearer_layer`] (or `ApiAuth` itself, which is
/// this layer without scopes). Cheap to clone.
///
/// A request with a valid token reaches the service with its [`ApiContext`] (and the
/// [`ApiAuth`]) in its extensions: axum handlers behind it take `ApiContext` or
/// `#[authorization_required(scopes = [..])]` as usual, without verifying the token again;
/// other services read `request.extensions().get::<ApiContext>()`. Any other request is
/// answered here:
///
/// | refused because | HTTP | gRPC (`content-type: application/grpc…`) |
/// | --- | --- | --- |
/// | no token, a malformed `Authorization` header, an invalid token | `401` (`400` for malformed) with `WWW-Authenticate: Bearer …` | `UNAUTHENTICATED` |
/// | a scope or role missing | `403` `insufficient_scope` | `PERMISSION_DENIED` |
/// | the provider's keys cannot be had | `503` | `UNAVAILABLE` |
///
/// With a [resource URI](crate::ApiAuthBuilder::resource) it also serves the
/// protected-resource metadata at its well-known paths (RFC 9728), unprotected, so that a
/// wrapped MCP server needs nothing else.
///
/// ```
/// use axum::{Json, Router, routing::get};
/// use axum_identity_runtime::{ApiAuth, ApiContext};
///
/// async fn whoami(context: ApiContext) -> Json<serde_json::Value> {
///     Json(serde_json::json!({ "sub": context.claims.subject() }))
/// }
///
/// let api = ApiAuth::builder()
///     .client_id("my-api")
///     .oidc_authority("https://idp.example")
///     .build()?;
/// // Every route behind it needs a token with `api.read`; any tower service can take the
/// // place of the router (`tonic::transport::Server::builder().layer(..)`, for one).
/// let app: Router = Router::new()
///     .route("/whoami", get(whoami))
///     .layer(api.bearer_layer().scopes(["api.read"]));
/// # Ok::<(), axum_identity_runtime::ConfigError>(())
/// ```
#[derive(Clone, Debug)]
pub struct BearerLayer {
    rules: Arc<Rules>,
}

#[derive(Debug)]
struct Rules {
    api: ApiAuth,
    scopes: Vec<String>,
    roles: Vec<String>,
}

impl BearerLayer {
    /// Requires all of these delegated scopes (`scp`, or RFC 9068's `scope`) too.
    pub fn scopes<I, S>(self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let rules = &*self.rules;
        BearerLayer {
            rules: Arc::new(Rules {
                api: rules.api.clone(),
                scopes: scopes.into_iter().map(Into::into).collect(),
                roles: rules.roles.clone(),
            }),
        }
    }

    /// Requires all of these app roles (`roles`) too.
    pub fn roles<I, S>(self, roles: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let rules = &*self.rules;
        BearerLayer {
            rules: Arc::new(Rules {
                api: rules.api.clone(),
                scopes: rules.scopes.clone(),
                roles: roles.into_iter().map(Into::into).collect(),
            }),
        }
    }
}

impl ApiAuth {
    /// The tower layer that requires a valid bearer token on every request of the service it
    /// wraps: see [`BearerLayer`]. `.layer(api.clone())` is the same without scopes.
    pub fn bearer_layer(&self) -> BearerLayer {
        BearerLayer {
            rules: Arc::new(Rules {
                api: self.clone(),
                scopes: Vec::new(),
                roles: Vec::new(),
            }),
        }
    }
}

impl<S> Layer<S> for BearerLayer {
    type Service = Bearer<S>;

    fn layer(&self, inner: S) -> Bearer<S> {
        Bearer {
            inner,
            rules: self.rules.clone(),
        }
    }
}

impl<S> Layer<S> for ApiAuth {
    type Service = Bearer<S>;

    fn layer(&self, inner: S) -> Bearer<S> {
        self.bearer_layer().layer(inner)
    }
}

/// The service [`BearerLayer`] wraps around another: see there.
#[derive(Clone, Debug)]
pub struct Bearer<S> {
    inner: S,
    rules: Arc<Rules>,
}

/// The wrapped service's responses and the layer's own answers share axum's `Body`: an axum
/// service's body passes through as it is (no second box), another's is boxed once.
impl<S, B, ResBody> Service<Request<B>> for Bearer<S>
where
    S: Service<Request<B>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
    ResBody: http_body::Body<Data = Bytes> + Send + 'static,
    ResBody::Error: Into<BoxError>,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        // The service that was polled ready serves this request; its clone takes its place.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let rules = self.rules.clone();
        Box::pin(async move {
            let api = &rules.api;
            if api.serves_metadata(request.uri().path()) {
                return Ok(api.metadata_answer(request.method()));
            }
            let (mut parts, body) = request.into_parts();
            let scopes: Vec<&str> = rules.scopes.iter().map(String::as_str).collect();
            let roles: Vec<&str> = rules.roles.iter().map(String::as_str).collect();
            match verify(api, &parts, &scopes, &roles).await {
                Ok(context) => {
                    parts.extensions.insert(api.clone());
                    parts.extensions.insert::<ApiContext>(context);
                    let response = inner.call(Request::from_parts(parts, body)).await?;
                    Ok(response.map(Body::new))
                }
                Err(rejection) => {
                    let grpc = is_grpc(&parts.headers);
                    Ok(refused(rejection, grpc))
                }
            }
        })
    }
}

/// Whether the request is gRPC's (`application/grpc`, `application/grpc+proto`, …).
fn is_grpc(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/grpc"))
}

/// The answer to a refused request: RFC 6750's over HTTP, a trailers-only gRPC status to gRPC.
fn refused(rejection: ApiRejection, grpc: bool) -> Response<Body> {
    if !grpc {
        return rejection.into_response();
    }
    match rejection.said() {
        Ok(said) => grpc_status(&said),
        Err(response) => *response,
    }
}

/// What gRPC's `grpc-message` may carry as is (the rest is percent-encoded, as its HTTP/2
/// mapping says).
const GRPC_MESSAGE: &AsciiSet = &CONTROLS.add(b'%');

/// A gRPC answer without a message (trailers-only): HTTP `200` with `grpc-status` and
/// `grpc-message`, and the bearer challenge for clients that read it.
fn grpc_status(said: &Said) -> Response<Body> {
    let code = match said.status {
        // A malformed `authorization` entry is no credential either.
        StatusCode::UNAUTHORIZED | StatusCode::BAD_REQUEST => "16", // UNAUTHENTICATED
        StatusCode::FORBIDDEN => "7",                               // PERMISSION_DENIED
        StatusCode::SERVICE_UNAVAILABLE => "14",                    // UNAVAILABLE
        _ => "13",                                                  // INTERNAL
    };
    let mut response = Response::new(Body::empty());
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/grpc"),
    );
    headers.insert("grpc-status", HeaderValue::from_static(code));
    let message = utf8_percent_encode(&said.description, GRPC_MESSAGE).to_string();
    if let Ok(message) = HeaderValue::from_str(&message) {
        headers.insert("grpc-message", message);
    }
    if let Some(challenge) = said.challenge() {
        set_challenge(headers, &challenge);
    }
    response
}

#[cfg(test)]
mod tests;
