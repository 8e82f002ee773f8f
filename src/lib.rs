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
//!   [`ApiAuth::bearer_layer`] protects any tower service (a `tonic` gRPC server, an MCP
//!   server), and with a resource URI the API publishes its RFC 9728 metadata.
//! - Who may sign in and how (a sign-in hook, allow-lists, typed claims, per-request sign-in
//!   parameters, step-up, claims challenges): [`guide::sign_in_rules`].
//! - Several providers in one application (staff and customers, "sign in with X or Y"):
//!   [`guide::several_providers`].
//! - No secret stored anywhere (a certificate, a federated token file, an Azure managed
//!   identity): [`guide::no_secrets`].
//! - Every handler shape the attributes accept (scopes, roles, other extractors, generics,
//!   `#[axum::debug_handler]`, a re-exporting crate) has an example in [`login_required`] and
//!   [`authorization_required`].
//!
//! # Features
//!
//! - `redis`: `RedisRefreshLock`, so several instances sharing a Redis session store refresh
//!   a user's token one at a time.
//! - `postgres`: `PostgresRefreshLock`, the same through PostgreSQL.
//! - `test-util`: [`test_util::signed_in`], a signed-in session for your own tests of protected
//!   routes (`tower::ServiceExt::oneshot`, no provider).
//! - `openapi`: `BearerSecurity` and `ApiAuth` as `utoipa::Modify`, the API's security scheme
//!   in a `utoipa` OpenAPI document; `#[authorization_required]` above `#[utoipa::path]` adds
//!   the handler's scopes and roles to the operation's `security`.

#![cfg_attr(docsrs, feature(doc_cfg))]

/// Guides to what the crate does, each with compiled examples: the crate's manual.
///
/// Start with [`configuration`](guide::configuration) (what to register at the provider and
/// every setting), then [`security`](guide::security) (what the library does for you). The
/// others each cover one concern.
pub mod guide {
    #[doc = include_str!("../docs/guide/configuration.md")]
    pub mod configuration {}

    #[doc = include_str!("../docs/guide/security.md")]
    pub mod security {}

    #[doc = include_str!("../docs/guide/credentials.md")]
    pub mod credentials {}

    #[doc = include_str!("../docs/guide/no_secrets.md")]
    pub mod no_secrets {}

    #[doc = include_str!("../docs/guide/sessions.md")]
    pub mod sessions {}

    #[doc = include_str!("../docs/guide/sign_in_rules.md")]
    pub mod sign_in_rules {}

    #[doc = include_str!("../docs/guide/several_providers.md")]
    pub mod several_providers {}

    #[doc = include_str!("../docs/guide/web_api.md")]
    pub mod web_api {}

    #[doc = include_str!("../docs/guide/http.md")]
    pub mod http {}

    #[doc = include_str!("../docs/guide/proxies.md")]
    pub mod proxies {}

    #[doc = include_str!("../docs/guide/pages.md")]
    pub mod pages {}

    #[doc = include_str!("../docs/guide/performance.md")]
    pub mod performance {}

    #[doc = include_str!("../docs/guide/python.md")]
    pub mod python {}
}

// The README's snippets are compiled with the doctests, so the first code a reader copies
// builds.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeSnippets;

// The attributes' documentation, with an example of every handler shape, is the macro crate's
// (its examples are that crate's doctests); `#[doc(inline)]` shows it here in full.
#[doc(inline)]
pub use axum_identity_macros::login_required;

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
#[cfg(feature = "openapi")]
#[cfg_attr(docsrs, doc(cfg(feature = "openapi")))]
#[doc(inline)]
pub use axum_identity_runtime::{BearerSecurity, OPENAPI_SECURITY_SCHEME};
/// Signed-in sessions for an application's own tests (feature `test-util`): call its protected
/// routes with `tower::ServiceExt::oneshot`, no provider needed. See [`test_util::signed_in`].
#[cfg(feature = "test-util")]
#[cfg_attr(docsrs, doc(cfg(feature = "test-util")))]
pub mod test_util {
    #[doc(inline)]
    pub use axum_identity_runtime::test_util::{TestUser, signed_in};
}

#[doc(inline)]
pub use axum_identity_runtime::{
    ApiAuth, ApiAuthBuilder, ApiClaims, ApiContext, ApiRejection, AppOnly, Auth, AuthBuilder,
    AuthLayer, Bearer, BearerLayer, BoxError, ClaimsChallenge, ClaimsError, ClientToken, Clock,
    ConfigError, Context, DefaultPages, DeviceCodePage, DeviceCodeStartPage, DownstreamApi,
    DownstreamError, DownstreamRequest, Error, ErrorPage, Flow, GroupsOverage, LoginRejection,
    LoginUrl, Pages, Prompt, ProviderChoicePage, Realm, RefreshLock, Setting, SignInDecision,
    SignInEvent, SignInMethod, SignOutPage, SignedOutPage, TokenEndpointAuthMethod, TokenSource,
    User, escape_html, is_safe_link, require_access, require_authorization, require_sign_in,
    safe_return_path,
};

// Azure managed identities: app-only tokens with no secret, and the client assertion of a
// federated credential (see `guide::no_secrets`).
#[doc(inline)]
pub use axum_identity_runtime::{
    ManagedIdentity, ManagedIdentityBuilder, ManagedIdentityId, ManagedIdentitySource,
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
