#![deny(warnings)]

use axum::{Router, routing::get};
use axum_identity::{Context, login_required};

#[login_required(scopes = ["User.Read"])]
async fn one(context: Context) {
    let _ = context;
}

#[login_required(scopes = [
    "https://graph.microsoft.com/User.Read",
    "api://6f5bd9d0-0f1c-4b5a-9a43-0d7f0b5a0c1e/access_as_user",
    r"offline_access",
])]
async fn several(context: Context) {
    let _ = context;
}

// Trailing comma, and case matters: these are two scopes.
#[login_required(scopes = ["Notes.Read", "notes.read",])]
async fn case_sensitive(context: Context) {
    let _ = context;
}

#[test]
fn builds() {
    let _app: Router = Router::new()
        .route("/one", get(one))
        .route("/several", get(several))
        .route("/case", get(case_sensitive));
}
