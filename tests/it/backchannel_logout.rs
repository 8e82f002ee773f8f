//! Back-channel logout from the real provider: when the user signs out at the provider (from
//! any application), the provider tells this one server to server, and the session here ends.

use axum_identity_testkit as support;

use axum::Router;
use axum::routing::get;
use axum_identity::Clock;
use serde_json::json;
use support::app::{launch, public};
use support::browser::Browser;

/// The back-channel logout markers' key: a setting of its own, not the client secret.
const MARKER_KEY: &str = "bcl-marker-key-0123456789abcdefghijklmnop";

#[tokio::test]
async fn signing_out_at_the_provider_ends_the_session_here() {
    // Sessions signed in before the logout end: the app's clock moves past the second of the
    // sign-in instead of the test sleeping.
    let clock = Clock::manual_from_now();
    let app_clock = clock.clone();
    let app = launch(Router::new().route("/", get(public)))
        .client("bcl-app", "bcl-secret")
        .client_metadata(
            |base| json!({"backchannel_logout_uri": format!("{base}/logout/backchannel")}),
        )
        .auth(move |b| {
            b.backchannel_logout(true)
                .backchannel_logout_key(MARKER_KEY)
                .clock(app_clock)
        })
        .start()
        .await;
    assert_eq!(
        app.auth.backchannel_logout_path().as_deref(),
        Some("/logout/backchannel")
    );
    let (base, provider) = (&app.base, app.provider());

    let browser = Browser::new();
    let page = browser
        .sign_in(browser.get(format!("{base}/login")).await, "heidi")
        .await;
    assert_eq!(page.body, "signed in as heidi");
    clock.advance(std::time::Duration::from_secs(2));

    // The user signs out at the provider itself, not through this application.
    let page = browser.get(provider.url("/session/end")).await;
    let page = browser.confirm_logout(page).await;
    assert!(page.body.contains("Signed out"), "{}", page.body);

    // The provider has called /logout/backchannel: the session here is over.
    let mut seen = String::new();
    for _ in 0..20 {
        seen = browser.get(format!("{base}/")).await.body;
        if seen == "anonymous" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(seen, "anonymous", "{}", provider.stderr());
}
