//! An application under a path prefix (`APPLICATION_ROOT=/app`), mounted both ways: nested with
//! `Router::nest("/app", ..)`, and behind a reverse proxy on loopback that serves `/app/` and
//! strips it. Either way the browser only ever sees paths under `/app`: sign-in returns to the
//! page that asked, return paths stay within the root, sign-out comes back under it, and the
//! Device Code page lives there. Forwarded headers steer nothing.

use axum_identity_testkit as support;

use axum::response::Html;
use axum::routing::get;
use axum::{Extension, Json, Router};
use axum_identity::{Auth, Context, escape_html, login_required};
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::app::{Mount, TestApp, launch, public};
use support::browser::{Browser, Page, device_code_on};

#[login_required]
async fn index(context: Context) -> Html<String> {
    Html(format!(
        "<h1>Welcome {}</h1><a id=\"logout\" href=\"{}\">Sign out</a>",
        escape_html(context.user.display_name()),
        escape_html(context.logout_url())
    ))
}

#[login_required]
async fn me(context: Context) -> Json<Value> {
    Json(json!({ "sub": context.user.subject() }))
}

/// A template's sign-in link, made from the page's path as the handler sees it: without the
/// root under both mountings (`nest` strips it, and so does the proxy).
async fn sign_in_link(Extension(auth): Extension<Auth>, uri: axum::http::Uri) -> String {
    auth.login_url(uri.path())
}

fn routes() -> Router {
    Router::new()
        .route("/", get(index))
        .route("/deep/page", get(index))
        .route("/me", get(me))
        .route("/public", get(public))
        .route("/link", get(sign_in_link))
}

async fn start(mount: Mount) -> TestApp {
    let app = launch(routes()).root("/app", mount).start().await;
    assert_eq!(app.auth.application_root(), Some("/app"));
    app
}

/// The navigation went to the provider's authorization endpoint with this app's redirect URI.
fn authorization_redirect_uri(page: &Page, app: &TestApp) -> String {
    page.chain
        .iter()
        .map(|(_, url)| url)
        .chain(page.stopped_at.iter())
        .find(|url| url.as_str().starts_with(&app.provider().issuer))
        .and_then(|url| {
            url.query_pairs()
                .find(|(k, _)| k == "redirect_uri")
                .map(|(_, v)| v.into_owned())
        })
        .unwrap_or_else(|| panic!("no authorization request in {:?}", page.chain))
}

async fn sign_in_returns_to_the_page_that_asked_and_signs_out_under_the_root(mount: Mount) {
    let app = start(mount).await;
    let browser = Browser::new();

    let page = browser.get(app.url("/app/deep/page?tab=2")).await;
    assert_eq!(page.chain[0].0, StatusCode::SEE_OTHER);
    let login = &page.chain[1].1;
    assert_eq!(login.path(), "/app/login", "{:?}", page.chain);
    assert_eq!(
        login.query_pairs().find(|(k, _)| k == "next").unwrap().1,
        "/app/deep/page?tab=2"
    );
    assert_eq!(
        authorization_redirect_uri(&page, &app),
        app.url("/app/redirect")
    );

    let page = browser.sign_in(page, "alice").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(page.url.as_str(), app.url("/app/deep/page?tab=2"));
    assert!(page.body.contains("Welcome Alice"), "{}", page.body);
    assert!(
        page.body.contains("href=\"/app/logout\""),
        "Context::logout_url has the root: {}",
        page.body
    );
    assert!(
        page.chain
            .iter()
            .any(|(status, url)| *status == StatusCode::SEE_OTHER && url.path() == "/app/redirect"),
        "{:?}",
        page.chain
    );
    assert_eq!(
        browser.get(app.url("/app/public")).await.body,
        "signed in as alice"
    );

    let page = browser.get(app.url("/app/logout")).await;
    let end_session = page
        .chain
        .iter()
        .find(|(_, url)| url.path().contains("session/end"))
        .unwrap_or_else(|| panic!("went to end_session: {:?}", page.chain))
        .1
        .clone();
    let query: std::collections::HashMap<_, _> = end_session.query_pairs().into_owned().collect();
    assert_eq!(
        query["post_logout_redirect_uri"],
        app.url("/app/logout/done")
    );
    let page = browser.confirm_logout(page).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(page.url.as_str(), app.url("/app/logout/done"));
    assert!(page.body.contains("signed out"), "{}", page.body);
    assert!(
        page.body.contains("href=\"/app/login\""),
        "the signed-out page's sign-in link has the root: {}",
        page.body
    );
    assert_eq!(browser.get(app.url("/app/public")).await.body, "anonymous");
}

