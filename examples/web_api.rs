//! A web API that accepts bearer access tokens, like Microsoft's Python web API sample:
//! `GET /` is open and says what this is; `GET /resource` needs a valid token with SCOPE and
//! answers with the token's claims.
//!
//! ```bash
//! CLIENT_ID=<the API's application id> AUTHORITY=https://login.microsoftonline.com/<tenant> \
//! SCOPE=access_as_user cargo run --example web_api
//! ```
//!
//! PORT (default 5000), CLIENT_ID, AUTHORITY or OIDC_AUTHORITY, AUDIENCE (more accepted
//! audiences, comma-separated, optional), RESOURCE (the API's https URL, optional: with it the
//! API serves its RFC 9728 metadata at `/.well-known/oauth-protected-resource` and accepts
//! tokens for that resource) and SCOPE (required delegated scopes, space separated, default
//! `api.read`) come from the environment or a `.env` file. With no provider configured, it
//! starts the local OpenID provider the tests use, with this API as a resource server
//! (`api://web-api`), and prints how to get a token for it: an app-only one with curl, or a
//! user's through `examples/call_api.rs` with this API as its ENDPOINT.

#[path = "support/local.rs"]
#[allow(dead_code)]
mod local;

use std::error::Error;
use std::sync::Arc;

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use axum_identity::{ApiAuth, ApiContext, ApiRejection};
use serde_json::{Value, json};

/// The scopes `/resource` requires, read at run time (SCOPE).
#[derive(Clone)]
struct Required(Arc<Vec<String>>);

async fn index() -> Json<Value> {
    Json(json!({
        "message": "axum-identity web API example: GET /resource with `Authorization: Bearer <token>`",
    }))
}

async fn resource(
    State(required): State<Required>,
    context: ApiContext,
) -> Result<Json<Value>, ApiRejection> {
    let scopes: Vec<&str> = required.0.iter().map(String::as_str).collect();
    context.require_scopes(&scopes)?;
    let claims = &context.claims;
    Ok(Json(json!({
        "sub": claims.subject(),
        "oid": claims.object_id(),
        "tid": claims.tenant_id(),
        "client": claims.client_id(),
        "scopes": claims.scopes(),
        "roles": claims.roles(),
        "app_only": claims.is_app_only(),
        "claims": claims.claims(),
    })))
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    local::exit_code(run().await)
}

async fn run() -> Result<(), Box<dyn Error>> {
    tracing_subscriber::fmt().with_env_filter("info").init();
    dotenvy::dotenv().ok();
    let port = local::port();
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let scopes: Vec<String> = var("SCOPE")
        .unwrap_or_else(|| "api.read".to_owned())
        .split_whitespace()
        .map(str::to_owned)
        .collect();

    let api = if local::configured() {
        ApiAuth::from_env()?
    } else {
        // Nothing configured: the local provider (drop this branch in a real API).
        local::web_api(port, &scopes).await?
    };
    // Reports a misconfigured provider now rather than at the first request.
    match api.warm_up().await {
        Ok(()) => {}
        // A wrong authority stops the API now rather than at the first request.
        Err(error @ axum_identity::Error::Config(_)) => return Err(error.into()),
        Err(error) => eprintln!("warning: the provider's keys could not be fetched yet: {error}"),
    }
    println!(
        "Protecting /resource for {} with the scopes {scopes:?}",
        api.audiences().join(", ")
    );
    let mut app = Router::new()
        .route("/", get(index))
        .route("/resource", get(resource))
        .with_state(Required(Arc::new(scopes)))
        .layer(api.layer());
    if let Some(url) = api.resource_metadata_url() {
        println!("Serving the protected-resource metadata at {url}");
        app = app.merge(api.metadata_routes());
    }
    local::serve(app, port).await
}
