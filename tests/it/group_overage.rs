//! Groups overage resolved: a user in more groups than an ID token carries signs in at the
//! Microsoft-shaped provider (whose ID token then names Graph instead of the groups), and the
//! library reads them from the Graph stand-in once per session, following its pages; a Graph
//! that fails leaves `groups()` reporting the overage, and the sign-in goes on.

use axum_identity_testkit as support;

use axum::Router;
use axum::response::Html;
use axum::routing::get;
use axum_identity::{BoxError, Context, SignInDecision, SignInEvent, login_required};
use reqwest::StatusCode;
use serde_json::json;
use support::app::{TestApp, launch};
use support::browser::Browser;
use support::graph::{Failure, Graph, group_ids};
use support::microsoft::{self as ms, Microsoft};

/// The groups the signed-in user has, as `groups()` says: `N groups: first,...` or the overage.
#[login_required]
async fn groups(context: Context) -> Html<String> {
    Html(match context.user.groups() {
        Ok(groups) => format!("{} groups: {}", groups.len(), groups.join(",")),
        Err(overage) => format!("overage: {overage}"),
    })
}

/// How many groups the sign-in hook saw, as it kept it with the session.
#[login_required]
async fn hook(context: Context) -> String {
    format!("hook saw {}", context.user.app_data()["groups_seen"])
}

/// The sign-in hook: it admits everyone and keeps how many groups it saw (`null`: the overage).
async fn count_groups(event: SignInEvent) -> Result<SignInDecision, BoxError> {
    let seen = event.user.groups().map(|groups| groups.len()).ok();
    Ok(SignInDecision::allow().with_data("groups_seen", seen))
}

/// An app at the Microsoft-shaped provider's `TENANT_A` that resolves the overage at `graph`.
async fn start_app(microsoft: &Microsoft, graph: &Graph) -> TestApp {
    let http = microsoft.http_client();
    let graph_url = graph.url.clone();
    let routes = Router::new()
        .route("/groups", get(groups))
        .route("/hook", get(hook));
    launch(routes)
        .configured_provider()
        .client(ms::CLIENT_ID, ms::CLIENT_SECRET)
        .auth(move |b| {
            b.http_client(http)
                .authority(format!(
                    "https://login.microsoftonline.com/{}",
                    ms::TENANT_A
                ))
                .resolve_group_overage(true)
                .graph_base_url(graph_url)
                .on_sign_in(count_groups)
        })
        .start()
        .await
}

/// The ID token names Graph instead of listing the groups, as Entra's does past 200 groups.
fn overage_claims() -> serde_json::Value {
    json!({
        "_claim_names": {"groups": "src1"},
        "_claim_sources": {"src1": {"endpoint": "https://graph.windows.net/tenant/users/alice/getMemberObjects"}},
    })
}

