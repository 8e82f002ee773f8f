use axum_identity::{Context, login_required};

#[login_required(scope = ["User.Read"])]
async fn index(context: Context) {
    let _ = context;
}

#[login_required(scopse = ["User.Read"])]
async fn other(context: Context) {
    let _ = context;
}

fn main() {}
