#![deny(warnings)]

use axum::{Router, routing::get};

mod handlers {
    use axum_identity::{Context, login_required};

    #[login_required(scopes = ["User.Read"])]
    pub async fn public(context: Context) {
        let _ = context;
    }

    #[login_required(scopes = ["User.Read"])]
    pub(crate) async fn crate_visible(context: Context) {
        let _ = context;
    }

    #[login_required(scopes = ["User.Read"])]
    pub(super) async fn parent_visible(context: Context) {
        let _ = context;
    }

    pub mod nested {
        use axum_identity::{Context, login_required};

        #[login_required(scopes = ["Mail.Read"])]
        pub(in crate::visibility::handlers) async fn handlers_visible(context: Context) {
            let _ = context;
        }

        // The same name as a handler in the parent module: each module has its own marker.
        #[login_required(scopes = ["Mail.Read"])]
        pub async fn public(context: Context) {
            let _ = context;
        }
    }

    pub(crate) fn routes() -> axum::Router {
        axum::Router::new()
            .route("/nested", axum::routing::get(nested::handlers_visible))
            .route("/nested/public", axum::routing::get(nested::public))
    }
}

#[test]
fn builds() {
    let _app: Router = Router::new()
        .route("/public", get(handlers::public))
        .route("/crate", get(handlers::crate_visible))
        .route("/parent", get(handlers::parent_visible))
        .merge(handlers::routes());
}
