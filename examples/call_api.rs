//! Calling an API on the user's behalf, like the Python sample's `/call_api`.
//!
//! ```bash
//! CLIENT_ID=... CLIENT_SECRET=... REDIRECT_URI=http://localhost:5000/redirect \
//! AUTHORITY=https://login.microsoftonline.com/<tenant> \
//! SCOPE="User.Read" ENDPOINT=https://graph.microsoft.com/v1.0/me \
//! cargo run --example call_api
//! ```
//!
//! SCOPE (space separated) is read at run time, as in the Python sample, so this example uses a
//! small extractor around [`require_sign_in`]; when the scopes are known at compile time,
//! `#[login_required(scopes = ["User.Read"])]` on the handler does the same. Without SCOPE the
//! page says what to set. With nothing configured, it signs in against the local test provider
//! with SCOPE=api.read, and calls ENDPOINT only if you set one.
//!
//! The call goes through [`DownstreamApi`]: it attaches the user's token for SCOPE, sends the
//! user through sign-in again (and back here) when the API answers with a claims challenge,
//! replaces a token the API refuses as `invalid_token` once, and keeps the status of any other
//! failure.

#[path = "support/local.rs"]
mod local;

use std::error::Error;
use std::time::Duration;

use axum::Router;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum_identity::tower_sessions::MemoryStore;
use axum_identity::{
    Context, DownstreamApi, DownstreamError, LoginRejection, escape_html, identity_routes,
    login_required, require_sign_in,
};

#[derive(Clone)]
struct AppState {
    scopes: Vec<String>,
    /// ENDPOINT (its base URL, and its query if it has one), called with a token for SCOPE.
    api: Option<(DownstreamApi, String)>,
}

/// A `Context` with an access token for SCOPE.
struct ApiContext(Context);

impl FromRequestParts<AppState> for ApiContext {
    type Rejection = LoginRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, LoginRejection> {
        let scopes: Vec<&str> = state.scopes.iter().map(String::as_str).collect();
        require_sign_in(parts, &scopes).await.map(ApiContext)
    }
}

#[login_required]
async fn index(context: Context) -> Html<String> {
    page(&format!(
        "<h1>Welcome {}</h1><p><a href=\"/call_api\">Call the API</a> · <a href=\"{}\">Sign out</a></p>",
        escape_html(context.user.display_name()),
        escape_html(context.logout_url())
    ))
}

/// Without SCOPE there is no token to ask for: say what to set instead of failing.
#[login_required]
async fn call_api(context: Context) -> Html<String> {
    page(&format!(
        "<p>{}, set SCOPE (the API's scopes, space separated) and ENDPOINT (its URL) to call an API.</p>",
        escape_html(context.user.display_name())
    ))
}

async fn call_api_with_token(
    State(state): State<AppState>,
    ApiContext(context): ApiContext,
) -> Response {
    let summary = format!(
        "<p>A {} token for <code>{}</code>, valid for {} more seconds.</p>",
        escape_html(&context.token_type),
        escape_html(&context.scopes.join(" ")),
        context.expires_in
    );
    let Some((api, query)) = &state.api else {
        return page(&format!(
            "{summary}<p>Set ENDPOINT to call an API with it.</p><p><a href=\"/\">Back</a></p>"
        ))
        .into_response();
    };
    let endpoint = api.base_url();
    let shown = match api.get(&context, query).send().await {
        Ok(response) => {
            let status = response.status();
            let text = api.text(response).await.unwrap_or_default();
            let pretty = serde_json::from_str::<serde_json::Value>(&text)
                .ok()
                .and_then(|json| serde_json::to_string_pretty(&json).ok())
                .unwrap_or(text);
            format!(
                "<p>{} answered {status}:</p><pre>{}</pre>",
                escape_html(endpoint),
                escape_html(&pretty)
            )
        }
        // The API wants more claims (or the grant is gone): sign in again, back to this page.
        Err(DownstreamError::SignIn(challenge)) => return challenge.into_response(),
        Err(DownstreamError::Status { status, body, .. }) => format!(
            "<p>{} answered {status}:</p><pre>{}</pre>",
            escape_html(endpoint),
            escape_html(&body)
        ),
        Err(error) => format!(
            "<p>Calling {} failed: {}</p>",
            escape_html(endpoint),
            escape_html(&error.to_string())
        ),
    };
    page(&format!("{summary}{shown}<p><a href=\"/\">Back</a></p>")).into_response()
}

fn page(body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html><html lang=en><meta charset=utf-8><meta name=viewport content=\"width=device-width\">\
         <title>call_api</title><body style=\"font-family:system-ui;max-width:40rem;margin:2rem auto;padding:0 1rem\">{body}</body></html>"
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
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());

    // The local provider knows the scope `api.read`; yours has its own (SCOPE).
    let default_scope = (!local::configured()).then_some("api.read");
    // The local provider when nothing is configured; in a real app: `Auth::builder_from_env()`.
    let builder = local::builder_or_local("call-api", port).await?;
    let auth = builder.app_name("axum-identity call_api").build()?;
    local::warm_up(&auth).await?;
    let scopes: Vec<String> = var("SCOPE")
        .or(default_scope.map(str::to_owned))
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    let api = match var("ENDPOINT") {
        Some(endpoint) if !scopes.is_empty() => {
            // A query stays a query of the call; the rest is the API's base URL.
            let base = endpoint.split('?').next().unwrap_or_default();
            let api = DownstreamApi::new(base, scopes.iter().map(String::as_str))?
                .with_http_client(
                    reqwest::Client::builder()
                        .redirect(reqwest::redirect::Policy::none())
                        .timeout(Duration::from_secs(10))
                        .build()?,
                );
            Some((api, endpoint[base.len()..].to_owned()))
        }
        _ => None,
    };
    let state = AppState {
        api,
        scopes: scopes.clone(),
    };
    let api_route = if scopes.is_empty() {
        get(call_api)
    } else {
        get(call_api_with_token)
    };
    let app = Router::new()
        .route("/", get(index))
        .route("/call_api", api_route)
        .with_state(state)
        .merge(identity_routes!(auth))
        .layer(auth.layer(MemoryStore::default()));
    local::log_registration(&auth);
    local::serve(app, port).await
}
