//! Sign-in with the Device Code flow: no redirect URI; the login page shows a code to enter at
//! the provider on any device (a phone, another browser) and continues by itself.
//! Run it with `cargo run --example device_code`, then open http://127.0.0.1:5000.
//!
//! Configured by CLIENT_ID and AUTHORITY or OIDC_AUTHORITY (see examples/env/.env.sample.device-code);
//! REDIRECT_URI must be unset. With nothing configured it starts the local test provider (any
//! user name signs in) with a public client.

#[path = "support/local.rs"]
mod local;

use std::error::Error;

use axum::Router;
use axum::response::Html;
use axum::routing::get;
use axum_identity::tower_sessions::MemoryStore;
use axum_identity::{Auth, Context, escape_html, identity_routes, login_required};

#[login_required]
async fn index(context: Context) -> Html<String> {
    Html(format!(
        "<!doctype html><meta charset=utf-8><title>Device Code</title>\
         <body style=\"font-family:system-ui\"><h1>Welcome {}</h1><a href=\"{}\">Sign out</a></body>",
        escape_html(context.user.display_name()),
        escape_html(context.logout_url())
    ))
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    local::exit_code(run().await)
}

async fn run() -> Result<(), Box<dyn Error>> {
    tracing_subscriber::fmt().with_env_filter("info").init();
    dotenvy::dotenv().ok();
    let port = local::port();

    let mut _local_provider = None;
    let auth = if local::configured() {
        let auth = Auth::from_env()?;
        if !auth.uses_device_code() {
            return Err(
                "REDIRECT_URI is set: this example shows the Device Code flow, unset it".into(),
            );
        }
        auth
    } else {
        let (provider, builder) = local::provider(port, "device-code-example", false, "").await?;
        _local_provider = Some(provider);
        builder.app_name("axum-identity Device Code").build()?
    };
    local::warm_up(&auth).await?;

    let app = Router::new()
        .route("/", get(index))
        .merge(identity_routes!(auth))
        .layer(auth.layer(MemoryStore::default()));
    local::log_registration(&auth);
    local::serve(app, port).await
}
