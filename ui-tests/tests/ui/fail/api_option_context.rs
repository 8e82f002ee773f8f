use axum_identity::{ApiContext, authorization_required};

#[authorization_required(scopes = ["api.read"])]
async fn resource(context: Option<ApiContext>) {
    let _ = context;
}

fn main() {}
