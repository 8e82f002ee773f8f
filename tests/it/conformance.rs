//! OpenID Connect relying-party conformance: a hostile provider inside the test suite
//! (`support::hostile`) serves crafted discovery documents, keys, authorization responses and ID
//! tokens that no real provider would, and the app must refuse every forgery — with an error page
//! (400 for a rejected answer) and no session — while still accepting the legitimate variations
//! (audience arrays, tokens without `kid`, rotated keys, big tokens).
//!
//! Each test runs its own app and its own provider on ephemeral loopback ports; nothing leaves
//! 127.0.0.1.

use axum_identity_testkit as support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::Extension;
use axum::Router;
use axum::routing::get;
use axum_identity::{Clock, Context, login_required};
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::app::{TestApp, launch, public};
use support::assert;
use support::browser::{Browser, Page};
use support::hostile::{
    Hostile, IssParam, Published, Scenario, Signing, TokenSpec, kid, public_key_pem,
};

const CLIENT_ID: &str = "conformance-app";
const CLIENT_SECRET: &str = "conformance-secret";

// ---------------------------------------------------------------------------------------------
// The app under test

/// How many `groups` the signed-in user's claims carry.
async fn groups(context: Context) -> String {
    let count = context
        .user
        .claim("groups")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    format!("{count} groups")
}

/// A scoped handler that counts its runs, so tests can prove it never ran.
#[login_required(scopes = ["api.read"])]
async fn api(context: Context, Extension(runs): Extension<Arc<AtomicUsize>>) -> String {
    runs.fetch_add(1, Ordering::SeqCst);
    format!(
        "api handler ran for {} with {}",
        context.user.subject(),
        context.access_token
    )
}

/// An app and the hostile provider it trusts.
struct Rig {
    app: TestApp,
    hostile: Hostile,
    /// Runs of the scoped `/api` handler.
    api_runs: Arc<AtomicUsize>,
}

impl Rig {
    fn url(&self, path: &str) -> String {
        self.app.url(path)
    }

    fn issuer(&self) -> &str {
        &self.hostile.issuer
    }

    fn count(&self, counter: &AtomicUsize) -> usize {
        counter.load(Ordering::SeqCst)
    }

    /// A browser signs in (GET /login, through the provider, back to the callback and on).
    async fn sign_in(&self, browser: &Browser) -> Page {
        browser.get(self.url("/login")).await
    }

    /// What `/` says to this browser: "anonymous" or "signed in as <sub>".
    async fn who(&self, browser: &Browser) -> String {
        let page = browser.get(self.url("/")).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        page.body
    }
}

async fn rig(scenario: Scenario) -> Rig {
    rig_with_secret(scenario, CLIENT_SECRET).await
}

async fn rig_with_secret(scenario: Scenario, secret: &str) -> Rig {
    rig_with(scenario, secret, Clock::system()).await
}

/// The rig with the app on `clock` (a manual one moves instead of the test sleeping).
async fn rig_with(scenario: Scenario, secret: &str, clock: Clock) -> Rig {
    let hostile = Hostile::start(CLIENT_ID, scenario).await;
    let api_runs = Arc::new(AtomicUsize::new(0));
    let routes = Router::new()
        .route("/", get(public))
        .route("/groups", get(groups))
        .route("/api", get(api))
        .layer(Extension(api_runs.clone()));
    let app = launch(routes)
        .issuer(&hostile.issuer)
        .client(CLIENT_ID, secret)
        .auth(move |b| {
            b.app_name("Conformance")
                .backchannel_logout(true)
                .backchannel_logout_key("conformance-marker-key-0123456789abcdef")
                .clock(clock)
        })
        .start()
        .await;
    Rig {
        app,
        hostile,
        api_runs,
    }
}

