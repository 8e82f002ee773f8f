use axum_identity::{Context, login_required};

#[login_required(scopes = "User.Read Mail.Read")]
async fn index(context: Context) {
    let _ = context;
}

fn main() {}
