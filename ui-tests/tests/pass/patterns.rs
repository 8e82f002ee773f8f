#![deny(warnings)]

use axum::{Router, routing::get};
use axum_identity::{Context, login_required};

#[login_required]
async fn short_name(ctx: Context) {
    let _ = ctx;
}

#[login_required]
async fn mutable(mut c: Context) {
    let borrowed = &mut c;
    let _ = borrowed;
}

#[login_required(scopes = ["User.Read"])]
async fn ignored(_: Context) {}

#[login_required]
async fn underscore(_context: Context) {}

#[login_required]
async fn full_path(context: axum_identity::Context) {
    let _ = context;
}

#[test]
fn builds() {
    let _app: Router = Router::new()
        .route("/a", get(short_name))
        .route("/b", get(mutable))
        .route("/c", get(ignored))
        .route("/d", get(underscore))
        .route("/e", get(full_path));
}
