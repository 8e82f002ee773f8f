//! The runtime of [axum-identity](https://docs.rs/axum-identity): configuration, the OpenID
//! Connect flows, the token cache, session storage on tower-sessions, the routes and pages.
//!
//! The modules are layers; each imports only from the layers below it (a unit test keeps it so):
//! 1. leaves: `error`, `clock`, `lock`, `return_path`, `grants` (scopes, roles, groups), then
//!    `params`, `http`, `jws`, `seal`, `claims`, `pages`, `verified` (verified bearer tokens),
//!    `credential` (secret, client assertions);
//! 2. what is stored and who the provider is: `session`, `authority` (and `checks` of settings),
//!    then `provider` (metadata and key cache) and `client` (this app's registration), then
//!    `id_token` and `access_token` (verification);
//! 3. services with state: `single_use` (callbacks, logout tokens), then `tokens` (cache, single
//!    flight, lock) and `backchannel` (logout markers), then `app_tokens` (the client
//!    credentials grant) and `on_behalf_of` (a user's incoming token exchanged downstream);
//! 4. `auth`, the composition root that owns the services, then `api`, the web API's (which
//!    may hold an `Auth` for downstream calls); the flows `login`, `logout`, `device`;
//! 5. entry points: `config` (builder), `extract` (extractors), `routes`, `layer`, then
//!    `api_extract` (the web API's extractors, which share `extract`'s `Scopes` markers).
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
#![cfg_attr(docsrs, feature(doc_cfg))]

// Leaves.
mod clock;
mod error;
mod grants;
mod lock;
mod return_path;

mod credential;
mod http;
mod jws;
mod pages;
mod params;
mod seal;
mod verified;

// What is stored, and who the provider is.
mod claims;

mod authority;
mod checks;
mod session;

mod provider;

mod client;

mod access_token;
mod id_token;

// Services with state.
mod backchannel;
mod introspection;
mod single_use;
mod tokens;

mod app_tokens;

mod on_behalf_of;

// The composition root, and the flows on it.
mod api;
mod auth;

mod login;
mod logout;

mod device;

// Entry points.
mod config;
mod extract;
mod layer;
mod routes;

// The web-API entry points, beside the web app's.
mod api_extract;

pub use api::{ApiAuth, ApiAuthBuilder};
pub use api_extract::{
    ApiClaims, ApiContext, ApiRejection, AuthorizationRequired, require_authorization,
};
pub use app_tokens::ClientToken;
pub use auth::Auth;
pub use clock::Clock;
pub use config::AuthBuilder;
pub use error::{BoxError, ConfigError, Error, Flow, Setting};
pub use extract::{
    Context, LoginGuard, LoginRejection, LoginRequired, NoScopes, Scopes, User, require_sign_in,
};
pub use grants::GroupsOverage;
pub use layer::AuthLayer;
#[cfg(feature = "postgres")]
pub use lock::PostgresRefreshLock;
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use lock::RedisRefreshLock;
pub use lock::{LockFuture, RefreshLock};
pub use pages::{
    DefaultPages, DeviceCodePage, ErrorPage, Pages, SignOutPage, SignedOutPage, escape_html,
    is_safe_link,
};
pub use params::{Prompt, TokenEndpointAuthMethod};
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
