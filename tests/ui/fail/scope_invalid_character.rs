use axum_identity::{login_required, Context};

#[login_required(scopes = ["Usér.Read"])]
async fn index(context: Context) {
    let _ = context;
}

fn main() {}
