//! Deciding who signs in and how, against the real provider: allow-lists, the sign-in hook and
//! its data on another instance, typed claims, the sign-in parameters of one request
//! (`login_hint`, `prompt=none`), step-up with `max_age`, and a claims challenge round trip.

use axum_identity_testkit as support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderMap, StatusCode as AxumStatus};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum_identity::{BoxError, Context, SignInDecision, SignInEvent, login_required};
use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use support::app::{self, Slot, TestApp, launch, public, welcome};
use support::browser::{Browser, Page};
use support::stores;
use tower_sessions::SessionStore;
use tower_sessions::session::Id;

/// `/` says who is signed in, `/welcome` requires sign-in, `/data` shows the hook's data.
fn routes() -> Router {
    Router::new()
        .route("/", get(public))
        .route("/welcome", get(welcome))
        .route("/data", get(data))
        .route("/claims", get(typed_claims))
        .route("/recent", get(recent))
}

#[login_required]
async fn data(context: Context) -> String {
    context
        .user
        .app_data()
        .get("app_user")
        .and_then(Value::as_str)
        .unwrap_or("no data")
        .to_owned()
}

/// The claims the test provider issues, as a struct of the application's.
#[derive(Debug, Deserialize)]
struct ProviderClaims {
    sub: String,
    name: String,
    email: String,
    email_verified: bool,
}

#[login_required]
async fn typed_claims(context: Context) -> Response {
    match context.user.claims_as::<ProviderClaims>() {
        Ok(claims) => format!(
            "{} {} {} {}",
            claims.sub, claims.name, claims.email, claims.email_verified
        )
        .into_response(),
        Err(error) => (AxumStatus::INTERNAL_SERVER_ERROR, error.to_string()).into_response(),
    }
}

#[login_required(max_age = 5)]
async fn recent(context: Context) -> String {
    format!("recent {}", context.user.subject())
}

/// The hook of the example: every allowed user gets `app_user: <sub>-local`.
async fn local_user(event: SignInEvent) -> Result<SignInDecision, BoxError> {
    let local = format!("{}-local", event.user.subject());
    Ok(SignInDecision::allow().with_data("app_user", local))
}

/// The session record the store holds for this browser's cookie, as JSON (`None`: no record).
async fn stored_record(
    store: &impl SessionStore,
    app: &TestApp,
    browser: &Browser,
) -> Option<Value> {
    let id: Id = browser
        .cookie(&app.url("/"), "identity.sid")?
        .parse()
        .expect("a session id");
    let record = store.load(&id).await.expect("the store answers")?;
    Some(json!(record.data))
}

fn signed_in_user(record: &Option<Value>) -> Option<&Value> {
    record
        .as_ref()?
        .get("axum_identity")?
        .get("user")
        .filter(|user| !user.is_null())
}

#[tokio::test]
async fn a_user_outside_the_email_domain_list_gets_403_and_the_store_holds_no_signed_in_record() {
    let store = tower_sessions::MemoryStore::default();
    let app = launch(routes())
        .auth(|b| b.allowed_email_domains(["contoso.test"]))
        .store(store.clone())
        .start()
        .await;
    let browser = Browser::new();
    let page = browser.get(app.url("/welcome")).await;
    let page = browser.sign_in(page, "alice").await;
    assert_eq!(page.status, StatusCode::FORBIDDEN, "{}", page.body);
    assert!(
        page.body
            .contains("does not admit email addresses of your domain"),
        "the user is told why: {}",
        page.body
    );
    let record = stored_record(&store, &app, &browser).await;
    assert!(
        signed_in_user(&record).is_none(),
        "no signed-in user in the store: {record:?}"
    );
    assert_eq!(browser.get(app.url("/")).await.body, "anonymous");

    // The provider's verified `example.test` addresses are admitted by a list naming it.
    let admitting = launch(routes())
        .auth(|b| b.allowed_email_domains(["contoso.test", "EXAMPLE.test"]))
        .start()
        .await;
    let browser = Browser::new();
    let page = browser.get(admitting.url("/welcome")).await;
    let page = browser.sign_in(page, "alice").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("Welcome Alice"), "{}", page.body);
}

#[tokio::test]
async fn a_tenant_list_refuses_a_provider_that_names_no_tenant() {
    let app = launch(routes())
        .auth(|b| b.allowed_tenants(["72f988bf-86f1-41af-91ab-2d7cd011db47"]))
        .start()
        .await;
    let browser = Browser::new();
    let page = browser.get(app.url("/welcome")).await;
    let page = browser.sign_in(page, "alice").await;
    assert_eq!(page.status, StatusCode::FORBIDDEN, "{}", page.body);
    assert_eq!(browser.get(app.url("/")).await.body, "anonymous");
}

