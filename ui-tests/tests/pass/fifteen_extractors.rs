#![deny(warnings)]
#![allow(clippy::too_many_arguments)]

// 15 extractors plus the inserted one: 16, the most axum takes.
use axum::{Router, http::HeaderMap, routing::get};
use axum_identity::login_required;

#[login_required]
async fn index(
    _: HeaderMap,
    _: HeaderMap,
    _: HeaderMap,
    _: HeaderMap,
    _: HeaderMap,
    _: HeaderMap,
    _: HeaderMap,
    _: HeaderMap,
    _: HeaderMap,
    _: HeaderMap,
    _: HeaderMap,
    _: HeaderMap,
    _: HeaderMap,
    _: HeaderMap,
    _: HeaderMap,
) {
}

#[test]
fn builds() {
    let _app: Router = Router::new().route("/", get(index));
}
