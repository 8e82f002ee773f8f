//! The runtime of [axum-identity](https://docs.rs/axum-identity): configuration, the OpenID
//! Connect flows, the token cache, session storage on tower-sessions, the routes and pages.
//!
//! Applications use it through the `axum-identity` facade, which adds the `#[login_required]`
//! and `identity_routes!` macros:
//!
//! ```
//! use axum::{Router, response::Html, routing::get};
//! use axum_identity_runtime::{Auth, Context, escape_html, routes};
//! use tower_sessions::MemoryStore;
//!
//! async fn index(context: Context) -> Html<String> {
//!     Html(format!("Welcome {}", escape_html(context.user.display_name())))
//! }
//!
//! let auth = Auth::builder()
//!     .client_id("my-client")
//!     .client_secret("my-secret")
//!     .redirect_uri("http://localhost:5000/redirect")
//!     .oidc_authority("http://127.0.0.1:3000")
//!     .build()?;
//! let app: Router = Router::new()
//!     .route("/", get(index))
//!     .merge(routes(&auth))
//!     .layer(auth.layer())
//!     .layer(auth.session_layer(MemoryStore::default()));
//! # Ok::<(), axum_identity_runtime::ConfigError>(())
//! ```

#![warn(missing_docs)]

mod authority;
mod backchannel;
mod config;
mod context;
mod device;
mod error;
mod flow;
mod lock;
mod pages;
mod provider;
mod record;
mod return_path;
mod routes;
mod token;

pub use config::{Auth, AuthBuilder, ConfigError, Prompt};
pub use context::{
    Context, LoginRejection, LoginRequired, NoScopes, Scopes, User, require_sign_in,
};
pub use error::Error;
#[cfg(feature = "redis")]
pub use lock::RedisRefreshLock;
pub use lock::{LockFuture, RefreshLock};
pub use pages::{DefaultPages, DeviceCodePage, ErrorPage, Pages, SignedOutPage, escape_html};
pub use return_path::safe_return_path;
pub use routes::routes;

/// Entry points for the fuzz targets in `fuzz/`. Not a public API.
#[doc(hidden)]
pub mod __fuzz {
    /// Parses callback or login parameters the way the routes do, including the scope list.
    pub fn callback_params(input: &[u8]) {
        if let Ok(params) = crate::flow::parse_params(input) {
            let _ = crate::flow::parse_scopes(params.get("scope").map(String::as_str));
            if let Some(next) = params.get("next") {
                let _ = crate::safe_return_path(next);
            }
        }
    }
}
