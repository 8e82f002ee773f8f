use axum::response::Response;
use axum_identity::{Context, login_required};

#[login_required]
async fn index(context: Result<Context, Response>) {
    let _ = context;
}

fn main() {}
