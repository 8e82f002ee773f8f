use axum::body::Body;
use axum::http::{Request, StatusCode};
use tower::ServiceExt as _;
use tower_sessions::MemoryStore;

use super::*;

/// An app whose redirect URI is `redirect_uri`; the provider (port 9) is never reached by the
/// cases that pass, and refuses at once in the others.
fn app(redirect_uri: &str) -> Router {
    let auth = Auth::builder()
        .client_id("client")
        .redirect_uri(redirect_uri)
        .oidc_authority("http://127.0.0.1:9")
        .build()
        .unwrap();
    Router::new()
        .merge(auth.routes())
        .layer(auth.layer(MemoryStore::default()))
}

async fn get(app: Router, uri: &str, headers: &[(&str, &str)]) -> Response {
    let mut request = Request::get(uri);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    app.oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap()
}

async fn body(response: Response) -> String {
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    String::from_utf8(bytes.to_vec()).unwrap()
}

#[tokio::test]
async fn a_sign_in_started_on_another_loopback_name_moves_to_the_redirect_uris_origin() {
    for (redirect_uri, host, expected) in [
        (
            "http://127.0.0.1:5000/redirect",
            "localhost:5000",
            "http://127.0.0.1:5000/login?next=%2Fpage",
        ),
        (
            "http://localhost:5000/redirect",
            "127.0.0.1:5000",
            "http://localhost:5000/login?next=%2Fpage",
        ),
        (
            "http://localhost:5000/redirect",
            "[::1]:5000",
            "http://localhost:5000/login?next=%2Fpage",
        ),
    ] {
        let response = get(app(redirect_uri), "/login?next=%2Fpage", &[("host", host)]).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{host}");
        assert_eq!(response.headers()[header::LOCATION], expected, "{host}");
        assert!(
            response.headers().get(header::SET_COOKIE).is_none(),
            "no session on the wrong origin"
        );
    }
}

#[tokio::test]
async fn a_sign_in_stays_where_it_is_when_the_origin_is_right_or_not_clearly_the_same_app() {
    let cases: &[(&str, &[(&str, &str)])] = &[
        // The redirect URI's own origin: the sign-in starts here.
        (
            "http://127.0.0.1:5000/redirect",
            &[("host", "127.0.0.1:5000")],
        ),
        // Another port is another server, and a public host name may be a proxy's: no hop.
        (
            "http://127.0.0.1:5000/redirect",
            &[("host", "localhost:5001")],
        ),
        (
            "https://app.example.com/redirect",
            &[("host", "localhost:5000")],
        ),
        (
            "http://127.0.0.1:5000/redirect",
            &[("host", "app.example.com")],
        ),
        // Behind a proxy, `Host` is not what the browser used.
        (
            "http://127.0.0.1:5000/redirect",
            &[
                ("host", "localhost:5000"),
                ("x-forwarded-host", "localhost:5000"),
            ],
        ),
        (
            "http://127.0.0.1:5000/redirect",
            &[
                ("host", "localhost:5000"),
                ("forwarded", "host=localhost:5000"),
            ],
        ),
        // A crafted Host never leads elsewhere.
        (
            "http://127.0.0.1:5000/redirect",
            &[("host", "evil.example@localhost:5000")],
        ),
    ];
    for (redirect_uri, headers) in cases {
        let response = get(app(redirect_uri), "/login", headers).await;
        // The sign-in itself starts, and fails on the unreachable provider.
        assert_eq!(
            response.status(),
            StatusCode::SERVICE_UNAVAILABLE,
            "{redirect_uri} {headers:?}"
        );
    }
}

#[tokio::test]
async fn a_callback_without_any_session_cookie_names_the_origin_mismatch() {
    let response = get(
        app("http://127.0.0.1:5000/redirect"),
        "/redirect?state=abc&code=xyz",
        &[("host", "127.0.0.1:5000")],
    )
    .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let page = body(response).await;
    assert!(page.contains("Sign-in expired"), "{page}");
    assert!(
        page.contains("open http://127.0.0.1:5000 and sign in again"),
        "{page}"
    );

    // A cookie whose session is gone (expired, signed out elsewhere): the usual message.
    let stale = tower_sessions::session::Id::default();
    let response = get(
        app("http://127.0.0.1:5000/redirect"),
        "/redirect?state=abc&code=xyz",
        &[("cookie", &format!("identity.sid={stale}"))],
    )
    .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let page = body(response).await;
    assert!(page.contains("Sign-in expired"), "{page}");
    assert!(!page.contains("another address"), "{page}");
}

#[tokio::test]
async fn the_cookie_name_is_the_applications_choice_and_the_defaults_stay() {
    async fn remember(session: Session) -> &'static str {
        session.insert("seen", true).await.unwrap();
        "ok"
    }
    let auth = Auth::builder()
        .client_id("client")
        .redirect_uri("http://localhost:5000/redirect")
        .oidc_authority("http://127.0.0.1:9")
        .build()
        .unwrap();
    let cookie = |app: Router| async move {
        let response = get(app, "/", &[]).await;
        response.headers()[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .to_owned()
    };
    let default = cookie(
        Router::new()
            .route("/", axum::routing::get(remember))
            .layer(auth.layer(MemoryStore::default())),
    )
    .await;
    assert!(default.starts_with("identity.sid="), "{default}");
    let named = cookie(
        Router::new()
            .route("/", axum::routing::get(remember))
            .layer(auth.layer_with(MemoryStore::default(), |s| s.with_name("billing.sid"))),
    )
    .await;
    assert!(named.starts_with("billing.sid="), "{named}");
    for attribute in ["HttpOnly", "SameSite=Lax"] {
        assert!(named.contains(attribute), "{named}");
    }
}
