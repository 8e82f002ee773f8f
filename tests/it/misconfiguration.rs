//! Configuration mistakes read as configuration mistakes: a provider that refuses the
//! application's client (a wrong secret, the wrong authentication method, a grant it does not
//! allow) or an authority without a discovery document gets the page "the application's
//! sign-in is not configured correctly" (500, no "try again", no sign-in link), and the log
//! line under the page's reference names the setting to fix and quotes the provider's words.

use axum_identity_testkit as support;

use axum::Router;
use axum::routing::get;
use axum_identity::{Auth, Context, login_required};
use serde_json::json;
use support::app::{CLIENT_ID, CLIENT_SECRET, Slot, launch, provider_for};
use support::assert::configuration_page;
use support::browser::Browser;

#[login_required]
async fn index(context: Context) -> String {
    format!("hello {}", context.user.subject())
}

fn routes() -> Router {
    Router::new().route("/", get(index))
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
    let logged = configuration_page(&page);
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
    let logged = configuration_page(&page);
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
    let logged = configuration_page(&page);
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
    let logged = configuration_page(&page);
    assert!(logged.contains("certificate is not trusted"), "{logged}");
    assert!(logged.contains("SSL_CERT_FILE"), "{logged}");
}

/// Runs example `name` with `env` (and no other provider setting) until it exits; its exit
/// status and what it printed on stderr.
async fn run_example(name: &str, env: &[(&str, String)]) -> (Option<i32>, String) {
    let mut command = tokio::process::Command::new(support::example::binary(name));
    command
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR")))
        .env("RUST_LOG", "warn")
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    for variable in support::example::PROVIDER_SETTINGS {
        command.env_remove(variable);
    }
    for (variable, value) in env {
        command.env(variable, value);
    }
    let output = tokio::time::timeout(std::time::Duration::from_secs(60), command.output())
        .await
        .expect("the example stops by itself")
        .expect("the example runs");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[tokio::test]
async fn an_example_prints_a_startup_error_in_its_display_form_and_fails() {
    let (status, stderr) = run_example(
        "protected_router",
        &[
            ("CLIENT_ID", "app".into()),
            ("CLIENT_SECRET", "secret".into()),
            ("AUTHORITY", "https://keycloak.example/realms/demo".into()),
        ],
    )
    .await;
    assert_eq!(status, Some(1), "{stderr}");
    assert!(
        stderr.contains("error: `authority` (environment variable AUTHORITY) is invalid:"),
        "{stderr}"
    );
    assert!(stderr.contains("set OIDC_AUTHORITY"), "{stderr}");
    assert!(!stderr.contains("Invalid {"), "the Debug form: {stderr}");
}

#[tokio::test]
async fn an_example_warms_up_and_stops_at_startup_on_an_authority_without_discovery() {
    let slot = Slot::bind();
    let provider = provider_for(&[&slot], json!({})).await;
    let (status, stderr) = run_example(
        "quickstart",
        &[
            ("CLIENT_ID", CLIENT_ID.into()),
            ("CLIENT_SECRET", CLIENT_SECRET.into()),
            ("REDIRECT_URI", slot.redirect_uri()),
            ("OIDC_AUTHORITY", format!("{}/realms/demo", provider.issuer)),
            ("SESSION_FILE", ":memory:".into()),
            ("PORT", slot.port().to_string()),
        ],
    )
    .await;
    assert_eq!(status, Some(1), "{stderr}");
    assert!(
        stderr.contains("error: the identity provider's configuration is unusable"),
        "{stderr}"
    );
    assert!(stderr.contains("check OIDC_AUTHORITY"), "{stderr}");
}
