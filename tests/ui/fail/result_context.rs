use axum::response::Response;
use axum_identity::{login_required, Context};

#[login_required]
async fn index(context: Result<Context, Response>) {
    let _ = context;
}

fn main() {}
