// Every mistake of one handler is reported in one compile.
use axum_identity::{Context, login_required};

#[login_required(scopes = ["", "User.Read", "User.Read"])]
fn index(context: &Context) {
    let _ = context;
}

fn main() {}
