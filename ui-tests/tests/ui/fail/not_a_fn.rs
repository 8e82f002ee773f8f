use axum_identity::login_required;

#[login_required]
struct Index;

fn main() {}
