#![deny(warnings)]

use axum::{Router, extract::State, routing::get};
use axum_identity::{Auth, identity_routes};

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

#[test]
fn builds() {
    let _ = (app, app_by_reference, app_with_state);
}
