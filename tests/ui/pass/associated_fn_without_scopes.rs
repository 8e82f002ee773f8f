#![deny(warnings)]

// Without `scopes` no marker type is needed, so an associated fn (no `self`) works.
use axum::{routing::get, Router};
use axum_identity::{login_required, Context};

struct Pages;

impl Pages {
    #[login_required]
    async fn index(context: Context) {
        let _ = context;
    }
}

fn main() {
    let _app: Router = Router::new().route("/", get(Pages::index));
}