#[tokio::test]
async fn the_hooks_data_is_served_by_a_second_instance() {
    let (slot_a, slot_b) = (Slot::bind(), Slot::bind());
    let provider = app::provider_for(&[&slot_a, &slot_b], json!({})).await;
    let (store, _pool) = stores::redis_store().await;
    // Instance A has the hook; instance B only shares the store.
    let a = launch(routes())
        .issuer(&provider.issuer)
        .on(&slot_a)
        .auth(|b| b.on_sign_in(local_user))
        .store(store.clone())
        .start()
        .await;
    let b = launch(routes())
        .issuer(&provider.issuer)
        .on(&slot_b)
        .store(store)
        .start()
        .await;
    let browser = Browser::new();
    let page = browser.get(a.url("/data")).await;
    let page = browser.sign_in(page, "carol").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(page.body, "carol-local");
    let on_b = browser.get(b.url("/data")).await;
    assert_eq!(on_b.url.as_str(), b.url("/data"), "no sign-in at B");
    assert_eq!(on_b.body, "carol-local", "B serves what A's hook kept");
}

#[tokio::test]
async fn a_denying_or_failing_hook_leaves_nobody_signed_in() {
    async fn deny_mallory(event: SignInEvent) -> Result<SignInDecision, BoxError> {
        match event.user.subject() {
            "mallory" => Ok(SignInDecision::deny("This account is suspended.")),
            "crash" => panic!("a bug in the application's hook"),
            "slow" => {
                tokio::time::sleep(Duration::from_secs(30)).await;
                Ok(SignInDecision::allow())
            }
            "broken" => Err("the user database is down".into()),
            _ => Ok(SignInDecision::allow()),
        }
    }
    let store = tower_sessions::MemoryStore::default();
    let app = launch(routes())
        .auth(|b| {
            b.on_sign_in(deny_mallory)
                .sign_in_hook_timeout(Duration::from_millis(500))
        })
        .store(store.clone())
        .start()
        .await;
    for (login, status, says) in [
        (
            "mallory",
            StatusCode::FORBIDDEN,
            "This account is suspended.",
        ),
        (
            "crash",
            StatusCode::INTERNAL_SERVER_ERROR,
            "could not check your account",
        ),
        (
            "slow",
            StatusCode::INTERNAL_SERVER_ERROR,
            "could not check your account",
        ),
        (
            "broken",
            StatusCode::INTERNAL_SERVER_ERROR,
            "could not check your account",
        ),
    ] {
        let browser = Browser::new();
        let page = browser.get(app.url("/welcome")).await;
        let page = browser.sign_in(page, login).await;
        assert_eq!(page.status, status, "{login}: {}", page.body);
        assert!(page.body.contains(says), "{login}: {}", page.body);
        assert!(
            !page.body.contains("database"),
            "{login}: the hook's error stays in the log"
        );
        let record = stored_record(&store, &app, &browser).await;
        assert!(signed_in_user(&record).is_none(), "{login}: {record:?}");
        assert_eq!(browser.get(app.url("/")).await.body, "anonymous", "{login}");
    }
    let browser = Browser::new();
    let page = browser.get(app.url("/welcome")).await;
    let page = browser.sign_in(page, "alice").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
}

#[tokio::test]
async fn claims_as_reads_the_session_claims_as_a_struct() {
    let app = launch(routes()).auth(|b| b.scopes(["email"])).start().await;
    let browser = Browser::new();
    let page = browser.get(app.url("/claims")).await;
    let page = browser.sign_in(page, "dave").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(page.body, "dave Dave dave@example.test true");
}

/// Stops the browser before it reaches the provider's authorization endpoint.
fn at_authorize(provider: &str) -> impl Fn(&url::Url) -> bool + Sync + '_ {
    move |url| url.as_str().starts_with(provider) && url.path().ends_with("/auth")
}

fn query_of(url: &url::Url) -> HashMap<String, String> {
    url.query_pairs().into_owned().collect()
}

