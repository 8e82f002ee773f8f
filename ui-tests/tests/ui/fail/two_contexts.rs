use axum_identity::{Context, login_required};

#[login_required]
async fn index(context: Context, again: axum_identity::Context) {
    let _ = (context, again);
}

fn main() {}
