//! `test_util::signed_in`: an application's protected routes called with `oneshot`, signed in
//! as a test user, with no provider anywhere (the authority is an address nothing listens on).

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use axum::routing::get;
use axum::{Json, Router};
use axum_identity::{Auth, Context, login_required};
use axum_identity_runtime::test_util::{TestUser, signed_in};
use serde_json::{Value, json};
use tower::ServiceExt as _;
use tower_sessions::MemoryStore;

#[login_required(roles = ["Admin"])]
async fn admin(context: Context) -> String {
    format!("admin {}", context.user.subject())
}

#[login_required(scopes = ["User.Read"])]
async fn profile(context: Context) -> Json<Value> {
    Json(json!({
        "sub": context.user.subject(),
        "name": context.user.name(),
        "token": context.access_token,
        "app_user": context.user.app_data().get("app_user"),
    }))
}

fn app() -> (Router, Auth, MemoryStore) {
    let auth = Auth::builder()
        .client_id("app")
        .client_secret("secret")
        .redirect_uri("http://127.0.0.1:5000/redirect")
        .oidc_authority("http://127.0.0.1:9")
        .build()
        .unwrap();
    let store = MemoryStore::default();
    let router = Router::new()
        .route("/admin", get(admin))
        .route("/profile", get(profile))
        .layer(auth.layer(store.clone()));
    (router, auth, store)
}

async fn call(
    router: &Router,
    path: &str,
    cookie: Option<&header::HeaderValue>,
) -> (StatusCode, String) {
    let mut request = Request::get(path);
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    let response = router
        .clone()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    (status, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test]
async fn a_test_user_reaches_protected_routes_with_roles_scopes_and_data_and_no_provider() {
    let (router, auth, store) = app();
    let admin_cookie = signed_in(
        &auth,
        &store,
        TestUser::new("alice")
            .claim("name", "Alice")
            .roles(["Admin"])
            .scopes(["User.Read"])
            .app_data("app_user", "alice-local"),
    )
    .await
    .unwrap();
    assert_eq!(
        call(&router, "/admin", Some(&admin_cookie)).await,
        (StatusCode::OK, "admin alice".to_owned())
    );
    let (status, body) = call(&router, "/profile", Some(&admin_cookie)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["name"], "Alice");
    assert_eq!(body["app_user"], "alice-local");
    assert!(
        body["token"]
            .as_str()
            .unwrap()
            .starts_with("test-access-token-")
    );

    // Another user without the role: 403, not a sign-in.
    let plain = signed_in(&auth, &store, TestUser::new("bob"))
        .await
        .unwrap();
    assert_eq!(
        call(&router, "/admin", Some(&plain)).await.0,
        StatusCode::FORBIDDEN
    );
    // Nobody: the sign-in redirect (a page load without `Accept`).
    assert_eq!(call(&router, "/admin", None).await.0, StatusCode::SEE_OTHER);
}
