//! Sign users in to an [axum](https://docs.rs/axum) application with OpenID Connect —
//! Microsoft Entra ID, Entra External ID, Azure AD B2C, or any standards-compliant provider —
//! and call APIs on their behalf, by putting one attribute on a handler. The Rust counterpart
//! of Python's `identity` library (`identity.flask.Auth`).
//!
//! ```no_run
//! use axum::{Router, response::Html, routing::get};
//! use axum_identity::{Auth, Context, escape_html, identity_routes, login_required};
//! use axum_identity::tower_sessions::MemoryStore;
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
//!         .merge(identity_routes!(auth))                // or `auth.routes()`
//!         .layer(auth.layer(MemoryStore::default()));   // any tower-sessions store
//!     let listener = tokio::net::TcpListener::bind("127.0.0.1:5000").await?;
//!     axum::serve(listener, app).await?;
//!     Ok(())
//! }
//! ```
//!
//! - [`Auth`] holds the configuration; build it with [`Auth::builder`] or [`Auth::from_env`].
//! - [`login_required`] protects a handler; [`Context`] and `Option<Context>` are also plain
//!   extractors.
//! - [`identity_routes!`] (or [`Auth::routes`]) adds the login, redirect (callback) and logout
//!   routes; [`Auth::layer`] adds sessions and makes `Auth` reachable, in one layer.
//! - Sessions live server-side in any tower-sessions store; the cookie holds only the id.
//!   [`tower_sessions`] is re-exported, so the store and `Session` types are the ones this
//!   crate was built with; the store crates that fit are `tower-sessions-redis-store` 0.16 and
//!   `tower-sessions-sqlx-store` 0.15 (SQLite, PostgreSQL, MySQL).
//! - Web APIs: [`ApiAuth`] validates bearer access tokens locally; [`authorization_required`]
//!   protects a handler with scopes and app roles, handing it an [`ApiContext`].
//!
//! # Features
//!
//! - `redis`: `RedisRefreshLock`, so several instances sharing a Redis session store refresh
//!   a user's token one at a time.
//! - `postgres`: `PostgresRefreshLock`, the same through PostgreSQL.

#![cfg_attr(docsrs, feature(doc_cfg))]

/// Every example below compiles as a doctest of this crate; the attribute's full documentation
/// follows them.
///
/// ```
/// use axum::extract::{Path, Query, State};
/// use axum::response::Html;
/// use axum::routing::{get, post};
/// use axum::{Form, Json, Router};
/// use axum_identity::{Context, escape_html, login_required};
/// use serde::Deserialize;
///
/// /// Signed-in users only; `context.user` is who they are.
/// #[login_required]
/// async fn index(context: Context) -> Html<String> {
///     Html(format!("Welcome {}", escape_html(context.user.display_name())))
/// }
///
/// /// With scopes, `context.access_token` is a fresh token for them. Other extractors keep
/// /// working, before or after the `Context`.
/// #[login_required(scopes = ["User.Read"])]
/// async fn call_api(Path(id): Path<u32>, context: Context) -> String {
///     format!("{id}: a {} token valid for {} s", context.token_type, context.expires_in)
/// }
///
/// /// Protected without taking the user.
/// #[login_required]
/// async fn members_only() -> &'static str {
///     "only signed-in users see this"
/// }
///
/// #[derive(Clone)]
/// struct Db;
///
/// #[derive(Deserialize)]
/// struct Note {
///     text: String,
/// }
///
/// /// State first, any name for the `Context`, the body-reading extractor last.
/// #[login_required(scopes = ["api://my-api/Notes.Write"])]
/// async fn add_note(State(_db): State<Db>, ctx: Context, Json(note): Json<Note>) -> String {
///     format!("{} wrote {}", ctx.user.subject(), note.text)
/// }
///
/// #[login_required]
/// async fn add_note_from_form(ctx: Context, Form(note): Form<Note>) -> String {
///     format!("{} wrote {}", ctx.user.subject(), note.text)
/// }
///
/// /// Generic handlers work too.
/// #[login_required]
/// async fn search<Q>(context: Context, Query(query): Query<Q>) -> String
/// where
///     Q: serde::de::DeserializeOwned + std::fmt::Debug + Send + 'static,
/// {
///     format!("{} searched {query:?}", context.user.subject())
/// }
///
/// #[derive(Debug, Deserialize)]
/// struct Search {
///     q: String,
/// }
///
/// /// `#[axum::debug_handler]` goes below, to check the handler as rewritten.
/// #[login_required(scopes = ["User.Read"])]
/// #[axum::debug_handler]
/// async fn profile(context: Context) -> String {
///     context.user.subject().to_owned()
/// }
///
/// let app: Router = Router::new()
///     .route("/", get(index))
///     .route("/items/{id}", get(call_api))
///     .route("/members", get(members_only))
///     .route("/notes", post(add_note))
///     .route("/notes/form", post(add_note_from_form))
///     .route("/search", get(search::<Search>))
///     .route("/profile", get(profile))
///     .with_state(Db);
/// ```
///
/// A crate that re-exports axum-identity under another path says where with `crate`:
///
/// ```
/// mod my_facade {
///     pub mod auth {
///         pub use axum_identity::*;
///     }
/// }
///
/// use my_facade::auth::{Context, login_required};
///
/// #[login_required(crate = my_facade::auth, scopes = ["User.Read"])]
/// async fn index(context: Context) -> String {
///     context.user.subject().to_owned()
/// }
///
/// # fn main() {
/// let app: axum::Router = axum::Router::new().route("/", axum::routing::get(index));
/// # }
/// ```
#[doc(inline)]
pub use axum_identity_macros::login_required;

