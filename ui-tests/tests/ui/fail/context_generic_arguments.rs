// Not the runtime's `Context` (which takes no generic arguments): the macro leaves this to rustc.
use axum_identity::{Context, login_required};

#[login_required]
async fn index(context: Context<u8>) {
    let _ = context;
}

fn main() {}
