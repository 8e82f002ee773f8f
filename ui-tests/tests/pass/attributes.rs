#![deny(warnings)]

use axum::{Router, routing::get};
use axum_identity::{Context, login_required};

/// Doc comments stay on the handler.
///
/// Shown to signed-in users only.
#[login_required(scopes = ["User.Read"])]
#[allow(clippy::unused_async)]
#[must_use = "a handler's future does nothing unless awaited"]
async fn documented(context: Context) -> String {
    let _ = context;
    String::new()
}

// A handler configured out takes its marker type with it (this is a test target: `test` is
// set).
#[login_required(scopes = ["User.Read"])]
#[cfg(not(test))]
async fn configured_out(context: Context) {
    let _ = context;
}

#[login_required(scopes = ["User.Read"])]
#[cfg(test)]
async fn configured_in(#[allow(unused_variables)] context: Context) {}

#[test]
fn builds() {
    let _app: Router = Router::new()
        .route("/", get(documented))
        .route("/in", get(configured_in));
}
