//! Protecting a whole sub-router with one `route_layer` instead of an attribute on each
//! handler: everything under `/admin` requires sign-in, `/` is public. Run it with
//! `cargo run --example protected_router`, then open http://127.0.0.1:5000.
//!
//! Configured like the quickstart (CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, AUTHORITY or
//! OIDC_AUTHORITY, from the environment or `.env`); with none of them set it starts the local
//! OpenID provider the tests use (any user name signs in).
//!
//! `axum::middleware::from_extractor::<Context>()` runs the `Context` extractor before every
//! route of the sub-router: a signed-out page load is sent into sign-in (and comes back to the
//! page it asked for), a script gets `401`. Handlers behind it may still take `Context` to know
//! who is signed in; the session is read once per request either way. `route_layer` (not
//! `layer`) keeps unknown paths a `404` instead of a sign-in.

#[path = "support/local.rs"]
mod local;

use std::error::Error;

use axum::Router;
use axum::middleware::from_extractor;
use axum::response::Html;
use axum::routing::get;
use axum_identity::tower_sessions::MemoryStore;
use axum_identity::{Context, escape_html};

/// Public: works signed in or not.
async fn home(context: Option<Context>) -> Html<String> {
    let who = match context {
        Some(context) => format!(
            "Signed in as {}. <a href=\"{}\">Sign out</a>",
            escape_html(context.user.display_name()),
            escape_html(context.logout_url())
        ),
        None => "Not signed in.".to_owned(),
    };
    page(&format!(
        "<h1>Home</h1><p>{who}</p><p><a href=\"/admin\">Administration</a> (sign-in required)</p>"
    ))
}

/// Behind the route layer, and taking the user.
async fn dashboard(context: Context) -> Html<String> {
    page(&format!(
        "<h1>Administration</h1><p>Hello {}.</p><p><a href=\"/admin/reports\">Reports</a></p>",
        escape_html(context.user.display_name())
    ))
}

/// Behind the route layer, without taking the user: protected all the same.
async fn reports() -> Html<String> {
    page("<h1>Reports</h1><p>Only signed-in users see this.</p>")
}

fn page(body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html><html lang=en><meta charset=utf-8><meta name=viewport content=\"width=device-width\">\
         <title>protected_router</title><body style=\"font-family:system-ui;max-width:40rem;margin:2rem auto;padding:0 1rem\">{body}</body></html>"
    ))
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    local::exit_code(run().await)
}

async fn run() -> Result<(), Box<dyn Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    dotenvy::dotenv().ok();
    let port = local::port();

    // The local provider when nothing is configured; in a real app: `Auth::builder_from_env()`.
    let builder = local::builder_or_local("protected-router", port).await?;
    let auth = builder.app_name("axum-identity protected_router").build()?;
    local::warm_up(&auth).await?;

    let admin = Router::new()
        .route("/", get(dashboard))
        .route("/reports", get(reports))
        .route_layer(from_extractor::<Context>());
    let app = Router::new()
        .route("/", get(home))
        .nest("/admin", admin)
        .merge(auth.routes())
        .layer(auth.layer(MemoryStore::default()));
    local::log_registration(&auth);
    local::serve(app, port).await
}
