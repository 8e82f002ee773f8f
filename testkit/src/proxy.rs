//! A reverse proxy on loopback that serves an app under a path prefix and strips it, as
//! `location /app/ { proxy_pass http://app/; }` in nginx or `handle_path /app/*` in Caddy do:
//! `GET /app/x?y` reaches the app as `GET /x?y` with `X-Forwarded-Host`, `X-Forwarded-Proto` and
//! `X-Forwarded-Prefix` added, and `Host` set to the app's own address. The answer comes back as
//! it is (no `Location` rewriting: the library sends paths that already have the prefix).

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderName, StatusCode, header};
use axum::response::{IntoResponse, Response};

struct Hop {
    prefix: String,
    upstream: String,
    client: reqwest::Client,
}

/// Hop-by-hop headers, and the ones the proxy sets itself.
const DROPPED: [HeaderName; 4] = [
    header::HOST,
    header::CONNECTION,
    header::CONTENT_LENGTH,
    header::TRANSFER_ENCODING,
];

/// Serves `prefix` (such as `/app`) on `listener`, forwarding to `upstream`
/// (`http://127.0.0.1:<port>`) without the prefix; anything else is a 404 of the proxy's own.
pub async fn strip_prefix(listener: tokio::net::TcpListener, prefix: String, upstream: String) {
    let hop = Arc::new(Hop {
        prefix,
        upstream,
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("the proxy's client builds"),
    });
    let proxy = Router::new().fallback(forward).with_state(hop);
    axum::serve(listener, proxy).await.expect("the proxy runs");
}

async fn forward(State(hop): State<Arc<Hop>>, request: Request) -> Response {
    let target = request.uri().path_and_query().map_or("/", |pq| pq.as_str());
    let rest = match target.strip_prefix(hop.prefix.as_str()) {
        Some(rest) if rest.starts_with('/') => rest.to_owned(),
        Some(rest) if rest.is_empty() || rest.starts_with('?') => format!("/{rest}"),
        _ => return (StatusCode::NOT_FOUND, "not under the proxy's prefix").into_response(),
    };
    let (parts, body) = request.into_parts();
    let host = parts.headers.get(header::HOST).cloned();
    let body = to_bytes(body, 1 << 20).await.unwrap_or_default();
    let mut upstream = hop
        .client
        .request(parts.method, format!("{}{rest}", hop.upstream))
        .header("x-forwarded-proto", "http")
        .header("x-forwarded-prefix", &hop.prefix)
        .body(body);
    if let Some(host) = host {
        upstream = upstream.header("x-forwarded-host", host);
    }
    for (name, value) in &parts.headers {
        if !DROPPED.contains(name) {
            upstream = upstream.header(name, value);
        }
    }
    let answer = match upstream.send().await {
        Ok(answer) => answer,
        Err(error) => return (StatusCode::BAD_GATEWAY, error.to_string()).into_response(),
    };
    let mut response = Response::builder().status(answer.status());
    for (name, value) in answer.headers() {
        if !DROPPED.contains(name) {
            response = response.header(name, value);
        }
    }
    let body = answer.bytes().await.unwrap_or_default();
    response.body(Body::from(body)).expect("a response")
}
