//! Microsoft's authority kinds: Entra ID (single tenant, `common`, `organizations`,
//! `consumers`), Entra External ID (and its custom URL domain through `oidc_authority`) and Azure
//! AD B2C (sign-in, edit-profile and password-reset user flows), each against a provider in the
//! test suite that serves documents shaped like Microsoft's (`support::microsoft`): the discovery
//! URL each kind must use, the issuer rule each kind needs, and the B2C round trips. The issuers
//! each rule accepts and refuses are tables of unit tests beside the rules
//! (`identity-runtime/src/authority.rs`); here a round trip per kind, and a refusal, show that
//! sign-in applies them end to end.
//!
//! Microsoft's host names (`login.microsoftonline.com`, `*.ciamlogin.com`, `*.b2clogin.com`,
//! `login.contoso.com`) are resolved to the test provider on 127.0.0.1 inside the test's own HTTP
//! clients; no name is looked up in DNS and nothing leaves the machine.
//!
//! Tests marked `#[ignore = "runtime bug: ..."]` describe what Microsoft really does and what the
//! runtime gets wrong about it; run them with `cargo test --test it microsoft -- --ignored`.

use axum_identity_testkit as support;

use axum::http::StatusCode;
use axum_identity::{Auth, AuthBuilder, ConfigError};
use serde_json::json;
use support::app::TestApp;
use support::assert::{self, assert_signed_in, error_message, home};
use support::browser::{Browser, Page};
use support::microsoft::*;

// ---------------------------------------------------------------------------------------------
// Helpers

fn entra(tenant: &str) -> impl FnOnce(AuthBuilder) -> AuthBuilder + Send + use<> {
    let authority = format!("https://login.microsoftonline.com/{tenant}");
    move |builder| builder.authority(authority)
}

fn external_id(builder: AuthBuilder) -> AuthBuilder {
    builder.authority("https://contoso.ciamlogin.com/contoso.onmicrosoft.com")
}

fn custom_domain(builder: AuthBuilder) -> AuthBuilder {
    builder.oidc_authority(custom_domain_issuer())
}

/// B2C with all three user flows, asking for an API scope at sign-in (which is what makes B2C
/// issue an access token).
fn b2c(builder: AuthBuilder) -> AuthBuilder {
    builder
        .b2c_tenant_name("contoso")
        .b2c_signup_signin_user_flow(SUSI)
        .b2c_edit_profile_user_flow(EDIT)
        .b2c_reset_password_user_flow(RESET)
        .scopes([API_SCOPE])
}

/// The callback refused the provider's answer (see [`assert::assert_rejected`]) after exactly
/// one code redemption.
async fn assert_rejected(
    microsoft: &Microsoft,
    app: &TestApp,
    browser: &Browser,
    page: &Page,
    reason: &str,
) {
    assert::assert_rejected(app, browser, page, reason).await;
    assert_eq!(
        microsoft.token_requests().len(),
        1,
        "the code was not redeemed exactly once"
    );
}

/// A sign-in whose ID token has `claims` merged in, with the app `configure`d, is refused at
/// the callback for a `reason` (see [`assert_rejected`]).
async fn assert_sign_in_refused(
    claims: serde_json::Value,
    configure: impl FnOnce(AuthBuilder) -> AuthBuilder + Send + 'static,
    reason: &str,
) {
    let microsoft = Microsoft::start().await;
    microsoft.set_claims(claims);
    let app = start_app(&microsoft, configure).await;
    let browser = microsoft.browser();
    let page = browser.get(&app.url("/login")).await;
    assert_rejected(&microsoft, &app, &browser, &page, reason).await;
}

/// The discovery document was refused, both at startup and at the first sign-in (each on an app
/// of its own, so that neither sees the other's cached failure): `warm_up` names the problem,
/// `/login` shows a 5xx error page without sending the browser to the provider, nobody is
/// signed in.
async fn assert_discovery_refused(
    microsoft: &Microsoft,
    configure: fn(AuthBuilder) -> AuthBuilder,
    mentions: &str,
) {
    let at_startup = start_app(microsoft, configure).await;
    let error = at_startup
        .auth
        .warm_up()
        .await
        .expect_err("the discovery document must be refused");
    let message = error.to_string();
    assert!(
        message.contains("issuer") && message.contains(mentions),
        "unclear error: {message}"
    );

    let app = start_app(microsoft, configure).await;
    let browser = microsoft.browser();
    let page = browser.get(&app.url("/login")).await;
    assert_eq!(page.url.path(), "/login", "chain: {:?}", page.chain);
    assert!(
        page.status.is_server_error(),
        "{} {}",
        page.status,
        page.body
    );
    assert!(
        page.body.contains("<h1>") && page.body.contains(page.status.as_str()),
        "not the error page: {}",
        page.body
    );
    assert!(
        microsoft.authorizations().is_empty(),
        "the browser was sent to the provider"
    );
    assert_eq!(home(&app, &browser).await, "anonymous");
}

