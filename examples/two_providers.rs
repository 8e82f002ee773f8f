//! Two providers in one application: staff sign in through one (say Entra ID), customers
//! through another (say Entra External ID). Run it with `cargo run --example two_providers`,
//! then open http://127.0.0.1:5000.
//!
//! - `/` shows the signed-in user's name and provider; nobody signed in gets the page that lets
//!   them choose a provider.
//! - `/staff` admits only users of the `work` provider (others get a 403 page).
//!
//! Configured from the environment (or `.env`): `IDENTITY_PROVIDERS=work,customer`, then each
//! provider's settings with its name as a prefix (`WORK_CLIENT_ID`, `WORK_CLIENT_SECRET`,
//! `WORK_AUTHORITY` or `WORK_OIDC_AUTHORITY`; `CUSTOMER_CLIENT_ID`...), and the one
//! `REDIRECT_URI` (registered at both providers) and `PORT`. With nothing configured it starts
//! two local OpenID providers (any user name signs in at either).

#[path = "support/local.rs"]
mod local;

use std::error::Error;

use axum::Router;
use axum::response::Html;
use axum::routing::get;
use axum_identity::tower_sessions::MemoryStore;
use axum_identity::{Auth, Context, escape_html, login_required};

#[login_required]
async fn home(context: Context) -> Html<String> {
    page(&format!(
        "<h1>Hello {}</h1><p>You signed in with <strong>{}</strong>.</p>\
         <p><a href=\"/staff\">Staff area</a> (the <code>work</code> provider only) · \
         <a href=\"{}\">Sign out</a></p>",
        escape_html(context.user.display_name()),
        escape_html(context.provider()),
        escape_html(context.logout_url()),
    ))
}

#[login_required(provider = "work")]
async fn staff(context: Context) -> Html<String> {
    page(&format!(
        "<h1>Staff area</h1><p>{} is signed in with the work provider.</p><p><a href=\"/\">Home</a></p>",
        escape_html(context.user.display_name())
    ))
}

fn page(body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html><html lang=en><meta charset=utf-8><meta name=viewport content=\"width=device-width\">\
         <title>two_providers</title><body style=\"font-family:system-ui;max-width:40rem;margin:2rem auto;padding:0 1rem\">{body}</body></html>"
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

    // Keeps the local providers alive as long as the app runs.
    let mut _local_providers = Vec::new();
    let auth = if local::configured() {
        Auth::from_env()?
    } else {
        let (work, work_builder) = local::provider(port, "two-providers-work", true, "").await?;
        let (customer, customer_builder) =
            local::provider(port, "two-providers-customer", true, "").await?;
        _local_providers.extend([work, customer]);
        Auth::builder()
            .redirect_uri(format!("http://127.0.0.1:{port}/redirect"))
            .app_name("axum-identity two_providers")
            .provider("work", work_builder)
            .provider("customer", customer_builder)
            .build()?
    };
    local::warm_up(&auth).await?;

    let app = Router::new()
        .route("/", get(home))
        .route("/staff", get(staff))
        .merge(auth.routes())
        .layer(auth.layer(MemoryStore::default()));
    println!("Providers: {}", auth.provider_names().join(", "));
    local::log_registration(&auth);
    local::serve(app, port).await
}
