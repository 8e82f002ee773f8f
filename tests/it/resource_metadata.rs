//! A web API with a resource URI (RFC 9728 and RFC 8707) against the real test provider: the
//! protected-resource metadata document at its well-known paths, `resource_metadata` in every
//! bearer challenge, tokens bound to the resource by their audience, and the tower layer with
//! `#[authorization_required]` handlers on top of it.
//!
//! Everything listens on 127.0.0.1.

use axum_identity_testkit as support;

use axum::routing::get;
use axum::{Json, Router};
use axum_identity::{ApiAuth, ApiContext, authorization_required};
use reqwest::StatusCode;
use reqwest::header::{CACHE_CONTROL, WWW_AUTHENTICATE};
use serde_json::{Value, json};
use support::JsonAnswer;
use support::provider::TestProvider;
use tokio::net::TcpListener;

#[authorization_required(scopes = ["notes.read"])]
async fn notes(context: ApiContext) -> Json<Value> {
    Json(json!({"sub": context.claims.subject(), "scopes": context.claims.scopes()}))
}

#[authorization_required(scopes = ["notes.write"])]
async fn write(context: ApiContext) -> Json<Value> {
    Json(json!({"sub": context.claims.subject()}))
}

/// A loopback listener and the resource URI of `/notes` on it.
async fn listener() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let resource = format!("http://{}/notes", listener.local_addr().unwrap());
    (listener, resource)
}

fn serve(listener: TcpListener, app: Router) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() })
}

async fn provider(indicator: &str) -> TestProvider {
    TestProvider::start(json!({
        "clients": [{
            "client_id": "daemon",
            "client_secret": "daemon-secret",
            "grant_types": ["client_credentials"],
            "response_types": [],
            "redirect_uris": [],
        }],
        "apiResource": {"indicator": indicator, "scopes": ["notes.read", "notes.write"]},
    }))
    .await
    .unwrap()
}

