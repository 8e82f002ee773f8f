// Known limitation: with `scopes` the attribute defines a marker type next to the fn, which an
// `impl` block cannot hold. rustc reports it; this case records its message.
use axum_identity::{Context, login_required};

struct Pages;

impl Pages {
    #[login_required(scopes = ["User.Read"])]
    async fn index(context: Context) {
        let _ = context;
    }
}

fn main() {}
