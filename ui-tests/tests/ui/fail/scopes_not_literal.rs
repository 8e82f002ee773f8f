use axum_identity::{Context, login_required};

const MAIL_READ: &str = "Mail.Read";

#[login_required(scopes = ["User.Read", MAIL_READ])]
async fn index(context: Context) {
    let _ = (context, MAIL_READ);
}

fn main() {}
