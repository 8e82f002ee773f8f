use axum_identity::login_required;

struct Pages;

#[login_required]
impl Pages {
    async fn index() {}
}

fn main() {}