#[tokio::test]
async fn the_login_hint_reaches_the_providers_authorize_request() {
    let app = launch(routes()).start().await;
    let issuer = app.provider().issuer.clone();
    let browser = Browser::new();
    let page = browser
        .get_until(
            app.url("/login?next=%2Fwelcome&login_hint=ada%40example.test&domain_hint=example.test&prompt=login&ui_locales=en"),
            at_authorize(&issuer),
        )
        .await;
    let authorize = page.stopped_at.clone().expect("stopped at the provider");
    let query = query_of(&authorize);
    assert_eq!(query["login_hint"], "ada@example.test");
    assert_eq!(query["domain_hint"], "example.test");
    assert_eq!(query["prompt"], "login");
    assert_eq!(query["ui_locales"], "en");
    // And the provider took it: its sign-in form is filled in with the hint.
    let form_page = browser.resume(page).await;
    assert!(
        form_page.body.contains(r#"value="ada@example.test""#),
        "{}",
        form_page.body
    );

    // A hint with a line break, or one over 256 bytes, is not forwarded; the sign-in goes on.
    let long = "a".repeat(300);
    for bad in ["ada%0d%0a%40example.test".to_owned(), long] {
        let browser = Browser::new();
        let page = browser
            .get_until(
                app.url(&format!("/login?login_hint={bad}&prompt=everything")),
                at_authorize(&issuer),
            )
            .await;
        let query = query_of(page.stopped_at.as_ref().expect("stopped at the provider"));
        assert!(!query.contains_key("login_hint"), "{query:?}");
        assert!(!query.contains_key("prompt"), "{query:?}");
    }
}

#[tokio::test]
async fn a_silent_sign_in_the_provider_cannot_complete_comes_back_signed_out_not_as_an_error() {
    // Two apps of one client at one provider: a session there made through A lets B sign in
    // silently.
    let (slot_a, slot_b) = (Slot::bind(), Slot::bind());
    let provider = app::provider_for(&[&slot_a, &slot_b], json!({"autoConsent": true})).await;
    let a = launch(routes())
        .issuer(&provider.issuer)
        .on(&slot_a)
        .start()
        .await;
    let b = launch(routes())
        .issuer(&provider.issuer)
        .on(&slot_b)
        .start()
        .await;
    let browser = Browser::new();
    let page = browser.get(b.url("/login?next=%2F&prompt=none")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(page.url.as_str(), b.url("/"), "chain: {:?}", page.chain);
    assert_eq!(page.body, "anonymous", "no error page");

    let page = browser.get(a.url("/welcome")).await;
    let page = browser.sign_in(page, "erin").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let page = browser.get(b.url("/login?next=%2F&prompt=none")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(page.body, "signed in as erin", "chain: {:?}", page.chain);
}

#[tokio::test]
async fn max_age_forces_a_second_authentication_and_then_serves_the_page() {
    let app = launch(routes()).start().await;
    let browser = Browser::new();
    let page = browser.get(app.url("/recent")).await;
    let page = browser.sign_in(page, "frank").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(page.body, "recent frank");
    // Within five seconds of the authentication: served from the session.
    let again = browser.get(app.url("/recent")).await;
    assert_eq!(again.body, "recent frank");
    assert_eq!(
        again.chain.len(),
        1,
        "no trip to the provider: {:?}",
        again.chain
    );

    tokio::time::sleep(Duration::from_secs(6)).await;
    // Other pages do not care.
    assert_eq!(browser.get(app.url("/welcome")).await.chain.len(), 1);
    let page = browser.get(app.url("/recent")).await;
    assert!(
        page.forms()
            .iter()
            .any(|f| f.has("login") && f.has("password")),
        "the provider asks for the password again: {}",
        page.body
    );
    let authorize = page
        .chain
        .iter()
        .find(|(_, url)| url.path().ends_with("/auth"))
        .map(|(_, url)| query_of(url))
        .expect("a sign-in request");
    assert_eq!(authorize["max_age"], "5");
    let page = browser.sign_in(page, "frank").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(page.body, "recent frank");
}

/// An API that answers the first token it sees with Entra's claims challenge, and every other
/// token with `200 ok`: what Conditional Access does to a token issued before a policy changed.
#[derive(Clone, Default)]
struct ChallengingApi {
    seen: Arc<Mutex<Vec<String>>>,
}

const CHALLENGE_CLAIMS: &str =
    r#"{"access_token":{"nbf":{"essential":true,"value":"1700000000"}}}"#;

async fn start_api(api: ChallengingApi) -> String {
    async fn answer(
        axum::extract::State(api): axum::extract::State<ChallengingApi>,
        headers: HeaderMap,
    ) -> Response {
        let token = headers
            .get("authorization")
            .and_then(|h| h.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let mut seen = api.seen.lock().unwrap();
        seen.push(token);
        if seen.len() == 1 {
            let claims = support::kernel::b64(CHALLENGE_CLAIMS.as_bytes());
            return (
                AxumStatus::UNAUTHORIZED,
                [(
                    "www-authenticate",
                    format!(
                        r#"Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000", error="insufficient_claims", claims="{claims}""#
                    ),
                )],
            )
                .into_response();
        }
        "ok".into_response()
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let router = Router::new().route("/api", get(answer)).with_state(api);
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    base
}

#[tokio::test]
async fn a_claims_challenge_round_trip() {
    let api = ChallengingApi::default();
    let base = start_api(api.clone()).await;

    #[login_required(scopes = ["api.read"])]
    async fn report(
        axum::extract::State(api_url): axum::extract::State<String>,
        context: Context,
    ) -> Response {
        let answer = reqwest::Client::new()
            .get(&api_url)
            .bearer_auth(&context.access_token)
            .send()
            .await
            .expect("the API answers");
        if answer.status() == 401 {
            let header = answer.headers().get("www-authenticate").cloned();
            if let Some(header) = header
                && let Err(challenge) = context.challenge(&header)
            {
                return challenge.into_response();
            }
            return (AxumStatus::BAD_GATEWAY, "refused").into_response();
        }
        format!("report: {}", answer.text().await.unwrap()).into_response()
    }

    let routes = Router::new().route("/report", get(report));
    let app = support::app::launch_with_state(routes, format!("{base}/api"))
        .auth(|b| b.client_capabilities(["cp1"]))
        .start()
        .await;
    let issuer = app.provider().issuer.clone();
    let browser = Browser::new();
    let page = browser.get(app.url("/report?year=2026")).await;
    // The first sign-in, then the API's challenge sends the browser to sign in again.
    let page: Page = browser.sign_in(page, "grace").await;
    let second = page
        .chain
        .iter()
        .filter(|(_, url)| url.as_str().starts_with(&issuer) && url.path().ends_with("/auth"))
        .map(|(_, url)| query_of(url))
        .nth(1)
        .unwrap_or_else(|| panic!("a second sign-in request: {:?}", page.chain));
    let claims: Value = serde_json::from_str(&second["claims"]).expect("a claims request");
    assert_eq!(
        claims,
        json!({"access_token": {
            "nbf": {"essential": true, "value": "1700000000"},
            "xms_cc": {"values": ["cp1"]},
        }}),
        "the challenge's claims, with the client capabilities"
    );
    assert!(second["scope"].split(' ').any(|s| s == "api.read"));
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(page.url.as_str(), app.url("/report?year=2026"));
    assert_eq!(page.body, "report: ok");
    let seen = api.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_ne!(seen[0], seen[1], "the page came back with a new token");
}

#[tokio::test]
async fn a_provider_that_ignores_max_age_gets_a_403_page_not_a_loop() {
    use support::hostile::{Hostile, Scenario, TokenSpec};
    let now = support::bearer::now();
    for (auth_time, status) in [
        (None, StatusCode::FORBIDDEN),
        (Some(now - 3600), StatusCode::FORBIDDEN),
        (Some(now), StatusCode::OK),
    ] {
        let claims = match auth_time {
            Some(at) => json!({"auth_time": at}),
            None => json!({}),
        };
        let hostile = Hostile::start(
            app::CLIENT_ID,
            Scenario {
                id_token: TokenSpec::claims(claims),
                ..Scenario::default()
            },
        )
        .await;
        let app = launch(routes())
            .issuer(&hostile.issuer)
            .client(app::CLIENT_ID, app::CLIENT_SECRET)
            .start()
            .await;
        let browser = Browser::new();
        let page = browser.get(app.url("/recent")).await;
        assert_eq!(page.status, status, "{auth_time:?}: {}", page.body);
        let asked = hostile.authorizations();
        assert_eq!(asked.len(), 1, "one round, no loop: {:?}", page.chain);
        assert_eq!(asked[0].params["max_age"], "5");
        if status == StatusCode::FORBIDDEN {
            assert!(
                page.body.contains("requires a recent sign-in"),
                "{}",
                page.body
            );
            assert_eq!(browser.get(app.url("/")).await.body, "anonymous");
        } else {
            assert_eq!(page.body, "recent alice");
        }
    }
}
