//! An application under test: a real axum server on a loopback port, with a real tower-sessions
//! store, signing in through a provider. Every test, example-like rig and the benchmark start
//! their apps with [`launch`]; [`mount`] is the one place that adds the library's routes and
//! layers to an app.
//!
//! ```ignore
//! let app = launch(routes).start().await; // the real provider, a web client, a memory store
//! let app = launch(routes)
//!     .provider_config(json!({"accessTokenTtl": 2}))
//!     .auth(|b| b.idle_timeout(Duration::from_secs(2)))
//!     .store(redis)
//!     .start()
//!     .await;
//! let app = launch(routes).issuer(&hostile.issuer).client("conformance-app", "secret").start().await;
//! let app = launch(routes).root("/app", Mount::Nested).start().await; // served at /app/...
//! ```

use axum::Router;
use axum::response::Html;
use axum_identity::{Auth, AuthBuilder, Context, escape_html, identity_routes, login_required};
use serde_json::{Value, json};
use tower_sessions::{MemoryStore, SessionManagerLayer, SessionStore};

use crate::provider::TestProvider;
use crate::proxy;

pub const CLIENT_ID: &str = "test-app";
pub const CLIENT_SECRET: &str = "test-app-secret:+%";

/// Adds the library to `routes`: its routes (login, callback, logout...), its layer and the
/// session layer over `session`. Every app of the tests is put together here.
pub fn mount<S, St>(routes: Router<S>, auth: &Auth, session: Session<St>) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    St: SessionStore + Clone,
{
    let routes = routes.merge(identity_routes!(auth));
    match session {
        Session::Library(store) => routes.layer(auth.layer(store)),
        Session::Custom(store, configure) => routes.layer(auth.layer_with(store, configure)),
    }
}

/// Where the sessions of an app live.
pub enum Session<St: SessionStore> {
    /// `auth.layer(store)`, as applications use it.
    Library(St),
    /// The session layer adjusted by the test (a control experiment).
    Custom(St, fn(SessionManagerLayer<St>) -> SessionManagerLayer<St>),
}

/// A running app. Dropping it stops accepting connections (connections already open are still
/// served until their client closes them: use a fresh client to reach a successor on the same
/// [`Slot`]).
pub struct TestApp {
    /// `http://<host>:<port>` (`127.0.0.1` unless [`Launch::host`] said otherwise).
    pub base: String,
    /// `http://127.0.0.1:<port>`: the same server, for clients that need the address (behind
    /// [`Mount::Proxied`], the app itself, without the proxy).
    pub loopback: String,
    /// The application root ([`Launch::root`]), `""` for none.
    pub root: String,
    pub auth: Auth,
    provider: Option<TestProvider>,
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
        self.url(&format!("{}/redirect", self.root))
    }

    /// The real provider this app started for itself (see [`Launch::start`]).
    pub fn provider(&self) -> &TestProvider {
        self.provider
            .as_ref()
            .expect("this app signs in with a provider the test started itself")
    }

    /// Stops the app and hands over its provider, e.g. to start another app with it.
    pub fn into_provider(mut self) -> Option<TestProvider> {
        self.provider.take()
    }
}

/// An address reserved for an app before its provider starts, so that the provider's client can
/// list the redirect URIs of several instances (one app behind a load balancer), or the app's
/// before the provider exists.
///
/// The slot keeps its listening socket open for as long as it lives: an app started
/// [`on`](Launch::on) it serves on a duplicate of it, so one instance can be stopped and another
/// started on the very same address (an app restart) without anyone else grabbing the port in
/// between.
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

    pub fn port(&self) -> u16 {
        self.listener.local_addr().unwrap().port()
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
/// every slot; `extra` is merged into its configuration like [`Launch::provider_config`].
pub async fn provider_for(slots: &[&Slot], extra: Value) -> TestProvider {
    let redirects: Vec<String> = slots.iter().map(|s| s.redirect_uri()).collect();
    let logouts: Vec<String> = slots.iter().map(|s| s.post_logout_uri()).collect();
    let redirects: Vec<&str> = redirects.iter().map(String::as_str).collect();
    let logouts: Vec<&str> = logouts.iter().map(String::as_str).collect();
    let client = TestProvider::web_client(CLIENT_ID, CLIENT_SECRET, &redirects, &logouts);
    start_provider(client, extra).await
}

async fn start_provider(client: Value, extra: Value) -> TestProvider {
    let mut config = json!({ "clients": [client] });
    if let Value::Object(extra) = extra {
        config.as_object_mut().unwrap().extend(extra);
    }
    TestProvider::start(config)
        .await
        .expect("the test provider starts")
}

/// Who the app signs in with.
enum Signer {
    /// The real provider, started for this app with a client for it.
    Local { config: Value },
    /// A provider at this issuer that the test runs itself (or not at all).
    Issuer(String),
    /// The [`Launch::auth`] adjustments name the authority.
    Configured,
}

type Adjust = Box<dyn FnOnce(AuthBuilder) -> AuthBuilder + Send>;
type Metadata = Box<dyn FnOnce(&str) -> Value + Send>;

/// How an app under an application root is reached (see [`Launch::root`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mount {
    /// `Router::new().nest(root, app)`: the app's own server serves the root.
    Nested,
    /// A reverse proxy ([`proxy::strip_prefix`]) serves the root and strips it; the app's
    /// server serves its routes at `/`. [`TestApp::base`] is the proxy's.
    Proxied,
}

