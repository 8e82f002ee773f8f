#![deny(warnings)]

use axum::extract::{Path, State};
use axum::{Json, Router, routing::get, routing::post};
use axum_identity::{ApiContext, Context, authorization_required, login_required};

#[derive(Clone)]
struct Db;

#[authorization_required]
async fn any_token(context: ApiContext) -> String {
    context.claims.subject().to_owned()
}

#[authorization_required(scopes = ["api.read"])]
async fn read(Path(id): Path<u32>, context: ApiContext) -> String {
    format!("{id} {:?}", context.claims.scopes())
}

#[authorization_required(scopes = ["api.write"], roles = ["Writer"])]
async fn write(
    State(_db): State<Db>,
    ctx: axum_identity::ApiContext,
    Json(body): Json<serde_json::Value>,
) -> String {
    format!("{} {body}", ctx.claims.subject())
}

#[authorization_required(roles = ["Reports.Read.All"])]
async fn reports() -> &'static str {
    "reports"
}

#[authorization_required(scopes = ["api.read"])]
#[axum::debug_handler]
async fn debugged(context: ApiContext) -> String {
    context.claims.subject().to_owned()
}

#[login_required(roles = ["Admin"])]
async fn admin(context: Context) -> String {
    context.user.subject().to_owned()
}

#[login_required(scopes = ["User.Read"], roles = ["Admin", "Auditor"])]
async fn audit(context: Context) -> String {
    context.access_token
}

#[test]
fn builds() {
    let _app: Router = Router::new()
        .route("/any", get(any_token))
        .route("/read/{id}", get(read))
        .route("/write", post(write))
        .route("/reports", get(reports))
        .route("/debugged", get(debugged))
        .route("/admin", get(admin))
        .route("/audit", get(audit))
        .with_state(Db);
}
