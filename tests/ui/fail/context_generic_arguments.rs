use axum_identity::{login_required, Context};

#[login_required]
async fn index(context: Context<u8>) {
    let _ = context;
}

fn main() {}
