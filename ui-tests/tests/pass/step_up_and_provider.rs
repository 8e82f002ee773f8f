#![deny(warnings)]

use axum::{Router, routing::get};
use axum_identity::{Context, login_required};

#[login_required(max_age = 300)]
async fn recent(context: Context) {
    let _ = context;
}

// Zero: authenticate again on every visit.
#[login_required(max_age = 0, acr = "urn:example:mfa")]
async fn every_time(context: Context) {
    let _ = context;
}

#[login_required(provider = "work", scopes = ["User.Read"], roles = ["Admin"])]
async fn staff(context: Context) {
    let _ = context;
}

// Without a `Context` argument: the guard carries the requirements.
#[login_required(provider = "work", max_age = 60)]
async fn guarded() -> &'static str {
    "ok"
}

#[test]
fn builds() {
    let _app: Router = Router::new()
        .route("/recent", get(recent))
        .route("/every_time", get(every_time))
        .route("/staff", get(staff))
        .route("/guarded", get(guarded));
}