/// Whether `message` names the environment variable `name` as a word of its own (so that
/// `AUTHORITY` is not found inside `OIDC_AUTHORITY`).
fn names_variable(message: &str, name: &str) -> bool {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    message.match_indices(name).any(|(at, _)| {
        !message[..at].chars().next_back().is_some_and(word)
            && !message[at + name.len()..].chars().next().is_some_and(word)
    })
}

// ---------------------------------------------------------------------------------------------
// Entra ID, single tenant

/// A tenant GUID authority: discovery under `<authority>/v2.0/`, the browser at the tenant's
/// v2.0 authorization endpoint, the code redeemed at its token endpoint, the token accepted.
#[tokio::test]
async fn entra_single_tenant_accepts_its_own_tokens() {
    let microsoft = Microsoft::start().await;
    let app = start_app(&microsoft, entra(TENANT_A)).await;
    let browser = microsoft.browser();
    let page = browser.get(&app.url("/login")).await;
    assert_signed_in(&app, &browser, &page, "/", ALICE_SUB).await;

    let body = home(&app, &browser).await;
    assert!(body.contains(&format!("tid: {TENANT_A}")), "{body}");
    assert!(
        body.contains(&format!("iss: {}", entra_issuer(TENANT_A))),
        "{body}"
    );
    let requests = microsoft.requests();
    for expected in [
        format!(
            "GET https://login.microsoftonline.com/{TENANT_A}/v2.0/.well-known/openid-configuration"
        ),
        format!("GET https://login.microsoftonline.com/{TENANT_A}/discovery/v2.0/keys"),
        format!("GET https://login.microsoftonline.com/{TENANT_A}/oauth2/v2.0/authorize"),
        format!("POST https://login.microsoftonline.com/{TENANT_A}/oauth2/v2.0/token"),
    ] {
        assert!(
            requests.contains(&expected),
            "no `{expected}` in {requests:#?}"
        );
    }
    let authorization = &microsoft.authorizations()[0];
    assert!(
        authorization
            .scopes()
            .contains(&"offline_access".to_owned()),
        "{:?}",
        authorization.scopes()
    );
    // Microsoft does not advertise RFC 9207, and the callback needs no `iss`.
    assert!(!page.chain.iter().any(|(_, url)| url.path() == "/redirect" && url.query_pairs().any(|(k, _)| k == "iss")));
}

/// A token whose issuer is another tenant's: rejected, nobody signed in.
#[tokio::test]
async fn entra_single_tenant_rejects_a_token_from_another_tenant() {
    assert_sign_in_refused(
        json!({"iss": entra_issuer(TENANT_B), "tid": TENANT_B}),
        entra(TENANT_A),
        "issuer",
    )
    .await;
}

/// A tenant named by its domain (`contoso.onmicrosoft.com`): Entra declares the tenant's GUID
/// issuer, which is on the authority's host and accepted.
#[tokio::test]
async fn entra_tenant_by_domain_name_accepts_the_tenant_guid_issuer() {
    let microsoft = Microsoft::start().await;
    let app = start_app(&microsoft, entra("contoso.onmicrosoft.com")).await;
    let browser = microsoft.browser();
    let page = browser.get(&app.url("/login")).await;
    assert_signed_in(&app, &browser, &page, "/", ALICE_SUB).await;
    assert!(microsoft.requests().contains(
        &"GET https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0/.well-known/openid-configuration".to_owned()
    ));
}

/// A discovery document for an Entra tenant that declares an issuer on another host: the
/// configuration is refused before any browser is sent anywhere.
#[tokio::test]
async fn entra_refuses_a_discovery_issuer_on_another_host() {
    let microsoft = Microsoft::start().await;
    microsoft
        .set_discovery(json!({"issuer": format!("https://login.evil.example/{TENANT_A}/v2.0")}));
    assert_discovery_refused(
        &microsoft,
        |builder| builder.authority(format!("https://login.microsoftonline.com/{TENANT_A}")),
        "login.evil.example",
    )
    .await;
}

