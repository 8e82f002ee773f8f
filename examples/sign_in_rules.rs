//! Deciding who signs in: allow-lists, a sign-in hook that keeps data of the application's in
//! the session, and a page that needs a recent sign-in. Run it with
//! `cargo run --example sign_in_rules`, then open http://127.0.0.1:5000.
//!
//! - `/` requires sign-in and shows the user's claims (read as a struct of this example's) and
//!   what the hook added.
//! - `/recent` requires a sign-in of the last 5 seconds (`max_age = 5`): after that, the
//!   provider asks for the password again, and the page shows once it has.
//! - `ALLOWED_EMAIL_DOMAINS` (such as `example.test`, the local provider's addresses) and
//!   `ALLOWED_TENANTS` (Entra tenant ids), comma-separated, admit only those users; anyone else
//!   gets a 403 page and is not signed in.
//! - The hook gives every admitted user `"app_user": "<sub>-local"`, where an application
//!   would look the user up in its database.
//!
//! Configured like the quickstart (CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, AUTHORITY or
//! OIDC_AUTHORITY, from the environment or `.env`); with none of them set it starts the local
//! OpenID provider the tests use (any user name signs in, as `<name>@example.test`).

#[path = "support/local.rs"]
mod local;

use std::error::Error;

use axum::Router;
use axum::response::Html;
use axum::routing::get;
use axum_identity::tower_sessions::MemoryStore;
use axum_identity::{
    Auth, BoxError, Context, SignInDecision, SignInEvent, escape_html, login_required,
};
use serde::Deserialize;

/// The claims this application reads, as its own type: missing optional claims are `None`.
#[derive(Debug, Deserialize)]
struct Claims {
    sub: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    email: Option<String>,
    /// Entra's tenant id.
    #[serde(default)]
    tid: Option<String>,
}

/// Called once per sign-in, after the allow-lists: the place to look the user up.
async fn on_sign_in(event: SignInEvent) -> Result<SignInDecision, BoxError> {
    let local_id = format!("{}-local", event.user.subject());
    Ok(SignInDecision::allow().with_data("app_user", local_id))
}

#[login_required]
async fn index(context: Context) -> Html<String> {
    let claims = match context.user.claims_as::<Claims>() {
        Ok(claims) => format!(
            "<p>sub: {}<br>name: {}<br>email: {}<br>tenant: {}</p>",
            escape_html(&claims.sub),
            escape_html(claims.name.as_deref().unwrap_or("-")),
            escape_html(claims.email.as_deref().unwrap_or("-")),
            escape_html(claims.tid.as_deref().unwrap_or("-")),
        ),
        Err(error) => format!(
            "<p>Unexpected claims: {}</p>",
            escape_html(&error.to_string())
        ),
    };
    let app_user = context
        .user
        .app_data()
        .get("app_user")
        .and_then(|v| v.as_str())
        .unwrap_or("-");
    page(&format!(
        "<h1>Hello {}</h1>{claims}<p>app_user: <code>{}</code></p>\
         <p><a href=\"/recent\">A page that needs a recent sign-in</a> · \
         <a href=\"{}\">Sign out</a></p>",
        escape_html(context.user.display_name()),
        escape_html(app_user),
        escape_html(context.logout_url()),
    ))
}

#[login_required(max_age = 5)]
async fn recent(context: Context) -> Html<String> {
    page(&format!(
        "<h1>Recently signed in</h1><p>{} signed in within the last 5 seconds.</p>\
         <p><a href=\"/\">Home</a></p>",
        escape_html(context.user.display_name())
    ))
}

fn page(body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html><html lang=en><meta charset=utf-8><meta name=viewport content=\"width=device-width\">\
         <title>sign_in_rules</title><body style=\"font-family:system-ui;max-width:40rem;margin:2rem auto;padding:0 1rem\">{body}</body></html>"
    ))
}

/// A comma-separated list from the environment.
fn list(name: &str) -> Vec<String> {
    std::env::var(name)
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(str::to_owned)
        .collect()
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

    let mut _local_provider = None;
    let builder = if local::configured() {
        // `builder_from_env` reads ALLOWED_EMAIL_DOMAINS and ALLOWED_TENANTS itself.
        Auth::builder_from_env()
    } else {
        let (provider, builder) = local::provider(port, "sign-in-rules", true, "").await?;
        _local_provider = Some(provider);
        builder
            .allowed_email_domains(list("ALLOWED_EMAIL_DOMAINS"))
            .allowed_tenants(list("ALLOWED_TENANTS"))
    };
    let auth = builder
        .app_name("axum-identity sign_in_rules")
        .scopes(["email"])
        .on_sign_in(on_sign_in)
        .build()?;
    local::warm_up(&auth).await?;

    let app = Router::new()
        .route("/", get(index))
        .route("/recent", get(recent))
        .merge(auth.routes())
        .layer(auth.layer(MemoryStore::default()));
    local::log_registration(&auth);
    local::serve(app, port).await
}
