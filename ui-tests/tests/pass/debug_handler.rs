#![deny(warnings)]

use axum::{Json, Router, extract::State, routing::get};
use axum_identity::{Context, login_required};

#[derive(Clone)]
struct AppState;

// `#[login_required]` above `#[axum::debug_handler]`: debug_handler checks the rewritten handler.
#[login_required(scopes = ["User.Read"])]
#[axum::debug_handler]
async fn checked(context: Context, body: String) -> String {
    let _ = context;
    body
}

#[login_required]
#[axum::debug_handler(state = AppState)]
async fn checked_with_state(State(_state): State<AppState>, Json(value): Json<u32>) -> String {
    value.to_string()
}

// The other order works too: debug_handler sees a plain `Context`, itself an extractor.
#[axum::debug_handler]
#[login_required(scopes = ["User.Read"])]
async fn checked_first(context: Context) {
    let _ = context;
}

#[test]
fn builds() {
    let _app: Router = Router::new()
        .route("/", get(checked).post(checked))
        .route("/first", get(checked_first))
        .route("/state", get(checked_with_state))
        .with_state(AppState);
}
