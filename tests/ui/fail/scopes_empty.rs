use axum_identity::{login_required, Context};

#[login_required(scopes = [])]
async fn index(context: Context) {
    let _ = context;
}

fn main() {}
