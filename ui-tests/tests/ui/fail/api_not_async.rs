use axum_identity::{ApiContext, authorization_required};

#[authorization_required(roles = ["Reports.Read.All"])]
fn reports(context: ApiContext) {
    let _ = context;
}

fn main() {}