async fn signed_in(microsoft: &Microsoft, app: &TestApp) -> (Browser, String) {
    let browser = microsoft.browser();
    let page = browser.get(app.url("/groups")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(page.url.as_str(), app.url("/groups"), "signed in and back");
    (browser, page.body)
}

#[tokio::test]
async fn a_user_in_250_groups_gets_all_of_them_with_one_graph_call_per_session() {
    let microsoft = Microsoft::start().await;
    microsoft.set_claims(overage_claims());
    let graph = Graph::start().await;
    let ids = group_ids(250);
    graph.set_groups(ids.clone());
    let app = start_app(&microsoft, &graph).await;

    let (browser, body) = signed_in(&microsoft, &app).await;
    assert_eq!(body, format!("250 groups: {}", ids.join(",")));
    let calls = graph.calls();
    assert_eq!(calls.len(), 1, "one Graph call for the sign-in: {calls:?}");
    assert_eq!(calls[0].method, "POST");
    assert_eq!(calls[0].path, "/v1.0/me/getMemberObjects");
    // The user's own token from the sign-in, which asked for Graph's `User.Read`.
    let (_, redeemed) = microsoft
        .token_requests()
        .into_iter()
        .find(|(_, r)| r.form.get("grant_type").map(String::as_str) == Some("authorization_code"))
        .expect("the code was redeemed");
    let code = redeemed.form["code"].clone();
    assert_eq!(
        calls[0].token.as_deref(),
        Some(
            format!(
                "eyJ0eXAiOiJKV1QiLCJub25jZSI6Im9wYXF1ZSJ9.{}",
                support::kernel::b64(code.as_bytes())
            )
            .as_str()
        )
    );
    let authorization = &microsoft.authorizations()[0];
    assert!(
        authorization.scopes().iter().any(|s| s == "User.Read"),
        "{:?}",
        authorization.scopes()
    );

    // The sign-in hook saw them too, before the session was stored.
    assert_eq!(browser.get(app.url("/hook")).await.body, "hook saw 250");

    // Later requests of the session read the stored groups: no Graph call.
    for _ in 0..5 {
        let page = browser.get(app.url("/groups")).await;
        assert_eq!(page.body, body);
    }
    assert_eq!(graph.calls().len(), 1, "none for later requests");

    // Another session: its own sign-in, its own one call.
    let (_, other) = signed_in(&microsoft, &app).await;
    assert_eq!(other, body);
    assert_eq!(graph.calls().len(), 2);
}

#[tokio::test]
async fn graphs_pages_are_followed_through_their_next_links() {
    let microsoft = Microsoft::start().await;
    microsoft.set_claims(overage_claims());
    let graph = Graph::start().await;
    let ids = group_ids(250);
    graph.set_groups(ids.clone());
    graph.set_page_size(100);
    let app = start_app(&microsoft, &graph).await;

    let (_, body) = signed_in(&microsoft, &app).await;
    assert_eq!(body, format!("250 groups: {}", ids.join(",")));
    let calls = graph.calls();
    let paths: Vec<(String, String)> = calls
        .iter()
        .map(|c| (c.method.to_string(), c.path.clone()))
        .collect();
    assert_eq!(
        paths,
        [
            ("POST".into(), "/v1.0/me/getMemberObjects".into()),
            (
                "GET".into(),
                "/v1.0/me/getMemberObjects?$skiptoken=100".into()
            ),
            (
                "GET".into(),
                "/v1.0/me/getMemberObjects?$skiptoken=200".into()
            ),
        ]
    );
    assert!(
        calls
            .iter()
            .all(|c| c.token == calls[0].token && c.token.is_some()),
        "every page with the user's token"
    );
}

#[tokio::test]
async fn a_graph_failure_leaves_the_overage_error_and_the_sign_in_goes_on() {
    let microsoft = Microsoft::start().await;
    microsoft.set_claims(overage_claims());
    let graph = Graph::start().await;
    graph.set_groups(group_ids(250));
    let app = start_app(&microsoft, &graph).await;
    for failure in [Failure::Forbidden, Failure::Unavailable, Failure::NotJson] {
        graph.fail_with(Some(failure.clone()));
        let before = graph.calls().len();
        let (browser, body) = signed_in(&microsoft, &app).await;
        assert!(body.starts_with("overage: "), "{failure:?}: {body}");
        assert!(body.contains("more groups than fit"), "{body}");
        assert_eq!(browser.get(app.url("/hook")).await.body, "hook saw null");
        assert_eq!(
            graph.calls().len(),
            before + 1,
            "{failure:?}: asked once, not retried"
        );
    }

    // Graph unreachable: the same.
    let down = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let http = microsoft.http_client();
    let app = launch(Router::new().route("/groups", get(groups)))
        .configured_provider()
        .client(ms::CLIENT_ID, ms::CLIENT_SECRET)
        .auth(move |b| {
            b.http_client(http)
                .authority(format!(
                    "https://login.microsoftonline.com/{}",
                    ms::TENANT_A
                ))
                .resolve_group_overage(true)
                .graph_base_url(down)
        })
        .start()
        .await;
    let (_, body) = signed_in(&microsoft, &app).await;
    assert!(body.starts_with("overage: "), "{body}");
}

#[tokio::test]
async fn without_the_option_or_without_an_overage_graph_is_not_called() {
    let microsoft = Microsoft::start().await;
    let graph = Graph::start().await;
    graph.set_groups(group_ids(3));
    // No overage: the token's own groups.
    microsoft.set_claims(json!({"groups": ["g1", "g2"]}));
    let app = start_app(&microsoft, &graph).await;
    let (_, body) = signed_in(&microsoft, &app).await;
    assert_eq!(body, "2 groups: g1,g2");
    assert!(graph.calls().is_empty());

    // An overage, with the option off: today's error, no call.
    microsoft.set_claims(overage_claims());
    let http = microsoft.http_client();
    let url = graph.url.clone();
    let app = launch(Router::new().route("/groups", get(groups)))
        .configured_provider()
        .client(ms::CLIENT_ID, ms::CLIENT_SECRET)
        .auth(move |b| {
            b.http_client(http)
                .authority(format!(
                    "https://login.microsoftonline.com/{}",
                    ms::TENANT_A
                ))
                .graph_base_url(url)
        })
        .start()
        .await;
    let (_, body) = signed_in(&microsoft, &app).await;
    assert!(body.starts_with("overage: "), "{body}");
    assert!(graph.calls().is_empty());
    let last = microsoft.authorizations().pop().expect("a sign-in");
    assert!(
        !last.scopes().iter().any(|s| s == "User.Read"),
        "no Graph scope asked for without the option: {:?}",
        last.scopes()
    );
}