/// A scenario whose ID token has `claims` merged in.
fn with_claims(claims: Value) -> Scenario {
    Scenario {
        id_token: TokenSpec::claims(claims),
        ..Scenario::default()
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

// ---------------------------------------------------------------------------------------------
// Assertions

/// The sign-in ended signed in as `sub`, back on `/`.
async fn assert_signed_in(rig: &Rig, browser: &Browser, page: &Page, sub: &str) {
    assert::assert_signed_in(&rig.app, browser, page, "/", sub).await;
    assert_eq!(page.body, format!("signed in as {sub}"));
}

/// The callback refused the provider's answer (see [`assert::assert_rejected`]).
async fn assert_rejected(rig: &Rig, browser: &Browser, page: &Page, reason: &str) {
    assert::assert_rejected(&rig.app, browser, page, reason).await;
}

/// Signs in against `scenario`, expecting the ID token to be rejected for `reason`, after the
/// code was redeemed exactly once (so the rejection is about the token, not the flow).
async fn expect_token_rejected(scenario: Scenario, reason: &str) -> Rig {
    let rig = rig(scenario).await;
    let browser = Browser::new();
    let page = rig.sign_in(&browser).await;
    assert_eq!(
        rig.count(&rig.hostile.counters().token),
        1,
        "the code was not redeemed: {}",
        page.body
    );
    assert_rejected(&rig, &browser, &page, reason).await;
    rig
}

/// Signs in against `scenario`, expecting success as alice.
async fn expect_accepted(scenario: Scenario) -> Rig {
    let rig = rig(scenario).await;
    let browser = Browser::new();
    let page = rig.sign_in(&browser).await;
    assert_signed_in(&rig, &browser, &page, "alice").await;
    rig
}

// ---------------------------------------------------------------------------------------------
// The harness works: a well-behaved provider signs the user in

/// Valid RS256 ID token: accepted. The request carried PKCE S256, a state and a nonce; one
/// discovery and one JWKS fetch; no userinfo call (the token has a profile).
#[tokio::test]
async fn accepts_a_valid_rs256_id_token() {
    let rig = expect_accepted(Scenario::default()).await;
    let counters = rig.hostile.counters();
    assert_eq!(rig.count(&counters.discovery), 1);
    assert_eq!(rig.count(&counters.jwks), 1);
    assert_eq!(rig.count(&counters.userinfo), 0);
    let authorization = &rig.hostile.authorizations()[0].params;
    assert_eq!(authorization["code_challenge_method"], "S256");
    assert_eq!(authorization["response_type"], "code");
    assert!(
        authorization["state"].len() >= 22,
        "state too short: {authorization:?}"
    );
    assert!(
        authorization["nonce"].len() >= 22,
        "nonce too short: {authorization:?}"
    );
    assert!(authorization["scope"].split(' ').any(|s| s == "openid"));
    let token_request = &rig.hostile.token_requests()[0];
    assert!(token_request.form["code_verifier"].len() >= 43);
}

/// A thin ID token (only `sub` and the required claims, as `oidc-provider` sends by default)
/// takes the profile from userinfo when userinfo names the same subject.
#[tokio::test]
async fn thin_id_token_takes_the_profile_from_userinfo() {
    let rig = expect_accepted(Scenario {
        id_token: TokenSpec::claims(json!({"name": null, "preferred_username": null})),
        userinfo: Some(json!({"sub": "alice", "name": "Alice from userinfo"})),
        ..Scenario::default()
    })
    .await;
    assert_eq!(rig.count(&rig.hostile.counters().userinfo), 1);
}

// ---------------------------------------------------------------------------------------------
// ID token claims

#[tokio::test]
async fn rejects_an_id_token_from_another_issuer() {
    let scenario = with_claims(json!({"iss": "http://127.0.0.1:9/another-issuer"}));
    expect_token_rejected(scenario, "issuer").await;
}

/// An ID token without `sub` must be refused as a bad answer (400), not reported as an outage.
#[tokio::test]
async fn rejects_an_id_token_without_sub() {
    expect_token_rejected(with_claims(json!({"sub": null})), "sub").await;
}

#[tokio::test]
async fn rejects_an_id_token_for_another_audience() {
    expect_token_rejected(with_claims(json!({"aud": "another-client"})), "aud").await;
}

/// `aud` holds our client id and another, untrusted one (with `azp` = us, so only the extra
/// audience is wrong): rejected (OpenID Connect Core §3.1.3.7 step 3).
#[tokio::test]
async fn rejects_an_id_token_with_an_extra_untrusted_audience() {
    let scenario = with_claims(json!({"aud": [CLIENT_ID, "other"], "azp": CLIENT_ID}));
    expect_token_rejected(scenario, "aud").await;
}

/// `azp` names another client: the token was issued to someone else (OpenID Connect Core
/// §3.1.3.7 step 5).
#[tokio::test]
async fn rejects_an_id_token_whose_azp_is_another_client() {
    expect_token_rejected(with_claims(json!({"azp": "another-client"})), "azp").await;
}

/// An ID token without `iat` must be refused as a bad answer (400), not reported as an outage.
#[tokio::test]
async fn rejects_an_id_token_without_iat() {
    expect_token_rejected(with_claims(json!({"iat": null})), "iat").await;
}

/// Expired an hour ago: far beyond any clock-skew leeway.
#[tokio::test]
async fn rejects_an_expired_id_token() {
    let now = now();
    expect_token_rejected(
        with_claims(json!({"exp": now - 3600, "iat": now - 7200})),
        "expired",
    )
    .await;
}

/// `alg: none` with an empty signature, even though the discovery document lists `none`.
#[tokio::test]
async fn rejects_alg_none_even_when_discovery_lists_it() {
    let scenario = Scenario {
        discovery: json!({"id_token_signing_alg_values_supported": ["RS256", "none"]}),
        id_token: TokenSpec {
            signing: Signing::None,
            ..TokenSpec::default()
        },
        ..Scenario::default()
    };
    expect_token_rejected(scenario, "signature").await;
}

/// HS256 MACed with the client secret, with HS256 listed in discovery: the client secret is
/// not a key the provider may sign with here (it is shared, so anyone holding it could forge
/// a sign-in).
#[tokio::test]
async fn rejects_hs256_maced_with_the_client_secret() {
    let scenario = Scenario {
        discovery: json!({"id_token_signing_alg_values_supported": ["RS256", "HS256"]}),
        id_token: TokenSpec {
            signing: Signing::Hs256(CLIENT_SECRET.as_bytes().to_vec()),
            ..TokenSpec::default()
        },
        ..Scenario::default()
    };
    expect_token_rejected(scenario, "signature").await;
}

/// The classic key-confusion forgery: HS256 MACed with the provider's RSA public key (which
/// everyone can download), naming that key's `kid`.
#[tokio::test]
async fn rejects_hs256_maced_with_the_rsa_public_key() {
    let scenario = Scenario {
        discovery: json!({"id_token_signing_alg_values_supported": ["RS256", "HS256"]}),
        id_token: TokenSpec {
            signing: Signing::Hs256(public_key_pem(0).into_bytes()),
            header: json!({"kid": kid(0)}),
            ..TokenSpec::default()
        },
        ..Scenario::default()
    };
    expect_token_rejected(scenario, "signature").await;
}

#[tokio::test]
async fn rejects_a_corrupted_rs256_signature() {
    let scenario = Scenario {
        id_token: TokenSpec {
            signing: Signing::CorruptRsa(0),
            ..TokenSpec::default()
        },
        ..Scenario::default()
    };
    expect_token_rejected(scenario, "signature").await;
}

/// A `crit` header naming an extension we do not understand must be refused (RFC 7515 §4.1.11).
#[tokio::test]
async fn rejects_an_unknown_crit_header() {
    let scenario = Scenario {
        id_token: TokenSpec {
            header: json!({"crit": ["http://example.invalid/UNDEFINED"], "http://example.invalid/UNDEFINED": true}),
            ..TokenSpec::default()
        },
        ..Scenario::default()
    };
    expect_token_rejected(scenario, "crit").await;
}

#[tokio::test]
async fn rejects_an_id_token_without_nonce() {
    expect_token_rejected(with_claims(json!({"nonce": null})), "nonce").await;
}

#[tokio::test]
async fn rejects_an_id_token_with_a_wrong_nonce() {
    expect_token_rejected(
        with_claims(json!({"nonce": "not-the-nonce-we-sent"})),
        "nonce",
    )
    .await;
}

/// A thin ID token (only `sub`) and a userinfo answer about someone else: the answer is not
/// about this user (OpenID Connect Core §5.3.2) and nobody is signed in.
#[tokio::test]
async fn rejects_userinfo_about_another_subject() {
    let scenario = Scenario {
        id_token: TokenSpec::claims(json!({"name": null, "preferred_username": null})),
        userinfo: Some(json!({"sub": "mallory", "name": "Mallory"})),
        ..Scenario::default()
    };
    let rig = expect_token_rejected(scenario, "subject").await;
    assert_eq!(rig.count(&rig.hostile.counters().userinfo), 1);
}

// ---------------------------------------------------------------------------------------------
// Signing keys

/// No `kid` in the header and a single key in the JWKS: that key is used, accepted.
#[tokio::test]
async fn accepts_no_kid_with_a_single_key() {
    expect_accepted(Scenario {
        id_token: TokenSpec {
            header: json!({"kid": null}),
            ..TokenSpec::default()
        },
        ..Scenario::default()
    })
    .await;
}

/// `aud` as an array holding only our client id: accepted.
#[tokio::test]
async fn accepts_an_audience_array_with_only_our_client_id() {
    expect_accepted(with_claims(json!({"aud": [CLIENT_ID]}))).await;
}

/// No `kid` in the header while the JWKS holds several RSA keys (the token is signed with the
/// first one). **Behaviour: refused** (400, no session). The library does not try each key in
/// turn: `openidconnect`'s verifier reports `AmbiguousKeyId` ("JWK set must only contain one
/// eligible public key") when more than one key fits the algorithm, and the runtime maps it to a
/// rejected token. This follows OpenID Connect Core §10.1, which requires a `kid` whenever the
/// JWK set holds more than one key; it also means a provider in the middle of a key rollover
/// that omits `kid` cannot sign anyone in until it adds one.
#[tokio::test]
async fn no_kid_with_several_keys_is_refused_as_ambiguous() {
    let scenario = Scenario {
        jwks: vec![Published::key(0), Published::key(1)],
        id_token: TokenSpec {
            header: json!({"kid": null}),
            ..TokenSpec::default()
        },
        ..Scenario::default()
    };
    let rig = expect_token_rejected(scenario, "signature").await;
    assert_eq!(
        rig.hostile.jwks_fetches(),
        1,
        "an ambiguous key is not a reason to re-fetch the keys"
    );
}

/// The provider rotates its keys after the app cached them: a token signed with the new key
/// (an unknown `kid`) makes the app fetch the JWKS once more, and the token is accepted. The
/// next sign-in uses the re-fetched keys without another fetch.
#[tokio::test]
async fn unknown_kid_after_key_rotation_refetches_the_jwks_once() {
    let rig = rig(Scenario::default()).await;
    let first = Browser::new();
    let page = rig.sign_in(&first).await;
    assert_signed_in(&rig, &first, &page, "alice").await;
    assert_eq!(rig.hostile.jwks_fetches(), 1);

    rig.hostile.set(|s| {
        s.jwks = vec![Published::key(1)];
        s.id_token = TokenSpec {
            signing: Signing::Rsa(1),
            ..TokenSpec::default()
        };
    });
    let second = Browser::new();
    let page = rig.sign_in(&second).await;
    assert_signed_in(&rig, &second, &page, "alice").await;
    assert_eq!(
        rig.hostile.jwks_fetches(),
        2,
        "the JWKS should be fetched again exactly once"
    );

    let third = Browser::new();
    let page = rig.sign_in(&third).await;
    assert_signed_in(&rig, &third, &page, "alice").await;
    assert_eq!(
        rig.hostile.jwks_fetches(),
        2,
        "the re-fetched keys are cached"
    );
}

/// 20 concurrent sign-ins whose tokens each name a different unknown `kid` (signed with a key
/// the provider never published): all refused, and the JWKS is fetched at most once more than
/// the initial fetch (re-fetches are rate limited to one per 30 s), so forged tokens cannot turn
/// the app into a request amplifier. A legitimate sign-in still works afterwards.
#[tokio::test]
async fn a_flood_of_unknown_kids_fetches_the_jwks_at_most_once_more() {
    let rig = Arc::new(rig(Scenario::default()).await);
    let warm = Browser::new();
    let page = rig.sign_in(&warm).await;
    assert_signed_in(&rig, &warm, &page, "alice").await;
    assert_eq!(rig.hostile.jwks_fetches(), 1);

    rig.hostile.set(|s| {
        s.id_token = TokenSpec {
            signing: Signing::Rsa(2),
            edit: Some(Arc::new(|n, header, _| {
                header.insert("kid".into(), json!(format!("unknown-{n}")));
            })),
            ..TokenSpec::default()
        };
    });
    let mut flood = Vec::new();
    for _ in 0..20 {
        let rig = rig.clone();
        flood.push(tokio::spawn(async move {
            let browser = Browser::new();
            let page = rig.sign_in(&browser).await;
            assert_rejected(&rig, &browser, &page, "signature").await;
        }));
    }
    for task in flood {
        task.await.expect("a flood sign-in task panicked");
    }
    assert_eq!(rig.count(&rig.hostile.counters().token), 21);
    let fetches = rig.hostile.jwks_fetches();
    assert!(
        fetches <= 2,
        "{fetches} JWKS fetches for 20 unknown kids (at most 1 + 1 expected)"
    );

    rig.hostile.set(|s| s.id_token = TokenSpec::default());
    let after = Browser::new();
    let page = rig.sign_in(&after).await;
    assert_signed_in(&rig, &after, &page, "alice").await;
    assert!(rig.hostile.jwks_fetches() <= 2);
}

// ---------------------------------------------------------------------------------------------
// Discovery and the authorization response (RFC 9207)

/// The discovery document declares another issuer than the configured authority (a mix-up or
/// a misconfiguration): the configuration is rejected with a clear error (at `warm_up` and as a
/// 5xx page at sign-in), the browser is never sent to the provider, nobody is signed in.
#[tokio::test]
async fn rejects_a_discovery_document_for_another_issuer() {
    let rig = rig(Scenario::default()).await;
    let other = format!("{}/another-issuer", rig.issuer());
    rig.hostile.set(|s| s.discovery = json!({"issuer": other}));

    let error = rig
        .app
        .auth
        .warm_up()
        .await
        .expect_err("a foreign issuer must be refused");
    let message = error.to_string();
    assert!(
        message.contains("another-issuer") && message.contains("issuer"),
        "unclear error: {message}"
    );
    assert!(
        message.contains("check OIDC_AUTHORITY"),
        "no setting named: {message}"
    );

    let browser = Browser::new();
    let page = rig.sign_in(&browser).await;
    assert_eq!(page.url.path(), "/login", "chain: {:?}", page.chain);
    assert!(
        page.status.is_server_error(),
        "{} {}",
        page.status,
        page.body
    );
    assert!(
        page.body.contains("Error code: 5"),
        "not the error page: {}",
        page.body
    );
    // A configuration mistake: no "try again".
    assert_eq!(page.status, 500, "{}", page.body);
    assert!(
        page.body.contains("not configured correctly"),
        "{}",
        page.body
    );
    assert_eq!(
        rig.count(&rig.hostile.counters().authorization),
        0,
        "the browser was sent to the provider"
    );
    assert_eq!(rig.who(&browser).await, "anonymous");
}

/// The authorization response carries an `iss` parameter naming another issuer (RFC 9207 §2.4):
/// refused before the code is redeemed.
#[tokio::test]
async fn rejects_a_wrong_iss_parameter_in_the_authorization_response() {
    let rig = rig(Scenario::default()).await;
    let other = format!("{}/another-issuer", rig.issuer());
    rig.hostile.set(|s| s.iss_param = IssParam::Value(other));
    let browser = Browser::new();
    let page = rig.sign_in(&browser).await;
    assert_rejected(&rig, &browser, &page, "issuer").await;
    assert_eq!(
        rig.count(&rig.hostile.counters().token),
        0,
        "the code was redeemed anyway"
    );
}

/// The provider advertises `authorization_response_iss_parameter_supported: true` and the
/// response has no `iss`: refused before the code is redeemed (RFC 9207 §2.4).
#[tokio::test]
async fn rejects_a_missing_iss_parameter_when_the_provider_advertises_it() {
    let rig = rig(Scenario {
        iss_param: IssParam::Missing,
        ..Scenario::default()
    })
    .await;
    let browser = Browser::new();
    let page = rig.sign_in(&browser).await;
    assert_rejected(&rig, &browser, &page, "iss").await;
    assert_eq!(
        rig.count(&rig.hostile.counters().token),
        0,
        "the code was redeemed anyway"
    );
}

/// Without the advertisement, a response without `iss` is fine (most providers send none).
#[tokio::test]
async fn accepts_no_iss_parameter_when_the_provider_does_not_advertise_it() {
    expect_accepted(Scenario {
        iss_param: IssParam::Missing,
        discovery: json!({"authorization_response_iss_parameter_supported": null}),
        ..Scenario::default()
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// Client authentication at the token endpoint

/// A secret with `:`, `+`, `%` (and a space, `&`, `=`, `/`): with `client_secret_basic` the id
/// and secret are form-url-encoded before base64 (RFC 6749 §2.3.1), so decoding the header and
/// form-url-decoding each half gives back exactly the configured id and secret; nothing of the
/// secret is in the body.
#[tokio::test]
async fn client_secret_basic_encodes_a_secret_with_special_characters() {
    let secret = "s3:cr+et%41 &=/x";
    let rig = rig_with_secret(Scenario::default(), secret).await;
    let browser = Browser::new();
    let page = rig.sign_in(&browser).await;
    assert_signed_in(&rig, &browser, &page, "alice").await;
    let request = &rig.hostile.token_requests()[0];
    let (id, sent) = request
        .basic_credentials()
        .expect("an Authorization: Basic header");
    assert_eq!(id, CLIENT_ID);
    assert_eq!(sent, secret);
    assert!(
        !request.form.contains_key("client_secret"),
        "the secret is in the body too: {:?}",
        request.form
    );
}

/// Discovery lists only `client_secret_post`: the id and secret travel in the form body,
/// exactly, and there is no Basic header.
#[tokio::test]
async fn client_secret_post_when_the_provider_lists_only_it() {
    let secret = "s3:cr+et%41 &=/x";
    let scenario = Scenario {
        discovery: json!({"token_endpoint_auth_methods_supported": ["client_secret_post"]}),
        ..Scenario::default()
    };
    let rig = rig_with_secret(scenario, secret).await;
    let browser = Browser::new();
    let page = rig.sign_in(&browser).await;
    assert_signed_in(&rig, &browser, &page, "alice").await;
    let request = &rig.hostile.token_requests()[0];
    assert_eq!(request.authorization, None);
    assert_eq!(
        request.form.get("client_id").map(String::as_str),
        Some(CLIENT_ID)
    );
    assert_eq!(
        request.form.get("client_secret").map(String::as_str),
        Some(secret)
    );
}

// ---------------------------------------------------------------------------------------------
// Token refresh

/// Sign in through the scoped `/api` page with an access token that is already expired, so
/// the first visit refreshes it, with `refreshed` as the refreshed ID token.
async fn sign_in_then_refresh(refreshed: TokenSpec) -> (Rig, Browser, Page) {
    let rig = rig(Scenario {
        token_response: json!({"expires_in": 0, "scope": "openid profile offline_access api.read"}),
        refresh_id_token: Some(refreshed),
        ..Scenario::default()
    })
    .await;
    let browser = Browser::new();
    let page = browser.get(rig.url("/api")).await;
    assert_eq!(rig.count(&rig.hostile.counters().token), 1, "{}", page.body);
    assert_eq!(
        rig.count(&rig.hostile.counters().refresh),
        1,
        "no refresh happened: {}",
        page.body
    );
    (rig, browser, page)
}

/// Control: a refreshed ID token for the same user from the same issuer is used.
#[tokio::test]
async fn refreshed_id_token_for_the_same_user_is_accepted() {
    let (rig, _browser, page) = sign_in_then_refresh(TokenSpec::default()).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(
        page.body,
        "api handler ran for alice with access-refreshed-0"
    );
    assert_eq!(rig.count(&rig.api_runs), 1);
}

/// A refresh response whose ID token names another subject (OpenID Connect Core §12.2): an
/// error page, the handler never runs, and the session still belongs to alice.
#[tokio::test]
async fn refreshed_id_token_for_another_subject_is_rejected() {
    let (rig, browser, page) =
        sign_in_then_refresh(TokenSpec::claims(json!({"sub": "mallory"}))).await;
    assert_eq!(page.url.path(), "/api");
    assert_eq!(page.status, StatusCode::BAD_REQUEST, "{}", page.body);
    assert!(
        page.body.contains("Sign in again"),
        "not the error page: {}",
        page.body
    );
    assert_eq!(rig.count(&rig.api_runs), 0, "the handler ran");
    assert_eq!(rig.who(&browser).await, "signed in as alice");
}

/// A refresh response whose ID token comes from another issuer: an error page, the handler
/// never runs.
#[tokio::test]
async fn refreshed_id_token_from_another_issuer_is_rejected() {
    let (rig, browser, page) = sign_in_then_refresh(TokenSpec::claims(
        json!({"iss": "http://127.0.0.1:9/another-issuer"}),
    ))
    .await;
    assert_eq!(page.url.path(), "/api");
    assert_eq!(page.status, StatusCode::BAD_REQUEST, "{}", page.body);
    assert!(
        page.body.contains("Sign in again"),
        "not the error page: {}",
        page.body
    );
    assert_eq!(rig.count(&rig.api_runs), 0, "the handler ran");
    assert_eq!(rig.who(&browser).await, "signed in as alice");
}

// ---------------------------------------------------------------------------------------------
// Size

/// An ID token over 20 KB (a user in 600 groups) signs in, and every group is kept.
#[tokio::test]
async fn accepts_a_20_kb_id_token_with_many_groups() {
    let groups: Vec<String> = (0..600)
        .map(|i| format!("group-{i:04}-0123456789abcdef"))
        .collect();
    let spec = TokenSpec::claims(json!({"groups": groups}));
    let rig = rig(Scenario {
        id_token: spec.clone(),
        ..Scenario::default()
    })
    .await;
    let size = rig.hostile.make_id_token(&spec, Some("n")).len();
    assert!(size >= 20 * 1024, "the token is only {size} bytes");
    let browser = Browser::new();
    let page = rig.sign_in(&browser).await;
    assert_signed_in(&rig, &browser, &page, "alice").await;
    assert_eq!(browser.get(rig.url("/groups")).await.body, "600 groups");
}

/// A 1 MB token response is refused as soon as it passes the size bound (256 KiB), quickly and
/// without buffering it all: a 5xx page, and nobody signed in.
#[tokio::test]
async fn a_1_mb_token_response_is_refused_quickly() {
    let rig = rig(Scenario {
        token_response: json!({"padding": "x".repeat(1024 * 1024)}),
        ..Scenario::default()
    })
    .await;
    let browser = Browser::new();
    let started = Instant::now();
    let page = rig.sign_in(&browser).await;
    let elapsed = started.elapsed();
    assert!(
        page.status.is_server_error(),
        "{}: {}",
        page.status,
        page.body
    );
    assert!(elapsed < Duration::from_secs(5), "took {elapsed:?}");
    assert_eq!(browser.get(rig.url("/")).await.body, "anonymous");
}

// ---------------------------------------------------------------------------------------------
// Back-channel logout (OpenID Connect Back-Channel Logout 1.0)

const LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// A logout token for alice: the ID token defaults (iss, aud, iat, exp) with the logout event,
/// a fresh `jti`, no nonce, and `claims` merged over that.
fn logout_token(rig: &Rig, signing: Option<Signing>, claims: Value) -> String {
    static JTI: AtomicUsize = AtomicUsize::new(0);
    let mut merged = json!({
        "events": {LOGOUT_EVENT: {}},
        "jti": format!("jti-{}-{}", std::process::id(), JTI.fetch_add(1, Ordering::SeqCst)),
        "nonce": null,
        "name": null,
        "preferred_username": null,
    });
    for (key, value) in claims.as_object().unwrap() {
        merged[key] = value.clone();
    }
    let mut spec = TokenSpec::claims(merged);
    if let Some(signing) = signing {
        spec.signing = signing;
    }
    rig.hostile.make_id_token(&spec, None)
}

async fn post_logout_token(rig: &Rig, token: &str) -> (StatusCode, Option<String>) {
    let response = reqwest::Client::new()
        .post(rig.url("/logout/backchannel"))
        .form(&[("logout_token", token)])
        .send()
        .await
        .unwrap();
    let cache = response
        .headers()
        .get("cache-control")
        .map(|v| v.to_str().unwrap().to_owned());
    (response.status(), cache)
}

/// A valid logout token ends the user's session (200, `Cache-Control: no-store`); replaying its
/// `jti` is refused.
#[tokio::test]
async fn backchannel_logout_ends_the_users_sessions_and_refuses_a_replay() {
    // Sessions signed in before a logout end; the app's clock moves on instead of the test
    // sleeping past the second they were signed in.
    let clock = Clock::manual_from_now();
    let rig = rig_with(Scenario::default(), CLIENT_SECRET, clock.clone()).await;
    let browser = Browser::new();
    let page = rig.sign_in(&browser).await;
    assert_signed_in(&rig, &browser, &page, "alice").await;
    let other_browser = Browser::new();
    let page = rig.sign_in(&other_browser).await;
    assert_signed_in(&rig, &other_browser, &page, "alice").await;

    clock.advance(Duration::from_secs(2));
    let token = logout_token(&rig, None, json!({}));
    let (status, cache) = post_logout_token(&rig, &token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(cache.as_deref(), Some("no-store"));
    assert_eq!(
        rig.who(&browser).await,
        "anonymous",
        "every session of the user ended"
    );
    assert_eq!(rig.who(&other_browser).await, "anonymous");

    let (status, _) = post_logout_token(&rig, &token).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "a replayed jti");

    // Signing in again afterwards works.
    clock.advance(Duration::from_secs(2));
    let page = rig.sign_in(&browser).await;
    assert_signed_in(&rig, &browser, &page, "alice").await;
}

#[tokio::test]
async fn backchannel_logout_refuses_bad_logout_tokens() {
    let rig = rig(Scenario::default()).await;
    let browser = Browser::new();
    let page = rig.sign_in(&browser).await;
    assert_signed_in(&rig, &browser, &page, "alice").await;
    let cases = [
        (
            "alg none",
            logout_token(&rig, Some(Signing::None), json!({})),
        ),
        (
            "HS256 with the client secret",
            logout_token(
                &rig,
                Some(Signing::Hs256(CLIENT_SECRET.as_bytes().to_vec())),
                json!({}),
            ),
        ),
        (
            "corrupted signature",
            logout_token(&rig, Some(Signing::CorruptRsa(0)), json!({})),
        ),
        (
            "wrong aud",
            logout_token(&rig, None, json!({"aud": "another-client"})),
        ),
        (
            "extra aud",
            logout_token(&rig, None, json!({"aud": [CLIENT_ID, "another-client"]})),
        ),
        (
            "wrong iss",
            logout_token(&rig, None, json!({"iss": "http://evil.example"})),
        ),
        (
            "no events",
            logout_token(&rig, None, json!({"events": null})),
        ),
        (
            "another event",
            logout_token(
                &rig,
                None,
                json!({"events": {"http://schemas.openid.net/event/other": {}}}),
            ),
        ),
        (
            "events not an object",
            logout_token(&rig, None, json!({"events": LOGOUT_EVENT})),
        ),
        ("a nonce", logout_token(&rig, None, json!({"nonce": "n"}))),
        ("no jti", logout_token(&rig, None, json!({"jti": null}))),
        ("no sub", logout_token(&rig, None, json!({"sub": null}))),
        (
            "too old",
            logout_token(&rig, None, json!({"iat": now() - 3600})),
        ),
        ("not a JWT", "not-a-jwt".to_owned()),
    ];
    for (what, token) in cases {
        let (status, cache) = post_logout_token(&rig, &token).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{what}");
        assert_eq!(cache.as_deref(), Some("no-store"), "{what}");
    }
    let response = reqwest::Client::new()
        .post(rig.url("/logout/backchannel"))
        .form(&[("x", "y")])
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::BAD_REQUEST,
        "no logout_token"
    );
    assert_eq!(
        rig.who(&browser).await,
        "signed in as alice",
        "nothing was signed out"
    );
}
