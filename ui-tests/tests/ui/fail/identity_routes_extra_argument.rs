use axum::Router;
use axum_identity::{Auth, identity_routes};

fn app(auth: Auth) -> Router {
    Router::new().merge(identity_routes!(auth, foo = 1))
}

fn main() {
    let _ = app;
}
