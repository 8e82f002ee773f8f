//! Every handler shape `#[login_required]` supports really runs under axum: one
//! protected route per shape, hit signed out (a page load is sent into sign-in, an API request
//! gets 401 naming the login URL) and signed in (the handler runs and sees its other extractors'
//! values and the user), against the real OpenID provider.
//!
//! The expansions of these shapes are snapshotted in `identity-macros`; `ui-tests/tests/pass`
//! compiles more variants of each. This file is where they meet the runtime.

use axum_identity_testkit as support;

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use axum_identity::{Context, login_required};
use reqwest::StatusCode;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use support::app::{TestApp, launch, launch_with_state};
use support::browser::{Browser, Page};

/// What every handler reports: who is signed in, plus what its other extractors saw.
fn seen(context: &Context, shape: &str, extra: Value) -> Json<Value> {
    Json(json!({
        "shape": shape,
        "sub": context.user.subject(),
        "has_token": !context.access_token.is_empty(),
        "scopes": context.scopes,
        "extra": extra,
    }))
}

// ---- The shapes ----------------------------------------------------------------------------

/// The attribute without options.
#[login_required]
async fn plain(context: Context) -> Json<Value> {
    seen(&context, "plain", Value::Null)
}

/// A handler with no arguments at all: protected by the extractor the attribute adds.
#[login_required]
async fn no_arguments() -> &'static str {
    "no arguments, signed in"
}

#[login_required(scopes = ["api.read", "api.write"])]
async fn scoped(context: Context) -> Json<Value> {
    seen(&context, "scoped", Value::Null)
}

/// Extractors before and after `context`.
#[login_required(scopes = ["api.read"])]
async fn around(
    Path(id): Path<u32>,
    headers: HeaderMap,
    context: Context,
    Query(query): Query<BTreeMap<String, String>>,
) -> Json<Value> {
    let header = headers
        .get("x-shape")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    seen(
        &context,
        "around",
        json!({ "id": id, "header": header, "query": query }),
    )
}

#[derive(Deserialize, Serialize)]
struct Note {
    text: String,
}

/// A body-consuming extractor last: JSON.
#[login_required(scopes = ["api.write"])]
async fn create_json(context: Context, Json(note): Json<Note>) -> (StatusCode, Json<Value>) {
    (
        StatusCode::CREATED,
        seen(&context, "json", json!({ "text": note.text })),
    )
}

/// A body-consuming extractor last: a form (from the query string on GET, the body on POST).
#[login_required]
async fn create_form(ctx: Context, Form(note): Form<Note>) -> Json<Value> {
    seen(&ctx, "form", json!({ "text": note.text }))
}

#[derive(Clone)]
struct AppState {
    name: &'static str,
}

/// `State<S>`, in a router with state.
#[login_required(scopes = ["api.read"])]
async fn with_state(State(state): State<AppState>, context: Context) -> Json<Value> {
    seen(&context, "state", json!({ "state": state.name }))
}

/// A generic handler, instantiated at the route.
#[login_required]
async fn generic<T>(context: Context, Query(query): Query<T>) -> Json<Value>
where
    T: DeserializeOwned + Serialize + Send + 'static,
{
    seen(&context, "generic", json!({ "query": query }))
}

#[derive(Deserialize, Serialize)]
struct Page2 {
    page: u32,
}

mod pages {
    use axum::Json;
    use axum_identity::{Context, login_required};
    use serde_json::Value;

    /// A handler inside a module, public.
    #[login_required(scopes = ["api.read"])]
    pub async fn in_module(context: Context) -> Json<Value> {
        super::seen(&context, "module", Value::Null)
    }

    /// `pub(crate)`, with scopes: the marker type gets the same visibility.
    #[login_required(scopes = ["api.write"])]
    pub(crate) async fn crate_visible(context: Context) -> Json<Value> {
        super::seen(&context, "pub(crate)", Value::Null)
    }
}

// A configured-out twin (tests are built with `cfg(test)`): if `#[login_required]` dropped the
// `#[cfg]`s, the two functions (and their marker types) would clash and this file would not
// compile.
#[login_required(scopes = ["api.read"])]
#[cfg(not(test))]
async fn documented(context: Context) -> Json<Value> {
    unreachable!("configured out")
}

/// Doc comments and other attributes stay on the handler.
///
/// Shown to signed-in users only.
#[login_required(scopes = ["api.read"])]
#[cfg(test)]
#[allow(clippy::unused_async)]
#[must_use = "a handler's future does nothing unless awaited"]
async fn documented(context: Context) -> Json<Value> {
    seen(&context, "attributes", Value::Null)
}

/// `#[axum::debug_handler]` below the attribute checks the rewritten handler.
#[login_required(scopes = ["api.read"])]
#[axum::debug_handler]
async fn debugged(headers: HeaderMap, context: Context) -> Json<Value> {
    let header = headers
        .get("x-shape")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    seen(&context, "debug_handler", json!({ "header": header }))
}

