#![deny(warnings)]

// Pages open to everyone take `Option<Context>` and no attribute.
use axum::{Router, routing::get};
use axum_identity::Context;

async fn home(context: Option<Context>) -> &'static str {
    match context {
        Some(_) => "welcome back",
        None => "hello, stranger",
    }
}

#[test]
fn builds() {
    let _app: Router = Router::new().route("/", get(home));
}
