use axum_identity::{Context, login_required};

#[login_required]
async fn index(context: Option<Context>) {
    let _ = context;
}

fn main() {}
