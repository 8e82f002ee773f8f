use axum::Router;
use axum_identity::identity_routes;

fn main() {
    let auth = "not an Auth";
    let _app: Router = Router::new().merge(identity_routes!(auth));
}
