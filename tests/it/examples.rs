//! The examples beyond the quickstart, run as users run them (no configuration: the local
//! provider), each signing a person in: `templates` (minijinja pages with a sign-out button)
//! and `protected_router` (a sub-router behind one `route_layer`).

use axum_identity_testkit as support;

use reqwest::StatusCode;
use support::browser::Browser;
use tokio::process::Child;

/// Starts the example with no provider configured on a free port; waits until it listens and
/// returns what it printed (the registration lines included).
async fn start(name: &str) -> (Child, String, String) {
    start_with(name, &[]).await
}

/// [`start`] with more of the environment.
async fn start_with(name: &str, more: &[(&str, &str)]) -> (Child, String, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut env = vec![("PORT", port.to_string()), ("RUST_LOG", "info".to_owned())];
    env.extend(more.iter().map(|(k, v)| (*k, (*v).to_owned())));
    let (child, said) = support::example::start(name, &env).await;
    (child, said, format!("http://127.0.0.1:{port}"))
}

#[tokio::test]
async fn the_templates_example_greets_the_user_and_signs_them_out_with_a_button() {
    let (_child, said, base) = start("templates").await;
    assert!(
        said.contains(&format!(
            "Redirect URI to register at the provider: {base}/redirect"
        )) && said.contains(&format!(
            "Post-logout redirect URI to register at the provider: {base}/logout/done"
        )),
        "it logs what to register: {said}"
    );
    let browser = Browser::new();
    let page = browser.get(format!("{base}/")).await;
    let page = browser.sign_in(page, "alice").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("Welcome Alice"), "{}", page.body);
    let sign_out = page
        .forms()
        .into_iter()
        .find(|form| form.action.path() == "/logout")
        .unwrap_or_else(|| panic!("a sign-out form: {}", page.body));
    let page = browser.submit(&sign_out, None).await;
    let page = browser.confirm_logout(page).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.url
            .as_str()
            .starts_with(&format!("{base}/logout/done")),
        "back on the signed-out page: {}",
        page.url
    );
    let again = browser.get(format!("{base}/")).await;
    assert!(
        !again.body.contains("Welcome Alice"),
        "signed out: {}",
        again.body
    );
}

#[tokio::test]
async fn the_protected_router_example_guards_every_admin_route_and_only_those() {
    let (_child, _, base) = start("protected_router").await;
    let browser = Browser::new();

    let home = browser.get(format!("{base}/")).await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(home.body.contains("Not signed in."), "{}", home.body);

    // A script gets 401 with the challenge and the login URL, not a redirect.
    let api = browser.script_fetch(format!("{base}/admin/reports")).await;
    assert_eq!(api.status(), StatusCode::UNAUTHORIZED);
    assert!(
        api.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Cookie "),
        "{:?}",
        api.headers()
    );
    let body: serde_json::Value = api.json().await.unwrap();
    assert_eq!(body["login_url"], "/login?next=%2Fadmin%2Freports");

    // A page load signs in and comes back to the page it asked for, a handler without `Context`.
    let page = browser.get(format!("{base}/admin/reports")).await;
    let page = browser.sign_in(page, "bob").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.url.as_str().ends_with("/admin/reports"),
        "{}",
        page.url
    );
    assert!(page.body.contains("Only signed-in users"), "{}", page.body);

    let dashboard = browser.get(format!("{base}/admin")).await;
    assert!(dashboard.body.contains("Hello Bob"), "{}", dashboard.body);

    // An unknown path stays a 404 rather than a sign-in.
    let missing = browser.get(format!("{base}/admin/nothing-here")).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_sign_in_rules_example_admits_its_domain_keeps_the_hooks_data_and_refuses_others() {
    let (_child, _, base) = start_with(
        "sign_in_rules",
        &[("ALLOWED_EMAIL_DOMAINS", "example.test")],
    )
    .await;
    let browser = Browser::new();
    let page = browser.get(format!("{base}/")).await;
    let page = browser.sign_in(page, "alice").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("Hello Alice"), "{}", page.body);
    assert!(
        page.body.contains("email: alice@example.test"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("app_user: <code>alice-local</code>"),
        "{}",
        page.body
    );
    let recent = browser.get(format!("{base}/recent")).await;
    assert_eq!(recent.status, StatusCode::OK, "{}", recent.body);
    assert!(
        recent.body.contains("Recently signed in"),
        "{}",
        recent.body
    );

    let (_child, _, base) = start_with(
        "sign_in_rules",
        &[("ALLOWED_EMAIL_DOMAINS", "contoso.test")],
    )
    .await;
    let browser = Browser::new();
    let page = browser.get(format!("{base}/")).await;
    let page = browser.sign_in(page, "alice").await;
    assert_eq!(page.status, StatusCode::FORBIDDEN, "{}", page.body);
}

