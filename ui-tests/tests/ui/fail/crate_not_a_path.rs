use axum_identity::{Context, login_required};

#[login_required(crate = 1)]
async fn index(context: Context) {
    let _ = context;
}

fn main() {}
