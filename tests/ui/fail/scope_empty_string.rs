use axum_identity::{login_required, Context};

#[login_required(scopes = ["User.Read", ""])]
async fn index(context: Context) {
    let _ = context;
}

fn main() {}
