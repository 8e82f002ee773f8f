//! Several providers in one application, against two real provider processes with different
//! issuers ("work" and "customer"): each user signs in, gets tokens and signs out at their own
//! provider, a callback cannot be completed at the other one, and a handler can require one.

use axum_identity_testkit as support;

use std::time::Duration;

use axum::Router;
use axum::routing::get;
use axum_identity::{Auth, Clock, Context, login_required};
use reqwest::StatusCode;
use serde_json::json;
use support::app::{CLIENT_ID, CLIENT_SECRET, Slot, TestApp, launch};
use support::browser::Browser;
use support::provider::{TestProvider, requests, token_requests};

/// `/` says who is signed in and where.
async fn home(context: Option<Context>) -> String {
    match context {
        Some(context) => format!("{} at {}", context.user.subject(), context.provider()),
        None => "anonymous".to_owned(),
    }
}

#[login_required]
async fn welcome(context: Context) -> String {
    format!(
        "welcome {} at {}",
        context.user.subject(),
        context.provider()
    )
}

#[login_required(provider = "work")]
async fn staff(context: Context) -> String {
    format!("staff {}", context.user.subject())
}

#[login_required(scopes = ["api.read"])]
async fn read(context: Context) -> String {
    format!(
        "token from {} ({} chars)",
        context.provider(),
        context.access_token.len()
    )
}

fn routes() -> Router {
    Router::new()
        .route("/", get(home))
        .route("/welcome", get(welcome))
        .route("/staff", get(staff))
        .route("/read", get(read))
}

struct Rig {
    app: TestApp,
    work: TestProvider,
    customer: TestProvider,
    clock: Clock,
    _slot: Slot,
}

async fn provider_for(slot: &Slot) -> TestProvider {
    let mut client = TestProvider::web_client(
        CLIENT_ID,
        CLIENT_SECRET,
        &[&slot.redirect_uri()],
        &[&slot.post_logout_uri()],
    );
    client["backchannel_logout_uri"] = json!(slot.url("/logout/backchannel"));
    TestProvider::start(json!({"clients": [client], "accessTokenTtl": 60, "autoConsent": true}))
        .await
        .expect("a test provider starts")
}

async fn rig() -> Rig {
    rig_with(|b| b).await
}

/// The rig with more application settings.
async fn rig_with(
    more: impl FnOnce(axum_identity::AuthBuilder) -> axum_identity::AuthBuilder + Send + 'static,
) -> Rig {
    let slot = Slot::bind();
    let (work, customer) = (provider_for(&slot).await, provider_for(&slot).await);
    assert_ne!(work.issuer, customer.issuer);
    let clock = Clock::manual_from_now();
    let (work_issuer, customer_issuer, app_clock) =
        (work.issuer.clone(), customer.issuer.clone(), clock.clone());
    // The application's client id, secret and redirect URI (from the launcher) serve both.
    let app = launch(routes())
        .configured_provider()
        .on(&slot)
        .auth(move |b| {
            more(b.clock(app_clock))
                .provider("work", Auth::builder().oidc_authority(work_issuer))
                .provider("customer", Auth::builder().oidc_authority(customer_issuer))
        })
        .start()
        .await;
    Rig {
        app,
        work,
        customer,
        clock,
        _slot: slot,
    }
}

/// Signs `login` in at the provider called `name`, through the chooser's link.
async fn sign_in_via_chooser(rig: &Rig, browser: &Browser, name: &str, login: &str) {
    let chooser = browser.get(rig.app.url("/welcome")).await;
    assert_eq!(chooser.status, StatusCode::OK, "{}", chooser.body);
    let link = chooser
        .body
        .split("href=\"")
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap().replace("&amp;", "&"))
        .find(|href| href.ends_with(&format!("provider={name}")))
        .unwrap_or_else(|| panic!("a link to {name} on the chooser: {}", chooser.body));
    let page = browser.get(rig.app.url(&link)).await;
    let page = browser.sign_in(page, login).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(page.body, format!("welcome {login} at {name}"));
}

#[tokio::test]
async fn user_a_signs_in_through_provider_1_and_user_b_through_provider_2_in_one_router() {
    let rig = rig().await;
    let (alice, bob) = (Browser::new(), Browser::new());
    sign_in_via_chooser(&rig, &alice, "work", "alice").await;
    sign_in_via_chooser(&rig, &bob, "customer", "bob").await;
    assert_eq!(alice.get(rig.app.url("/")).await.body, "alice at work");
    assert_eq!(bob.get(rig.app.url("/")).await.body, "bob at customer");
    let (work, customer) = (rig.work.stats().await, rig.customer.stats().await);
    assert_eq!(token_requests(&work, "authorization_code"), 1, "{work}");
    assert_eq!(
        token_requests(&customer, "authorization_code"),
        1,
        "{customer}"
    );
}

