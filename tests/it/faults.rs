//! Failing closed: an unreachable or slow provider and a failing session store give 503 pages
//! (never a 500, never anonymous access), and everything recovers by itself.

use axum_identity_testkit as support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get;
use axum_identity::{Context, login_required};
use reqwest::StatusCode;
use serde_json::json;
use support::app::{CLIENT_ID, CLIENT_SECRET, Slot, launch};
use support::browser::Browser;
use support::provider::TestProvider;
use tower_sessions::MemoryStore;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, SessionStore};

#[login_required]
async fn index(context: Context) -> String {
    format!("hello {}", context.user.subject())
}

async fn public() -> &'static str {
    "public"
}

fn routes() -> Router {
    Router::new()
        .route("/", get(index))
        .route("/public", get(public))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn an_unreachable_provider_gives_503_with_retry_after_then_recovers() {
    let port = free_port();
    let issuer = format!("http://127.0.0.1:{port}");
    let slot = Slot::bind();
    let redirect_uri = slot.redirect_uri();
    // The app starts without its provider.
    let app = launch(routes()).issuer(&issuer).on(&slot).start().await;
    let base = app.base.clone();

    let browser = Browser::new();
    let page = browser.get(format!("{base}/")).await;
    assert_eq!(
        page.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        page.body
    );
    assert!(page.header("retry-after").is_some());
    assert!(page.body.contains("cannot be reached"));
    assert_eq!(browser.get(format!("{base}/public")).await.body, "public");

    // The provider comes up: after the short back-off, sign-in works without a restart.
    let provider = TestProvider::start(json!({
        "port": port,
        "clients": [TestProvider::web_client(CLIENT_ID, CLIENT_SECRET, &[&redirect_uri], &[])],
    }))
    .await
    .unwrap();
    assert_eq!(provider.issuer, issuer);
    tokio::time::sleep(Duration::from_secs(6)).await;
    let page = browser
        .sign_in(browser.get(format!("{base}/")).await, "back")
        .await;
    assert_eq!(page.body, "hello back");
}

#[tokio::test]
async fn a_provider_that_never_answers_times_out_without_blocking_other_requests() {
    // Accepts connections and never answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let issuer = format!("http://{}", silent.local_addr().unwrap());
    let app = launch(routes())
        .issuer(&issuer)
        .auth(|b| {
            b.redirect_uri("http://127.0.0.1:9/redirect")
                .http_timeout(Duration::from_secs(1))
        })
        .start()
        .await;
    let base = app.base.clone();
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();

    let started = Instant::now();
    let login = tokio::spawn({
        let client = client.clone();
        let url = format!("{base}/login");
        async move { client.get(url).send().await.unwrap() }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    // While the sign-in waits on the provider, the app keeps serving.
    let quick = Instant::now();
    assert_eq!(
        client
            .get(format!("{base}/public"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "public"
    );
    assert!(
        quick.elapsed() < Duration::from_millis(500),
        "the runtime was blocked"
    );
    let response = login.await.unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(response.headers().contains_key("retry-after"));
    let elapsed = started.elapsed();
    assert!(
        elapsed < Duration::from_secs(4),
        "the timeout did not fire: {elapsed:?}"
    );
    drop(silent);
}

/// A real memory store that can be switched off, like a Redis that went away.
#[derive(Debug, Clone, Default)]
struct SwitchableStore {
    inner: MemoryStore,
    down: Arc<AtomicBool>,
}

impl SwitchableStore {
    fn check(&self) -> session_store::Result<()> {
        if self.down.load(Ordering::SeqCst) {
            Err(session_store::Error::Backend("connection refused".into()))
        } else {
            Ok(())
        }
    }
}

#[async_trait::async_trait]
impl SessionStore for SwitchableStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        self.check()?;
        self.inner.create(record).await
    }
    async fn save(&self, record: &Record) -> session_store::Result<()> {
        self.check()?;
        self.inner.save(record).await
    }
    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        self.check()?;
        self.inner.load(id).await
    }
    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        self.check()?;
        self.inner.delete(id).await
    }
}

#[tokio::test]
async fn a_failing_session_store_gives_503_and_never_lets_anyone_in() {
    let store = SwitchableStore::default();
    let app = launch(routes()).store(store.clone()).start().await;
    let browser = Browser::new();
    let page = browser
        .sign_in(browser.get(app.url("/")).await, "alice")
        .await;
    assert_eq!(page.body, "hello alice");

    store.down.store(true, Ordering::SeqCst);
    for path in ["/", "/login"] {
        let page = browser.get_no_follow(app.url(path)).await;
        assert_eq!(
            page.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{path}: {}",
            page.body
        );
        assert!(page.header("retry-after").is_some(), "{path}");
    }
    let stranger = Browser::new();
    let page = stranger.get_no_follow(app.url("/login")).await;
    assert_eq!(
        page.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        page.body
    );
    let api = stranger.api_get(app.url("/")).await;
    assert_ne!(api.status(), StatusCode::OK);

    store.down.store(false, Ordering::SeqCst);
    let page = browser.get(app.url("/")).await;
    assert_eq!(page.body, "hello alice", "the session survived the outage");
}

#[tokio::test]
async fn logout_with_the_store_down_expires_the_cookie_and_says_sign_out_is_incomplete() {
    let store = SwitchableStore::default();
    let app = launch(routes()).store(store.clone()).start().await;
    let browser = Browser::new();
    let page = browser
        .sign_in(browser.get(app.url("/")).await, "alice")
        .await;
    assert_eq!(page.body, "hello alice");

    store.down.store(true, Ordering::SeqCst);
    let page = browser.get_no_follow(app.url("/logout")).await;
    assert_eq!(
        page.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        page.body
    );
    assert!(page.body.contains("Sign-out incomplete"), "{}", page.body);
    assert!(!page.body.contains("You have signed out"), "{}", page.body);
    let expired = page
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|c| c.starts_with("identity.sid=") && c.contains("Max-Age=0"));
    assert!(expired, "the cookie is expired: {:?}", page.headers);
    store.down.store(false, Ordering::SeqCst);
    assert_eq!(
        browser.get_no_follow(app.url("/")).await.status,
        StatusCode::SEE_OTHER,
        "this browser is signed out"
    );
}
