//! Sign users in to an [axum](https://docs.rs/axum) application with OpenID Connect —
//! Microsoft Entra ID, Entra External ID, Azure AD B2C, or any standards-compliant provider —
//! and call APIs on their behalf, by putting one attribute on a handler. The Rust counterpart
//! of Python's `identity` library (`identity.flask.Auth`).
//!
//! ```no_run
//! use axum::{Router, response::Html, routing::get};
//! use axum_identity::{Auth, Context, escape_html, identity_routes, login_required};
//! use tower_sessions::MemoryStore;
//!
//! #[login_required]
//! async fn index(context: Context) -> Html<String> {
//!     Html(format!(
//!         "Welcome {}! <a href=\"{}\">Sign out</a>",
//!         escape_html(context.user.display_name()),
//!         context.logout_url()
//!     ))
//! }
//!
//! #[login_required(scopes = ["User.Read"])]
//! async fn call_api(context: Context) -> String {
//!     format!("a {} token valid for {} s", context.token_type, context.expires_in)
//! }
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     // CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, and AUTHORITY or OIDC_AUTHORITY.
//!     let auth = Auth::from_env()?;
//!     let app = Router::new()
//!         .route("/", get(index))
//!         .route("/call_api", get(call_api))
//!         .merge(identity_routes!(auth))
//!         .layer(auth.layer())
//!         .layer(auth.session_layer(MemoryStore::default()));
//!     let listener = tokio::net::TcpListener::bind("127.0.0.1:5000").await?;
//!     axum::serve(listener, app).await?;
//!     Ok(())
//! }
//! ```
//!
//! - [`Auth`] holds the configuration; build it with [`Auth::builder`] or [`Auth::from_env`].
//! - [`login_required`] protects a handler; [`Context`] and `Option<Context>` are also plain
//!   extractors.
//! - [`identity_routes!`] adds the login, redirect (callback) and logout routes.
//! - Sessions live server-side in any tower-sessions store; the cookie holds only the id.

pub use axum_identity_macros::{identity_routes, login_required};
pub use axum_identity_runtime::*;

/// What the macros' generated code names. Not a public API: it may change in any release.
#[doc(hidden)]
pub mod __private {
    pub use axum_identity_runtime::{LoginRequired, NoScopes, Scopes, routes};
}
