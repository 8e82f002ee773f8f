//! An application under test: a real axum server on an ephemeral loopback port, signed in
//! through a real [`TestProvider`], with a real tower-sessions store.

use axum::Router;
use axum_identity::{Auth, AuthBuilder, identity_routes};
use serde_json::{Value, json};
use tower_sessions::MemoryStore;

use super::provider::TestProvider;

pub const CLIENT_ID: &str = "test-app";
pub const CLIENT_SECRET: &str = "test-app-secret:+%";

/// A running app and the provider it signs in with.
pub struct TestApp {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    pub provider: TestProvider,
    pub auth: Auth,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn redirect_uri(&self) -> String {
        self.url("/redirect")
    }
}

/// Options for [`start`].
pub struct Options {
    /// Merged into the provider's configuration (next to `clients`).
    pub provider: Value,
    /// Adjusts the `Auth` before it is built.
    pub auth: Box<dyn FnOnce(AuthBuilder) -> AuthBuilder + Send>,
}

impl Default for Options {
    fn default() -> Self {
        Options { provider: json!({}), auth: Box::new(|b| b) }
    }
}

/// Starts the provider and an app serving `routes` plus `identity_routes!`, with the memory
/// store.
pub async fn start(routes: Router, options: Options) -> TestApp {
    start_with_store(routes, options, MemoryStore::default()).await
}

/// Like [`start`] with another session store.
pub async fn start_with_store<S>(routes: Router, options: Options, store: S) -> TestApp
where
    S: tower_sessions::SessionStore + Clone,
{
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().unwrap());
    let redirect_uri = format!("{base}/redirect");
    let post_logout = format!("{base}/logout/done");
    let mut config = json!({
        "clients": [TestProvider::web_client(CLIENT_ID, CLIENT_SECRET, &[&redirect_uri], &[&post_logout])],
    });
    if let Value::Object(extra) = options.provider {
        config.as_object_mut().unwrap().extend(extra);
    }
    let provider = TestProvider::start(config).await.expect("the test provider starts");
    let builder = Auth::builder()
        .client_id(CLIENT_ID)
        .client_secret(CLIENT_SECRET)
        .redirect_uri(&redirect_uri)
        .oidc_authority(&provider.issuer)
        .app_name("Test app");
    let auth = (options.auth)(builder).build().expect("valid test configuration");
    let app = routes
        .merge(identity_routes!(auth))
        .layer(auth.layer())
        .layer(auth.session_layer(store));
    let server = tokio::spawn(async move {
        axum::serve(listener, app).await.expect("server runs");
    });
    TestApp { base, provider, auth, server }
}
