use axum_identity::{Context, login_required};

#[login_required]
fn index(context: Context) -> String {
    let _ = context;
    String::new()
}

fn main() {}
