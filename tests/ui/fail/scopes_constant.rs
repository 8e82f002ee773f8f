use axum_identity::{login_required, Context};

const SCOPES: &[&str] = &["User.Read"];

#[login_required(scopes = SCOPES)]
async fn index(context: Context) {
    let _ = (context, SCOPES);
}

fn main() {}