// ---------------------------------------------------------------------------------------------
// Entra ID, multi-tenant: `common` and `organizations` declare `{tenantid}` issuers

/// Users of two tenants sign in, each token's `iss` matching its own `tid`.
async fn multi_tenant_accepts_any_tenant(segment: &str) {
    let microsoft = Microsoft::start().await;
    let app = start_app(&microsoft, entra(segment)).await;

    let alice = microsoft.browser();
    let page = alice.get(&app.url("/login")).await;
    assert_signed_in(&app, &alice, &page, "/", ALICE_SUB).await;
    let body = home(&app, &alice).await;
    assert!(
        body.contains(&format!("tid: {TENANT_A}")) && body.contains(&entra_issuer(TENANT_A)),
        "{body}"
    );

    microsoft.set_claims(json!({"iss": entra_issuer(TENANT_B), "tid": TENANT_B, "sub": "bob-of-fabrikam", "name": "Bob"}));
    let bob = microsoft.browser();
    let page = bob.get(&app.url("/login")).await;
    assert_signed_in(&app, &bob, &page, "/", "bob-of-fabrikam").await;
    let body = home(&app, &bob).await;
    assert!(
        body.contains(&format!("tid: {TENANT_B}")) && body.contains(&entra_issuer(TENANT_B)),
        "{body}"
    );

    assert!(microsoft.requests().contains(&format!(
        "GET https://login.microsoftonline.com/{segment}/v2.0/.well-known/openid-configuration"
    )));
    assert!(
        microsoft
            .authorizations()
            .iter()
            .all(|a| a.url.path() == format!("/{segment}/oauth2/v2.0/authorize"))
    );
}

/// The issuer names tenant A while `tid` says tenant B: rejected.
async fn multi_tenant_rejects_iss_of_another_tenant_than_tid(segment: &str) {
    assert_sign_in_refused(
        json!({"iss": entra_issuer(TENANT_A), "tid": TENANT_B}),
        entra(segment),
        "issuer",
    )
    .await;
}

#[tokio::test]
async fn entra_common_accepts_tokens_from_any_tenant_with_iss_matching_tid() {
    multi_tenant_accepts_any_tenant("common").await;
}

#[tokio::test]
async fn entra_common_rejects_iss_of_tenant_a_with_tid_of_tenant_b() {
    multi_tenant_rejects_iss_of_another_tenant_than_tid("common").await;
}

#[tokio::test]
async fn entra_organizations_accepts_tokens_from_any_tenant_with_iss_matching_tid() {
    multi_tenant_accepts_any_tenant("organizations").await;
}

/// `consumers` declares the one issuer of personal accounts (no template): their tokens are
/// accepted, a work account's are not.
#[tokio::test]
async fn entra_consumers_accepts_personal_accounts_only() {
    let microsoft = Microsoft::start().await;
    let app = start_app(&microsoft, entra("consumers")).await;
    let browser = microsoft.browser();
    let page = browser.get(&app.url("/login")).await;
    assert_signed_in(&app, &browser, &page, "/", ALICE_SUB).await;
    assert!(
        home(&app, &browser)
            .await
            .contains(&format!("tid: {MSA_TENANT}"))
    );

    microsoft.set_claims(json!({"iss": entra_issuer(TENANT_A), "tid": TENANT_A}));
    let work = microsoft.browser();
    let page = work.get(&app.url("/login")).await;
    assert_eq!(page.url.path(), "/redirect", "chain: {:?}", page.chain);
    assert_eq!(
        page.status,
        StatusCode::BAD_REQUEST,
        "{}",
        error_message(&page)
    );
    assert!(
        support::logs::reason_of(&page.body).contains("issuer"),
        "{}",
        error_message(&page)
    );
    assert_eq!(home(&app, &work).await, "anonymous");
}

// ---------------------------------------------------------------------------------------------
// Entra External ID

