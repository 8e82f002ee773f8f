use axum_identity::{ApiContext, Context, authorization_required, login_required};

#[login_required(max_age = "300")]
async fn quoted(context: Context) {
    let _ = context;
}

#[login_required(max_age = 400000000)]
async fn too_long(context: Context) {
    let _ = context;
}

#[login_required(acr = "gold level")]
async fn spaced(context: Context) {
    let _ = context;
}

#[login_required(provider = "work/staff")]
async fn slashed(context: Context) {
    let _ = context;
}

#[authorization_required(max_age = 300)]
async fn api(context: ApiContext) {
    let _ = context;
}

fn main() {}
