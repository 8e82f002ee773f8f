//! An application under test: a real axum server on an ephemeral loopback port, signed in
//! through a real [`TestProvider`], with a real tower-sessions store.

use axum::Router;
use axum_identity::{Auth, AuthBuilder, identity_routes};
use serde_json::{Value, json};
use tower_sessions::MemoryStore;

use crate::provider::TestProvider;

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
        Options {
            provider: json!({}),
            auth: Box::new(|b| b),
        }
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
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().unwrap());
    let redirect_uri = format!("{base}/redirect");
    let post_logout = format!("{base}/logout/done");
    let mut config = json!({
        "clients": [TestProvider::web_client(CLIENT_ID, CLIENT_SECRET, &[&redirect_uri], &[&post_logout])],
    });
    if let Value::Object(extra) = options.provider {
        config.as_object_mut().unwrap().extend(extra);
    }
    let provider = TestProvider::start(config)
        .await
        .expect("the test provider starts");
    let builder = Auth::builder()
        .client_id(CLIENT_ID)
        .client_secret(CLIENT_SECRET)
        .redirect_uri(&redirect_uri)
        .oidc_authority(&provider.issuer)
        .app_name("Test app");
    let auth = (options.auth)(builder)
        .build()
        .expect("valid test configuration");
    let app = routes
        .merge(identity_routes!(auth))
        .layer(auth.layer())
        .layer(auth.session_layer(store));
    let server = tokio::spawn(async move {
        axum::serve(listener, app).await.expect("server runs");
    });
    TestApp {
        base,
        provider,
        auth,
        server,
    }
}

/// An address reserved for an app instance before the provider starts, so that the provider's
/// client can list the redirect URIs of several instances (one app behind a load balancer).
///
/// The slot keeps its listening socket open for as long as it lives: an [`Instance`] serves on a
/// duplicate of it, so one instance can be stopped and another started on the very same address
/// (an app restart) without anyone else grabbing the port in between.
pub struct Slot {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    listener: std::net::TcpListener,
}

impl Slot {
    pub fn bind() -> Slot {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let base = format!("http://{}", listener.local_addr().unwrap());
        Slot { base, listener }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn redirect_uri(&self) -> String {
        self.url("/redirect")
    }

    pub fn post_logout_uri(&self) -> String {
        self.url("/logout/done")
    }
}

/// Starts a provider whose client [`CLIENT_ID`] lists the redirect and post-logout URIs of
/// every slot; `extra` is merged into its configuration like [`Options::provider`].
pub async fn provider_for(slots: &[&Slot], extra: Value) -> TestProvider {
    let redirects: Vec<String> = slots.iter().map(|s| s.redirect_uri()).collect();
    let logouts: Vec<String> = slots.iter().map(|s| s.post_logout_uri()).collect();
    let redirects: Vec<&str> = redirects.iter().map(String::as_str).collect();
    let logouts: Vec<&str> = logouts.iter().map(String::as_str).collect();
    let mut config = json!({
        "clients": [TestProvider::web_client(CLIENT_ID, CLIENT_SECRET, &redirects, &logouts)],
    });
    if let Value::Object(extra) = extra {
        config.as_object_mut().unwrap().extend(extra);
    }
    TestProvider::start(config)
        .await
        .expect("the test provider starts")
}

/// One app instance serving on a [`Slot`] and signing in with a provider it does not own.
/// Dropping it stops accepting connections (connections already open are still served until
/// their client closes them: use a fresh client to reach a successor on the same slot).
pub struct Instance {
    /// `http://127.0.0.1:<port>`, the slot's address.
    pub base: String,
    pub auth: Auth,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Instance {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

/// Serves `routes` plus `identity_routes!` on `slot` with `store`, signing in with `provider`
/// as [`CLIENT_ID`]; `auth` adjusts the `Auth` before it is built.
pub fn serve_instance<S>(
    slot: &Slot,
    provider: &TestProvider,
    routes: Router,
    auth: impl FnOnce(AuthBuilder) -> AuthBuilder,
    store: S,
) -> Instance
where
    S: tower_sessions::SessionStore + Clone,
{
    let listener = slot
        .listener
        .try_clone()
        .expect("duplicate the slot's socket");
    let listener = tokio::net::TcpListener::from_std(listener).expect("a tokio listener");
    let builder = Auth::builder()
        .client_id(CLIENT_ID)
        .client_secret(CLIENT_SECRET)
        .redirect_uri(slot.redirect_uri())
        .oidc_authority(&provider.issuer)
        .app_name("Test app");
    let auth = auth(builder).build().expect("valid test configuration");
    let app = routes
        .merge(identity_routes!(auth))
        .layer(auth.layer())
        .layer(auth.session_layer(store));
    let server = tokio::spawn(async move {
        axum::serve(listener, app).await.expect("server runs");
    });
    Instance {
        base: slot.base.clone(),
        auth,
        server,
    }
}
