// A misused attribute reports its own error only: the handler is still emitted, so the code that
// routes it raises no further error.
use axum::{Router, routing::get};
use axum_identity::{Context, login_required};

#[login_required(scope = ["User.Read"])]
async fn index(context: Context) -> String {
    let _ = context;
    String::new()
}

fn main() {
    let _app: Router = Router::new().route("/", get(index));
}
