use axum_identity::{ApiContext, Context, authorization_required, login_required};

#[login_required(roles = ["Admin", "Admin"])]
async fn admin(context: Context) {
    let _ = context;
}

#[authorization_required(roles = ["Read All", ""])]
async fn reports(context: ApiContext) {
    let _ = context;
}

#[authorization_required(role = ["Admin"])]
async fn misspelled(context: ApiContext) {
    let _ = context;
}

#[authorization_required(roles = "Admin")]
async fn single(context: ApiContext) {
    let _ = context;
}

fn main() {}
