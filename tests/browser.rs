//! A real browser signs in: Debian's Chromium, headless, driven over WebDriver (`chromedriver`)
//! against the real library and the real OpenID provider.
//!
//! The cookie-keeping client of `support::browser` ignores what browsers enforce: `SameSite`,
//! `Secure`, history, tabs. These tests use the browser people use. The app is served as
//! `http://localhost:<port>` while the provider is `http://127.0.0.1:<port>`: two different
//! *sites* (cookies ignore ports, so two loopback ports on one host would be same-site and hide
//! a `SameSite=Strict` bug), as an app and its identity provider are in real life.
//!
//! Needs `/usr/bin/chromium` and `/usr/bin/chromedriver` (Debian's `chromium` and
//! `chromium-driver`; `scripts/test.sh` installs them). Without them every test here fails and
//! says so. `UPDATE_SCREENSHOTS=1 cargo test --test browser` also writes the screenshots under
//! `docs/screenshots/`; ordinary runs write them under the target directory only.
//!
//! The Device Code page is covered by its own test below.

use axum_identity_testkit as support;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::http::Method;
use axum::response::Html;
use axum::routing::get;
use axum_identity::{Context, login_required};
use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use support::app::{TestApp, launch};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CLIENT_ID: &str = "quickstart";
const CLIENT_SECRET: &str = "quickstart-secret";
const APP_NAME: &str = "axum-identity quickstart";
/// How long a page may take to appear.
const WAIT: Duration = Duration::from_secs(20);
const PHONE: Viewport = Viewport {
    name: "phone",
    width: 390,
    height: 844,
    mobile: true,
    dark: false,
};
const PHONE_DARK: Viewport = Viewport {
    name: "phone-dark",
    dark: true,
    ..PHONE
};
const DESKTOP: Viewport = Viewport {
    name: "desktop",
    width: 1280,
    height: 800,
    mobile: false,
    dark: false,
};

// ---------------------------------------------------------------------------------------------
// The app: the quickstart's page, the library's routes, the real provider.

#[path = "../examples/support/quickstart_page.rs"]
mod quickstart_page;

/// The page of `examples/quickstart.rs`.
#[login_required]
async fn index(context: Context) -> Html<String> {
    quickstart_page::render(&context)
}

#[derive(Clone, Copy, PartialEq)]
enum SessionCookie {
    /// `auth.layer(..)`, as applications use it.
    Library,
    /// The same layer with `SameSite=Strict`: the mistake the library avoids (control experiment).
    Strict,
}

struct SiteOptions {
    cookie: SessionCookie,
    /// Configure `https://localhost:<port>/redirect` as the redirect URI (the app itself still
    /// serves plain http: enough to see the cookie it sets, not to sign in).
    https_redirect: bool,
    /// No redirect URI: the Device Code flow, with a public client.
    device: bool,
    /// More settings of the provider (see `tests/provider/server.mjs`).
    provider: Value,
}

impl Default for SiteOptions {
    fn default() -> Self {
        SiteOptions {
            cookie: SessionCookie::Library,
            https_redirect: false,
            device: false,
            provider: json!({}),
        }
    }
}

/// The app on `http://localhost:<port>` (and `loopback`, `http://127.0.0.1:<port>`, the same
/// server for plain HTTP clients) and its provider on `http://127.0.0.1:<port>`.
async fn start_site(options: SiteOptions) -> TestApp {
    let mut launch = launch(Router::new().route("/", get(index)))
        .host("localhost")
        .client(CLIENT_ID, CLIENT_SECRET)
        .provider_config(options.provider)
        .auth(|b| b.app_name(APP_NAME));
    if options.https_redirect {
        launch = launch.https_redirect();
    }
    if options.device {
        launch = launch.device();
    }
    if options.cookie == SessionCookie::Strict {
        launch = launch.strict_session_cookie();
    }
    launch.start().await
}

// ---------------------------------------------------------------------------------------------
// The browser.

/// Fails (never skips) when the browser is missing, saying what is missing and how to get it.
fn require_browser() {
    let missing: Vec<&str> = [CHROMIUM, CHROMEDRIVER]
        .into_iter()
        .filter(|p| !Path::new(p).exists())
        .collect();
    assert!(
        missing.is_empty(),
        "the browser tests need {} (missing). `bash scripts/test.sh` installs them \
         (`apt-get update && apt-get install -y chromium chromium-driver`, Debian's packages); \
         on another system install Chromium and a matching chromedriver at those paths",
        missing.join(" and "),
    );
}

/// Headless Chromium with a fresh profile, driven through its own `chromedriver` on a loopback
/// port. Dropping it kills both (they run in a process group of their own).
struct Chrome {
    client: Client,
    driver: tokio::process::Child,
    profile: PathBuf,
}

