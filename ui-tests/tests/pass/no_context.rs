#![deny(warnings)]

use axum::{Router, extract::Path, routing::get};
use axum_identity::login_required;

#[login_required]
async fn protected() -> &'static str {
    "only for signed-in users"
}

#[login_required(scopes = ["User.Read"])]
async fn protected_with_path(Path(id): Path<u32>) -> String {
    id.to_string()
}

#[test]
fn builds() {
    let _app: Router = Router::new()
        .route("/", get(protected))
        .route("/{id}", get(protected_with_path));
}
