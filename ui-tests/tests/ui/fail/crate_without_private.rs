// `crate = path` must name a crate that re-exports axum-identity (with its `__private` module).
use axum_identity::{Context, login_required};

#[login_required(crate = std, scopes = ["User.Read"])]
async fn index(context: Context) {
    let _ = context;
}

fn main() {}
