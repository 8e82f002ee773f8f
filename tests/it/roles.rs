//! `#[login_required(roles = [..])]` decides the same on every handler shape: a signed-in user
//! without the role gets 403, one with it gets 200, whether the handler takes `Context` or not,
//! takes other extractors around it, is generic, takes `State`, or names `Context` under an
//! alias. The guard (no visible `Context`) and the extractor (with one) call one function.

use axum_identity_testkit as support;

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::routing::{get, post};
use axum::{Form, Router};
use axum_identity::Context as Identity;
use axum_identity::{Context, login_required};
use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use support::app::launch_with_state;
use support::browser::Browser;
use support::hostile::{Hostile, Scenario, TokenSpec};

#[derive(Clone)]
struct AppState {
    name: &'static str,
}

#[login_required(roles = ["Admin"])]
async fn with_context(context: Context) -> String {
    format!("with context {}", context.user.subject())
}

/// No `Context` argument at all: the attribute adds its guard.
#[login_required(roles = ["Admin"])]
async fn without_context() -> &'static str {
    "without context"
}

/// No `Context`, other extractors only.
#[login_required(roles = ["Admin"])]
async fn without_context_with_path(Path(id): Path<u32>, headers: HeaderMap) -> String {
    format!("path {id} {}", !headers.is_empty())
}

#[login_required(roles = ["Admin"])]
async fn around(
    Path(id): Path<u32>,
    context: Context,
    Query(query): Query<BTreeMap<String, String>>,
) -> String {
    format!("around {id} {query:?} {}", context.user.subject())
}

#[derive(Deserialize)]
struct Note {
    text: String,
}

/// A body extractor last, without `Context`.
#[login_required(roles = ["Admin"])]
async fn body_without_context(Form(note): Form<Note>) -> String {
    format!("note {}", note.text)
}

#[login_required(roles = ["Admin"])]
async fn generic<T: std::fmt::Debug + Send>(context: Context, Query(query): Query<T>) -> String {
    format!("generic {query:?} {}", context.user.subject())
}

#[login_required(roles = ["Admin"])]
async fn with_state(State(state): State<AppState>, context: Context) -> String {
    format!("state {} {}", state.name, context.user.subject())
}

#[login_required(roles = ["Admin"])]
async fn state_without_context(State(state): State<AppState>) -> String {
    format!("state only {}", state.name)
}

/// `Context` under another name: the macro cannot see it, so the guard checks and hands it on.
#[login_required(roles = ["Admin"])]
async fn aliased(identity: Identity) -> String {
    format!("aliased {}", identity.user.subject())
}

#[derive(Debug, Deserialize)]
struct Page {
    #[allow(dead_code)]
    page: u32,
}

fn routes() -> Router<AppState> {
    Router::new()
        .route("/with_context", get(with_context))
        .route("/without_context", get(without_context))
        .route("/path/{id}", get(without_context_with_path))
        .route("/around/{id}", get(around))
        .route("/body", post(body_without_context))
        .route("/generic", get(generic::<Page>))
        .route("/state", get(with_state))
        .route("/state_only", get(state_without_context))
        .route("/aliased", get(aliased))
}

/// Every shape: (path, method, the 200 body starts with).
const SHAPES: &[(&str, &str, &str)] = &[
    ("/with_context", "GET", "with context alice"),
    ("/without_context", "GET", "without context"),
    ("/path/7", "GET", "path 7"),
    ("/around/3?x=1", "GET", "around 3"),
    ("/body", "POST", "note hi"),
    ("/generic?page=2", "GET", "generic Page"),
    ("/state", "GET", "state roles alice"),
    ("/state_only", "GET", "state only roles"),
    ("/aliased", "GET", "aliased alice"),
];

#[tokio::test]
async fn every_handler_shape_with_roles_refuses_a_user_without_the_role_and_admits_one_with_it() {
    for (roles, expected) in [
        (json!(["Admin", "Reader"]), StatusCode::OK),
        (json!(["Reader"]), StatusCode::FORBIDDEN),
        (Value::Null, StatusCode::FORBIDDEN),
    ] {
        let hostile = Hostile::start(
            "roles-shapes",
            Scenario {
                id_token: TokenSpec::claims(json!({"roles": roles})),
                ..Scenario::default()
            },
        )
        .await;
        let app = launch_with_state(routes(), AppState { name: "roles" })
            .issuer(&hostile.issuer)
            .client("roles-shapes", "roles-secret")
            .start()
            .await;
        let browser = Browser::new();
        // Sign in through the first page; the others reuse the session.
        let first = browser.get(app.url("/with_context")).await;
        assert_eq!(first.status, expected, "roles {roles}: {}", first.body);
        for (path, method, body) in SHAPES {
            let page = if *method == "POST" {
                browser.post_form(app.url(path), &[("text", "hi")]).await
            } else {
                browser.get(app.url(path)).await
            };
            let (status, text) = (page.status, page.body);
            assert_eq!(
                status, expected,
                "{method} {path} with roles {roles}: {text}"
            );
            if expected == StatusCode::OK {
                assert!(text.starts_with(body), "{path}: {text}");
            } else {
                assert!(
                    text.contains("Admin"),
                    "{path} names the missing role: {text}"
                );
                assert!(!text.starts_with(body), "{path} ran its handler: {text}");
            }
        }
    }
}