/// An app-only token for `indicator` with `scope`.
async fn token(provider: &TestProvider, indicator: &str, scope: &str) -> String {
    let response: Value = reqwest::Client::new()
        .post(provider.url("/token"))
        .basic_auth("daemon", Some("daemon-secret"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("scope", scope),
            ("resource", indicator),
        ])
        .json_answer()
        .await;
    response["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("no access token: {response}"))
        .to_owned()
}

fn api(provider: &TestProvider, resource: &str) -> ApiAuth {
    ApiAuth::builder()
        .client_id("notes-api")
        .oidc_authority(&provider.issuer)
        .resource(resource)
        .resource_name("Notes")
        .scopes_supported(["notes.read", "notes.write"])
        .build()
        .unwrap()
}

async fn fetch(url: &str, token: Option<&str>) -> (StatusCode, String, Value) {
    let mut request = reqwest::Client::new().get(url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let challenge = response
        .headers()
        .get(WWW_AUTHENTICATE)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, challenge, body)
}

#[tokio::test]
async fn the_metadata_document_names_the_provider_and_every_challenge_names_the_document() {
    let (listener, resource) = listener().await;
    let origin = resource.trim_end_matches("/notes").to_owned();
    let provider = provider(&resource).await;
    let api = api(&provider, &resource);
    let metadata_url = format!("{origin}/.well-known/oauth-protected-resource/notes");
    assert_eq!(api.resource_metadata_url(), Some(metadata_url.as_str()));
    let app = Router::new()
        .route("/notes", get(notes))
        .route("/notes/write", get(write))
        .layer(api.layer())
        .merge(api.metadata_routes());
    let _server = serve(listener, app);

    // The document, at the path-insertion form and at the well-known path, cacheable.
    for url in [
        metadata_url.clone(),
        format!("{origin}/.well-known/oauth-protected-resource"),
    ] {
        let response = reqwest::get(&url).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{url}");
        assert_eq!(response.headers()[CACHE_CONTROL], "public, max-age=3600");
        let document: Value = response.json().await.unwrap();
        assert_eq!(
            document,
            json!({
                "resource": resource,
                "authorization_servers": [provider.issuer],
                "bearer_methods_supported": ["header"],
                "scopes_supported": ["notes.read", "notes.write"],
                "resource_name": "Notes",
            }),
            "{url}"
        );
    }
    // The provider it names issues tokens: its discovery document is where a client looks.
    let discovery: Value = reqwest::get(format!(
        "{}/.well-known/openid-configuration",
        provider.issuer
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(discovery["issuer"], provider.issuer);

    let expected = format!("Bearer realm=\"notes-api\", resource_metadata=\"{metadata_url}\"");
    let (status, challenge, _) = fetch(&resource, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(challenge, expected);
    let (status, challenge, _) = fetch(&resource, Some("not-a-jwt")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        challenge.starts_with(&format!("{expected}, error=\"invalid_token\"")),
        "{challenge}"
    );

    let token = token(&provider, &resource, "notes.read").await;
    let (status, _, body) = fetch(&resource, Some(&token)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["sub"], "daemon");
    let (status, challenge, _) = fetch(&format!("{resource}/write"), Some(&token)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        challenge.starts_with(&format!("{expected}, error=\"insufficient_scope\"")),
        "{challenge}"
    );
    assert!(challenge.ends_with("scope=\"notes.write\""), "{challenge}");
}

#[tokio::test]
async fn a_token_for_another_resource_is_refused_by_its_audience() {
    let (listener, resource) = listener().await;
    let provider = provider(&resource).await;
    let token = token(&provider, &resource, "notes.read").await;
    // The same provider, the same client id, but another resource: the token is not for it.
    let other = format!("{resource}-archive");
    let app = Router::new()
        .route("/notes", get(notes))
        .layer(api(&provider, &other).layer());
    let _server = serve(listener, app);
    let (status, challenge, body) = fetch(&resource, Some(&token)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("audience"),
        "{body}"
    );
}

#[tokio::test]
async fn a_resource_uri_that_is_not_https_is_a_startup_error() {
    for bad in [
        "http://notes.example/notes",
        "notes.example/notes",
        "https://notes.example/notes#top",
    ] {
        let err = ApiAuth::builder()
            .client_id("notes-api")
            .oidc_authority("https://idp.example")
            .resource(bad)
            .build()
            .unwrap_err();
        assert!(
            err.to_string().contains("RESOURCE"),
            "{bad}: names the setting: {err}"
        );
    }
}

#[tokio::test]
async fn authorization_required_handlers_work_behind_the_tower_layer() {
    let (listener, resource) = listener().await;
    let provider = provider(&resource).await;
    let api = api(&provider, &resource);
    // The layer verifies the token; the handlers' scopes are still checked, from its context.
    let app = Router::new()
        .route("/notes", get(notes))
        .route("/notes/write", get(write))
        .route(
            "/notes/plain",
            get(|context: ApiContext| async move { context.claims.subject().to_owned() }),
        )
        .layer(api.bearer_layer());
    let _server = serve(listener, app);
    let origin = resource.trim_end_matches("/notes");

    let (status, challenge, _) = fetch(&resource, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(challenge.contains("resource_metadata="), "{challenge}");
    // The layer serves the metadata by itself, unprotected.
    let (status, _, document) = fetch(
        &format!("{origin}/.well-known/oauth-protected-resource/notes"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(document["resource"], resource);

    let token = token(&provider, &resource, "notes.read").await;
    let (status, _, body) = fetch(&resource, Some(&token)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["scopes"], json!(["notes.read"]));
    let (status, challenge, _) = fetch(&format!("{resource}/write"), Some(&token)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(challenge.contains("insufficient_scope"), "{challenge}");
    let text = reqwest::Client::new()
        .get(format!("{resource}/plain"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(text, "daemon");
}
