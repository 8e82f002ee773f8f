use axum_identity::{login_required, Context};

#[login_required]
async fn index(context: Option<Context>) {
    let _ = context;
}

fn main() {}
