//! Checks the test support itself: the real OpenID provider (tests/provider) behaves as the other
//! tests assume, and the scripted browser can get through its pages. No library code is used
//! here: every request is made by hand, so a failure points at the test setup, not the library.

use axum_identity_testkit as support;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::JsonAnswer;
use support::browser::Browser;
use support::provider::{TestProvider, requests, token_requests};
use url::Url;

/// Nothing listens here; the browser stops before fetching it.
const APP: &str = "http://127.0.0.1:9";
const REDIRECT_URI: &str = "http://127.0.0.1:9/callback";
const SIGNED_OUT_URI: &str = "http://127.0.0.1:9/signed-out";
const CLIENT_ID: &str = "selftest-app";
const CLIENT_SECRET: &str = "selftest-secret";
const DEVICE_CLIENT_ID: &str = "selftest-device";
const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// The PKCE example of RFC 7636, appendix B.
const CODE_VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CODE_CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

fn config(extra: Value) -> Value {
    let mut config = json!({
        "clients": [
            TestProvider::web_client(CLIENT_ID, CLIENT_SECRET, &[REDIRECT_URI], &[SIGNED_OUT_URI]),
            TestProvider::device_client(DEVICE_CLIENT_ID),
        ],
    });
    if let (Value::Object(config), Value::Object(extra)) = (&mut config, extra) {
        config.extend(extra);
    }
    config
}

