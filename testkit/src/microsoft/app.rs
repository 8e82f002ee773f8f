//! The app under test: a home page that shows the claims the tests look at, a page that needs
//! sign-in, and the launcher that points the app at the provider.

use axum::Router;
use axum::extract::Extension;
use axum::response::Html;
use axum::routing::get;
use axum_identity::{Auth, AuthBuilder, Context, escape_html, login_required};
use serde_json::Value;

use super::Microsoft;
use super::tenants::{CLIENT_ID, CLIENT_SECRET};
use crate::app::{TestApp, launch};

/// Works signed in or not. Signed in, one line per fact the tests look at, and the
/// edit-profile link when B2C's edit-profile flow is configured.
async fn home(context: Option<Context>, Extension(auth): Extension<Auth>) -> Html<String> {
    let Some(context) = context else {
        return Html("anonymous".into());
    };
    let claim = |name: &str| {
        context
            .user
            .claim(name)
            .and_then(Value::as_str)
            .unwrap_or("-")
            .to_owned()
    };
    let edit = auth
        .edit_profile_url("/")
        .map(|url| {
            format!(
                "\n<a id=\"edit-profile\" href=\"{}\">Edit profile</a>",
                escape_html(&url)
            )
        })
        .unwrap_or_default();
    Html(format!(
        "signed in as {}\nname: {}\ntid: {}\ntfp: {}\niss: {}{edit}",
        escape_html(context.user.subject()),
        escape_html(&claim("name")),
        escape_html(&claim("tid")),
        escape_html(&claim("tfp")),
        escape_html(&claim("iss")),
    ))
}

/// A page that needs sign-in.
#[login_required]
async fn profile(context: Context) -> Html<String> {
    Html(format!(
        "profile of {} ({})",
        escape_html(context.user.subject()),
        escape_html(
            context
                .user
                .claim("name")
                .and_then(Value::as_str)
                .unwrap_or("-")
        )
    ))
}

/// Starts an app that signs in as [`CLIENT_ID`] through `microsoft`'s HTTP client; `configure`
/// names the authority (and anything else).
pub async fn start_app(
    microsoft: &Microsoft,
    configure: impl FnOnce(AuthBuilder) -> AuthBuilder + Send + 'static,
) -> TestApp {
    start(microsoft, CLIENT_SECRET, configure).await
}

/// Like [`start_app`], with no client secret: `configure` gives the app its credential (a
/// certificate, a federated credential's assertion).
pub async fn start_app_without_secret(
    microsoft: &Microsoft,
    configure: impl FnOnce(AuthBuilder) -> AuthBuilder + Send + 'static,
) -> TestApp {
    start(microsoft, "", configure).await
}

async fn start(
    microsoft: &Microsoft,
    secret: &str,
    configure: impl FnOnce(AuthBuilder) -> AuthBuilder + Send + 'static,
) -> TestApp {
    let http = microsoft.http_client();
    let routes = Router::new()
        .route("/", get(home))
        .route("/profile", get(profile));
    launch(routes)
        .configured_provider()
        .client(CLIENT_ID, secret)
        .auth(move |b| configure(b.http_client(http).app_name("Microsoft-shaped")))
        .start()
        .await
}
