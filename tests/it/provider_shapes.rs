//! What every provider shape must do alike, written once and run against each: the real
//! provider (oidc-provider), the hostile provider playing it straight, Entra ID and Azure AD B2C
//! (the Microsoft-shaped provider). Each shape is an app with the same two pages — `/` says
//! `anonymous` or `signed in as <sub>`, `/profile` needs sign-in — and the user it signs in.

use axum_identity_testkit as support;

use std::sync::Arc;

use axum::Router;
use axum::response::Html;
use axum::routing::get;
use axum_identity::{AuthBuilder, Context, escape_html, login_required};
use reqwest::StatusCode;
use support::app::{TestApp, launch, public};
use support::assert::{assert_signed_in, home};
use support::browser::{Browser, Page};
use support::hostile::{Hostile, Scenario};
use support::microsoft::{self, Microsoft};

/// A page that needs sign-in.
#[login_required]
async fn profile(context: Context) -> Html<String> {
    Html(format!(
        "profile of {}",
        escape_html(context.user.subject())
    ))
}

fn routes() -> Router {
    Router::new()
        .route("/", get(public))
        .route("/profile", get(profile))
}

/// An app signing in with one provider shape, a browser that reaches both, and who signs in.
struct Shape {
    app: TestApp,
    browser: Browser,
    /// The `sub` of the user the provider signs in.
    sub: String,
    /// The real provider asks for a user name and password; the others answer at once.
    asks_to_sign_in: bool,
    /// Another browser, with no cookies, whose requests stay on loopback like the first's.
    stranger: Box<dyn Fn() -> Browser + Send + Sync>,
    /// The provider inside the test process, kept running.
    _provider: Option<Box<dyn Send + Sync>>,
}

impl Shape {
    /// Follows the provider's pages (signing in as the shape's user where they ask).
    async fn through_provider(&self, browser: &Browser, page: Page) -> Page {
        if self.asks_to_sign_in {
            browser.sign_in(page, &self.sub).await
        } else {
            page
        }
    }
}

async fn real() -> Shape {
    let app = launch(routes()).start().await;
    Shape {
        app,
        browser: Browser::new(),
        sub: "alice".to_owned(),
        asks_to_sign_in: true,
        stranger: Box::new(Browser::new),
        _provider: None,
    }
}

async fn hostile() -> Shape {
    let hostile = Hostile::start("shape-app", Scenario::default()).await;
    let app = launch(routes())
        .issuer(&hostile.issuer)
        .client("shape-app", "shape-secret")
        .start()
        .await;
    Shape {
        app,
        browser: Browser::new(),
        sub: "alice".to_owned(),
        asks_to_sign_in: false,
        stranger: Box::new(Browser::new),
        _provider: Some(Box::new(hostile)),
    }
}

async fn on_microsoft(configure: fn(AuthBuilder) -> AuthBuilder, sub: &str) -> Shape {
    let microsoft = Arc::new(Microsoft::start().await);
    let app = launch(routes())
        .configured_provider()
        .client(microsoft::CLIENT_ID, microsoft::CLIENT_SECRET)
        .auth({
            let http = microsoft.http_client();
            move |b| configure(b.http_client(http))
        })
        .start()
        .await;
    Shape {
        app,
        browser: microsoft.browser(),
        sub: sub.to_owned(),
        asks_to_sign_in: false,
        stranger: Box::new({
            let microsoft = microsoft.clone();
            move || microsoft.browser()
        }),
        _provider: Some(Box::new(microsoft)),
    }
}

async fn entra() -> Shape {
    on_microsoft(
        |b| {
            b.authority(format!(
                "https://login.microsoftonline.com/{}",
                microsoft::TENANT_A
            ))
        },
        microsoft::ALICE_SUB,
    )
    .await
}

async fn b2c() -> Shape {
    on_microsoft(
        |b| {
            b.b2c_tenant_name("contoso")
                .b2c_signup_signin_user_flow(microsoft::SUSI)
        },
        microsoft::ALICE_OID,
    )
    .await
}

// ---------------------------------------------------------------------------------------------
// The suite

/// Opening a page that needs sign-in goes through the provider and back to that page, signed
/// in; the session holds for the next page.
async fn sign_in_returns_to_the_page_asked_for(shape: Shape) {
    let (app, browser) = (&shape.app, &shape.browser);
    let page = browser.get(app.url("/profile")).await;
    let page = shape.through_provider(browser, page).await;
    assert_signed_in(app, browser, &page, "/profile", &shape.sub).await;
    assert_eq!(page.body, format!("profile of {}", shape.sub));
}

/// A callback URL replayed by another browser is refused (the code is spent and the state is
/// not that browser's); the user who signed in stays signed in.
async fn a_replayed_callback_is_refused(shape: Shape) {
    let (app, browser) = (&shape.app, &shape.browser);
    let stranger = (shape.stranger)();
    let redirect = app.redirect_uri();
    let page = browser
        .get_until(app.url("/login"), |url| url.as_str().starts_with(&redirect))
        .await;
    let page = if page.stopped_at.is_none() {
        // The real provider: its pages come first, then the callback.
        browser.stop_at(redirect.clone());
        let page = shape.through_provider(browser, page).await;
        browser.clear_stops();
        page
    } else {
        page
    };
    let callback = page.stopped_at.clone().expect("stopped at the callback");
    let done = browser.get(callback.as_str()).await;
    assert_signed_in(app, browser, &done, "/", &shape.sub).await;

    let refused = stranger.get(callback.as_str()).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    assert!(refused.body.contains("Sign in again"), "{}", refused.body);
    assert_eq!(home(app, &stranger).await, "anonymous");
    assert_eq!(
        home(app, browser).await,
        format!("signed in as {}", shape.sub)
    );
}

/// Logging out ends the session here at once, whatever the provider then shows: the page
/// says anonymous and the old session cookie signs nobody in.
async fn logout_ends_the_session_here(shape: Shape) {
    let (app, browser) = (&shape.app, &shape.browser);
    let page = browser.get(app.url("/profile")).await;
    let page = shape.through_provider(browser, page).await;
    assert_signed_in(app, browser, &page, "/profile", &shape.sub).await;
    let old_cookie = browser
        .cookie(&app.base, "identity.sid")
        .expect("a session cookie");

    let logout = browser.get_no_follow(app.url("/logout")).await;
    assert!(
        logout.status.is_redirection(),
        "{} {}",
        logout.status,
        logout.body
    );
    assert_eq!(home(app, browser).await, "anonymous");
    let replay = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(app.url("/"))
        .header("cookie", format!("identity.sid={old_cookie}"))
        .send()
        .await
        .unwrap();
    assert_eq!(replay.text().await.unwrap(), "anonymous");
}

/// The suite once per shape: `shape_tests!(real, ...)` makes a module per shape (named after the
/// function that starts it) with one test per behaviour.
macro_rules! shape_tests {
    ($($shape:ident),* $(,)?) => {
        $(
            mod $shape {
                #[tokio::test]
                async fn sign_in_returns_to_the_page_asked_for() {
                    super::sign_in_returns_to_the_page_asked_for(super::$shape().await).await;
                }

                #[tokio::test]
                async fn a_replayed_callback_is_refused() {
                    super::a_replayed_callback_is_refused(super::$shape().await).await;
                }

                #[tokio::test]
                async fn logout_ends_the_session_here() {
                    super::logout_ends_the_session_here(super::$shape().await).await;
                }
            }
        )*
    };
}

shape_tests!(real, hostile, entra, b2c);
