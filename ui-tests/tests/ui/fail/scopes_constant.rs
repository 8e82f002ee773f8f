use axum_identity::{Context, login_required};

const SCOPES: &[&str] = &["User.Read"];

#[login_required(scopes = SCOPES)]
async fn index(context: Context) {
    let _ = (context, SCOPES);
}

fn main() {}
