//! The runtime of [axum-identity](https://docs.rs/axum-identity): configuration, the OpenID
//! Connect flows, the token cache, session storage on tower-sessions, the routes and pages.
//!
//! The modules are layers; each imports only from the layers below it (a unit test keeps it so):
//! 1. leaves: `error`, `clock`, `lock`, `return_path`, then `params`, `http`, `jws`, `seal`,
//!    `pages`, `credential` (secret, client assertions);
//! 2. what is stored and who the provider is: `session` (with its `claims`), `authority` (and
//!    `checks` of settings),
//!    then `provider` (metadata
//!    and key cache) and `client` (this app's registration), then `id_token` (verification);
//! 3. services with state: `tokens` (cache, single flight, lock), `backchannel` (logout markers),
//!    `single_use` (callbacks and logout tokens redeemed once), then `app_tokens` (app-only
//!    tokens of the client credentials grant), then `on_behalf_of` (a user's incoming token
//!    exchanged for a downstream API's);
//! 4. `auth`, the composition root that owns the services; the flows `login`, `logout`, `device`;
//! 5. entry points: `config` (builder), `extract` (extractors), `routes`, `layer`.
//!
//! Applications use it through the `axum-identity` facade, which adds the `#[login_required]`
//! and `identity_routes!` macros:
//!
//! ```
//! use axum::{Router, response::Html, routing::get};
//! use axum_identity_runtime::{Auth, Context, escape_html};
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
//!     .merge(auth.routes())
//!     .layer(auth.layer(MemoryStore::default()));
//! # Ok::<(), axum_identity_runtime::ConfigError>(())
//! ```

#![warn(missing_docs)]

// Leaves.
mod clock;
mod error;
mod lock;
mod return_path;

mod credential;
mod http;
mod jws;
mod pages;
mod params;
mod seal;

// What is stored, and who the provider is.
mod authority;
mod checks;
mod claims;
mod session;

mod provider;

mod client;

mod id_token;

// Services with state.
mod backchannel;
mod single_use;
mod tokens;

mod app_tokens;

mod on_behalf_of;

// The composition root, and the flows on it.
mod auth;

mod login;
mod logout;

mod device;

// Entry points.
mod config;
mod extract;
mod layer;
mod routes;

pub use app_tokens::ClientToken;
pub use auth::Auth;
pub use clock::Clock;
pub use config::AuthBuilder;
pub use error::{BoxError, ConfigError, Error, Setting};
pub use extract::{
    Context, LoginGuard, LoginRejection, LoginRequired, NoScopes, Scopes, User, require_sign_in,
};
pub use layer::AuthLayer;
#[cfg(feature = "postgres")]
pub use lock::PostgresRefreshLock;
#[cfg(feature = "redis")]
pub use lock::RedisRefreshLock;
pub use lock::{LockFuture, RefreshLock};
pub use pages::{
    DefaultPages, DeviceCodePage, ErrorPage, Pages, SignOutPage, SignedOutPage, escape_html,
    is_safe_link,
};
pub use params::Prompt;
pub use return_path::safe_return_path;
#[doc(hidden)]
pub use routes::routes;

/// Entry points for the fuzz targets in `fuzz/`. Not a public API.
#[doc(hidden)]
pub mod __fuzz {
    /// Parses callback or login parameters the way the routes do, including the scope list.
    pub fn callback_params(input: &[u8]) {
        if let Ok(params) = crate::params::parse_params(input) {
            let _ = crate::params::parse_scopes(params.get("scope").map(String::as_str));
            if let Some(next) = params.get("next") {
                let _ = crate::safe_return_path(next);
            }
        }
    }
}

#[cfg(test)]
mod layers;