/// `https://contoso.ciamlogin.com/contoso.onmicrosoft.com`: discovery under the authority, an
/// issuer on the tenant-id host (`https://<tid>.ciamlogin.com/<tid>/v2.0`), accepted.
#[tokio::test]
async fn external_id_accepts_the_issuer_on_the_tenant_id_host() {
    let microsoft = Microsoft::start().await;
    let app = start_app(&microsoft, external_id).await;
    let browser = microsoft.browser();
    let page = browser.get(&app.url("/login")).await;
    assert_signed_in(&app, &browser, &page, "/", ALICE_SUB).await;
    let body = home(&app, &browser).await;
    assert!(
        body.contains(&format!("iss: {}", ciam_issuer(CIAM_TENANT))),
        "{body}"
    );
    let requests = microsoft.requests();
    for expected in [
        "GET https://contoso.ciamlogin.com/contoso.onmicrosoft.com/v2.0/.well-known/openid-configuration".to_owned(),
        format!("GET https://contoso.ciamlogin.com/{CIAM_TENANT}/oauth2/v2.0/authorize"),
        format!("POST https://contoso.ciamlogin.com/{CIAM_TENANT}/oauth2/v2.0/token"),
    ] {
        assert!(requests.contains(&expected), "no `{expected}` in {requests:#?}");
    }
}

/// A token of another External ID tenant is rejected (the other issuers that are refused are
/// rows of the issuer tables beside the rules, in `identity-runtime/src/authority.rs`).
#[tokio::test]
async fn external_id_rejects_a_token_from_another_issuer() {
    assert_sign_in_refused(
        json!({"iss": ciam_issuer(OTHER_CIAM_TENANT), "tid": OTHER_CIAM_TENANT}),
        external_id,
        "issuer",
    )
    .await;
}

// ---------------------------------------------------------------------------------------------
// External ID behind a custom URL domain, through `oidc_authority`

/// `oidc_authority("https://login.contoso.com/<tid>/v2.0")`: discovery at
/// `<url>/.well-known/openid-configuration`, the exact issuer accepted.
#[tokio::test]
async fn external_id_custom_domain_accepts_the_exact_issuer() {
    let microsoft = Microsoft::start().await;
    let app = start_app(&microsoft, custom_domain).await;
    let browser = microsoft.browser();
    let page = browser.get(&app.url("/login")).await;
    assert_signed_in(&app, &browser, &page, "/", ALICE_SUB).await;
    assert!(
        home(&app, &browser)
            .await
            .contains(&format!("iss: {}", custom_domain_issuer()))
    );
    let requests = microsoft.requests();
    let expected =
        format!("GET https://{CUSTOM_DOMAIN}/{CIAM_TENANT}/v2.0/.well-known/openid-configuration");
    assert!(
        requests.contains(&expected),
        "no `{expected}` in {requests:#?}"
    );
}

/// A token whose issuer is not the exact declared one: rejected.
#[tokio::test]
async fn external_id_custom_domain_rejects_another_issuer() {
    assert_sign_in_refused(
        json!({"iss": ciam_issuer(CIAM_TENANT)}),
        custom_domain,
        "issuer",
    )
    .await;
}

/// What External ID publishes behind a custom URL domain: the discovery document at
/// `https://login.contoso.com/<tid>/v2.0/.well-known/openid-configuration` keeps the tenant's
/// `https://<tid>.ciamlogin.com/<tid>/v2.0` issuer (MSAL's issuer validation accepts a
/// `{tenant}.ciamlogin.com` issuer "even when using a custom domain" for this reason —
/// AzureAD/microsoft-authentication-library-for-python PR 840, MSAL.NET issue 5927 for the same
/// with a `login.microsoftonline.com` issuer). An app configured the way the Python samples do
/// (`OIDC_AUTHORITY=https://login.contoso.com/<tid>/v2.0`) should sign users in.
#[tokio::test]
async fn external_id_custom_domain_accepts_the_ciamlogin_issuer_microsoft_publishes() {
    let microsoft = Microsoft::start().await;
    microsoft.set_discovery(json!({"issuer": ciam_issuer(CIAM_TENANT)}));
    let app = start_app(&microsoft, custom_domain).await;
    let browser = microsoft.browser();
    let page = browser.get(&app.url("/login")).await;
    assert_signed_in(&app, &browser, &page, "/", ALICE_SUB).await;
    assert!(
        home(&app, &browser)
            .await
            .contains(&format!("iss: {}", ciam_issuer(CIAM_TENANT)))
    );
}

// ---------------------------------------------------------------------------------------------
// Azure AD B2C

