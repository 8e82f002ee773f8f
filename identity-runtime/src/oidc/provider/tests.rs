use super::*;

/// A provider on a loopback port where nothing listens.
fn unreachable() -> Provider {
    Provider::new(
        Authority::oidc("http://127.0.0.1:9").unwrap(),
        crate::core::http::default_client(Duration::from_secs(1)).unwrap(),
        Duration::from_secs(60),
    )
}

#[tokio::test]
async fn an_unreachable_provider_is_unavailable_with_its_cause() {
    let Err(error) = unreachable().metadata().await else {
        panic!("nothing listens there")
    };
    assert!(
        matches!(
            error,
            Error::ProviderUnavailable {
                source: Some(_),
                ..
            }
        ),
        "{error:?}"
    );
    assert!(error.chain().contains("127.0.0.1:9"), "{}", error.chain());
}

#[tokio::test]
async fn after_a_failure_callers_fail_fast_instead_of_queueing() {
    let provider = unreachable();
    assert!(provider.metadata().await.is_err());
    let started = Instant::now();
    let Err(error) = provider.metadata().await else {
        panic!("nothing listens there")
    };
    assert!(started.elapsed() < Duration::from_millis(100));
    assert!(error.to_string().contains("moments ago"), "{error}");
}

/// A provider whose discovery URL answers `status` with `body` (as HTML), on loopback.
async fn answering(status: u16, body: &'static str) -> Provider {
    let app = axum::Router::new().fallback(move || async move {
        (
            axum::http::StatusCode::from_u16(status).unwrap(),
            [(axum::http::header::CONTENT_TYPE, "text/html")],
            body,
        )
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await });
    Provider::new(
        Authority::oidc(&format!("http://127.0.0.1:{port}/realms/demo")).unwrap(),
        crate::core::http::default_client(Duration::from_secs(2)).unwrap(),
        Duration::from_secs(60),
    )
}

#[tokio::test]
async fn a_discovery_document_that_does_not_exist_is_a_configuration_error() {
    let provider = answering(404, "<h1>Not\nFound</h1>").await;
    let Err(error) = provider.metadata().await else {
        panic!("a 404 is no discovery document")
    };
    assert!(
        matches!(error, Error::Config(ConfigError::Provider(_))),
        "{error:?}"
    );
    assert_eq!(error.status(), 500);
    let logged = error.chain();
    assert!(logged.contains("check OIDC_AUTHORITY"), "{logged}");
    assert!(
        logged.contains(
            r#"HTTP 404 Not Found, content type text/html, body starts "<h1>Not\nFound</h1>""#
        ),
        "{logged}"
    );
    // The back-off answers with the same configuration error, not "unavailable".
    let Err(again) = provider.metadata().await else {
        panic!("still a 404")
    };
    assert_eq!(again.status(), 500);
}

#[tokio::test]
async fn a_provider_error_page_is_unavailable_with_its_status_and_first_characters() {
    let provider = answering(502, "<html>Bad gateway</html>").await;
    let Err(error) = provider.metadata().await else {
        panic!("a 502 is no discovery document")
    };
    assert_eq!(error.status(), 503);
    let logged = error.chain();
    assert!(
        logged.contains(r#"HTTP 502 Bad Gateway, content type text/html, body starts "<html>Bad gateway</html>""#),
        "{logged}"
    );
}

#[tokio::test]
async fn a_web_page_at_the_discovery_url_is_a_configuration_error() {
    let provider = answering(200, "<html>Welcome</html>").await;
    let Err(error) = provider.metadata().await else {
        panic!("a web page is no discovery document")
    };
    assert_eq!(error.status(), 500, "{}", error.chain());
    assert!(
        error
            .chain()
            .contains("is not an OpenID discovery document"),
        "{}",
        error.chain()
    );
}

#[test]
fn oauth_metadata_is_looked_for_at_the_path_insertion_address_then_appended() {
    assert_eq!(
        oauth_metadata_urls("http://127.0.0.1:3000"),
        vec!["http://127.0.0.1:3000/.well-known/oauth-authorization-server"]
    );
    assert_eq!(
        oauth_metadata_urls("https://idp.example/realms/demo/"),
        vec![
            "https://idp.example/.well-known/oauth-authorization-server/realms/demo",
            "https://idp.example/realms/demo/.well-known/oauth-authorization-server",
        ]
    );
}

/// A provider whose discovery document lacks the revocation and introspection endpoints, and
/// whose RFC 8414 metadata (declaring `oauth_issuer`) has them.
async fn with_oauth_metadata(oauth_issuer: Option<&'static str>) -> (Provider, String) {
    use axum::routing::get;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let issuer = base.clone();
    let discovery = serde_json::json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{base}/authorize"),
        "token_endpoint": format!("{base}/token"),
        "jwks_uri": format!("{base}/jwks"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
    });
    let oauth = serde_json::json!({
        "issuer": oauth_issuer.map_or(issuer.clone(), str::to_owned),
        "revocation_endpoint": format!("{base}/revoke"),
        "introspection_endpoint": format!("{base}/introspect"),
    });
    let app = axum::Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(move || async move { axum::Json(discovery) }),
        )
        .route(
            "/.well-known/oauth-authorization-server",
            get(move || async move { axum::Json(oauth) }),
        )
        .route(
            "/jwks",
            get(|| async { axum::Json(serde_json::json!({"keys": []})) }),
        );
    tokio::spawn(async move { axum::serve(listener, app).await });
    let provider = Provider::new(
        Authority::oidc(&base).unwrap(),
        crate::core::http::default_client(Duration::from_secs(2)).unwrap(),
        Duration::from_secs(60),
    );
    (provider, base)
}

#[tokio::test]
async fn revocation_and_introspection_come_from_the_oauth_metadata_when_discovery_lacks_them() {
    let (provider, base) = with_oauth_metadata(None).await;
    let meta = provider.metadata().await.unwrap();
    assert_eq!(
        meta.extra.revocation_endpoint.as_deref(),
        Some(format!("{base}/revoke").as_str())
    );
    assert_eq!(
        meta.extra.introspection_endpoint.as_deref(),
        Some(format!("{base}/introspect").as_str())
    );
}

#[tokio::test]
async fn oauth_metadata_of_another_issuer_is_not_used() {
    let (provider, _) = with_oauth_metadata(Some("https://attacker.example")).await;
    let meta = provider.metadata().await.unwrap();
    assert_eq!(meta.extra.revocation_endpoint, None);
    assert_eq!(meta.extra.introspection_endpoint, None);
}
