//! Assertions the suites share about how a sign-in ended. They expect the app's `/` to say
//! `anonymous` to a browser nobody signed in with, and `signed in as <sub>` (on its first line)
//! otherwise, as the apps of the suites do.

use reqwest::StatusCode;

use crate::app::TestApp;
use crate::browser::{Browser, Page};

/// The title and message of the library's default error page, for assertions and failure
/// output (the whole body when it is not that page).
pub fn error_message(page: &Page) -> String {
    let start = page.body.find("<h1>").unwrap_or(0);
    let end = page
        .body
        .find("<p class=\"muted\">")
        .map_or(page.body.len(), |end| end + 40)
        .min(page.body.len());
    page.body.get(start..end).unwrap_or(&page.body).to_owned()
}

/// What the app's `/` says to this browser: `anonymous`, or `signed in as <sub>` and whatever
/// the app adds on further lines.
pub async fn home(app: &TestApp, browser: &Browser) -> String {
    let page = browser.get(app.url("/")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    page.body
}

/// The first line of `body`.
pub fn first_line(body: &str) -> &str {
    body.lines().next().unwrap_or_default()
}

/// The sign-in ended on `path` with a page that loaded, and the browser is signed in as `sub`.
pub async fn assert_signed_in(
    app: &TestApp,
    browser: &Browser,
    page: &Page,
    path: &str,
    sub: &str,
) {
    assert_eq!(
        page.status,
        StatusCode::OK,
        "the sign-in failed at {}: {}\nchain: {:?}",
        page.url,
        error_message(page),
        page.chain
    );
    assert_eq!(page.url.path(), path, "chain: {:?}", page.chain);
    assert_eq!(
        first_line(&home(app, browser).await),
        format!("signed in as {sub}")
    );
}

/// The callback refused the provider's answer: a 400 error page, not to be stored, offering to
/// sign in again, whose reference leads to a log line that mentions `reason`
/// (case-insensitive); afterwards nobody is signed in.
pub async fn assert_rejected(app: &TestApp, browser: &Browser, page: &Page, reason: &str) {
    assert_eq!(
        page.url.path(),
        "/redirect",
        "expected the callback to answer; chain: {:?}\n{}",
        page.chain,
        page.body
    );
    assert_eq!(
        home(app, browser).await,
        "anonymous",
        "a rejected sign-in left a signed-in session (callback answered {}: {})",
        page.status,
        page.body
    );
    assert_eq!(
        page.status,
        StatusCode::BAD_REQUEST,
        "{}",
        error_message(page)
    );
    assert!(
        page.body.contains("Sign in again"),
        "not the error page: {}",
        page.body
    );
    assert_eq!(page.header("cache-control"), Some("no-store"));
    // The page shows a reference; the reason is in the log under it.
    let logged = crate::logs::reason_of(&page.body);
    assert!(
        logged.to_lowercase().contains(&reason.to_lowercase()),
        "the log line of the error page does not mention `{reason}`: {logged}"
    );
}

/// Asserts that `page` is the page of a configuration mistake (500, "not configured
/// correctly", no "try again", no `Retry-After`), and returns the log line behind it.
pub fn configuration_page(page: &Page) -> String {
    assert_eq!(
        page.status,
        StatusCode::INTERNAL_SERVER_ERROR,
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains("The application&#x27;s sign-in is not configured correctly.")
            || page
                .body
                .contains("The application's sign-in is not configured correctly."),
        "{}",
        page.body
    );
    assert!(!page.body.contains("try again"), "{}", page.body);
    assert!(page.header("retry-after").is_none());
    crate::logs::reason_of(&page.body)
}
