use axum_identity::login_required;

#[login_required]
async fn index(context: String) -> String {
    context
}

fn main() {}