/// Sign-in through the sign-up/sign-in user flow: discovery and endpoints under the policy
/// path, B2C's issuer on the tenant GUID, the token's `tfp` naming the flow; back on the page
/// that asked.
#[tokio::test]
async fn b2c_sign_in_round_trip() {
    let microsoft = Microsoft::start().await;
    let app = start_app(&microsoft, b2c).await;
    let browser = microsoft.browser();
    let page = browser.get(&app.url("/profile")).await;
    assert_signed_in(&app, &browser, &page, "/profile", ALICE_OID).await;
    assert_eq!(page.body, format!("profile of {ALICE_OID} (Alice)"));

    let body = home(&app, &browser).await;
    assert!(body.contains(&format!("tfp: {SUSI}")), "{body}");
    assert!(body.contains(&format!("iss: {}", b2c_issuer())), "{body}");
    let authorizations = microsoft.authorizations();
    assert_eq!(authorizations.len(), 1);
    assert_eq!(
        authorizations[0].url.host_str(),
        Some("contoso.b2clogin.com")
    );
    assert_eq!(
        authorizations[0].url.path(),
        "/contoso.onmicrosoft.com/b2c_1_susi/oauth2/v2.0/authorize"
    );
    assert!(
        authorizations[0].scopes().contains(&API_SCOPE.to_owned()),
        "{:?}",
        authorizations[0].scopes()
    );
    let requests = microsoft.requests();
    let expected = format!(
        "GET https://contoso.b2clogin.com/contoso.onmicrosoft.com/{SUSI}/v2.0/.well-known/openid-configuration"
    );
    assert!(
        requests.contains(&expected),
        "no `{expected}` in {requests:#?}"
    );
    let tokens = microsoft.token_requests();
    assert_eq!(tokens.len(), 1);
    assert_eq!(
        tokens[0].0,
        Site::B2c {
            policy: SUSI.to_owned()
        }
    );
}

/// Signs alice in through the sign-up/sign-in flow.
async fn b2c_signed_in(microsoft: &Microsoft, app: &TestApp, browser: &Browser) {
    let page = browser.get(&app.url("/login")).await;
    assert_signed_in(app, browser, &page, "/", ALICE_OID).await;
    assert!(page.body.contains("name: Alice\n"), "{}", page.body);
    assert_eq!(microsoft.authorizations().len(), 1);
}

/// The edit-profile URL for templates starts the edit-profile user flow (its own authority);
/// its return trip replaces the user's claims, and the page shows the new name.
#[tokio::test]
async fn b2c_edit_profile_round_trip_refreshes_the_claims() {
    let microsoft = Microsoft::start().await;
    let app = start_app(&microsoft, b2c).await;
    let browser = microsoft.browser();
    b2c_signed_in(&microsoft, &app, &browser).await;

    let edit = app
        .auth
        .edit_profile_url("/")
        .expect("the edit-profile flow is configured");
    assert_eq!(edit, "/login?flow=edit_profile&next=%2F");
    assert!(
        home(&app, &browser)
            .await
            .contains("href=\"/login?flow=edit_profile&amp;next=%2F\"")
    );

    microsoft.set_claims(json!({"name": "Alice Edited"}));
    let page = browser.get(&app.url(&edit)).await;
    assert_eq!(
        page.status,
        StatusCode::OK,
        "{}\nchain: {:?}",
        error_message(&page),
        page.chain
    );
    assert_eq!(page.url.path(), "/", "chain: {:?}", page.chain);
    assert!(
        page.body
            .starts_with(&format!("signed in as {ALICE_OID}\nname: Alice Edited\n")),
        "{}",
        page.body
    );
    assert!(page.body.contains(&format!("tfp: {EDIT}")), "{}", page.body);

    let authorizations = microsoft.authorizations();
    assert_eq!(authorizations.len(), 2);
    assert_eq!(
        authorizations[1].url.path(),
        "/contoso.onmicrosoft.com/b2c_1_edit/oauth2/v2.0/authorize"
    );
    assert!(microsoft.requests().contains(&format!(
        "GET https://contoso.b2clogin.com/contoso.onmicrosoft.com/{EDIT}/v2.0/.well-known/openid-configuration"
    )));
    assert_eq!(
        microsoft.token_requests()[1].0,
        Site::B2c {
            policy: EDIT.to_owned()
        }
    );
}

