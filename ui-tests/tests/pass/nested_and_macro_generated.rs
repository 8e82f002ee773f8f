#![deny(warnings)]

use axum::{Router, routing::get};
use axum_identity::{Context, login_required};

macro_rules! handler {
    ($name:ident, $ctx:ty) => {
        #[login_required(scopes = ["User.Read"])]
        async fn $name(context: $ctx) {
            let _ = context;
        }
    };
}

handler!(from_macro, Context);

#[test]
fn builds() {
    // A handler defined inside a function.
    #[login_required(scopes = ["User.Read"])]
    async fn inner(context: Context) {
        let _ = context;
    }

    let _app: Router = Router::new()
        .route("/macro", get(from_macro))
        .route("/inner", get(inner));
}