async fn return_paths_stay_within_the_root(mount: Mount) {
    let app = start(mount).await;
    for (next, landed) in [
        (Some("/app/deep/page?x=1"), "/app/deep/page?x=1"),
        (Some("/app"), "/app"),
        (None, "/app/"),
        (Some("/other"), "/app/"),
        (Some("/application"), "/app/"),
        (Some("/app/../other"), "/app/"),
        (Some("/app/%2e%2e/other"), "/app/"),
        (Some("//evil.example/app/"), "/app/"),
        (Some("https://evil.example/app/"), "/app/"),
    ] {
        let browser = Browser::new();
        let login = match next {
            Some(next) => format!(
                "/app/login?next={}",
                url::form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>()
            ),
            None => "/app/login".to_owned(),
        };
        browser.stop_at(app.redirect_uri());
        let page = browser.get(app.url(&login)).await;
        let page = browser.sign_in(page, "bob").await;
        browser.clear_stops();
        // The callback's redirect, before the browser follows it (under `nest`, `/app/` is a
        // route of the application's own to add; see the README).
        let callback = browser.get_no_follow(page.stopped_at.unwrap()).await;
        assert_eq!(callback.status, StatusCode::SEE_OTHER, "{next:?}");
        assert_eq!(callback.header("location"), Some(landed), "{next:?}");
        if landed.starts_with("/app/deep") {
            let page = browser.get(app.url(landed)).await;
            assert!(page.body.contains("Welcome Bob"), "{}", page.body);
        }
    }
}

async fn the_login_url_has_the_root_for_scripts_redirects_and_templates(mount: Mount) {
    let app = start(mount).await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let response = client
        .get(app.url("/app/me?x=1"))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["login_url"], "/app/login?next=%2Fapp%2Fme%3Fx%3D1");

    let response = client
        .get(app.url("/app/deep/page"))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        response.headers()["location"],
        "/app/login?next=%2Fapp%2Fdeep%2Fpage"
    );

    let link = client.get(app.url("/app/link")).send().await.unwrap();
    assert_eq!(
        link.text().await.unwrap(),
        "/app/login?next=%2Fapp%2Flink",
        "a path without the root gets it"
    );
    assert_eq!(
        app.auth.login_url("/app/link"),
        "/app/login?next=%2Fapp%2Flink"
    );
    // The library's routes answer only under the root.
    let outside = client.get(app.url("/login")).send().await.unwrap();
    assert_eq!(outside.status(), StatusCode::NOT_FOUND);
}