/// How to start an app: see [`launch`].
pub struct Launch<S = (), St = MemoryStore> {
    routes: Router<S>,
    state: S,
    store: St,
    strict_cookie: bool,
    signer: Signer,
    client_id: String,
    client_secret: String,
    client_metadata: Option<Metadata>,
    device: bool,
    https_redirect: bool,
    host: String,
    slot: Option<(std::net::TcpListener, u16)>,
    root: Option<(String, Mount)>,
    auth: Vec<Adjust>,
}

/// A page for signed-in users only: `<h1>Welcome <name></h1>`, what the suites read to tell
/// that a sign-in landed.
#[login_required]
pub async fn welcome(context: Context) -> Html<String> {
    Html(format!(
        "<h1>Welcome {}</h1>",
        escape_html(context.user.display_name())
    ))
}

/// A page open to everyone that says who is signed in (`signed in as <sub>`) or `anonymous`:
/// what the suites read to tell a session from none.
pub async fn public(context: Option<Context>) -> String {
    match context {
        Some(context) => format!("signed in as {}", context.user.subject()),
        None => "anonymous".to_owned(),
    }
}

/// An app serving `routes` (plus the library's), to be adjusted and [started](Launch::start).
/// By default it signs in with the real provider, started for it with the confidential client
/// [`CLIENT_ID`], keeps its sessions in a [`MemoryStore`] and listens on an ephemeral port of
/// 127.0.0.1.
pub fn launch(routes: Router) -> Launch {
    launch_with_state(routes, ())
}

/// Like [`launch`] for a router with state: the library is added to the `Router<S>` and
/// `.with_state(state)` comes last, the usual layout of an app with state.
pub fn launch_with_state<S>(routes: Router<S>, state: S) -> Launch<S>
where
    S: Clone + Send + Sync + 'static,
{
    Launch {
        routes,
        state,
        store: MemoryStore::default(),
        strict_cookie: false,
        signer: Signer::Local { config: json!({}) },
        client_id: CLIENT_ID.to_owned(),
        client_secret: CLIENT_SECRET.to_owned(),
        client_metadata: None,
        device: false,
        https_redirect: false,
        host: "127.0.0.1".to_owned(),
        slot: None,
        root: None,
        auth: Vec::new(),
    }
}