#[tokio::test]
async fn the_two_providers_example_signs_staff_and_customers_in_at_their_own_provider() {
    let (_child, said, base) = start("two_providers").await;
    assert!(said.contains("Providers: work, customer"), "{said}");
    let staff = Browser::new();
    let chooser = staff.get(format!("{base}/")).await;
    assert!(
        chooser.body.contains("Sign in with customer"),
        "{}",
        chooser.body
    );
    let page = staff
        .get(format!("{base}/login?provider=work&next=%2F"))
        .await;
    let page = staff.sign_in(page, "alice").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body
            .contains("You signed in with <strong>work</strong>"),
        "{}",
        page.body
    );
    assert_eq!(
        staff.get(format!("{base}/staff")).await.status,
        StatusCode::OK
    );

    let customer = Browser::new();
    let page = customer
        .get(format!("{base}/login?provider=customer"))
        .await;
    let page = customer.sign_in(page, "bob").await;
    assert!(
        page.body
            .contains("You signed in with <strong>customer</strong>"),
        "{}",
        page.body
    );
    let refused = customer.get(format!("{base}/staff")).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
}

#[tokio::test]
async fn the_two_providers_example_reads_its_providers_from_the_environment() {
    use support::provider::TestProvider;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let redirect = format!("{base}/redirect");
    let signed_out = format!("{base}/logout/done");
    let mut providers = Vec::new();
    for (client, secret) in [
        ("env-work", "work-secret"),
        ("env-customer", "customer-secret"),
    ] {
        let metadata = TestProvider::web_client(client, secret, &[&redirect], &[&signed_out]);
        providers.push(
            TestProvider::start(serde_json::json!({"clients": [metadata]}))
                .await
                .expect("a provider"),
        );
    }
    let env = [
        ("PORT", port.to_string()),
        ("REDIRECT_URI", redirect.clone()),
        ("IDENTITY_PROVIDERS", "work,customer".to_owned()),
        ("WORK_CLIENT_ID", "env-work".to_owned()),
        ("WORK_CLIENT_SECRET", "work-secret".to_owned()),
        ("WORK_OIDC_AUTHORITY", providers[0].issuer.clone()),
        ("CUSTOMER_CLIENT_ID", "env-customer".to_owned()),
        ("CUSTOMER_CLIENT_SECRET", "customer-secret".to_owned()),
        ("CUSTOMER_OIDC_AUTHORITY", providers[1].issuer.clone()),
    ];
    let (_child, said) = support::example::start("two_providers", &env).await;
    assert!(said.contains("Providers: work, customer"), "{said}");
    let browser = Browser::new();
    let page = browser.get(format!("{base}/login?provider=customer")).await;
    assert!(
        page.url.as_str().starts_with(&providers[1].issuer),
        "at the customer provider: {}",
        page.url
    );
    let page = browser.sign_in(page, "carol").await;
    assert!(
        page.body
            .contains("You signed in with <strong>customer</strong>"),
        "{}",
        page.body
    );
}

#[tokio::test]
async fn the_hello_example_greets_the_signed_in_user_by_name_and_offers_sign_out() {
    let (_child, _, base) = start("hello").await;
    let browser = Browser::new();
    // Not signed in: the page sends the browser to sign in first.
    let page = browser.get_no_follow(format!("{base}/")).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    let page = browser.get(format!("{base}/")).await;
    let page = browser.sign_in(page, "alice").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.url.as_str().starts_with(&format!("{base}/")),
        "back on the app: {}",
        page.url
    );
    assert!(page.body.contains("Hello Alice!"), "{}", page.body);
    assert!(page.body.contains("href=\"/logout"), "{}", page.body);
}