async fn discovery(http: &reqwest::Client, provider: &TestProvider) -> Value {
    let response = http.get(provider.discovery_url()).send().await.unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

fn authorization_url(metadata: &Value, scope: &str, state: &str, nonce: &str) -> String {
    let mut url = Url::parse(metadata["authorization_endpoint"].as_str().unwrap()).unwrap();
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", CLIENT_ID)
        .append_pair("redirect_uri", REDIRECT_URI)
        .append_pair("scope", scope)
        .append_pair("state", state)
        .append_pair("nonce", nonce)
        .append_pair("code_challenge", CODE_CHALLENGE)
        .append_pair("code_challenge_method", "S256");
    url.into()
}

/// POSTs `form` to the token endpoint as the confidential client (client_secret_basic).
async fn token_request(
    http: &reqwest::Client,
    metadata: &Value,
    form: &[(&str, &str)],
) -> (u16, Value) {
    let response = http
        .post(metadata["token_endpoint"].as_str().unwrap())
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .form(form)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

/// The claims of a JWT, unverified (the signature is the library's business, not this test's).
fn jwt_part(jwt: &str, index: usize) -> Value {
    let part = jwt.split('.').nth(index).expect("a JWT has three parts");
    serde_json::from_slice(&base64url_decode(part)).expect("JWT part is JSON")
}

fn base64url_decode(input: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let (mut buffer, mut bits) = (0u32, 0u32);
    for byte in input.bytes().filter(|b| *b != b'=') {
        let value = match byte {
            b'A'..=b'Z' => byte - b'A',
            b'a'..=b'z' => byte - b'a' + 26,
            b'0'..=b'9' => byte - b'0' + 52,
            b'-' => 62,
            b'_' => 63,
            _ => panic!("not base64url: {input}"),
        };
        buffer = (buffer << 6) | u32::from(value);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
            buffer &= (1 << bits) - 1;
        }
    }
    out
}

#[tokio::test]
async fn code_flow_refresh_revoke_logout_and_device_flow() {
    let provider = TestProvider::start(config(json!({})))
        .await
        .expect("provider starts");
    let http = reqwest::Client::new();
    assert!(
        provider.issuer.starts_with("http://127.0.0.1:"),
        "{}",
        provider.issuer
    );
    assert!(!provider.issuer.ends_with('/'));

    // Discovery names the issuer and the endpoints the library needs.
    let metadata = discovery(&http, &provider).await;
    assert_eq!(metadata["issuer"], provider.issuer.as_str());
    for endpoint in [
        "authorization_endpoint",
        "token_endpoint",
        "userinfo_endpoint",
        "jwks_uri",
        "end_session_endpoint",
        "device_authorization_endpoint",
        "revocation_endpoint",
        "introspection_endpoint",
    ] {
        assert!(
            metadata[endpoint].is_string(),
            "discovery lacks {endpoint}: {metadata}"
        );
    }
    assert_eq!(
        metadata["code_challenge_methods_supported"],
        json!(["S256"])
    );
    let scopes = metadata["scopes_supported"].as_array().unwrap();
    for scope in [
        "openid",
        "profile",
        "email",
        "offline_access",
        "api.read",
        "api.write",
    ] {
        assert!(
            scopes.contains(&json!(scope)),
            "scope {scope} not supported: {metadata}"
        );
    }

    // PKCE is required, even for a confidential client.
    let mut no_pkce = Url::parse(metadata["authorization_endpoint"].as_str().unwrap()).unwrap();
    no_pkce
        .query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", CLIENT_ID)
        .append_pair("redirect_uri", REDIRECT_URI)
        .append_pair("scope", "openid")
        .append_pair("state", "s0");
    let browser = Browser::new();
    browser.stop_at(APP);
    let refused = browser.get(no_pkce.as_str()).await;
    assert_eq!(
        refused.query("error").as_deref(),
        Some("invalid_request"),
        "{refused:?}"
    );
    assert_eq!(refused.query("state").as_deref(), Some("s0"));

    // Authorization code flow: the browser lands on the sign-in page...
    let browser = Browser::new();
    browser.stop_at(APP);
    let scope = "openid profile offline_access api.read";
    let login_page = browser
        .get(authorization_url(&metadata, scope, "state-1", "nonce-1"))
        .await;
    assert_eq!(login_page.status, 200, "{login_page:?}");
    assert!(
        login_page.url.path().starts_with("/interaction/"),
        "{login_page:?}"
    );
    let login_form = login_page.form_with_field("login").expect("a sign-in form");
    assert!(login_form.has("password"));

    // ...signs in, consents, and is sent to the redirect URI with a code.
    let callback = browser.sign_in(login_page, "alice").await;
    let stopped = callback
        .stopped_at
        .clone()
        .expect("stopped at the redirect URI");
    assert!(stopped.as_str().starts_with(REDIRECT_URI), "{callback:?}");
    assert_eq!(callback.query("state").as_deref(), Some("state-1"));
    assert_eq!(
        callback.query("iss").as_deref(),
        Some(provider.issuer.as_str())
    );
    let code = callback.query("code").expect("an authorization code");
    let consent_seen = callback
        .chain
        .iter()
        .any(|(_, url)| url.path().ends_with("/confirm"));
    assert!(consent_seen, "a consent page was submitted: {callback:?}");

    // The code redeems for an ID token with the profile claims, an access token and a refresh
    // token, although offline_access was dropped (no prompt=consent).
    let (status, tokens) = token_request(
        &http,
        &metadata,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", CODE_VERIFIER),
        ],
    )
    .await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(tokens["token_type"], "Bearer");
    for field in ["id_token", "access_token", "refresh_token"] {
        assert!(tokens[field].is_string(), "no {field}: {tokens}");
    }
    let granted: Vec<&str> = tokens["scope"].as_str().unwrap().split(' ').collect();
    assert!(
        granted.contains(&"api.read") && granted.contains(&"profile"),
        "{tokens}"
    );
    assert!(!granted.contains(&"offline_access"), "{tokens}");
    let id_token = tokens["id_token"].as_str().unwrap();
    let header = jwt_part(id_token, 0);
    let claims = jwt_part(id_token, 1);
    assert_eq!(header["alg"], "RS256");
    assert_eq!(claims["iss"], provider.issuer.as_str());
    assert_eq!(claims["aud"], CLIENT_ID);
    assert_eq!(claims["nonce"], "nonce-1");
    assert_eq!(claims["sub"], "alice");
    assert_eq!(claims["name"], "Alice");
    assert_eq!(claims["preferred_username"], "alice");

    // The signing key is in the JWKS.
    let jwks: Value = http
        .get(metadata["jwks_uri"].as_str().unwrap())
        .json_answer()
        .await;
    let keys = jwks["keys"].as_array().unwrap();
    assert!(
        keys.iter()
            .any(|k| k["kid"] == header["kid"] && k["kty"] == "RSA"),
        "{jwks}"
    );

    // The access token works at userinfo.
    let userinfo: Value = http
        .get(metadata["userinfo_endpoint"].as_str().unwrap())
        .bearer_auth(tokens["access_token"].as_str().unwrap())
        .json_answer()
        .await;
    assert_eq!(userinfo["sub"], "alice");
    assert_eq!(userinfo["name"], "Alice");

    // One refresh.
    let refresh_token = tokens["refresh_token"].as_str().unwrap().to_owned();
    let (status, refreshed) = token_request(
        &http,
        &metadata,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &refresh_token),
        ],
    )
    .await;
    assert_eq!(status, 200, "{refreshed}");
    assert!(
        refreshed["access_token"].is_string() && refreshed["id_token"].is_string(),
        "{refreshed}"
    );
    assert_ne!(refreshed["access_token"], tokens["access_token"]);
    let refresh_token = refreshed["refresh_token"]
        .as_str()
        .unwrap_or(&refresh_token)
        .to_owned();

    // The counters saw exactly that.
    let stats = provider.stats().await;
    assert_eq!(token_requests(&stats, "authorization_code"), 1, "{stats}");
    assert_eq!(token_requests(&stats, "refresh_token"), 1, "{stats}");
    assert_eq!(token_requests(&stats, DEVICE_CODE_GRANT), 0, "{stats}");
    assert_eq!(requests(&stats, "discovery"), 1, "{stats}");
    assert_eq!(requests(&stats, "jwks"), 1, "{stats}");
    assert_eq!(requests(&stats, "userinfo"), 1, "{stats}");
    assert_eq!(requests(&stats, "authorization"), 2, "{stats}"); // with the PKCE-less one
    provider.reset_stats().await;
    let stats = provider.stats().await;
    assert_eq!(
        token_requests(&stats, "authorization_code") + requests(&stats, "discovery"),
        0,
        "{stats}"
    );

    // After revoke_all the refresh token is dead.
    let revoked = provider.revoke_all("alice").await;
    assert!(revoked["revoked"].as_u64().unwrap() > 0, "{revoked}");
    let (status, error) = token_request(
        &http,
        &metadata,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &refresh_token),
        ],
    )
    .await;
    assert_eq!(status, 400, "{error}");
    assert_eq!(error["error"], "invalid_grant");
    assert_eq!(token_requests(&provider.stats().await, "refresh_token"), 1);

    // The browser session survives revoke_all: a new authorization asks only for consent again
    // (the grant is gone), not for the password.
    let again = browser
        .get(authorization_url(
            &metadata,
            "openid profile",
            "state-2",
            "nonce-2",
        ))
        .await;
    assert!(again.form_with_field("password").is_none(), "{again:?}");
    let again = browser.sign_in(again, "alice").await;
    assert_eq!(
        again.query("state").as_deref(),
        Some("state-2"),
        "{again:?}"
    );
    assert!(again.query("code").is_some());

    // RP-initiated logout: a confirmation page, then back to the post-logout redirect URI.
    let mut end_session = Url::parse(metadata["end_session_endpoint"].as_str().unwrap()).unwrap();
    end_session
        .query_pairs_mut()
        .append_pair("client_id", CLIENT_ID)
        .append_pair("post_logout_redirect_uri", SIGNED_OUT_URI)
        .append_pair("state", "bye");
    let confirm = browser.get(end_session.as_str()).await;
    assert_eq!(confirm.status, 200, "{confirm:?}");
    let signed_out = browser.confirm_logout(confirm).await;
    let stopped = signed_out.stopped_at.clone().expect("back at the app");
    assert!(
        stopped.as_str().starts_with(SIGNED_OUT_URI),
        "{signed_out:?}"
    );
    assert_eq!(signed_out.query("state").as_deref(), Some("bye"));
    assert_eq!(requests(&provider.stats().await, "end_session"), 1);

    // Signed out at the provider: the next authorization asks for the password again.
    let after = browser
        .get(authorization_url(&metadata, "openid", "state-3", "nonce-3"))
        .await;
    assert!(after.form_with_field("password").is_some(), "{after:?}");

    // Device authorization flow, with a public client.
    let device: Value = http
        .post(metadata["device_authorization_endpoint"].as_str().unwrap())
        .form(&[
            ("client_id", DEVICE_CLIENT_ID),
            ("scope", "openid profile offline_access api.write"),
        ])
        .json_answer()
        .await;
    for field in [
        "device_code",
        "user_code",
        "verification_uri",
        "verification_uri_complete",
    ] {
        assert!(device[field].is_string(), "no {field}: {device}");
    }
    let device_code = device["device_code"].as_str().unwrap();
    let token_endpoint = metadata["token_endpoint"].as_str().unwrap();
    let client = &http;
    let poll = || async move {
        let response = client
            .post(token_endpoint)
            .form(&[
                ("grant_type", DEVICE_CODE_GRANT),
                ("device_code", device_code),
                ("client_id", DEVICE_CLIENT_ID),
            ])
            .send()
            .await
            .unwrap();
        (
            response.status().as_u16(),
            response.json::<Value>().await.unwrap(),
        )
    };
    let (status, pending) = poll().await;
    assert_eq!(
        (status, pending["error"].as_str()),
        (400, Some("authorization_pending")),
        "{pending}"
    );

    // The user opens verification_uri_complete in a fresh browser, confirms the code, signs in.
    let phone = Browser::new();
    let confirm = phone
        .get(device["verification_uri_complete"].as_str().unwrap())
        .await;
    assert!(
        confirm.body.contains(device["user_code"].as_str().unwrap()),
        "{confirm:?}"
    );
    let done = phone.sign_in(confirm, "bob").await;
    assert_eq!(done.status, 200, "{done:?}");
    assert!(done.body.contains("Device signed in"), "{done:?}");

    let deadline = Instant::now() + Duration::from_secs(20);
    let tokens = loop {
        let (status, body) = poll().await;
        if status == 200 {
            break body;
        }
        assert!(
            matches!(
                body["error"].as_str(),
                Some("authorization_pending" | "slow_down")
            ),
            "{status} {body}"
        );
        assert!(
            Instant::now() < deadline,
            "device flow never completed: {body}"
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    };
    for field in ["id_token", "access_token", "refresh_token"] {
        assert!(tokens[field].is_string(), "no {field}: {tokens}");
    }
    assert_eq!(
        jwt_part(tokens["id_token"].as_str().unwrap(), 1)["sub"],
        "bob"
    );
    assert!(
        tokens["scope"]
            .as_str()
            .unwrap()
            .split(' ')
            .any(|s| s == "api.write"),
        "{tokens}"
    );

    // Again, typing the code at verification_uri this time. Bob is still signed in at the
    // provider and has consented, so confirming the code is all it takes.
    let device: Value = http
        .post(metadata["device_authorization_endpoint"].as_str().unwrap())
        .form(&[
            ("client_id", DEVICE_CLIENT_ID),
            ("scope", "openid profile offline_access api.write"),
        ])
        .json_answer()
        .await;
    let code_page = phone
        .get(device["verification_uri"].as_str().unwrap())
        .await;
    let confirm = phone
        .enter_user_code(code_page, device["user_code"].as_str().unwrap())
        .await;
    let done = phone.sign_in(confirm, "bob").await;
    assert!(done.body.contains("Device signed in"), "{done:?}");

    let stats = provider.stats().await;
    assert_eq!(requests(&stats, "device_authorization"), 2, "{stats}");
    assert!(token_requests(&stats, DEVICE_CODE_GRANT) >= 2, "{stats}");

    provider.stop().await;
}