impl Drop for Chrome {
    fn drop(&mut self) {
        if let Some(pid) = self.driver.id() {
            // chromedriver leads the group; Chromium and its helpers are in it too.
            let _ = std::process::Command::new("kill")
                .args(["-KILL", "--", &format!("-{pid}")])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// A WebDriver command fantoccini has no method for: `POST <session>/<path>` with `body`.
#[derive(Debug)]
struct SessionPost {
    path: &'static str,
    body: Value,
}

impl WebDriverCompatibleCommand for SessionPost {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!(
            "session/{}/{}",
            session.unwrap_or_default(),
            self.path
        ))
    }

    fn method_and_body(&self, _url: &url::Url) -> (Method, Option<String>) {
        (Method::POST, Some(self.body.to_string()))
    }
}

#[derive(Clone, Copy)]
struct Viewport {
    name: &'static str,
    width: u32,
    height: u32,
    mobile: bool,
    /// `prefers-color-scheme: dark`.
    dark: bool,
}

impl Chrome {
    async fn start() -> Chrome {
        require_browser();
        static COUNT: AtomicUsize = AtomicUsize::new(0);
        let profile = support::scratch_dir("chromium").join(format!(
            "{}-{}",
            std::process::id(),
            COUNT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&profile);
        std::fs::create_dir_all(&profile).expect("create the browser profile directory");
        let log = profile.with_extension("chromedriver.log");

        let mut last_error = String::new();
        for _attempt in 0..3 {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let mut driver = tokio::process::Command::new(CHROMEDRIVER)
                .arg(format!("--port={port}"))
                .arg(format!("--log-path={}", log.display()))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .process_group(0)
                .kill_on_drop(true)
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {CHROMEDRIVER}: {e}"));
            let webdriver = format!("http://127.0.0.1:{port}");
            if !wait_for_driver(&webdriver, &mut driver).await {
                last_error = format!("chromedriver did not answer on {webdriver}");
                let _ = driver.kill().await;
                continue;
            }
            let capabilities = json!({
                "browserName": "chrome",
                "goog:chromeOptions": {
                    "binary": CHROMIUM,
                    "args": [
                        "--headless=new", "--no-sandbox", "--disable-gpu",
                        "--disable-background-networking", "--disable-component-update",
                        "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
                        "--disable-default-apps", "--disable-extensions", "--no-default-browser-check",
                        "--hide-scrollbars", "--window-size=1280,800",
                        format!("--user-data-dir={}", profile.display()),
                    ],
                    // The network part of the DevTools log: which requests carried which cookies
                    // and which redirects the browser followed.
                    "perfLoggingPrefs": { "enableNetwork": true, "enablePage": false },
                },
                "goog:loggingPrefs": { "performance": "ALL" },
            });
            let Value::Object(capabilities) = capabilities else {
                unreachable!()
            };
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(connector)
                .capabilities(capabilities)
                .connect(&webdriver)
                .await
            {
                Ok(client) => {
                    return Chrome {
                        client,
                        driver,
                        profile,
                    };
                }
                Err(e) => {
                    last_error = format!(
                        "chromedriver could not start {CHROMIUM}: {e}\n--- chromedriver log (tail) ---\n{}",
                        tail(&log)
                    );
                    let _ = driver.kill().await;
                }
            }
        }
        panic!("{last_error}");
    }

    /// Closes the browser (chromedriver ends Chromium); `Drop` cleans up after a panic.
    async fn quit(self) {
        let _ = self.client.clone().close().await;
    }

    async fn goto(&self, url: &str) {
        self.client
            .goto(url)
            .await
            .unwrap_or_else(|e| panic!("navigate to {url}: {e}"));
    }

    async fn url(&self) -> String {
        self.client
            .current_url()
            .await
            .expect("current URL")
            .to_string()
    }

    async fn text(&self) -> String {
        match self.client.find(Locator::Css("body")).await {
            Ok(body) => body.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        }
    }

    async fn title(&self) -> String {
        self.client.title().await.unwrap_or_default()
    }

    /// Waits until the address starts with `prefix` and the page has loaded.
    async fn wait_for_url(&self, prefix: &str) {
        let deadline = Instant::now() + WAIT;
        loop {
            let url = self
                .client
                .current_url()
                .await
                .map(|u| u.to_string())
                .unwrap_or_default();
            if url.starts_with(prefix) && self.loaded().await {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "waited {WAIT:?} for a page under {prefix}; the browser shows {url}:\n{}",
                self.text().await
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits for an element matching the CSS `selector`.
    async fn wait_for_element(&self, selector: &str) -> fantoccini::elements::Element {
        match self
            .client
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css(selector))
            .await
        {
            Ok(element) => element,
            Err(e) => panic!(
                "no `{selector}` ({e}) at {}:\n{}",
                self.url().await,
                self.text().await
            ),
        }
    }

    async fn loaded(&self) -> bool {
        matches!(self.client.execute("return document.readyState", vec![]).await, Ok(Value::String(s)) if s == "complete")
    }

    /// On the provider's sign-in page: types the user name and a password, submits, allows the
    /// consent page if one comes, and waits until the browser is back under `app_base`.
    async fn sign_in(&self, user: &str, app_base: &str) {
        let form = self.wait_for_element("form#login-form").await;
        form.find(Locator::Css("input[name=login]"))
            .await
            .unwrap()
            .send_keys(user)
            .await
            .unwrap();
        form.find(Locator::Css("input[name=password]"))
            .await
            .unwrap()
            .send_keys("password")
            .await
            .unwrap();
        form.find(Locator::Css("button[type=submit]"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();

        let deadline = Instant::now() + WAIT;
        let mut consented = Vec::new();
        loop {
            let url = self.url().await;
            if url.starts_with(app_base) && self.loaded().await {
                return;
            }
            if !consented.contains(&url)
                && let Ok(button) = self
                    .client
                    .find(Locator::Css("form#consent-form button[type=submit]"))
                    .await
            {
                consented.push(url.clone());
                let _ = button.click().await;
                continue;
            }
            assert!(
                Instant::now() < deadline,
                "sign-in did not come back to {app_base}; the browser shows {url}:\n{}",
                self.text().await
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The network events Chromium logged since the last call (DevTools `Network.*`), as
    /// (method, params).
    async fn network_log(&self) -> Vec<(String, Value)> {
        let entries = self
            .client
            .issue_cmd(SessionPost {
                path: "se/log",
                body: json!({ "type": "performance" }),
            })
            .await
            .expect("read the browser's performance log");
        let entries = entries.as_array().cloned().unwrap_or_default();
        entries
            .iter()
            .filter_map(|entry| {
                let message: Value = serde_json::from_str(entry["message"].as_str()?).ok()?;
                let method = message["message"]["method"].as_str()?.to_owned();
                Some((method, message["message"]["params"].clone()))
            })
            .collect()
    }

    async fn cdp(&self, cmd: &str, params: Value) {
        self.client
            .issue_cmd(SessionPost {
                path: "goog/cdp/execute",
                body: json!({ "cmd": cmd, "params": params }),
            })
            .await
            .unwrap_or_else(|e| panic!("DevTools {cmd}: {e}"));
    }

    /// Shows the current page at `viewport` (a phone is emulated as a phone: touch, the viewport
    /// meta tag honoured) and returns its PNG, saved as `<name>-<viewport>.png` (see [`save`]).
    async fn screenshot(&self, name: &str, viewport: Viewport) -> Vec<u8> {
        self.emulate(viewport).await;
        // Two animation frames: the new layout has been painted.
        let _ = self
            .client
            .execute_async("const done = arguments[0]; requestAnimationFrame(() => requestAnimationFrame(() => done()))", vec![])
            .await;
        let png = self.client.screenshot().await.expect("screenshot");
        self.cdp("Emulation.clearDeviceMetricsOverride", json!({}))
            .await;
        self.cdp("Emulation.setEmulatedMedia", json!({ "features": [] }))
            .await;
        assert_eq!(
            png_size(&png),
            (viewport.width, viewport.height),
            "the screenshot of {name} has the viewport's size"
        );
        save(&format!("{name}-{}.png", viewport.name), &png);
        png
    }

    async fn emulate(&self, viewport: Viewport) {
        self.cdp(
            "Emulation.setDeviceMetricsOverride",
            json!({ "width": viewport.width, "height": viewport.height, "deviceScaleFactor": 1, "mobile": viewport.mobile }),
        )
        .await;
        let scheme = if viewport.dark { "dark" } else { "light" };
        self.cdp(
            "Emulation.setEmulatedMedia",
            json!({ "features": [{ "name": "prefers-color-scheme", "value": scheme }] }),
        )
        .await;
    }

    /// Whether the page fits its viewport's width (nothing to scroll sideways).
    async fn fits_width(&self) -> (bool, Value) {
        let sizes = self
            .client
            .execute(
                "return [document.documentElement.scrollWidth, document.documentElement.clientWidth]",
                vec![],
            )
            .await
            .expect("measure the page");
        (sizes[0].as_u64() <= sizes[1].as_u64(), sizes)
    }
}

async fn wait_for_driver(webdriver: &str, driver: &mut tokio::process::Child) -> bool {
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = driver.try_wait() {
            return false;
        }
        if let Ok(response) = http.get(format!("{webdriver}/status")).send().await
            && response.status().is_success()
        {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let start = text.len().saturating_sub(4000);
    text[text
        .char_indices()
        .find(|(i, _)| *i >= start)
        .map_or(0, |(i, _)| i)..]
        .to_owned()
}

/// Width and height from a PNG's IHDR chunk.
fn png_size(png: &[u8]) -> (u32, u32) {
    assert!(
        png.len() > 24 && png.starts_with(b"\x89PNG\r\n\x1a\n"),
        "not a PNG"
    );
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    (be(&png[16..20]), be(&png[20..24]))
}

/// Writes a screenshot under the target directory, and under `docs/screenshots/` when
/// `UPDATE_SCREENSHOTS=1` (so ordinary test runs leave the work tree alone).
fn save(file: &str, png: &[u8]) {
    let scratch = Path::new(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
    std::fs::create_dir_all(&scratch).unwrap();
    std::fs::write(scratch.join(file), png).unwrap();
    if std::env::var("UPDATE_SCREENSHOTS").is_ok_and(|v| v == "1") {
        let docs = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("docs")
            .join("screenshots");
        std::fs::create_dir_all(&docs).unwrap();
        std::fs::write(docs.join(file), png).unwrap();
    }
}

/// The URLs the browser requested, in order (redirects included).
fn requested(log: &[(String, Value)]) -> Vec<String> {
    log.iter()
        .filter(|(method, _)| method == "Network.requestWillBeSent")
        .filter_map(|(_, params)| params["request"]["url"].as_str().map(str::to_owned))
        .collect()
}

/// (URL, status) of every redirect the browser followed.
fn redirects(log: &[(String, Value)]) -> Vec<(String, u64)> {
    log.iter()
        .filter(|(method, params)| {
            method == "Network.requestWillBeSent" && params["redirectResponse"].is_object()
        })
        .map(|(_, params)| {
            let response = &params["redirectResponse"];
            (
                response["url"].as_str().unwrap_or_default().to_owned(),
                response["status"].as_u64().unwrap_or(0),
            )
        })
        .collect()
}

/// (URL, status) of the web documents the browser received (the last hop of each navigation;
/// the browser's own `chrome://` pages left out).
fn documents(log: &[(String, Value)]) -> Vec<(String, u64)> {
    log.iter()
        .filter(|(method, params)| {
            method == "Network.responseReceived" && params["type"] == "Document"
        })
        .filter(|(_, params)| {
            params["response"]["url"]
                .as_str()
                .is_some_and(|u| u.starts_with("http"))
        })
        .map(|(_, params)| {
            let response = &params["response"];
            (
                response["url"].as_str().unwrap_or_default().to_owned(),
                response["status"].as_u64().unwrap_or(0),
            )
        })
        .collect()
}

/// Why the browser withheld cookie `name` from requests (`SameSiteStrict`, ...), one entry per
/// request it was withheld from.
fn blocked(log: &[(String, Value)], name: &str) -> Vec<String> {
    log.iter()
        .filter(|(method, _)| method == "Network.requestWillBeSentExtraInfo")
        .flat_map(|(_, params)| {
            params["associatedCookies"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .filter(|c| c["cookie"]["name"] == name)
        .filter_map(|c| {
            let reasons = c["blockedReasons"].as_array()?;
            (!reasons.is_empty()).then(|| {
                reasons
                    .iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(",")
            })
        })
        .collect()
}

/// Opens the protected page and lands on the provider's sign-in form.
async fn open_protected(chrome: &Chrome, site: &TestApp, path: &str) {
    chrome.goto(&site.url(path)).await;
    chrome.wait_for_url(&site.provider().issuer).await;
    assert!(
        chrome
            .client
            .find(Locator::Css("form#login-form"))
            .await
            .is_ok(),
        "the protected page did not lead to the provider's sign-in form: {}\n{}",
        chrome.url().await,
        chrome.text().await
    );
}

async fn assert_signed_in(chrome: &Chrome, url: &str, name: &str) {
    assert_eq!(chrome.url().await, url);
    let text = chrome.text().await;
    assert!(
        text.contains(&format!("Welcome {name}")),
        "not signed in at {url}:\n{text}"
    );
}

// ---------------------------------------------------------------------------------------------
// The tests.

#[tokio::test]
async fn signs_in_through_the_provider_pages_and_reload_makes_no_provider_call() {
    let chrome = Chrome::start().await;
    let site = start_site(SiteOptions::default()).await;

    open_protected(&chrome, &site, "/").await;
    chrome.screenshot("provider-sign-in", DESKTOP).await;
    chrome.sign_in("alice", &site.base).await;
    assert_signed_in(&chrome, &site.url("/"), "Alice").await;
    chrome.screenshot("signed-in", DESKTOP).await;
    chrome.screenshot("signed-in", PHONE).await;

    // The way there, as the browser saw it: / -303-> /login -303-> provider ... -> /redirect -303-> /.
    let log = chrome.network_log().await;
    let hops = redirects(&log);
    assert_eq!(hops.first(), Some(&(site.url("/"), 303)), "{hops:#?}");
    assert_eq!(
        hops.get(1).map(|h| (h.0.split('?').next().unwrap(), h.1)),
        Some((site.url("/login").as_str(), 303)),
        "{hops:#?}"
    );
    let callback = hops
        .iter()
        .find(|(url, _)| url.starts_with(&site.url("/redirect?")))
        .expect("the browser went through the callback");
    assert_eq!(callback.1, 303, "the callback answers 303 See Other");

    // Reload: the page comes from the session alone; the provider sees nothing.
    let before = site.provider().stats().await;
    chrome.client.refresh().await.unwrap();
    chrome.wait_for_url(&site.url("/")).await;
    assert_signed_in(&chrome, &site.url("/"), "Alice").await;
    chrome.goto(&site.url("/")).await;
    assert_signed_in(&chrome, &site.url("/"), "Alice").await;
    let after = site.provider().stats().await;
    assert_eq!(
        before, after,
        "reloading a signed-in page reached the provider"
    );
    let documents = documents(&chrome.network_log().await);
    assert!(
        documents
            .iter()
            .all(|(url, status)| url.starts_with(&site.base) && *status == 200),
        "{documents:?}"
    );

    chrome.quit().await;
}

#[tokio::test]
async fn the_session_cookie_is_http_only_lax_and_survives_the_cross_site_return() {
    let chrome = Chrome::start().await;
    let site = start_site(SiteOptions::default()).await;

    open_protected(&chrome, &site, "/").await;
    chrome.sign_in("bob", &site.base).await;
    assert_signed_in(&chrome, &site.url("/"), "Bob").await;

    // The browser sent the cookie on the provider's (cross-site) redirect back: it blocked it
    // nowhere. The control experiment below shows that this run really was cross-site.
    let log = chrome.network_log().await;
    assert!(
        requested(&log)
            .iter()
            .any(|u| u.starts_with(&site.provider().issuer)),
        "went through the provider"
    );
    assert_eq!(
        blocked(&log, "identity.sid"),
        Vec::<String>::new(),
        "the browser withheld the session cookie"
    );

    let cookies = chrome.client.get_all_cookies().await.expect("cookies");
    let names: Vec<_> = cookies.iter().map(|c| c.name().to_owned()).collect();
    assert_eq!(
        names,
        ["identity.sid"],
        "the app sets one cookie, and the provider's cookies stay on the provider's site"
    );
    let cookie = &cookies[0];
    assert_eq!(cookie.http_only(), Some(true), "{cookie:?}");
    assert_eq!(
        cookie.same_site().map(|s| s.to_string()),
        Some("Lax".to_owned()),
        "{cookie:?}"
    );
    assert_eq!(
        cookie.secure(),
        Some(false),
        "plain-http development: not Secure ({cookie:?})"
    );
    assert_eq!(cookie.path(), Some("/"), "{cookie:?}");
    assert!(
        !cookie.value().contains("alice") && !cookie.value().contains("bob"),
        "the cookie holds only an id: {cookie:?}"
    );

    // Scripts on the page cannot read it.
    let visible = chrome
        .client
        .execute("return document.cookie", vec![])
        .await
        .unwrap();
    assert_eq!(
        visible,
        json!(""),
        "HttpOnly: document.cookie must not show the session id"
    );

    chrome.quit().await;
}

/// The control experiment for the test above: the same app with `SameSite=Strict` loses its
/// session on the way back from the provider, so the sign-in fails. This is what proves the
/// browser treats the provider's redirect as cross-site in these tests.
#[tokio::test]
async fn a_strict_cookie_would_be_dropped_on_the_return_from_the_provider() {
    let chrome = Chrome::start().await;
    let site = start_site(SiteOptions {
        cookie: SessionCookie::Strict,
        ..Default::default()
    })
    .await;

    open_protected(&chrome, &site, "/").await;
    chrome.sign_in("carol", &site.base).await;
    let log = chrome.network_log().await;
    assert!(
        blocked(&log, "identity.sid")
            .iter()
            .any(|reason| reason.contains("SameSiteStrict")),
        "the browser should have withheld the Strict cookie on the return from the provider: {:?}",
        blocked(&log, "identity.sid")
    );
    let text = chrome.text().await;
    assert!(
        chrome.url().await.starts_with(&site.url("/redirect?")),
        "{}",
        chrome.url().await
    );
    assert!(
        text.contains("Sign-in expired") && !text.contains("Welcome"),
        "{text}"
    );

    chrome.quit().await;
}

/// A provider that answers with `response_mode=form_post`: its page posts the code to the
/// callback from the provider's site, so the browser withholds the `SameSite=Lax` session
/// cookie from that POST (the log shows it). The callback sends the same answer again from a
/// page of the app's own, which the cookie accompanies, and the user is signed in.
#[tokio::test]
async fn a_form_post_callback_signs_in_although_the_cross_site_post_has_no_cookie() {
    let chrome = Chrome::start().await;
    let site = start_site(SiteOptions {
        provider: json!({"responseMode": "form_post"}),
        ..Default::default()
    })
    .await;

    open_protected(&chrome, &site, "/").await;
    chrome.sign_in("erin", &site.base).await;
    let home = site.url("/");
    let deadline = Instant::now() + WAIT;
    while chrome.url().await != home || !chrome.text().await.contains("Welcome Erin") {
        assert!(
            Instant::now() < deadline,
            "not signed in; the browser shows {}:\n{}",
            chrome.url().await,
            chrome.text().await
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_signed_in(&chrome, &home, "Erin").await;

    let log = chrome.network_log().await;
    let posted = log.iter().any(|(method, params)| {
        method == "Network.requestWillBeSent"
            && params["request"]["method"] == "POST"
            && params["request"]["url"]
                .as_str()
                .is_some_and(|url| url == site.redirect_uri())
    });
    assert!(
        posted,
        "the provider did not post the callback: {:?}",
        requested(&log)
    );
    assert!(
        blocked(&log, "identity.sid")
            .iter()
            .any(|reason| reason.contains("SameSiteLax")),
        "the cross-site POST should have gone without the Lax cookie: {:?}",
        blocked(&log, "identity.sid")
    );
    chrome.quit().await;
}

/// Two tabs start signing in before either finishes; `order` says which finishes first.
async fn two_tabs(order: [usize; 2]) {
    let chrome = Chrome::start().await;
    let site = start_site(SiteOptions::default()).await;

    let first = chrome.client.window().await.unwrap();
    open_protected(&chrome, &site, "/?tab=1").await;
    let second = chrome.client.new_window(true).await.unwrap().handle;
    chrome
        .client
        .switch_to_window(second.clone())
        .await
        .unwrap();
    open_protected(&chrome, &site, "/?tab=2").await;

    let tabs = [first, second];
    for index in order {
        chrome
            .client
            .switch_to_window(tabs[index].clone())
            .await
            .unwrap();
        chrome.sign_in("alice", &site.base).await;
        assert_signed_in(&chrome, &site.url(&format!("/?tab={}", index + 1)), "Alice").await;
    }
    // Both stay signed in.
    for (index, tab) in tabs.iter().enumerate() {
        chrome.client.switch_to_window(tab.clone()).await.unwrap();
        chrome.client.refresh().await.unwrap();
        chrome.wait_for_url(&site.base).await;
        assert_signed_in(&chrome, &site.url(&format!("/?tab={}", index + 1)), "Alice").await;
    }
    chrome.quit().await;
}

#[tokio::test]
async fn two_tabs_sign_in_at_the_same_time_the_first_finishing_first() {
    two_tabs([0, 1]).await;
}

#[tokio::test]
async fn two_tabs_sign_in_at_the_same_time_the_second_finishing_first() {
    two_tabs([1, 0]).await;
}

#[tokio::test]
async fn the_back_button_and_a_replayed_callback_after_sign_in_do_not_break_anything() {
    let chrome = Chrome::start().await;
    let site = start_site(SiteOptions::default()).await;

    open_protected(&chrome, &site, "/").await;
    chrome.sign_in("alice", &site.base).await;
    assert_signed_in(&chrome, &site.url("/"), "Alice").await;
    let log = chrome.network_log().await;
    let callback = requested(&log)
        .into_iter()
        .find(|url| url.starts_with(&site.url("/redirect?")))
        .expect("the browser went through the callback");

    // Back: the browser returns to the provider's pages (the callback itself is a redirect, not a
    // history entry). Whatever the provider shows there, forward brings the app back, signed in.
    chrome.client.back().await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let back_at = chrome.url().await;
    let back_text = chrome.text().await;
    eprintln!("back at {back_at}: {back_text}");
    if back_at.starts_with(&site.base) {
        assert!(
            back_text.contains("Welcome Alice"),
            "back at {back_at}:\n{back_text}"
        );
    }
    chrome.client.forward().await.unwrap();
    chrome.wait_for_url(&site.base).await;
    assert_signed_in(&chrome, &site.url("/"), "Alice").await;

    // The callback URL again (back/forward into it, a double click, a restored tab): a
    // signed-in user is sent to the app, not shown an error.
    chrome.network_log().await;
    chrome.goto(&callback).await;
    chrome.wait_for_url(&site.base).await;
    assert_signed_in(&chrome, &site.url("/"), "Alice").await;
    let log = chrome.network_log().await;
    assert_eq!(
        redirects(&log),
        [(callback.clone(), 303)],
        "the replayed callback redirects"
    );
    assert_eq!(documents(&log), [(site.url("/"), 200)]);

    // Signed out (a fresh browser profile has no session): the replay is a stale sign-in, a 400
    // page with a way out.
    chrome.client.delete_all_cookies().await.unwrap();
    chrome.goto(&callback).await;
    let log = chrome.network_log().await;
    assert_eq!(documents(&log), [(callback.clone(), 400)]);
    let text = chrome.text().await;
    assert!(text.contains("Sign-in expired"), "{text}");
    // The way out: the provider still knows the browser (its cookies live on its own site), so
    // "Sign in again" comes straight back signed in, through the provider and the callback.
    chrome
        .client
        .find(Locator::LinkText("Sign in again"))
        .await
        .expect("a way out")
        .click()
        .await
        .unwrap();
    chrome.wait_for_url(&site.url("/")).await;
    assert_signed_in(&chrome, &site.url("/"), "Alice").await;
    let log = chrome.network_log().await;
    assert!(
        requested(&log)
            .iter()
            .any(|u| u.starts_with(&site.provider().issuer)),
        "{:#?}",
        requested(&log)
    );
    assert!(
        redirects(&log)
            .iter()
            .any(|(u, status)| u.starts_with(&site.url("/redirect?")) && *status == 303),
        "{:#?}",
        redirects(&log)
    );

    chrome.quit().await;
}

#[tokio::test]
async fn logout_returns_to_the_signed_out_page() {
    let chrome = Chrome::start().await;
    let site = start_site(SiteOptions::default()).await;

    open_protected(&chrome, &site, "/").await;
    chrome.sign_in("alice", &site.base).await;
    assert_signed_in(&chrome, &site.url("/"), "Alice").await;

    chrome
        .client
        .find(Locator::Id("logout"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    chrome.wait_for_url(&site.provider().issuer).await;
    let confirm = chrome
        .wait_for_element("button[name=logout][value=yes]")
        .await;
    confirm.click().await.unwrap();
    chrome.wait_for_url(&site.url("/logout/done")).await;
    let text = chrome.text().await;
    assert!(
        text.contains("You have signed out") && text.contains(APP_NAME),
        "{text}"
    );
    assert_eq!(chrome.title().await, format!("Signed out · {APP_NAME}"));
    assert_eq!(
        chrome.client.get_all_cookies().await.unwrap().len(),
        0,
        "the session cookie is gone"
    );

    // Signed out for real: the protected page asks for a sign-in again.
    chrome
        .client
        .find(Locator::LinkText("Sign in again"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    chrome.wait_for_url(&site.provider().issuer).await;
    chrome.goto(&site.url("/")).await;
    chrome.wait_for_url(&site.provider().issuer).await;

    chrome.quit().await;
}

/// The library's own pages, as people see them on a phone and a desktop: the screenshots for
/// the README, and no sideways scrolling on a phone.
#[tokio::test]
async fn the_library_pages_fit_a_phone_and_a_desktop() {
    let chrome = Chrome::start().await;
    let site = start_site(SiteOptions::default()).await;

    chrome
        .goto(&site.url("/redirect?state=forged&code=x"))
        .await;
    let log = chrome.network_log().await;
    assert_eq!(
        documents(&log),
        [(site.url("/redirect?state=forged&code=x"), 400)]
    );
    assert_eq!(
        chrome.title().await,
        format!("Sign-in expired · {APP_NAME}")
    );
    let text = chrome.text().await;
    assert!(
        text.contains(APP_NAME)
            && text.contains("Sign in again")
            && text.contains("Error code: 400"),
        "{text}"
    );
    let pages = [
        ("error", site.url("/redirect?state=forged&code=x")),
        ("signed-out", site.url("/logout/done")),
    ];
    for (name, url) in pages {
        chrome.goto(&url).await;
        for viewport in [PHONE, DESKTOP, PHONE_DARK] {
            chrome.emulate(viewport).await;
            let (fits, sizes) = chrome.fits_width().await;
            assert!(
                fits,
                "the {name} page scrolls sideways at {} px: {sizes}",
                viewport.width
            );
            chrome.screenshot(name, viewport).await;
        }
    }
    chrome.quit().await;
}

#[tokio::test]
async fn with_an_https_redirect_uri_the_session_cookie_is_secure() {
    let site = start_site(SiteOptions {
        https_redirect: true,
        ..Default::default()
    })
    .await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    // A sign-in asked for on another loopback name (127.0.0.1) is first sent over to the
    // redirect URI's `localhost`, where its cookie will come back; it starts there.
    let moved = http
        .get(format!("{}/login", site.loopback))
        .send()
        .await
        .unwrap();
    assert_eq!(moved.status(), reqwest::StatusCode::SEE_OTHER);
    let port = site.base.rsplit(':').next().unwrap();
    assert_eq!(
        moved.headers()["location"],
        format!("https://localhost:{port}/login").as_str()
    );
    assert!(moved.headers().get("set-cookie").is_none());
    let response = http
        .get(format!("{}/login", site.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), reqwest::StatusCode::SEE_OTHER);
    let location = response.headers()["location"].to_str().unwrap();
    assert!(location.starts_with(&site.provider().issuer), "{location}");
    assert!(
        location.contains("redirect_uri=https%3A%2F%2Flocalhost"),
        "{location}"
    );
    let set_cookie: Vec<_> = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    assert_eq!(set_cookie.len(), 1, "{set_cookie:?}");
    let attributes: Vec<String> = set_cookie[0]
        .split(';')
        .map(|a| a.trim().to_ascii_lowercase())
        .collect();
    // Over https the name has the `__Host-` prefix: Secure, Path=/, no Domain.
    assert!(
        attributes[0].starts_with("__host-identity.sid="),
        "{set_cookie:?}"
    );
    assert!(
        !attributes.iter().any(|a| a.starts_with("domain")),
        "{set_cookie:?}"
    );
    for expected in ["secure", "httponly", "samesite=lax", "path=/"] {
        assert!(
            attributes.iter().any(|a| a == expected),
            "`{expected}` missing: {set_cookie:?}"
        );
    }
}

/// The Device Code page shows the code, and completes by itself (it reloads at the provider's
/// interval) once the code is approved in another tab.
#[tokio::test]
async fn the_device_code_page_completes_by_itself_after_approval_in_another_tab() {
    let chrome = Chrome::start().await;
    let site = start_site(SiteOptions {
        device: true,
        ..SiteOptions::default()
    })
    .await;
    let device_tab = chrome.client.window().await.unwrap();
    chrome.goto(&site.url("/")).await;
    // A first visit has no session yet: the page asks for a click before it costs the
    // provider a device authorization.
    chrome
        .wait_for_element("form button[type=submit]")
        .await
        .click()
        .await
        .unwrap();
    chrome.wait_for_url(&site.url("/login/device")).await;
    let code = chrome
        .wait_for_element("p.code")
        .await
        .text()
        .await
        .unwrap();
    assert!(!code.trim().is_empty());
    for viewport in [PHONE, DESKTOP, PHONE_DARK] {
        chrome.emulate(viewport).await;
        let (fits, sizes) = chrome.fits_width().await;
        assert!(
            fits,
            "the device page scrolls sideways at {} px: {sizes}",
            viewport.width
        );
        chrome.screenshot("device-code", viewport).await;
    }
    chrome.emulate(DESKTOP).await;
    let mut complete = None;
    for link in chrome
        .client
        .find_all(Locator::Css("main a"))
        .await
        .unwrap()
    {
        let href = link.attr("href").await.unwrap().unwrap_or_default();
        if href.contains("user_code=") {
            complete = Some(href);
        }
    }
    let complete = complete.expect("a link that carries the code");

    // The user approves on "another device": a second tab.
    let phone = chrome.client.new_window(true).await.unwrap().handle;
    chrome.client.switch_to_window(phone).await.unwrap();
    chrome.goto(&complete).await;
    let deadline = Instant::now() + WAIT;
    let mut submitted = Vec::new();
    loop {
        let text = chrome.text().await;
        if text.contains("Device signed in") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the approval did not finish: {text}"
        );
        let url = chrome.url().await;
        if let Ok(form) = chrome.client.find(Locator::Css("form#login-form")).await {
            if !submitted.contains(&url) {
                submitted.push(url.clone());
                form.find(Locator::Css("input[name=login]")).await.unwrap().send_keys("grace").await.unwrap();
                form.find(Locator::Css("input[name=password]")).await.unwrap().send_keys("password").await.unwrap();
                form.find(Locator::Css("button[type=submit]")).await.unwrap().click().await.unwrap();
            }
        } else if let Ok(button) = chrome
            .client
            .find(Locator::Css("form#consent-form button[type=submit], form[id='op.deviceConfirmForm'] button[type=submit]"))
            .await
            && !submitted.contains(&url)
        {
            submitted.push(url.clone());
            let _ = button.click().await;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Back on the first tab, the page finishes by itself.
    chrome.client.switch_to_window(device_tab).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if chrome.url().await == site.url("/") && chrome.text().await.contains("Welcome Grace") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the device page did not complete: {}",
            chrome.text().await
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    chrome.quit().await;
}
