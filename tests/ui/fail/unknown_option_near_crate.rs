use axum_identity::{login_required, Context};

#[login_required(crates = "my_facade")]
async fn index(context: Context) {
    let _ = context;
}

fn main() {}