/// An edit-profile return trip whose token is about another user (another `sub`): rejected,
/// and the signed-in user and their claims stay as they were.
#[tokio::test]
async fn b2c_edit_profile_rejects_a_token_for_another_user() {
    let microsoft = Microsoft::start().await;
    let app = start_app(&microsoft, b2c).await;
    let browser = microsoft.browser();
    b2c_signed_in(&microsoft, &app, &browser).await;

    microsoft.set_claims(json!({"sub": "00000000-0000-0000-bad0-00000000b0b0", "oid": "00000000-0000-0000-bad0-00000000b0b0", "name": "Mallory"}));
    let page = browser
        .get(&app.url(&app.auth.edit_profile_url("/").unwrap()))
        .await;
    assert_eq!(page.url.path(), "/redirect", "chain: {:?}", page.chain);
    assert_eq!(
        page.status,
        StatusCode::BAD_REQUEST,
        "{}",
        error_message(&page)
    );
    assert!(
        support::logs::reason_of(&page.body).contains("another user"),
        "{}",
        error_message(&page)
    );
    let body = home(&app, &browser).await;
    assert!(
        body.starts_with(&format!("signed in as {ALICE_OID}\nname: Alice\n")),
        "{body}"
    );
    assert!(!body.contains("Mallory"));
}

/// The user cancels the edit-profile flow (B2C's `AADB2C90091`): back to the page, unchanged.
#[tokio::test]
async fn b2c_edit_profile_cancelled_returns_to_the_page_unchanged() {
    let microsoft = Microsoft::start().await;
    let app = start_app(&microsoft, b2c).await;
    let browser = microsoft.browser();
    b2c_signed_in(&microsoft, &app, &browser).await;

    microsoft.fail_next_authorization(Some(EDIT), "access_denied", &aadb2c90091());
    microsoft.set_claims(json!({"name": "Never Seen"}));
    let page = browser
        .get(&app.url(&app.auth.edit_profile_url("/").unwrap()))
        .await;
    assert_eq!(
        page.status,
        StatusCode::OK,
        "{}\nchain: {:?}",
        error_message(&page),
        page.chain
    );
    assert_eq!(page.url.path(), "/");
    assert!(
        page.body
            .starts_with(&format!("signed in as {ALICE_OID}\nname: Alice\n")),
        "{}",
        page.body
    );
    assert_eq!(
        microsoft.token_requests().len(),
        1,
        "nothing is redeemed for a cancelled flow"
    );
}

/// "Forgot your password?": the sign-in callback gets `AADB2C90118`, the browser is sent to the
/// reset user flow's authorization endpoint, and that flow's callback signs the user in and
/// lands on the page that asked.
#[tokio::test]
async fn b2c_forgot_password_goes_through_the_reset_flow_and_signs_in() {
    let microsoft = Microsoft::start().await;
    let app = start_app(&microsoft, b2c).await;
    let browser = microsoft.browser();
    microsoft.fail_next_authorization(Some(SUSI), "access_denied", &aadb2c90118());

    let page = browser.get(&app.url("/profile")).await;
    assert_signed_in(&app, &browser, &page, "/profile", ALICE_OID).await;
    assert_eq!(page.body, format!("profile of {ALICE_OID} (Alice)"));

    let hops: Vec<String> = page
        .chain
        .iter()
        .map(|(_, url)| format!("{}{}", url.host_str().unwrap_or_default(), url.path()))
        .collect();
    let susi = hops.iter().position(|h| {
        h == "contoso.b2clogin.com/contoso.onmicrosoft.com/b2c_1_susi/oauth2/v2.0/authorize"
    });
    let reset = hops.iter().position(|h| {
        h == "contoso.b2clogin.com/contoso.onmicrosoft.com/b2c_1_reset/oauth2/v2.0/authorize"
    });
    assert!(
        matches!((susi, reset), (Some(s), Some(r)) if s < r),
        "not sign-in then reset: {hops:#?}"
    );
    let authorizations = microsoft.authorizations();
    assert_eq!(authorizations.len(), 2);
    assert_eq!(
        authorizations[1].site,
        Site::B2c {
            policy: RESET.to_owned()
        }
    );
    let tokens = microsoft.token_requests();
    assert_eq!(tokens.len(), 1);
    assert_eq!(
        tokens[0].0,
        Site::B2c {
            policy: RESET.to_owned()
        }
    );
    assert!(
        home(&app, &browser)
            .await
            .contains(&format!("tfp: {RESET}"))
    );
}

/// `AADB2C90118` without a reset flow configured: an error page that says what B2C said,
/// nobody signed in.
#[tokio::test]
async fn b2c_forgot_password_without_a_reset_flow_shows_the_error() {
    let microsoft = Microsoft::start().await;
    let app = start_app(&microsoft, |builder| {
        builder
            .b2c_tenant_name("contoso")
            .b2c_signup_signin_user_flow(SUSI)
            .scopes([API_SCOPE])
    })
    .await;
    let browser = microsoft.browser();
    microsoft.fail_next_authorization(Some(SUSI), "access_denied", &aadb2c90118());
    let page = browser.get(&app.url("/login")).await;
    assert_eq!(page.url.path(), "/redirect", "chain: {:?}", page.chain);
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(
        error_message(&page).contains("AADB2C90118"),
        "{}",
        error_message(&page)
    );
    assert_eq!(microsoft.authorizations().len(), 1);
    assert_eq!(home(&app, &browser).await, "anonymous");
}

