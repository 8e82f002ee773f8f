use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use axum::response::IntoResponse as _;
use axum::routing::get;
use tower::ServiceExt as _;
use tower_sessions::MemoryStore;

use super::*;
use crate::core::error::Error;
use crate::web_app::auth::Auth;
use crate::web_app::context::User;
use crate::web_app::rejection::is_page_load;

fn parts(method: &str, headers: &[(&str, &str)]) -> Parts {
    let mut request = Request::builder().method(method).uri("/page?x=1");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.body(()).unwrap().into_parts().0
}

#[test]
fn page_loads_are_told_from_api_requests() {
    /// Method, headers, whether it is a page load.
    type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], bool);
    let cases: &[Case] = &[
        ("GET", &[], true),
        (
            "GET",
            &[("accept", "text/html,application/xhtml+xml,*/*;q=0.8")],
            true,
        ),
        ("GET", &[("accept", "*/*")], true),
        ("HEAD", &[], true),
        ("GET", &[("accept", "application/json")], false),
        ("GET", &[("accept", "application/json, text/html")], true),
        (
            "GET",
            &[("accept", "text/plain"), ("accept", "application/json")],
            false,
        ),
        ("GET", &[("hx-request", "true")], false),
        ("POST", &[("accept", "text/html")], false),
        ("DELETE", &[], false),
        // Fetch Metadata, when the browser sends it, outranks `Accept`.
        (
            "GET",
            &[
                ("sec-fetch-mode", "navigate"),
                ("sec-fetch-dest", "document"),
                ("accept", "text/html,*/*;q=0.8"),
            ],
            true,
        ),
        (
            "GET",
            &[
                ("sec-fetch-mode", "navigate"),
                ("accept", "application/json"),
            ],
            true,
        ),
        ("GET", &[("sec-fetch-dest", "document")], true),
        ("GET", &[("sec-fetch-mode", "Navigate")], true),
        // `fetch("/page")` sends `Accept: */*`: a script, not a page load.
        (
            "GET",
            &[
                ("sec-fetch-mode", "cors"),
                ("sec-fetch-dest", "empty"),
                ("accept", "*/*"),
            ],
            false,
        ),
        (
            "GET",
            &[
                ("sec-fetch-mode", "same-origin"),
                ("sec-fetch-dest", "empty"),
                ("accept", "*/*"),
            ],
            false,
        ),
        (
            "GET",
            &[("sec-fetch-mode", "no-cors"), ("sec-fetch-dest", "image")],
            false,
        ),
        (
            "GET",
            &[("sec-fetch-dest", "empty"), ("accept", "text/html")],
            false,
        ),
        // Navigating with a form post is still not something to redirect.
        (
            "POST",
            &[
                ("sec-fetch-mode", "navigate"),
                ("sec-fetch-dest", "document"),
            ],
            false,
        ),
    ];
    for (method, headers, expected) in cases {
        assert_eq!(
            is_page_load(&parts(method, headers)),
            *expected,
            "{method} {headers:?}"
        );
    }
}

#[test]
fn rejections_have_the_status_of_their_response() {
    let redirect = LoginRejection::SignInRequired {
        login_url: "/login?next=%2Fa".into(),
        page_load: true,
        realm: String::new(),
    };
    assert_eq!(redirect.status(), StatusCode::SEE_OTHER);
    let response = redirect.into_response();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()[header::LOCATION], "/login?next=%2Fa");
    assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");

    let api = LoginRejection::SignInRequired {
        login_url: "/login".into(),
        page_load: false,
        realm: String::new(),
    };
    assert_eq!(api.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(api.into_response().status(), StatusCode::UNAUTHORIZED);

    let failed = LoginRejection::Failed {
        error: Error::unavailable("down"),
        auth: None,
    };
    assert_eq!(failed.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        failed.into_response().status(),
        StatusCode::SERVICE_UNAVAILABLE
    );
}

#[test]
fn a_context_for_tests_carries_what_it_is_given() {
    let user = User::from_claims(serde_json::json!({"sub": "u"}).as_object().unwrap().clone());
    let context = Context::with_token(user, "at", "Bearer", 60, vec!["a".into()]);
    assert_eq!(context.user.subject(), "u");
    assert_eq!(context.logout_url(), "/logout");
    assert!(
        !format!("{context:?}").contains("\"at\""),
        "tokens stay out of logs"
    );
}

async fn protected(context: Context) -> String {
    context.user.subject().to_owned()
}

fn app() -> Router {
    let auth = Auth::builder()
        .client_id("client")
        .redirect_uri("http://localhost:5000/redirect")
        .oidc_authority("http://127.0.0.1:9")
        .build()
        .unwrap();
    Router::new()
        .route("/page", get(protected))
        .layer(auth.layer(MemoryStore::default()))
}

#[tokio::test]
async fn a_signed_out_page_load_is_sent_to_sign_in_and_an_api_call_gets_401() {
    let page = app()
        .oneshot(Request::get("/page?x=1").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        page.headers()[header::LOCATION],
        "/login?next=%2Fpage%3Fx%3D1"
    );
    assert!(
        page.headers().get(header::SET_COOKIE).is_none(),
        "no session for a visitor"
    );

    let api = app()
        .oneshot(
            Request::get("/page")
                .header(header::ACCEPT, "application/json")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(api.status(), StatusCode::UNAUTHORIZED);
}

#[test]
fn a_401_challenges_with_the_cookie_scheme_and_the_login_page() {
    let api = LoginRejection::SignInRequired {
        login_url: "/login?next=%2Fapi%2Fnotes".into(),
        page_load: false,
        realm: "Notes \"beta\" \u{e9}dition".into(),
    };
    let response = api.into_response();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        response.headers()[header::WWW_AUTHENTICATE],
        r#"Cookie realm="Notes \"beta\" dition", form-action="/login?next=%2Fapi%2Fnotes""#
    );

    let unnamed = LoginRejection::SignInRequired {
        login_url: "/login".into(),
        page_load: false,
        realm: String::new(),
    };
    assert_eq!(
        unnamed.into_response().headers()[header::WWW_AUTHENTICATE],
        r#"Cookie form-action="/login""#
    );

    let page = LoginRejection::SignInRequired {
        login_url: "/login".into(),
        page_load: true,
        realm: String::new(),
    };
    assert!(
        page.into_response()
            .headers()
            .get(header::WWW_AUTHENTICATE)
            .is_none(),
        "a redirect is no challenge"
    );
}

#[tokio::test]
async fn a_script_fetching_a_protected_page_gets_401_and_a_navigation_is_redirected() {
    let fetch = app()
        .oneshot(
            Request::get("/page")
                .header("sec-fetch-mode", "cors")
                .header("sec-fetch-dest", "empty")
                .header(header::ACCEPT, "*/*")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(fetch.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        fetch.headers()[header::WWW_AUTHENTICATE],
        r#"Cookie form-action="/login?next=%2Fpage""#
    );

    let navigation = app()
        .oneshot(
            Request::get("/page")
                .header("sec-fetch-mode", "navigate")
                .header("sec-fetch-dest", "document")
                .header(header::ACCEPT, "*/*")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(navigation.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        navigation.headers()[header::LOCATION],
        "/login?next=%2Fpage"
    );
}

#[tokio::test]
async fn without_the_layer_the_setup_error_names_it() {
    let app: Router = Router::new().route("/page", get(protected));
    let response = app
        .oneshot(Request::get("/page").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
}
