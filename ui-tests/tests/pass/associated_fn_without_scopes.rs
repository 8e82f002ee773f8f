#![deny(warnings)]

// Without `scopes` no marker type is needed, so an associated fn (no `self`) works.
use axum::{Router, routing::get};
use axum_identity::{Context, login_required};

struct Pages;

impl Pages {
    #[login_required]
    async fn index(context: Context) {
        let _ = context;
    }
}

#[test]
fn builds() {
    let _app: Router = Router::new().route("/", get(Pages::index));
}