#[tokio::test]
async fn a_scoped_token_comes_from_and_is_refreshed_at_the_users_own_provider() {
    let rig = rig().await;
    let bob = Browser::new();
    sign_in_via_chooser(&rig, &bob, "customer", "bob").await;
    // More consent at bob's provider (no chooser: the session names it).
    let page = bob.get(rig.app.url("/read")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body.starts_with("token from customer"),
        "{}",
        page.body
    );
    assert!(
        page.chain
            .iter()
            .all(|(_, url)| !url.as_str().starts_with(&rig.work.issuer)),
        "nothing at work: {:?}",
        page.chain
    );
    rig.clock.advance(Duration::from_secs(61));
    let page = bob.get(rig.app.url("/read")).await;
    assert!(
        page.body.starts_with("token from customer"),
        "{}",
        page.body
    );
    let (work, customer) = (rig.work.stats().await, rig.customer.stats().await);
    assert_eq!(
        token_requests(&customer, "authorization_code"),
        2,
        "{customer}"
    );
    // One refused (the first refresh asked for a scope the grant lacked, which sent bob to
    // consent) and one that renewed the expired token.
    assert_eq!(token_requests(&customer, "refresh_token"), 2, "{customer}");
    assert_eq!(token_requests(&work, "authorization_code"), 0, "{work}");
    assert_eq!(token_requests(&work, "refresh_token"), 0, "{work}");
}

#[tokio::test]
async fn logout_ends_the_session_at_the_users_provider() {
    let rig = rig().await;
    let bob = Browser::new();
    sign_in_via_chooser(&rig, &bob, "customer", "bob").await;
    let page = bob
        .get_until(rig.app.url("/logout"), |url| {
            url.as_str().starts_with(&rig.customer.issuer)
                || url.as_str().starts_with(&rig.work.issuer)
        })
        .await;
    let to = page.stopped_at.expect("sent to a provider");
    assert!(to.as_str().starts_with(&rig.customer.issuer), "{to}");
    assert_eq!(bob.get(rig.app.url("/")).await.body, "anonymous");
    assert_eq!(requests(&rig.work.stats().await, "end_session"), 0);
}

#[tokio::test]
async fn a_callback_with_one_providers_state_and_another_providers_iss_is_refused() {
    let rig = rig().await;
    let browser = Browser::new();
    let page = browser
        .get_until(rig.app.url("/login?provider=work&next=%2Fwelcome"), |url| {
            url.as_str().starts_with(&rig.work.issuer)
        })
        .await;
    let authorize = page.stopped_at.expect("sent to work");
    let state = authorize
        .query_pairs()
        .find(|(k, _)| k == "state")
        .map(|(_, v)| v.into_owned())
        .expect("a state");
    let forged = format!(
        "/redirect?code=anything&state={state}&iss={}",
        url::form_urlencoded::byte_serialize(rig.customer.issuer.as_bytes()).collect::<String>()
    );
    let page = browser.get(rig.app.url(&forged)).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST, "{}", page.body);
    assert_eq!(browser.get(rig.app.url("/")).await.body, "anonymous");
    let (work, customer) = (rig.work.stats().await, rig.customer.stats().await);
    assert_eq!(
        token_requests(&work, "authorization_code"),
        0,
        "no code redeemed"
    );
    assert_eq!(
        token_requests(&customer, "authorization_code"),
        0,
        "no code redeemed"
    );
}

#[tokio::test]
async fn a_page_for_one_provider_turns_the_others_users_away_without_a_loop() {
    let rig = rig().await;
    // Not signed in: straight to that provider, no chooser.
    let visitor = Browser::new();
    let page = visitor.get(rig.app.url("/staff")).await;
    assert!(
        page.url.as_str().starts_with(&rig.work.issuer),
        "{}",
        page.url
    );
    let page = visitor.sign_in(page, "alice").await;
    assert_eq!(page.body, "staff alice");

    let bob = Browser::new();
    sign_in_via_chooser(&rig, &bob, "customer", "bob").await;
    let page = bob.get(rig.app.url("/staff")).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN, "{}", page.body);
    assert_eq!(page.chain.len(), 1, "no sign-in round: {:?}", page.chain);
    assert!(page.body.contains("sign in with `work`"), "{}", page.body);
}

#[tokio::test]
async fn an_unknown_provider_is_a_404_naming_nothing_else() {
    let rig = rig().await;
    let page = Browser::new()
        .get(rig.app.url("/login?provider=admin"))
        .await;
    assert_eq!(page.status, StatusCode::NOT_FOUND, "{}", page.body);
    assert!(!page.body.contains(&rig.work.issuer) && !page.body.contains("customer"));
}

