#![deny(warnings)]

use axum::{Router, extract::State, routing::get};
use axum_identity::{Context, login_required};

#[derive(Clone)]
struct AppState {
    name: String,
}

#[login_required]
async fn before(State(state): State<AppState>, context: Context) -> String {
    let _ = context;
    state.name
}

#[login_required(scopes = ["User.Read"])]
async fn after(context: Context, State(state): State<AppState>) -> String {
    let _ = context;
    state.name
}

#[login_required]
async fn without_context(State(state): State<AppState>) -> String {
    state.name
}

#[test]
fn builds() {
    let _app: Router = Router::new()
        .route("/before", get(before))
        .route("/after", get(after))
        .route("/without", get(without_context))
        .with_state(AppState {
            name: "app".to_owned(),
        });
}
