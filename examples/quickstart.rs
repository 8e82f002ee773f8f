//! The equivalent of Python identity's Flask quickstart: `/` requires sign-in and greets the
//! user. Run it with `cargo run --example quickstart`, then open http://127.0.0.1:5000.
//!
//! Configured by CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, and AUTHORITY or OIDC_AUTHORITY (from
//! the environment or a `.env` file). With none of them set, it starts the local OpenID provider
//! the tests use (any user name signs in), so it works on a machine without a cloud account.
//!
//! Under a path prefix: `APPLICATION_ROOT=/app` (with `REDIRECT_URI=http://127.0.0.1:5000/app/redirect`
//! when a provider is configured) serves it at http://127.0.0.1:5000/app/, nested with
//! `Router::nest`.
//!
//! Sessions live in a SQLite file (`SESSION_FILE`, default `quickstart-sessions.sqlite3`), so a
//! restart keeps users signed in — like Flask's `SESSION_TYPE = "filesystem"`;
//! `SESSION_FILE=:memory:` keeps them in memory instead.

#[path = "support/local.rs"]
mod local;
#[path = "support/quickstart_page.rs"]
mod quickstart_page;

use std::error::Error;

use axum::Router;
use axum::response::Html;
use axum::routing::get;
use axum_identity::tower_sessions::session_store::ExpiredDeletion;
use axum_identity::{Context, identity_routes, login_required};
use tower_sessions_sqlx_store::SqliteStore;
use tower_sessions_sqlx_store::sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};

#[login_required]
async fn index(context: Context) -> Html<String> {
    quickstart_page::render(&context)
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    local::exit_code(run().await)
}

async fn run() -> Result<(), Box<dyn Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,axum_identity_runtime=debug".into()),
        )
        .init();
    dotenvy::dotenv().ok();
    let port = local::port();

    // The local provider when nothing is configured; in a real app: `Auth::builder_from_env()`.
    let builder = local::builder_or_local("quickstart", port).await?;
    let auth = builder.app_name("axum-identity quickstart").build()?;
    // A wrong authority or a refused configuration stops the app here, not at the first user.
    local::warm_up(&auth).await?;

    let session_file =
        std::env::var("SESSION_FILE").unwrap_or_else(|_| "quickstart-sessions.sqlite3".into());
    let options = if session_file == ":memory:" {
        SqliteConnectOptions::new().in_memory(true)
    } else {
        SqliteConnectOptions::new()
            .filename(&session_file)
            .create_if_missing(true)
    };
    // One connection for an in-memory database: each connection would have its own.
    let pool = SqlitePoolOptions::new()
        .max_connections(if session_file == ":memory:" { 1 } else { 4 })
        .connect_with(options)
        .await?;
    let store = SqliteStore::new(pool);
    store.migrate().await?;
    // SQLite keeps expired sessions until something deletes them.
    tokio::spawn(
        store
            .clone()
            .continuously_delete_expired(tokio::time::Duration::from_secs(600)),
    );
    println!("Sessions are stored in {session_file}");

    let app = Router::new()
        .route("/", get(index))
        .merge(identity_routes!(auth));
    // Under APPLICATION_ROOT the library hands out paths with the root and serves its routes
    // without it: nest the whole app under the root. (Behind a reverse proxy that strips the
    // root, leave the router as it is.)
    let app = match auth.application_root() {
        // `nest("/app", ..)` serves the home page at `/app` but not at `/app/` (axum 0.8), and
        // `/app/` is where the library sends the browser home: route it too.
        Some(root) => Router::new()
            .route(&format!("{root}/"), get(index))
            .nest(root, app),
        None => app,
    }
    .layer(auth.layer(store));
    if let Some(root) = auth.application_root() {
        println!("The app is served under {root}: open http://127.0.0.1:{port}{root}/");
    }
    local::log_registration(&auth);
    local::serve(app, port).await
}
