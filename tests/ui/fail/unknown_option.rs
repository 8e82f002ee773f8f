use axum_identity::{login_required, Context};

#[login_required(redirect = "/login")]
async fn index(context: Context) {
    let _ = context;
}

fn main() {}
