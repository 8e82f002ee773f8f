//! The equivalent of Python identity's Flask quickstart: `/` requires sign-in and greets the
//! user. Run it with `cargo run --example quickstart`, then open http://127.0.0.1:5000.
//!
//! Configured by CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, and AUTHORITY or OIDC_AUTHORITY (from
//! the environment or a `.env` file). With none of them set, it starts the local OpenID provider
//! the tests use (any user name signs in), so it works on a machine without a cloud account.

#[path = "../tests/support/provider.rs"]
mod provider;
#[path = "support/quickstart_page.rs"]
mod quickstart_page;

use std::error::Error;

use axum::Router;
use axum::response::Html;
use axum::routing::get;
use axum_identity::{Auth, Context, identity_routes, login_required};
use tower_sessions::MemoryStore;

#[login_required]
async fn index(context: Context) -> Html<String> {
    quickstart_page::render(&context)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,axum_identity_runtime=debug".into()),
        )
        .init();
    dotenvy::dotenv().ok();
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(5000);

    // Keeps the local provider alive as long as the app runs.
    let mut _local_provider = None;
    let auth = if configured() {
        Auth::from_env()?
    } else {
        let redirect_uri = format!("http://127.0.0.1:{port}/redirect");
        let signed_out = format!("http://127.0.0.1:{port}/logout/done");
        let local = provider::TestProvider::start(serde_json::json!({
            "clients": [provider::TestProvider::web_client(
                "quickstart", "quickstart-secret", &[&redirect_uri], &[&signed_out],
            )],
        }))
        .await?;
        println!(
            "No CLIENT_ID/AUTHORITY configured: using the local OpenID provider at {} \
             (any user name and password signs in).",
            local.issuer
        );
        let auth = Auth::builder()
            .client_id("quickstart")
            .client_secret("quickstart-secret")
            .redirect_uri(redirect_uri)
            .oidc_authority(&local.issuer)
            .app_name("axum-identity quickstart")
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
        .with_graceful_shutdown(shutdown())
        .await?;
    Ok(())
}

fn configured() -> bool {
    ["CLIENT_ID", "AUTHORITY", "OIDC_AUTHORITY"]
        .iter()
        .any(|name| std::env::var(name).is_ok_and(|v| !v.trim().is_empty()))
}

async fn shutdown() {
    let _ = tokio::signal::ctrl_c().await;
}
