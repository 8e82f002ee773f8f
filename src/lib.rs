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
//! HTTPS to the provider, under reqwest's names for the same choices (exactly one TLS stack is
//! compiled for any one of them):
//!
//! - `rustls-tls-native-roots` (default): rustls, trusting the operating system's certificate
//!   store.
//! - `rustls-tls-webpki-roots`: rustls with Mozilla's root certificates compiled in, for
//!   scratch or distroless images that have no certificate store.
//! - `native-tls`: the platform's TLS library (OpenSSL on Linux, which needs its development
//!   headers to build; Security.framework on macOS; SChannel on Windows).
//!
//! Choose another than the default with `default-features = false`:
//!
//! ```toml
//! axum-identity = { version = "0.1", default-features = false, features = ["native-tls"] }
//! ```
//!
//! With a rustls feature and `native-tls` both on (`--all-features`), rustls is used. With
//! none of the three, as with reqwest without TLS, providers are reached over plain HTTP
//! only, which this crate allows on loopback only (development and tests): an `https`
//! authority is then a configuration error that names the features.
//!
//! The rest add APIs:
//!
//! - `redis`: `RedisRefreshLock`, so several instances sharing a Redis session store refresh
//!   a user's token one at a time; re-exports `fred`.
//! - `postgres`: `PostgresRefreshLock`, the same through PostgreSQL; re-exports `sqlx`.
//! - `test-util`: `test_util::signed_in`, a signed-in session for your own tests of protected
//!   routes (`tower::ServiceExt::oneshot`, no provider).
//! - `openapi`: `BearerSecurity` and `ApiAuth` as `utoipa::Modify`, the API's security scheme
//!   in a `utoipa` OpenAPI document; `#[authorization_required]` above `#[utoipa::path]` adds
//!   the handler's scopes and roles to the operation's `security`.
//!
//! # Version policy
//!
//! The crates whose types appear in this API are re-exported, so an application names the
//! versions this crate was built with instead of matching them by hand:
//! [`tower_sessions`] (0.14: `Session`, `MemoryStore`, the `SessionStore` trait every store
//! implements), [`reqwest`] (0.12: the client of `http_client`), `sqlx` (0.8, feature
//! `postgres`: the pool of `PostgresRefreshLock`) and `fred` (10, feature `redis`: the client
//! of `RedisRefreshLock`). Errors from a store, a lock or the network are boxed in [`Error`],
//! [`LockError`] and [`BoxError`], so those crates' error types are not part of the API. axum
//! 0.8 is the framework the handlers, extractors and layers plug into.
//!
//! A new major version of any of them (axum 0.9, tower-sessions 0.15, reqwest 0.13, sqlx 0.9,
//! fred 11) changes this crate's API, so adopting it is a breaking release of this crate (0.2
//! while it is 0.x), listed in the changelog. Patch and minor updates of a dependency that keep
//! its API are not. The minimum supported Rust version (`rust-version`, 1.88) rises only in a
//! minor release.

#![forbid(unsafe_code)]
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
pub use axum_identity_runtime::LockError;
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

/// The HTTP client this crate reaches providers with (reqwest 0.12), re-exported so that a
/// client passed to `http_client` (a proxy, extra root certificates) is of the same version.
///
/// ```
/// use axum_identity::reqwest;
///
/// let client = reqwest::Client::builder()
///     .redirect(reqwest::redirect::Policy::none())
///     .timeout(std::time::Duration::from_secs(10))
///     .build()?;
/// let builder = axum_identity::Auth::builder().http_client(client);
/// # let _ = builder;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub use axum_identity_runtime::reqwest;

/// sqlx 0.8 with PostgreSQL (feature `postgres`), re-exported for the pool
/// [`PostgresRefreshLock`] takes: `axum_identity::sqlx::PgPool`. The pool of
/// `tower-sessions-sqlx-store` 0.15's `PostgresStore` is the same type.
///
/// ```no_run
/// # async fn example() -> Result<(), Box<dyn std::error::Error>> {
/// use axum_identity::{Auth, PostgresRefreshLock, sqlx};
///
/// let pool = sqlx::PgPool::connect("postgres://127.0.0.1/app").await?;
/// let lock = PostgresRefreshLock::new(pool);
/// lock.migrate().await?;
/// let auth = Auth::builder_from_env().refresh_lock(lock).build()?;
/// # let _ = auth; Ok(()) }
/// ```
#[cfg(feature = "postgres")]
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
pub use axum_identity_runtime::sqlx;

/// fred 10, the Redis client (feature `redis`), re-exported for the client or pool
/// [`RedisRefreshLock`] wraps. `tower-sessions-redis-store` 0.16 uses the same fred.
///
/// ```no_run
/// # async fn example() -> Result<(), Box<dyn std::error::Error>> {
/// use axum_identity::fred::prelude::*;
/// use axum_identity::{Auth, RedisRefreshLock};
///
/// let pool = Pool::new(Config::from_url("redis://127.0.0.1:6379")?, None, None, None, 4)?;
/// pool.init().await?;
/// let auth = Auth::builder_from_env().refresh_lock(RedisRefreshLock::new(pool)).build()?;
/// # let _ = auth; Ok(()) }
/// ```
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use axum_identity_runtime::fred;

/// What the macros' generated code names. Not a public API: it may change in any release.
#[doc(hidden)]
pub mod __private {
    pub use axum_identity_runtime::{
        AuthorizationRequired, LoginGuard, LoginRequired, NoScopes, Scopes, routes,
    };
}

#[cfg(test)]
mod exports;
