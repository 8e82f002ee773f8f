//! Pages from templates (minijinja): the signed-in user's name and a sign-out button. Run it
//! with `cargo run --example templates`, then open http://127.0.0.1:5000.
//!
//! Configured like the quickstart (CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, AUTHORITY or
//! OIDC_AUTHORITY, from the environment or `.env`); with none of them set it starts the local
//! OpenID provider the tests use (any user name signs in).
//!
//! Templates named `*.html` escape what they print, so claims such as the user's name are
//! safe to show as they are. Sign-out is a `POST` to `context.logout_url()`: the logout route
//! takes `GET` (a link) and `POST` (a button) alike.

#[path = "support/local.rs"]
mod local;

use std::error::Error;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Html;
use axum::routing::get;
use axum_identity::tower_sessions::MemoryStore;
use axum_identity::{Context, login_required};
use minijinja::{Environment, context};

const LAYOUT: &str = r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{% block title %}{% endblock %} · {{ app_name }}</title>
<style>body { font-family: system-ui, sans-serif; max-width: 40rem; margin: 2rem auto; padding: 0 1rem }</style>
</head>
<body>{% block body %}{% endblock %}</body>
</html>"#;

const INDEX: &str = r#"{% extends "layout.html" %}
{% block title %}Welcome{% endblock %}
{% block body %}
<h1>Welcome {{ user.display_name }}</h1>
{% if user.email %}<p>You signed in as {{ user.email }}.</p>{% endif %}
<form method="post" action="{{ logout_url }}">
  <button type="submit" id="sign-out">Sign out</button>
</form>
{% endblock %}"#;

#[derive(Clone)]
struct AppState {
    templates: Arc<Environment<'static>>,
    app_name: &'static str,
}

#[login_required]
async fn index(
    State(state): State<AppState>,
    context: Context,
) -> Result<Html<String>, StatusCode> {
    let page = state
        .templates
        .get_template("index.html")
        .and_then(|template| {
            template.render(context! {
                app_name => state.app_name,
                logout_url => context.logout_url(),
                user => context! {
                    display_name => context.user.display_name(),
                    email => context.user.email(),
                },
            })
        })
        .map_err(|error| {
            tracing::error!(%error, "rendering index.html");
            StatusCode::INTERNAL_SERVER_ERROR
        })?;
    Ok(Html(page))
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
    let app_name = "axum-identity templates";

    // The local provider when nothing is configured; in a real app: `Auth::builder_from_env()`.
    let auth = local::builder_or_local("templates", port)
        .await?
        .app_name(app_name)
        .build()?;
    local::warm_up(&auth).await?;

    let mut templates = Environment::new();
    templates.add_template("layout.html", LAYOUT)?;
    templates.add_template("index.html", INDEX)?;
    let state = AppState {
        templates: Arc::new(templates),
        app_name,
    };

    let app = Router::new()
        .route("/", get(index))
        .with_state(state)
        .merge(auth.routes())
        .layer(auth.layer(MemoryStore::default()));
    local::log_registration(&auth);
    local::serve(app, port).await
}