/// B2C's discovery documents list only `openid` in `scopes_supported`, yet B2C honours
/// `offline_access` and issues a refresh token only when it is asked for (MSAL, and so Python
/// `identity`, always asks). Without it, every B2C access token expiry means a new interactive
/// sign-in.
#[tokio::test]
async fn b2c_sign_in_asks_for_offline_access() {
    let microsoft = Microsoft::start().await;
    let app = start_app(&microsoft, b2c).await;
    let browser = microsoft.browser();
    b2c_signed_in(&microsoft, &app, &browser).await;
    let scopes = microsoft.authorizations()[0].scopes();
    assert!(scopes.contains(&"offline_access".to_owned()), "{scopes:?}");
}

/// An app that asks B2C for no API scope (sign-in only, the B2C sample's default): B2C's token
/// response then carries an ID token and no `access_token` at all
/// (`{"id_token": ..., "token_type": "Bearer", "not_before": ..., "id_token_expires_in": 3600,
/// "profile_info": ..., "scope": "openid"}`), and the user must still be signed in.
#[tokio::test]
async fn b2c_sign_in_without_an_api_scope() {
    let microsoft = Microsoft::start().await;
    let app = start_app(&microsoft, |builder| {
        builder
            .b2c_tenant_name("contoso")
            .b2c_signup_signin_user_flow(SUSI)
    })
    .await;
    let browser = microsoft.browser();
    let page = browser.get(&app.url("/login")).await;
    assert_signed_in(&app, &browser, &page, "/", ALICE_OID).await;
}

/// B2C custom policies may sign with keys of their own, and keys rotate: an ID token of the
/// reset flow signed with a key its cached key set does not have yet makes the runtime fetch
/// the reset flow's keys again (as it does for the sign-in flow), and the user is signed in.
#[tokio::test]
async fn b2c_reset_flow_refetches_its_own_keys_after_rotation() {
    let microsoft = Microsoft::start().await;
    let app = start_app(&microsoft, b2c).await;
    let browser = microsoft.browser();
    microsoft.set_keys(vec![0], 0);
    microsoft.fail_next_authorization(Some(SUSI), "access_denied", &aadb2c90118());
    // Stop when the reset flow's code comes back: by then both flows' keys are cached.
    let page = browser
        .get_until(&app.url("/profile"), |url| {
            url.path() == "/redirect" && url.query_pairs().any(|(k, _)| k == "code")
        })
        .await;
    assert!(page.stopped_at.is_some(), "chain: {:?}", page.chain);
    microsoft.set_keys(vec![0, 1], 1);
    let page = browser.resume(page).await;
    assert_signed_in(&app, &browser, &page, "/profile", ALICE_OID).await;
}

// ---------------------------------------------------------------------------------------------
// Configuration errors, at build time (no network)

fn builder() -> AuthBuilder {
    Auth::builder()
        .client_id(CLIENT_ID)
        .client_secret(CLIENT_SECRET)
        .redirect_uri("http://localhost:5000/redirect")
}

fn config_error(builder: AuthBuilder) -> String {
    let error: ConfigError = builder
        .build()
        .expect_err("the configuration must be refused");
    error.to_string()
}

#[test]
fn config_b2c_without_redirect_uri_names_the_variables() {
    let message = config_error(
        Auth::builder()
            .client_id(CLIENT_ID)
            .client_secret(CLIENT_SECRET)
            .b2c_tenant_name("contoso")
            .b2c_signup_signin_user_flow(SUSI),
    );
    assert!(
        names_variable(&message, "REDIRECT_URI") && message.contains("B2C"),
        "{message}"
    );
}

#[test]
fn config_b2c_tenant_name_without_signup_signin_user_flow_names_the_variables() {
    let message = config_error(builder().b2c_tenant_name("contoso"));
    assert!(
        names_variable(&message, "SIGNUPSIGNIN_USER_FLOW")
            && names_variable(&message, "B2C_TENANT_NAME"),
        "{message}"
    );
    let message = config_error(builder().b2c_signup_signin_user_flow(SUSI));
    assert!(
        names_variable(&message, "B2C_TENANT_NAME")
            && names_variable(&message, "SIGNUPSIGNIN_USER_FLOW"),
        "{message}"
    );
}