/// Every example below compiles as a doctest of this crate; the attribute's full documentation
/// follows them.
///
/// ```
/// use axum::routing::get;
/// use axum::{Json, Router};
/// use axum_identity::{ApiAuth, ApiContext, authorization_required};
/// use serde_json::{Value, json};
///
/// /// A valid token with the delegated scope `api.read`.
/// #[authorization_required(scopes = ["api.read"])]
/// async fn resource(context: ApiContext) -> Json<Value> {
///     Json(json!({
///         "sub": context.claims.subject(),
///         "scopes": context.claims.scopes(),
///         "app_only": context.claims.is_app_only(),
///     }))
/// }
///
/// /// Daemons with the app permission `Reports.Read.All`.
/// #[authorization_required(roles = ["Reports.Read.All"])]
/// async fn reports() -> &'static str {
///     "reports"
/// }
///
/// /// Any valid token; `Option<ApiContext>` would also let anonymous callers in.
/// async fn whoami(context: ApiContext) -> String {
///     context.claims.subject().to_owned()
/// }
///
/// let api = ApiAuth::builder()
///     .client_id("my-api-client-id")
///     .authority("https://login.microsoftonline.com/organizations")
///     .build()?;
/// let app: Router = Router::new()
///     .route("/resource", get(resource))
///     .route("/reports", get(reports))
///     .route("/whoami", get(whoami))
///     .layer(api.layer());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[doc(inline)]
pub use axum_identity_macros::authorization_required;

