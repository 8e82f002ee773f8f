use axum_identity::{login_required, Context};

const MAIL_READ: &str = "Mail.Read";

#[login_required(scopes = ["User.Read", MAIL_READ])]
async fn index(context: Context) {
    let _ = (context, MAIL_READ);
}

fn main() {}
