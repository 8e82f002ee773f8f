#![deny(warnings)]

use axum::{extract::State, routing::get, Router};
use axum_identity::{identity_routes, Auth};

#[derive(Clone)]
struct AppState;

fn app(auth: Auth) -> Router {
    Router::new().merge(identity_routes!(auth))
}

fn app_by_reference(auth: &Auth) -> Router {
    Router::new().merge(identity_routes!(auth,))
}

struct Config {
    auth: Auth,
}

fn app_with_state(config: &Config) -> Router {
    Router::new()
        .route("/", get(|State(_): State<AppState>| async {}))
        .merge(identity_routes!(config.auth))
        .with_state(AppState)
}

fn main() {
    let _ = (app, app_by_reference, app_with_state);
}