/// ... and with a state, named to debug_handler.
#[login_required]
#[axum::debug_handler(state = AppState)]
async fn debugged_with_state(context: Context, State(state): State<AppState>) -> Json<Value> {
    seen(
        &context,
        "debug_handler(state)",
        json!({ "state": state.name }),
    )
}

// The facade under another name, as a crate that wraps axum-identity would name it.
use axum_identity as facade;

#[login_required(crate = facade, scopes = ["api.read"])]
async fn overridden(context: facade::Context) -> Json<Value> {
    seen(&context, "crate = path", Value::Null)
}

#[login_required(crate = "crate::handler_shapes::facade")]
async fn overridden_by_string() -> &'static str {
    "crate override, no arguments"
}

// ---- The app -------------------------------------------------------------------------------

const STATE: AppState = AppState {
    name: "the app's state",
};

/// One route per shape. The routes with state get it here, so the result is a `Router<()>`
/// as [`launch`] takes it.
fn routes() -> Router {
    let stateful = Router::new()
        .route("/state", get(with_state))
        .route("/debug/state", get(debugged_with_state))
        .with_state(STATE);
    Router::new()
        .route("/plain", get(plain))
        .route("/none", get(no_arguments))
        .route("/scoped", get(scoped))
        .route("/items/{id}", get(around))
        .route("/json", post(create_json))
        .route("/form", get(create_form).post(create_form))
        .route("/generic", get(generic::<Page2>))
        .route("/module", get(pages::in_module))
        .route("/crate", get(pages::crate_visible))
        .route("/documented", get(documented))
        .route("/debug", get(debugged))
        .route("/override", get(overridden))
        .route("/override/string", get(overridden_by_string))
        .merge(stateful)
}

/// The pages fetched with GET: path and query, and the scopes the sign-in asks for (they are
/// added to the login URL).
const GET_PAGES: &[(&str, &[&str])] = &[
    ("/plain", &[]),
    ("/none", &[]),
    ("/scoped", &["api.read", "api.write"]),
    ("/items/7?sort=asc", &["api.read"]),
    ("/form?text=from+a+query", &[]),
    ("/generic?page=3", &[]),
    ("/module", &["api.read"]),
    ("/crate", &["api.write"]),
    ("/documented", &["api.read"]),
    ("/debug", &["api.read"]),
    ("/override", &["api.read"]),
    ("/override/string", &[]),
    ("/state", &["api.read"]),
    ("/debug/state", &[]),
];

fn encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// The login URL a signed-out request for `path` is sent to.
fn login_url(path: &str, scopes: &[&str]) -> String {
    let mut url = format!("/login?next={}", encode(path));
    if !scopes.is_empty() {
        url.push_str(&format!("&scope={}", encode(&scopes.join(" "))));
    }
    url
}

/// A client that follows no redirects and keeps no cookies: a signed-out visitor.
fn signed_out_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn assert_401(response: reqwest::Response, login: &str, what: &str) {
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{what}");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "login_required", "{what}: {body}");
    assert_eq!(body["login_url"], login, "{what}: {body}");
}

#[tokio::test]
async fn every_shape_turns_signed_out_visitors_away() {
    let app = launch(routes()).start().await;
    let client = signed_out_client();

    for &(path, scopes) in GET_PAGES {
        let login = login_url(path, scopes);
        // A page load is sent into sign-in...
        let response = client
            .get(app.url(path))
            .header("accept", "text/html,*/*")
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            StatusCode::SEE_OTHER,
            "page load of {path}"
        );
        assert_eq!(
            response.headers()["location"],
            login.as_str(),
            "page load of {path}"
        );
        // ... an API request gets 401 with the login URL.
        let response = client
            .get(app.url(path))
            .header("accept", "application/json")
            .send()
            .await
            .unwrap();
        assert_401(response, &login, &format!("API request to {path}")).await;
    }

    // Bodies: a POST is never a page load. Sign-in is checked before the body is read, so a
    // body the handler could not even parse gets the same 401 (not 415 or 422).
    let login = login_url("/json", &["api.write"]);
    let response = client
        .post(app.url("/json"))
        .json(&json!({"text": "hi"}))
        .send()
        .await
        .unwrap();
    assert_401(response, &login, "POST /json").await;
    let response = client
        .post(app.url("/json"))
        .header("accept", "text/html")
        .body("not json")
        .send()
        .await
        .unwrap();
    assert_401(response, &login, "POST /json with a bad body").await;
    let response = client
        .post(app.url("/form"))
        .form(&[("text", "hi")])
        .send()
        .await
        .unwrap();
    assert_401(response, &login_url("/form", &[]), "POST /form").await;
}

/// GETs `path` as a browser; signs in (or consents to more scopes) as alice when sent to the
/// provider; expects to end on `path` with 200.
async fn open(browser: &Browser, app: &TestApp, path: &str) -> Page {
    let mut page = browser.get(app.url(path)).await;
    if page.url.as_str().starts_with(&app.provider().issuer) {
        page = browser.sign_in(page, "alice").await;
    }
    assert_eq!(page.status, StatusCode::OK, "{path}: {}", page.body);
    assert_eq!(
        page.url.as_str(),
        app.url(path),
        "back on the page that asked"
    );
    page
}