async fn the_device_code_page_lives_under_the_root(mount: Mount) {
    let app = launch(routes())
        .device()
        .client("device-app", "")
        .root("/app", mount)
        .start()
        .await;
    assert!(app.auth.uses_device_code());
    assert_eq!(app.auth.device_code_path(), "/app/login/device");
    let browser = Browser::new();
    let page = browser.get_device_code(app.url("/app/deep/page")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(page.url.path(), "/app/login/device");
    let (code, links) = device_code_on(&page);
    let landed = browser
        .sign_in_on_another_device(&links[0], &code, "grace", &app.url("/app/login/device"))
        .await;
    assert_eq!(landed.url.as_str(), app.url("/app/deep/page"));
    assert!(landed.body.contains("Welcome Grace"), "{}", landed.body);
    // Signed in already: the device page sends the browser home, under the root.
    let again = browser.get_no_follow(app.url("/app/login/device")).await;
    assert_eq!(again.header("location"), Some("/app/"));
}

/// Instantiates each scenario for both ways of mounting: `app_root::nested::..` and
/// `app_root::proxied::..`.
macro_rules! both_mounts {
    ($($scenario:ident),* $(,)?) => {
        mod nested {
            $(#[tokio::test]
            async fn $scenario() {
                super::$scenario(super::Mount::Nested).await
            })*
        }
        mod proxied {
            $(#[tokio::test]
            async fn $scenario() {
                super::$scenario(super::Mount::Proxied).await
            })*
        }
    };
}

both_mounts!(
    sign_in_returns_to_the_page_that_asked_and_signs_out_under_the_root,
    return_paths_stay_within_the_root,
    the_login_url_has_the_root_for_scripts_redirects_and_templates,
    the_device_code_page_lives_under_the_root,
);

/// `X-Forwarded-Host`, `X-Forwarded-Proto` and `Forwarded` are not trusted: a client that sends
/// them (to the proxy, or straight to the app) steers no redirect and no cookie attribute. The
/// library's absolute URLs come from the configured redirect URI only.
#[tokio::test]
async fn forged_forwarded_headers_steer_nothing() {
    let app = start(Mount::Proxied).await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let forged = |request: reqwest::RequestBuilder| {
        request
            .header("x-forwarded-host", "evil.example")
            .header("x-forwarded-proto", "https")
            .header("x-forwarded-prefix", "/evil")
            .header("forwarded", "host=evil.example;proto=https")
    };
    for base in [app.base.as_str(), app.loopback.as_str()] {
        // Behind the proxy the app sees `/me`; straight to it, too.
        let path = if base == app.base { "/app/me" } else { "/me" };
        let page_load = forged(client.get(format!("{base}{path}")))
            .send()
            .await
            .unwrap();
        assert_eq!(page_load.status(), StatusCode::SEE_OTHER);
        assert_eq!(
            page_load.headers()["location"],
            "/app/login?next=%2Fapp%2Fme"
        );

        let login = if base == app.base {
            "/app/login"
        } else {
            "/login"
        };
        let start = forged(client.get(format!("{base}{login}")))
            .send()
            .await
            .unwrap();
        assert_eq!(start.status(), StatusCode::SEE_OTHER);
        let location = url::Url::parse(start.headers()["location"].to_str().unwrap()).unwrap();
        assert!(
            location.as_str().starts_with(&app.provider().issuer),
            "{location}"
        );
        let redirect_uri = location
            .query_pairs()
            .find(|(k, _)| k == "redirect_uri")
            .unwrap()
            .1
            .into_owned();
        assert_eq!(redirect_uri, app.url("/app/redirect"));
        let cookie = start.headers()["set-cookie"].to_str().unwrap();
        assert!(
            !cookie.contains("Secure"),
            "Secure follows the redirect URI's http, not X-Forwarded-Proto: {cookie}"
        );
    }

    // Signed in, the sign-out's post-logout redirect URI is the configured one too.
    let browser = Browser::new();
    let page = browser
        .sign_in(browser.get(app.url("/app/")).await, "heidi")
        .await;
    assert!(page.body.contains("Welcome Heidi"), "{}", page.body);
    let cookies = browser.cookies_for(&app.base).unwrap();
    let logout = forged(client.get(app.url("/app/logout")))
        .header("cookie", cookies)
        .header("sec-fetch-site", "same-origin")
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), StatusCode::SEE_OTHER);
    let location = url::Url::parse(logout.headers()["location"].to_str().unwrap()).unwrap();
    let query: std::collections::HashMap<_, _> = location.query_pairs().into_owned().collect();
    assert_eq!(
        query["post_logout_redirect_uri"],
        app.url("/app/logout/done")
    );
}