impl<S, St> Launch<S, St>
where
    S: Clone + Send + Sync + 'static,
    St: SessionStore + Clone,
{
    /// Merged into the real provider's configuration (next to `clients`).
    pub fn provider_config(mut self, extra: Value) -> Self {
        if let (Signer::Local { config }, Value::Object(extra)) = (&mut self.signer, extra) {
            config.as_object_mut().unwrap().extend(extra);
        }
        self
    }

    /// Merged into the metadata of the app's client at the real provider; gets the app's base
    /// URL (e.g. for a `backchannel_logout_uri`).
    pub fn client_metadata(
        mut self,
        metadata: impl FnOnce(&str) -> Value + Send + 'static,
    ) -> Self {
        self.client_metadata = Some(Box::new(metadata));
        self
    }

    /// Signs in with the provider at `issuer`, which the test runs itself (or not at all).
    pub fn issuer(mut self, issuer: &str) -> Self {
        self.signer = Signer::Issuer(issuer.to_owned());
        self
    }

    /// The [`auth`](Self::auth) adjustments name the authority (and the HTTP client to reach
    /// it): no provider is started and no authority set here.
    pub fn configured_provider(mut self) -> Self {
        self.signer = Signer::Configured;
        self
    }

    /// The app's client id and secret (default [`CLIENT_ID`], [`CLIENT_SECRET`]); an empty
    /// secret configures none (the [`auth`](Self::auth) adjustments give a certificate).
    pub fn client(mut self, id: &str, secret: &str) -> Self {
        self.client_id = id.to_owned();
        self.client_secret = secret.to_owned();
        self
    }

    /// A public client without redirect URI or secret: the app signs in with the Device Code
    /// flow.
    pub fn device(mut self) -> Self {
        self.device = true;
        self
    }

    /// The redirect and post-logout URIs say `https` (the app itself still serves plain http:
    /// as behind a TLS-terminating proxy).
    pub fn https_redirect(mut self) -> Self {
        self.https_redirect = true;
        self
    }

    /// The host name of the app's URLs (default `127.0.0.1`; it always listens on 127.0.0.1).
    pub fn host(mut self, host: &str) -> Self {
        self.host = host.to_owned();
        self
    }

    /// Serves on `slot` (its address, its socket) instead of an ephemeral port.
    pub fn on(mut self, slot: &Slot) -> Self {
        let listener = slot
            .listener
            .try_clone()
            .expect("duplicate the slot's socket");
        self.slot = Some((listener, slot.port()));
        self
    }

    /// Serves the app under the application root `root` (such as `/app`), `mount`ed one way or
    /// the other: `Auth` has `application_root(root)`, and the redirect and post-logout URIs
    /// are under it.
    pub fn root(mut self, root: &str, mount: Mount) -> Self {
        self.root = Some((root.to_owned(), mount));
        self
    }

    /// Adjusts the `Auth` before it is built (after the defaults, so a setting given here wins).
    /// Several calls apply in order.
    pub fn auth(
        mut self,
        adjust: impl FnOnce(AuthBuilder) -> AuthBuilder + Send + 'static,
    ) -> Self {
        self.auth.push(Box::new(adjust));
        self
    }

    /// Keeps the sessions in `store`.
    pub fn store<T: SessionStore + Clone>(self, store: T) -> Launch<S, T> {
        Launch {
            routes: self.routes,
            state: self.state,
            store,
            strict_cookie: self.strict_cookie,
            signer: self.signer,
            client_id: self.client_id,
            client_secret: self.client_secret,
            client_metadata: self.client_metadata,
            device: self.device,
            https_redirect: self.https_redirect,
            host: self.host,
            slot: self.slot,
            root: self.root,
            auth: self.auth,
        }
    }

    /// Uses the library's session cookie settings but `SameSite=Strict`: the mistake the library
    /// avoids (a control experiment of the browser tests).
    pub fn strict_session_cookie(mut self) -> Self {
        self.strict_cookie = true;
        self
    }

    /// Starts the provider (unless the test runs its own) and the app.
    pub async fn start(self) -> TestApp {
        // The runtime logs why it refused something; a failing test shows it (`RUST_LOG` for more),
        // and `logs` finds the reason behind an error page.
        crate::logs::install();
        let listener = match self.slot {
            Some((listener, _)) => listener,
            None => {
                let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
                listener
                    .set_nonblocking(true)
                    .expect("non-blocking listener");
                listener
            }
        };
        let port = listener.local_addr().unwrap().port();
        let listener = tokio::net::TcpListener::from_std(listener).expect("a tokio listener");
        let (root, mounting) = self.root.unwrap_or((String::new(), Mount::Nested));
        let front = match (root.is_empty(), mounting) {
            (false, Mount::Proxied) => Some(
                tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .expect("bind the proxy"),
            ),
            _ => None,
        };
        // The port the browser uses: the proxy's, when there is one.
        let public = front
            .as_ref()
            .map_or(port, |front| front.local_addr().unwrap().port());
        let base = format!("http://{}:{public}", self.host);
        let scheme = if self.https_redirect { "https" } else { "http" };
        let redirect_uri = format!("{scheme}://{}:{public}{root}/redirect", self.host);
        let post_logout = format!("{scheme}://{}:{public}{root}/logout/done", self.host);

        let mut builder = Auth::builder()
            .client_id(&self.client_id)
            .app_name("Test app")
            .application_root(&root);
        if !self.device {
            builder = builder
                .client_secret(&self.client_secret)
                .redirect_uri(&redirect_uri);
        }
        let provider = match self.signer {
            Signer::Local { config } => {
                let mut client = if self.device {
                    TestProvider::device_client(&self.client_id)
                } else {
                    TestProvider::web_client(
                        &self.client_id,
                        &self.client_secret,
                        &[&redirect_uri],
                        &[&post_logout],
                    )
                };
                if self.client_secret.is_empty() {
                    // Authenticates otherwise (a certificate, the `auth` adjustments say).
                    client.as_object_mut().unwrap().remove("client_secret");
                }
                if let Some(metadata) = self.client_metadata
                    && let Value::Object(extra) = metadata(&base)
                {
                    client.as_object_mut().unwrap().extend(extra);
                }
                let provider = start_provider(client, config).await;
                builder = builder.oidc_authority(&provider.issuer);
                Some(provider)
            }
            Signer::Issuer(issuer) => {
                builder = builder.oidc_authority(issuer);
                None
            }
            Signer::Configured => None,
        };
        for adjust in self.auth {
            builder = adjust(builder);
        }
        let auth = builder.build().expect("valid test configuration");
        let session = if self.strict_cookie {
            Session::Custom(self.store, |sessions| {
                sessions.with_same_site(tower_sessions::cookie::SameSite::Strict)
            })
        } else {
            Session::Library(self.store)
        };
        let app = mount(self.routes, &auth, session);
        let app = match (root.is_empty(), mounting) {
            (false, Mount::Nested) => Router::new().nest(&root, app),
            _ => app,
        }
        .with_state(self.state);
        let loopback = format!("http://127.0.0.1:{port}");
        let front = front.map(|front| proxy::strip_prefix(front, root.clone(), loopback.clone()));
        let server = tokio::spawn(async move {
            let app = async { axum::serve(listener, app).await.expect("the app runs") };
            match front {
                Some(front) => _ = tokio::join!(app, front),
                None => app.await,
            }
        });
        TestApp {
            base,
            loopback,
            root,
            auth,
            provider,
            server,
        }
    }
}
