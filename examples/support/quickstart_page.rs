//! The page of `examples/quickstart.rs`, shared with the browser tests that take its screenshot.

use axum::response::Html;
use axum_identity::{Context, escape_html};

/// The quickstart's signed-in page: the greeting, a sign-out link and the user's claims.
pub fn render(context: &Context) -> Html<String> {
    let claims = serde_json::to_string_pretty(context.user.claims()).unwrap_or_default();
    Html(format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Quickstart</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>pre {{ white-space: pre-wrap; overflow-wrap: anywhere; }} a {{ white-space: nowrap; }}</style></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 2rem auto; padding: 0 1rem">
<h1>Welcome {name}</h1>
<p><a id="logout" href="{logout}">Sign out</a></p>
<p>To call an API with the user's token, run <code>cargo run --example call_api</code>.</p>
<h2>Your claims</h2><pre>{claims}</pre>
</body></html>"#,
        name = escape_html(context.user.display_name()),
        logout = escape_html(context.logout_url()),
        claims = escape_html(&claims),
    ))
}
