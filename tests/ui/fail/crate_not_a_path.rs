use axum_identity::{login_required, Context};

#[login_required(crate = 1)]
async fn index(context: Context) {
    let _ = context;
}

fn main() {}
