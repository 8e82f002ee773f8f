use axum::Router;
use axum_identity::identity_routes;

fn main() {
    let _app: Router = Router::new().merge(identity_routes!());
}
