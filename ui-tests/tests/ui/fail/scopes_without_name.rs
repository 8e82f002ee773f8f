use axum_identity::{Context, login_required};

#[login_required(["User.Read"])]
async fn index(context: Context) {
    let _ = context;
}

fn main() {}