#[tokio::test]
async fn a_provider_that_is_down_does_not_stop_sign_in_at_the_others() {
    let slot = Slot::bind();
    let work = provider_for(&slot).await;
    let dead = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let (work_issuer, dead_issuer) = (work.issuer.clone(), dead.clone());
    let app = launch(routes())
        .configured_provider()
        .on(&slot)
        .auth(move |b| {
            b.provider("legacy", Auth::builder().oidc_authority(dead_issuer))
                .provider("work", Auth::builder().oidc_authority(work_issuer))
        })
        .start()
        .await;
    let browser = Browser::new();
    let page = browser.get(app.url("/login?provider=legacy")).await;
    assert_eq!(
        page.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        page.body
    );
    assert!(
        !page.body.contains(&work.issuer) && !page.body.contains("work"),
        "nothing of the other provider: {}",
        page.body
    );
    let page = browser
        .get(app.url("/login?provider=work&next=%2Fwelcome"))
        .await;
    let page = browser.sign_in(page, "alice").await;
    assert_eq!(page.body, "welcome alice at work");
}

// ---------------------------------------------------------------------------------------------
// A web API that accepts tokens from two authorities.

const INDICATOR: &str = "api://orders";

async fn api_provider() -> TestProvider {
    TestProvider::start(json!({
        "clients": [{
            "client_id": "daemon",
            "client_secret": "daemon-secret",
            "grant_types": ["client_credentials"],
            "response_types": [],
            "redirect_uris": [],
        }],
        "apiResource": {"indicator": INDICATOR, "scopes": ["api.read"]},
    }))
    .await
    .expect("a test provider starts")
}

async fn app_token(provider: &TestProvider) -> String {
    let answer: serde_json::Value = reqwest::Client::new()
        .post(provider.url("/token"))
        .basic_auth("daemon", Some("daemon-secret"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("scope", "api.read"),
            ("resource", INDICATOR),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    answer["access_token"].as_str().expect("a token").to_owned()
}

#[axum_identity::authorization_required(scopes = ["api.read"])]
async fn orders(context: axum_identity::ApiContext) -> String {
    format!(
        "{} from {}",
        context.claims.subject(),
        context.claims.authority()
    )
}

#[tokio::test]
async fn an_api_with_two_authorities_accepts_each_and_refuses_a_third_issuer_without_a_key_fetch() {
    use axum_identity::ApiAuth;
    let (work, customer, stranger) = (
        api_provider().await,
        api_provider().await,
        api_provider().await,
    );
    let api = ApiAuth::builder()
        .provider(
            "work",
            ApiAuth::builder()
                .client_id(INDICATOR)
                .oidc_authority(&work.issuer),
        )
        .provider(
            "customer",
            ApiAuth::builder()
                .client_id(INDICATOR)
                .oidc_authority(&customer.issuer),
        )
        .build()
        .unwrap();
    api.warm_up().await.unwrap();
    let app = Router::new()
        .route("/orders", get(orders))
        .layer(api.layer());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let call = |token: String| {
        let url = format!("{base}/orders");
        async move {
            let answer = reqwest::Client::new()
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap();
            (answer.status(), answer.text().await.unwrap())
        }
    };
    for provider in [&work, &customer, &stranger] {
        provider.reset_stats().await;
    }
    assert_eq!(
        call(app_token(&work).await).await,
        (StatusCode::OK, "daemon from work".to_owned())
    );
    assert_eq!(
        call(app_token(&customer).await).await,
        (StatusCode::OK, "daemon from customer".to_owned())
    );
    let (status, _) = call(app_token(&stranger).await).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    for provider in [&work, &customer, &stranger] {
        let stats = provider.stats().await;
        assert_eq!(requests(&stats, "jwks"), 0, "no key fetch: {stats}");
        assert_eq!(requests(&stats, "discovery"), 0, "no discovery: {stats}");
    }
}

#[tokio::test]
async fn a_back_channel_logout_token_is_checked_by_the_provider_its_issuer_names() {
    let rig = rig_with(|b| {
        b.backchannel_logout(true)
            .backchannel_logout_key("two-providers-marker-key-0123456789abcdef")
    })
    .await;
    let (alice, bob) = (Browser::new(), Browser::new());
    sign_in_via_chooser(&rig, &alice, "work", "alice").await;
    sign_in_via_chooser(&rig, &bob, "customer", "bob").await;
    rig.clock.advance(Duration::from_secs(2));

    // Bob signs out at the customer provider itself, which tells the app server to server.
    let page = bob.get(rig.customer.url("/session/end")).await;
    let page = bob.confirm_logout(page).await;
    assert!(page.body.contains("Signed out"), "{}", page.body);
    let mut seen = String::new();
    for _ in 0..30 {
        seen = bob.get(rig.app.url("/")).await.body;
        if seen == "anonymous" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(seen, "anonymous", "bob is signed out here too");
    assert_eq!(alice.get(rig.app.url("/")).await.body, "alice at work");
}
