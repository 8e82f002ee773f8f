use axum_identity::{Context, login_required};

#[login_required(crates = "my_facade")]
async fn index(context: Context) {
    let _ = context;
}

fn main() {}
