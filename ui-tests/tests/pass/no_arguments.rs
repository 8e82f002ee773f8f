#![deny(warnings)]

use axum::{Router, response::Html, routing::get};
use axum_identity::{Context, login_required};

#[login_required]
async fn index(context: Context) -> Html<String> {
    let _ = context;
    Html("signed in".to_owned())
}

#[test]
fn builds() {
    let _app: Router = Router::new().route("/", get(index));
}
