use std::convert::Infallible;

use axum::http::Method;
use http_body_util::BodyExt as _;
use tower::ServiceExt as _;

use super::*;

fn api() -> ApiAuth {
    ApiAuth::builder()
        .client_id("notes")
        .oidc_authority("https://idp.example")
        .resource("https://notes.example/mcp")
        .scopes_supported(["notes.read"])
        .build()
        .unwrap()
}

/// The service behind the layer: it must never be reached in these tests.
async fn unreachable(_: Request<Body>) -> Result<Response<Body>, Infallible> {
    panic!("a refused request reached the service")
}

async fn call(request: Request<Body>) -> (Response<()>, String) {
    let service = api().bearer_layer().layer(tower::service_fn(unreachable));
    let response = service.oneshot(request).await.unwrap();
    let (parts, body) = response.into_parts();
    let bytes = body.collect().await.unwrap().to_bytes();
    (
        Response::from_parts(parts, ()),
        String::from_utf8(bytes.to_vec()).unwrap(),
    )
}

#[tokio::test]
async fn without_a_token_http_gets_401_with_the_resource_metadata() {
    let (response, body) = call(Request::get("/mcp").body(Body::empty()).unwrap()).await;
    assert_eq!(response.status(), 401);
    assert_eq!(
        response.headers()[header::WWW_AUTHENTICATE],
        "Bearer realm=\"notes\", resource_metadata=\"https://notes.example/.well-known/oauth-protected-resource/mcp\""
    );
    assert!(body.contains("a bearer access token is required"), "{body}");
}

#[tokio::test]
async fn grpc_requests_get_grpc_statuses_never_a_panic() {
    for (authorization, status) in [
        (None, "16"),
        (Some("Bearer"), "16"),
        (Some("Bearer a b"), "16"),
        (Some("Basic dXNlcjpwYXNz"), "16"),
    ] {
        let mut request = Request::post("/notes.Notes/Whoami")
            .header(header::CONTENT_TYPE, "application/grpc+proto");
        if let Some(value) = authorization {
            request = request.header(header::AUTHORIZATION, value);
        }
        let (response, body) = call(request.body(Body::empty()).unwrap()).await;
        assert_eq!(response.status(), 200, "{authorization:?}");
        assert_eq!(
            response.headers()["grpc-status"],
            status,
            "{authorization:?}"
        );
        assert!(response.headers().contains_key("grpc-message"));
        assert!(
            response.headers()[header::WWW_AUTHENTICATE]
                .to_str()
                .unwrap()
                .contains("resource_metadata="),
        );
        assert!(body.is_empty());
    }
    let said = Said {
        status: StatusCode::FORBIDDEN,
        realm: None,
        error: Some("insufficient_scope"),
        description: "lacks 100% of\nit".into(),
        scope: None,
    };
    let response = grpc_status(&said);
    assert_eq!(response.headers()["grpc-status"], "7");
    assert_eq!(response.headers()["grpc-message"], "lacks 100%25 of%0Ait");
}

#[tokio::test]
async fn the_metadata_is_served_by_the_layer_without_a_token() {
    for path in [
        "/.well-known/oauth-protected-resource",
        "/.well-known/oauth-protected-resource/mcp",
    ] {
        let (response, body) = call(Request::get(path).body(Body::empty()).unwrap()).await;
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(
            response.headers()[header::CACHE_CONTROL],
            "public, max-age=3600"
        );
        let document: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(document["resource"], "https://notes.example/mcp");
        assert_eq!(document["authorization_servers"][0], "https://idp.example");
    }
    let (response, _) = call(
        Request::builder()
            .method(Method::DELETE)
            .uri("/.well-known/oauth-protected-resource/mcp")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(response.status(), 405);
    // Another path under the well-known prefix is the service's, so it needs a token.
    let (response, _) = call(
        Request::get("/.well-known/oauth-protected-resource/other")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(response.status(), 401);
}
