//! Sign-in with the Device Code flow: no redirect URI; the login page shows a code to enter at
//! the provider on any device (a phone, another browser) and continues by itself.
//! Run it with `cargo run --example device_code`, then open http://127.0.0.1:5000.
//!
//! Configured by CLIENT_ID and AUTHORITY or OIDC_AUTHORITY (see examples/env/.env.sample.device-code);
//! REDIRECT_URI must be unset. With nothing configured it starts the local test provider (any
//! user name signs in) with a public client.

#[path = "../tests/support/provider.rs"]
mod provider;

use std::error::Error;

use axum::Router;
use axum::response::Html;
use axum::routing::get;
use axum_identity::{Auth, Context, escape_html, identity_routes, login_required};
use tower_sessions::MemoryStore;

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
async fn main() -> Result<(), Box<dyn Error>> {
    tracing_subscriber::fmt().with_env_filter("info").init();
    dotenvy::dotenv().ok();
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(5000);
    let configured = ["CLIENT_ID", "AUTHORITY", "OIDC_AUTHORITY"]
        .iter()
        .any(|name| std::env::var(name).is_ok_and(|v| !v.trim().is_empty()));

    let mut _local_provider = None;
    let auth = if configured {
        let auth = Auth::from_env()?;
        if !auth.uses_device_code() {
            return Err(
                "REDIRECT_URI is set: this example shows the Device Code flow, unset it".into(),
            );
        }
        auth
    } else {
        let local = provider::TestProvider::start(serde_json::json!({
            "clients": [provider::TestProvider::device_client("device-code-example")],
        }))
        .await?;
        println!(
            "No CLIENT_ID/AUTHORITY configured: using the local OpenID provider at {} (any user name signs in).",
            local.issuer
        );
        let auth = Auth::builder()
            .client_id("device-code-example")
            .oidc_authority(&local.issuer)
            .app_name("axum-identity Device Code")
            .build()?;
        _local_provider = Some(local);
        auth
    };

    let app = Router::new()
        .route("/", get(index))
        .merge(identity_routes!(auth))
        .layer(auth.layer())
        .layer(auth.session_layer(MemoryStore::default()));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!("Listening on http://127.0.0.1:{port}");
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
