use axum_identity::{login_required, Context};

#[login_required]
fn index(context: Context) -> String {
    let _ = context;
    String::new()
}

fn main() {}
