// A web app's `Context` in a web-API handler: the argument named `context` must be an ApiContext.
use axum_identity::{Context, authorization_required};

#[authorization_required]
async fn resource(context: Context) {
    let _ = context;
}

fn main() {}
