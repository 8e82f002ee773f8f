//! The first lesson: one page that needs sign-in and greets the user. Run it with
//! `cargo run --example hello`, then open http://127.0.0.1:5000.
//!
//! Configured by CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, and AUTHORITY or OIDC_AUTHORITY (the
//! environment or `.env`). With none of them set, the line marked below starts the local OpenID
//! provider the tests use (any user name signs in).

#[path = "support/local.rs"]
#[allow(dead_code)]
mod local; // Only for that line.

use axum::{Router, response::Html, routing::get};
use axum_identity::tower_sessions::MemoryStore;
use axum_identity::{Context, escape_html, identity_routes, login_required};

#[login_required]
async fn index(context: Context) -> Html<String> {
    let name = escape_html(context.user.display_name());
    Html(format!(
        "Hello {name}! <a href=\"{}\">Sign out</a>",
        context.logout_url()
    ))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let port: u16 = std::env::var("PORT").map_or(Ok(5000), |port| port.parse())?;
    // In a real app, drop this line (and `mod local`) and write `let auth = Auth::from_env()?;`.
    let auth = local::auth_or_local("hello", port).await?;
    let app = Router::new()
        .route("/", get(index))
        .merge(identity_routes!(auth))
        .layer(auth.layer(MemoryStore::default()));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!("Listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
