//! Configuration mistakes read as configuration mistakes: a provider that refuses the
//! application's client (a wrong secret, the wrong authentication method, a grant it does not
//! allow) or an authority without a discovery document gets the page "the application's
//! sign-in is not configured correctly" (500, no "try again", no sign-in link), and the log
//! line under the page's reference names the setting to fix and quotes the provider's words.

use axum_identity_testkit as support;

use axum::Router;
use axum::routing::get;
use axum_identity::{Auth, Context, login_required};
use reqwest::StatusCode;
use serde_json::json;
use support::app::{CLIENT_ID, CLIENT_SECRET, Slot, launch, provider_for};
use support::browser::{Browser, Page};
use support::logs::reason_of;

#[login_required]
async fn index(context: Context) -> String {
    format!("hello {}", context.user.subject())
}

fn routes() -> Router {
    Router::new().route("/", get(index))
}

/// The page of a configuration mistake, and the log line behind it.
fn assert_configuration_page(page: &Page) -> String {
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
    reason_of(&page.body)
}

#[tokio::test]
async fn a_wrong_client_secret_is_a_configuration_error_naming_client_secret() {
    let app = launch(routes())
        .auth(|builder| builder.client_secret("not-the-secret"))
        .start()
        .await;
    let browser = Browser::new();
    let page = browser
        .sign_in(browser.get(app.url("/")).await, "alice")
        .await;
    let logged = assert_configuration_page(&page);
    assert!(
        logged.contains("sign-in: the identity provider refused"),
        "{logged}"
    );
    assert!(logged.contains("invalid_client"), "{logged}");
    assert!(logged.contains("CLIENT_SECRET"), "{logged}");
    assert!(
        logged.contains("sign-in is not configured correctly"),
        "{logged}"
    );
}

#[tokio::test]
async fn a_missing_redirect_uri_next_to_a_secret_is_a_configuration_error_naming_redirect_uri() {
    // A web client (no device grant) configured without REDIRECT_URI: the library falls back
    // to the Device Code flow, which the provider refuses for this client.
    let slot = Slot::bind();
    let provider = provider_for(&[&slot], json!({})).await;
    let auth = Auth::builder()
        .client_id(CLIENT_ID)
        .client_secret(CLIENT_SECRET)
        .oidc_authority(&provider.issuer)
        .build()
        .unwrap();
    assert!(auth.uses_device_code());
    let app = launch(routes())
        .issuer(&provider.issuer)
        .on(&slot)
        .auth(|builder| builder.client_secret(CLIENT_SECRET))
        .device()
        .start()
        .await;
    let browser = Browser::new();
    // The sign-in page's button starts the device authorization, which the provider refuses.
    let page = browser
        .start_device_code(browser.get(app.url("/")).await)
        .await;
    let logged = assert_configuration_page(&page);
    assert!(logged.contains("device code sign-in"), "{logged}");
    assert!(logged.contains("REDIRECT_URI is not set"), "{logged}");
    assert!(
        logged.contains("is not allowed for this client"),
        "{logged}"
    );
}

#[tokio::test]
async fn a_discovery_url_that_answers_404_is_a_configuration_error_naming_oidc_authority() {
    let slot = Slot::bind();
    let provider = provider_for(&[&slot], json!({})).await;
    let app = launch(routes())
        .issuer(&format!("{}/realms/demo", provider.issuer))
        .on(&slot)
        .start()
        .await;
    let page = Browser::new().get(app.url("/")).await;
    let logged = assert_configuration_page(&page);
    assert!(logged.contains("404 Not Found"), "{logged}");
    assert!(logged.contains("check OIDC_AUTHORITY"), "{logged}");
    // The warm-up reports the same at startup, before the first user arrives.
    let error = app.auth.warm_up().await.unwrap_err();
    assert!(
        matches!(error, axum_identity::Error::Config(_)),
        "{error:?}"
    );
}

#[tokio::test]
async fn an_authority_that_is_not_microsofts_is_refused_at_startup_pointing_to_oidc_authority() {
    let error = Auth::builder()
        .client_id(CLIENT_ID)
        .client_secret(CLIENT_SECRET)
        .authority("https://keycloak.example/realms/demo")
        .build()
        .unwrap_err();
    let message = error.to_string();
    assert!(
        message.starts_with("`authority` (environment variable AUTHORITY) is invalid"),
        "{message}"
    );
    assert!(message.contains("set OIDC_AUTHORITY"), "{message}");
}

#[tokio::test]
async fn an_untrusted_certificate_is_a_configuration_error_naming_ssl_cert_file() {
    // An https provider on loopback whose certificate comes from the tests' own CA, which the
    // app's default HTTP client does not trust.
    let untrusted = support::microsoft::Microsoft::start().await;
    let authority = format!("https://127.0.0.1:{}", untrusted.addr.port());
    let app = launch(routes())
        .configured_provider()
        .auth(move |builder| builder.oidc_authority(authority))
        .start()
        .await;
    let page = Browser::new().get(app.url("/")).await;
    let logged = assert_configuration_page(&page);
    assert!(logged.contains("certificate is not trusted"), "{logged}");
    assert!(logged.contains("SSL_CERT_FILE"), "{logged}");
}
