// A `Context` that is not axum-identity's: rustc names both types at the argument.
use axum_identity::login_required;

struct Context;

#[login_required]
async fn index(context: Context) {
    let _ = context;
}

fn main() {}
