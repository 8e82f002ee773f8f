#![deny(warnings)]

use std::collections::HashMap;

use axum::{
    Router,
    extract::{Path, Query},
    http::{HeaderMap, Method, Uri},
    response::IntoResponse,
    routing::get,
};
use axum_identity::{Context, login_required};

#[login_required(scopes = ["User.Read"])]
async fn show(
    Path(id): Path<u32>,
    headers: HeaderMap,
    context: Context,
    Query(query): Query<HashMap<String, String>>,
    method: Method,
    uri: Uri,
) -> impl IntoResponse {
    let _ = (context, headers, query, method);
    format!("{id} {uri}")
}

#[test]
fn builds() {
    let _app: Router = Router::new().route("/items/{id}", get(show));
}