/// The routes that sign users in and out, as an `axum::Router` to merge into the app: the
/// same as [`Auth::routes`].
///
/// The login page, the redirect URI's path (the callback, `GET` and `POST`), logout and the
/// signed-out page, at the paths configured on [`Auth::builder`]. The argument is any
/// expression that gives an `Auth` (or a reference to one); it is only borrowed. It expands to
/// a path through `$crate`, so it also works from a crate that re-exports this one.
///
/// ```
/// use axum::{Router, extract::State, routing::get};
/// use axum_identity::{Auth, Context, identity_routes, login_required};
/// use axum_identity::tower_sessions::MemoryStore;
///
/// #[login_required]
/// async fn index(context: Context) -> String {
///     format!("Welcome {}", context.user.display_name())
/// }
///
/// let auth = Auth::builder()
///     .client_id("my-client-id")
///     .client_secret("my-client-secret")
///     .redirect_uri("http://localhost:5000/redirect")
///     .oidc_authority("https://login.example.com")
///     .build()?;
/// let app: Router = Router::new()
///     .route("/", get(index))
///     .merge(identity_routes!(auth))
///     .layer(auth.layer(MemoryStore::default()));
///
/// // In an app with state: the routes take the router's state type, `.with_state` comes last.
/// #[derive(Clone)]
/// struct AppState {
///     auth: Auth,
/// }
///
/// async fn home(State(_state): State<AppState>) -> &'static str {
///     "home"
/// }
///
/// let state = AppState { auth };
/// let app: Router = Router::new()
///     .route("/home", get(home))
///     .merge(identity_routes!(&state.auth))
///     .layer(state.auth.layer(MemoryStore::default()))
///     .with_state(state);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[macro_export]
macro_rules! identity_routes {
    () => {
        ::core::compile_error!("identity_routes! needs the `Auth` value: write `identity_routes!(auth)`")
    };
    // Before the `expr` rule: `login_path = "/x"` would parse as an assignment expression.
    ($option:ident = $($rest:tt)*) => {
        ::core::compile_error!("unexpected option; identity_routes! takes the `Auth` value only — paths are configured on `Auth::builder()`")
    };
    ($auth:expr $(,)?) => {
        $crate::__private::routes(&$auth)
    };
    ($($rest:tt)*) => {
        ::core::compile_error!("unexpected argument; identity_routes! takes the `Auth` value only — paths are configured on `Auth::builder()`")
    };
}

#[doc(hidden)]
pub use axum_identity_runtime::LockFuture;
#[cfg(feature = "postgres")]
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
#[doc(inline)]
pub use axum_identity_runtime::PostgresRefreshLock;
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
#[doc(inline)]
pub use axum_identity_runtime::RedisRefreshLock;

#[doc(inline)]
pub use axum_identity_runtime::{
    ApiAuth, ApiAuthBuilder, ApiClaims, ApiContext, ApiRejection, Auth, AuthBuilder, AuthLayer,
    BoxError, ClientToken, Clock, ConfigError, Context, DefaultPages, DeviceCodePage,
    DeviceCodeStartPage, Error, ErrorPage, Flow, GroupsOverage, LoginRejection, Pages, Prompt,
    RefreshLock, Setting, SignOutPage, SignedOutPage, TokenEndpointAuthMethod, User, escape_html,
    is_safe_link, require_access, require_authorization, require_sign_in, safe_return_path,
};

/// The session layer this crate builds on (tower-sessions 0.14), re-exported so an application
/// names the same version: `axum_identity::tower_sessions::MemoryStore` for tests and demos,
/// [`Session`](tower_sessions::Session) to keep data of your own next to the sign-in.
///
/// Stores for production come in crates of their own, built against this version:
/// `tower-sessions-redis-store` 0.16 (Redis, many servers) and `tower-sessions-sqlx-store` 0.15
/// (SQLite, PostgreSQL, MySQL). tower-sessions 0.15 is out, but those stores still implement
/// the 0.14 `SessionStore` trait, so this crate stays on 0.14 until they move.
///
/// ```
/// use axum_identity::tower_sessions::{MemoryStore, Session};
///
/// async fn visits(session: Session) -> String {
///     let n: u32 = session.get("visits").await.ok().flatten().unwrap_or(0) + 1;
///     let _ = session.insert("visits", n).await;
///     format!("{n} visits")
/// }
/// # let _: axum::Router = axum::Router::new().route("/", axum::routing::get(visits));
/// # let _ = MemoryStore::default();
/// ```
pub use tower_sessions;

/// What the macros' generated code names. Not a public API: it may change in any release.
#[doc(hidden)]
pub mod __private {
    pub use axum_identity_runtime::{
        AuthorizationRequired, LoginGuard, LoginRequired, NoScopes, Scopes, routes,
    };
}

#[cfg(test)]
mod exports;
