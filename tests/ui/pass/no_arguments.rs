#![deny(warnings)]

use axum::{response::Html, routing::get, Router};
use axum_identity::{login_required, Context};

#[login_required]
async fn index(context: Context) -> Html<String> {
    let _ = context;
    Html("signed in".to_owned())
}

fn main() {
    let _app: Router = Router::new().route("/", get(index));
}