#[test]
fn config_authority_with_oidc_authority_names_both_variables() {
    let message = config_error(
        builder()
            .authority(format!("https://login.microsoftonline.com/{TENANT_A}"))
            .oidc_authority(custom_domain_issuer()),
    );
    assert!(
        names_variable(&message, "AUTHORITY") && names_variable(&message, "OIDC_AUTHORITY"),
        "{message}"
    );
}

#[test]
fn config_authority_with_b2c_settings_names_the_variables() {
    let message = config_error(
        builder()
            .authority(format!("https://login.microsoftonline.com/{TENANT_A}"))
            .b2c_tenant_name("contoso")
            .b2c_signup_signin_user_flow(SUSI),
    );
    assert!(
        names_variable(&message, "AUTHORITY") && names_variable(&message, "B2C_TENANT_NAME"),
        "{message}"
    );
    let message = config_error(
        builder()
            .oidc_authority(custom_domain_issuer())
            .b2c_tenant_name("contoso")
            .b2c_signup_signin_user_flow(SUSI),
    );
    assert!(
        names_variable(&message, "OIDC_AUTHORITY") && names_variable(&message, "B2C_TENANT_NAME"),
        "{message}"
    );
}

/// The same four mistakes made in the environment (`Auth::from_env`). Environment variables
/// belong to the whole process, so each case runs in a child process of this test binary with
/// only those variables set (see `from_env_probe`).
#[test]
fn config_errors_from_the_environment_name_the_variables() {
    /// The variables set, and those the error must name.
    type Case = (
        &'static [(&'static str, &'static str)],
        &'static [&'static str],
    );
    let cases: [Case; 4] = [
        (
            &[
                ("B2C_TENANT_NAME", "contoso"),
                ("SIGNUPSIGNIN_USER_FLOW", SUSI),
            ],
            &["REDIRECT_URI"],
        ),
        (
            &[
                ("REDIRECT_URI", "http://localhost:5000/redirect"),
                ("B2C_TENANT_NAME", "contoso"),
            ],
            &["B2C_TENANT_NAME", "SIGNUPSIGNIN_USER_FLOW"],
        ),
        (
            &[
                ("REDIRECT_URI", "http://localhost:5000/redirect"),
                ("AUTHORITY", "https://login.microsoftonline.com/common"),
                ("OIDC_AUTHORITY", "https://login.contoso.com/tenant/v2.0"),
            ],
            &["AUTHORITY", "OIDC_AUTHORITY"],
        ),
        (
            &[
                ("REDIRECT_URI", "http://localhost:5000/redirect"),
                ("AUTHORITY", "https://login.microsoftonline.com/common"),
                ("B2C_TENANT_NAME", "contoso"),
                ("SIGNUPSIGNIN_USER_FLOW", SUSI),
            ],
            &["AUTHORITY", "B2C_TENANT_NAME"],
        ),
    ];
    for (variables, named) in cases {
        let output = std::process::Command::new(std::env::current_exe().expect("the test binary"))
            .args([
                "microsoft::from_env_probe",
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env_clear()
            .env(PROBE, "1")
            .env("CLIENT_ID", CLIENT_ID)
            .envs(variables.iter().copied())
            .output()
            .expect("run the probe");
        let stdout = String::from_utf8_lossy(&output.stdout);
        let message = stdout
            .lines()
            .find_map(|line| line.split_once("PROBE: ").map(|(_, message)| message))
            .unwrap_or_else(|| {
                panic!(
                    "the probe printed no result: {stdout}\n{}",
                    String::from_utf8_lossy(&output.stderr)
                )
            });
        assert!(
            message.starts_with("error: "),
            "{variables:?} was accepted: {message}"
        );
        for name in named {
            assert!(
                names_variable(message, name),
                "{variables:?}: `{message}` does not name {name}"
            );
        }
    }
}

const PROBE: &str = "AXUM_IDENTITY_FROM_ENV_PROBE";

/// Helper of `config_errors_from_the_environment_name_the_variables`: does nothing unless that
/// test runs it in a child process.
#[test]
fn from_env_probe() {
    if std::env::var_os(PROBE).is_none() {
        return;
    }
    match Auth::from_env() {
        Ok(_) => println!("PROBE: ok"),
        Err(error) => println!("PROBE: error: {error}"),
    }
}
