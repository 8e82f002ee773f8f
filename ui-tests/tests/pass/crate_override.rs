#![deny(warnings)]

use axum::{Router, routing::get};

/// A crate that re-exports axum-identity under its own path.
mod my_facade {
    pub mod auth {
        pub use axum_identity::{__private, Context, login_required};
    }
}

use my_facade::auth::{Context, login_required};

#[login_required(crate = "crate::crate_override::my_facade::auth", scopes = ["User.Read"])]
async fn by_string(context: Context) {
    let _ = context;
}

#[login_required(crate = crate::crate_override::my_facade::auth)]
async fn by_path(context: Context) {
    let _ = context;
}

#[login_required(scopes = ["User.Read"], crate = ::axum_identity)]
async fn by_absolute_path() {}

#[test]
fn builds() {
    let _app: Router = Router::new()
        .route("/string", get(by_string))
        .route("/path", get(by_path))
        .route("/absolute", get(by_absolute_path));
}