#[tokio::test]
async fn conform_claims_and_auto_consent() {
    let provider = TestProvider::start(config(json!({
        "conformIdTokenClaims": true,
        "autoConsent": true,
        "accessTokenTtl": 120,
        "idTokenTtl": 300,
    })))
    .await
    .expect("provider starts");
    let http = reqwest::Client::new();
    let metadata = discovery(&http, &provider).await;

    let browser = Browser::new();
    browser.stop_at(APP);
    let page = browser
        .get(authorization_url(
            &metadata,
            "openid profile email api.read",
            "s",
            "n",
        ))
        .await;
    let callback = browser.sign_in(page, "carol").await;
    let code = callback
        .query("code")
        .unwrap_or_else(|| panic!("no code: {callback:?}"));
    let consent_seen = callback
        .chain
        .iter()
        .any(|(_, url)| url.path().ends_with("/confirm"));
    assert!(
        !consent_seen,
        "autoConsent showed a consent page: {callback:?}"
    );

    let (status, tokens) = token_request(
        &http,
        &metadata,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", CODE_VERIFIER),
        ],
    )
    .await;
    assert_eq!(status, 200, "{tokens}");
    assert!(
        tokens["scope"].as_str().unwrap().contains("api.read"),
        "{tokens}"
    );
    // conformIdTokenClaims: the ID token carries sub only; the rest comes from userinfo.
    let claims = jwt_part(tokens["id_token"].as_str().unwrap(), 1);
    assert_eq!(claims["sub"], "carol");
    assert_eq!(tokens["expires_in"], 120, "accessTokenTtl: {tokens}");
    let lifetime = claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap();
    assert_eq!(lifetime, 300, "idTokenTtl: {claims}");
    assert!(
        claims.get("name").is_none() && claims.get("email").is_none(),
        "{claims}"
    );
    let userinfo: Value = http
        .get(metadata["userinfo_endpoint"].as_str().unwrap())
        .bearer_auth(tokens["access_token"].as_str().unwrap())
        .json_answer()
        .await;
    assert_eq!(userinfo["name"], "Carol");
    assert_eq!(userinfo["email"], "carol@example.test");
    assert_eq!(userinfo["email_verified"], true);

    // The process goes away with the handle.
    let issuer = provider.issuer.clone();
    provider.stop().await;
    assert!(
        http.get(format!("{issuer}/__stats")).send().await.is_err(),
        "provider still answers"
    );
}

#[tokio::test]
async fn bad_config_reports_the_provider_stderr() {
    let error = TestProvider::start(
        json!({ "clients": [{ "client_id": "no-secret", "redirect_uris": [REDIRECT_URI] }] }),
    )
    .await
    .err()
    .expect("an invalid client fails to start");
    let message = error.to_string();
    assert!(message.contains("did not start"), "{message}");
    assert!(message.contains("invalid_client_metadata"), "{message}");
}
