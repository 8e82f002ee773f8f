use axum_identity::{login_required, Context};

#[login_required]
async fn index(context: Context, again: axum_identity::Context) {
    let _ = (context, again);
}

fn main() {}