/// Checks a `seen` body: the shape, the user, a token exactly when the handler has scopes.
fn assert_seen(body: &Value, shape: &str, scopes: &[&str]) -> Value {
    assert_eq!(body["shape"], shape, "{body}");
    assert_eq!(body["sub"], "alice", "{body}");
    assert_eq!(body["has_token"], !scopes.is_empty(), "{body}");
    let granted: Vec<&str> = body["scopes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    for scope in scopes {
        assert!(granted.contains(scope), "{scope} not granted: {body}");
    }
    body["extra"].clone()
}

#[tokio::test]
async fn every_shape_runs_for_a_signed_in_user() {
    let app = launch(routes()).start().await;
    let browser = Browser::new();

    let body = open(&browser, &app, "/plain").await.json();
    assert_eq!(assert_seen(&body, "plain", &[]), Value::Null);

    assert_eq!(
        open(&browser, &app, "/none").await.body,
        "no arguments, signed in"
    );

    let body = open(&browser, &app, "/scoped").await.json();
    assert_seen(&body, "scoped", &["api.read", "api.write"]);

    // Extractors before and after `context` all see the request.
    let response = browser
        .client
        .get(app.url("/items/7?sort=asc&q=a+b"))
        .header("x-shape", "around")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        assert_seen(&body, "around", &["api.read"]),
        json!({ "id": 7, "header": "around", "query": { "q": "a b", "sort": "asc" } })
    );

    // The body-consuming extractor last: JSON and forms (body and query string).
    let response = browser
        .client
        .post(app.url("/json"))
        .json(&json!({ "text": "a note" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        assert_seen(&body, "json", &["api.write"]),
        json!({ "text": "a note" })
    );
    let page = browser
        .post_form(app.url("/form"), &[("text", "posted")])
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(
        assert_seen(&page.json(), "form", &[]),
        json!({ "text": "posted" })
    );
    let body = open(&browser, &app, "/form?text=from+a+query").await.json();
    assert_eq!(
        assert_seen(&body, "form", &[]),
        json!({ "text": "from a query" })
    );

    let body = open(&browser, &app, "/generic?page=3").await.json();
    assert_eq!(
        assert_seen(&body, "generic", &[]),
        json!({ "query": { "page": 3 } })
    );

    let body = open(&browser, &app, "/module").await.json();
    assert_seen(&body, "module", &["api.read"]);
    let body = open(&browser, &app, "/crate").await.json();
    assert_seen(&body, "pub(crate)", &["api.write"]);
    let body = open(&browser, &app, "/documented").await.json();
    assert_seen(&body, "attributes", &["api.read"]);

    let response = browser
        .client
        .get(app.url("/debug"))
        .header("x-shape", "debugged")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        assert_seen(&body, "debug_handler", &["api.read"]),
        json!({ "header": "debugged" })
    );

    let body = open(&browser, &app, "/override").await.json();
    assert_seen(&body, "crate = path", &["api.read"]);
    assert_eq!(
        open(&browser, &app, "/override/string").await.body,
        "crate override, no arguments"
    );

    let body = open(&browser, &app, "/state").await.json();
    assert_eq!(
        assert_seen(&body, "state", &["api.read"]),
        json!({ "state": "the app's state" })
    );
    let body = open(&browser, &app, "/debug/state").await.json();
    assert_eq!(
        assert_seen(&body, "debug_handler(state)", &[]),
        json!({ "state": "the app's state" })
    );
}

/// The usual layout of an app with state: routes, `identity_routes!` and `auth.layer(store)` on a
/// `Router<AppState>`, and `.with_state(..)` last ([`launch_with_state`] puts it together so).
#[tokio::test]
async fn a_router_with_state_takes_the_layer_before_with_state() {
    let stateful = Router::new()
        .route("/state", get(with_state))
        .route("/debug/state", get(debugged_with_state));
    let app = launch_with_state(stateful, STATE).start().await;
    let (base, provider) = (&app.base, app.provider());

    let response = signed_out_client()
        .get(format!("{base}/state"))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_401(
        response,
        &login_url("/state", &["api.read"]),
        "API request to /state",
    )
    .await;

    let browser = Browser::new();
    let page = browser.get(format!("{base}/state")).await;
    assert!(
        page.url.as_str().starts_with(&provider.issuer),
        "sent to the provider: {}",
        page.url
    );
    let page = browser.sign_in(page, "alice").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(page.url.as_str(), format!("{base}/state"));
    assert_eq!(
        assert_seen(&page.json(), "state", &["api.read"]),
        json!({ "state": "the app's state" })
    );
    let page = browser.get(format!("{base}/debug/state")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_seen(&page.json(), "debug_handler(state)", &[]);
}
