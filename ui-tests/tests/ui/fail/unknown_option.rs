use axum_identity::{Context, login_required};

#[login_required(redirect = "/login")]
async fn index(context: Context) {
    let _ = context;
}

fn main() {}
