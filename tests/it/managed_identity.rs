//! Azure managed identities against the test kit's stand-in for their endpoints
//! (`support::managed_identity`, written to Microsoft's documented contract of both shapes):
//! tokens from App Service's endpoint and from IMDS, system- and user-assigned; one request for
//! many callers; Microsoft's retries; answers that are refused and never cached; a missing
//! endpoint as a startup error; the identity header kept out of every output; and a web app that
//! signs a user in at the Microsoft-shaped provider with the identity's token as its federated
//! credential's client assertion, checked there as Entra checks it.

use axum_identity_testkit as support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum_identity::{
    Auth, ConfigError, ManagedIdentity, ManagedIdentityId, ManagedIdentitySource, Setting,
};
use support::assert::assert_signed_in;
use support::credentials::jwt_claims;
use support::managed_identity::{
    Failure, IDENTITY_HEADER, MI_CLIENT_ID, MI_OBJECT_ID, ManagedIdentityEndpoint, Shape,
    TOKEN_EXCHANGE, federated_credential,
};
use support::microsoft::{
    self as ms, ALICE_SUB, FederatedCredential, Microsoft, TENANT_A, start_app_without_secret,
};

const VAULT: &str = "https://vault.azure.net/.default";

/// Short waits between retries, so the tests stay fast; the back-off's shape is the same.
fn fast(builder: axum_identity::ManagedIdentityBuilder) -> axum_identity::ManagedIdentityBuilder {
    builder.retries(3, Duration::from_millis(10))
}

fn app_service(endpoint: &ManagedIdentityEndpoint, id: ManagedIdentityId) -> ManagedIdentity {
    fast(ManagedIdentity::builder(id))
        .app_service_endpoint(endpoint.app_service_url(), IDENTITY_HEADER)
        .build()
        .expect("an App Service identity")
}

fn imds(endpoint: &ManagedIdentityEndpoint, id: ManagedIdentityId) -> ManagedIdentity {
    fast(ManagedIdentity::builder(id))
        .source(ManagedIdentitySource::Imds)
        .imds_endpoint(endpoint.imds_base())
        .build()
        .expect("an IMDS identity")
}

#[tokio::test]
async fn the_app_service_shape_gives_a_token() {
    let endpoint = ManagedIdentityEndpoint::start().await;
    let identity = app_service(&endpoint, ManagedIdentityId::SystemAssigned);
    assert_eq!(identity.source(), ManagedIdentitySource::AppService);
    let token = identity.token_for_client(&[VAULT]).await.expect("a token");

    assert_eq!(token.token_type, "Bearer");
    assert_eq!(token.scopes, [VAULT]);
    assert_eq!(endpoint.issued(), std::slice::from_ref(&token.access_token));
    let claims = jwt_claims(&token.access_token);
    assert_eq!(claims["aud"], "https://vault.azure.net");
    assert_eq!(claims["sub"], MI_OBJECT_ID);
    assert_eq!(claims["appid"], MI_CLIENT_ID);
    assert_eq!(token.expires_at, claims["exp"].as_i64().unwrap());

    let requests = endpoint.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.shape, Shape::AppService);
    assert_eq!(request.query["api-version"], "2019-08-01");
    assert_eq!(request.query["resource"], "https://vault.azure.net");
    assert_eq!(request.headers["x-identity-header"], IDENTITY_HEADER);
    assert_eq!(
        request.query.len(),
        2,
        "no identity named: {:?}",
        request.query
    );

    // A user-assigned identity, each way App Service names one.
    for (id, param, value) in [
        (ManagedIdentityId::ClientId("c1".into()), "client_id", "c1"),
        (
            ManagedIdentityId::ResourceId("/subscriptions/s/rg/ua".into()),
            "mi_res_id",
            "/subscriptions/s/rg/ua",
        ),
        (
            ManagedIdentityId::ObjectId("o1".into()),
            "principal_id",
            "o1",
        ),
    ] {
        app_service(&endpoint, id)
            .token_for_client(&[VAULT])
            .await
            .expect("a user-assigned token");
        let last = endpoint.requests().pop().unwrap();
        assert_eq!(last.query[param], value, "{:?}", last.query);
        assert_eq!(last.query.len(), 3, "{:?}", last.query);
    }

    // A wrong header is refused (401), which no retry fixes: one request, and an error.
    let wrong = fast(ManagedIdentity::builder(ManagedIdentityId::SystemAssigned))
        .app_service_endpoint(endpoint.app_service_url(), "not-the-header")
        .build()
        .unwrap();
    let before = endpoint.request_count();
    let error = wrong.token_for_client(&[VAULT]).await.unwrap_err();
    assert!(error.to_string().contains("401"), "{error}");
    assert_eq!(endpoint.request_count(), before + 1);
}

#[tokio::test]
async fn the_imds_shape_gives_a_token_system_and_user_assigned() {
    let endpoint = ManagedIdentityEndpoint::start().await;
    let identity = imds(&endpoint, ManagedIdentityId::SystemAssigned);
    assert_eq!(identity.source(), ManagedIdentitySource::Imds);
    let token = identity
        .token_for_client(&["https://management.azure.com/.default"])
        .await
        .expect("a token");
    assert_eq!(
        jwt_claims(&token.access_token)["aud"],
        "https://management.azure.com"
    );
    let request = &endpoint.requests()[0];
    assert_eq!(request.shape, Shape::Imds);
    assert_eq!(request.headers["metadata"], "true");
    assert!(!request.headers.contains_key("x-identity-header"));
    assert!(!request.headers.contains_key("x-forwarded-for"));
    assert_eq!(request.query["api-version"], "2018-02-01");
    assert_eq!(request.query["resource"], "https://management.azure.com");
    assert_eq!(request.query.len(), 2, "{:?}", request.query);

    for (id, param, value) in [
        (ManagedIdentityId::ClientId("c2".into()), "client_id", "c2"),
        (
            ManagedIdentityId::ResourceId("/subscriptions/s/rg/ua2".into()),
            "msi_res_id",
            "/subscriptions/s/rg/ua2",
        ),
        (ManagedIdentityId::ObjectId("o2".into()), "object_id", "o2"),
    ] {
        let token = imds(&endpoint, id)
            .token_for_client(&[VAULT])
            .await
            .expect("a user-assigned token");
        let last = endpoint.requests().pop().unwrap();
        assert_eq!(last.query[param], value, "{:?}", last.query);
        assert_eq!(last.query.len(), 3, "{:?}", last.query);
        assert_ne!(jwt_claims(&token.access_token)["sub"], MI_OBJECT_ID);
    }

    // The stand-in holds requests to IMDS's rules, so the ones above passed a strict check: no
    // `Metadata: true`, or a request that went through a proxy, is refused.
    let url = format!(
        "{}/metadata/identity/oauth2/token?api-version=2018-02-01&resource=r",
        endpoint.imds_base()
    );
    let http = reqwest::Client::new();
    let bare = http.get(&url).send().await.unwrap();
    assert_eq!(bare.status(), 400);
    let proxied = http
        .get(&url)
        .header("Metadata", "true")
        .header("X-Forwarded-For", "10.0.0.1")
        .send()
        .await
        .unwrap();
    assert_eq!(proxied.status(), 400);
}

#[tokio::test]
async fn fifty_concurrent_callers_make_one_request() {
    let endpoint = ManagedIdentityEndpoint::start().await;
    // The answer takes a while, so every caller arrives while the request is out.
    endpoint.set_delay(Duration::from_millis(300));
    let identity = imds(&endpoint, ManagedIdentityId::SystemAssigned);
    let callers: Vec<_> = (0..50)
        .map(|_| {
            let identity = identity.clone();
            tokio::spawn(async move { identity.token_for_client(&[VAULT]).await })
        })
        .collect();
    let mut tokens = Vec::new();
    for caller in callers {
        tokens.push(caller.await.unwrap().expect("a token").access_token);
    }
    assert_eq!(endpoint.request_count(), 1, "one request for 50 callers");
    assert!(tokens.iter().all(|t| t == &tokens[0]));
    // And it is cached for the next one.
    identity.token_for_client(&[VAULT]).await.unwrap();
    assert_eq!(endpoint.request_count(), 1);
}

#[tokio::test]
async fn a_429_is_retried_and_then_succeeds() {
    let endpoint = ManagedIdentityEndpoint::start().await;
    let identity = imds(&endpoint, ManagedIdentityId::SystemAssigned);
    // Retry-After asks for a second; the wait is bounded by the back-off's longest step.
    endpoint.fail_next([Failure::TooManyRequests(Some(1)), Failure::Status(503)]);
    let started = std::time::Instant::now();
    identity
        .token_for_client(&[VAULT])
        .await
        .expect("a token after two retries");
    assert_eq!(endpoint.request_count(), 3);
    assert!(
        started.elapsed() < Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );

    // IMDS's 404 and 410 while it starts or updates are retried too.
    let other = imds(&endpoint, ManagedIdentityId::ClientId("c3".into()));
    endpoint.fail_next([Failure::Status(404), Failure::Status(410)]);
    other.token_for_client(&[VAULT]).await.expect("a token");
    assert_eq!(endpoint.request_count(), 6);

    // Retries end: four refusals with three retries are an error, after four requests.
    let third = imds(&endpoint, ManagedIdentityId::ClientId("c4".into()));
    endpoint.fail_next(vec![Failure::Status(500); 4]);
    let error = third.token_for_client(&[VAULT]).await.unwrap_err();
    assert_eq!(endpoint.request_count(), 10);
    assert!(error.to_string().contains("500"), "{error}");
}

/// How a test makes an identity at the stand-in, in one shape or the other.
type MakeIdentity = fn(&ManagedIdentityEndpoint, ManagedIdentityId) -> ManagedIdentity;

#[tokio::test]
async fn html_empty_or_expired_answers_are_errors_and_not_cached() {
    let endpoint = ManagedIdentityEndpoint::start().await;
    let shapes: [(&str, MakeIdentity); 2] = [("App Service", app_service), ("IMDS", imds)];
    for (shape, make) in shapes {
        for (failure, reason) in [
            (Failure::Html, "not JSON"),
            (Failure::EmptyToken, "no access token"),
            (Failure::Expired, "expired"),
        ] {
            // A fresh identity, with nothing cached.
            let identity = make(&endpoint, ManagedIdentityId::SystemAssigned);
            let before = endpoint.request_count();
            endpoint.fail_next([failure.clone()]);
            let error = identity.token_for_client(&[VAULT]).await.unwrap_err();
            let text = format!("{error}: {:?}", std::error::Error::source(&error));
            assert!(text.contains(reason), "{shape} {failure:?}: {text}");
            assert_eq!(endpoint.request_count(), before + 1, "not retried");
            // The next call asks again, and gets a good token.
            let token = identity.token_for_client(&[VAULT]).await.expect("a token");
            assert!(!token.access_token.is_empty());
            assert_eq!(endpoint.request_count(), before + 2, "{shape} {failure:?}");
            // Which is cached.
            identity.token_for_client(&[VAULT]).await.unwrap();
            assert_eq!(endpoint.request_count(), before + 2);
        }
    }
}

#[tokio::test]
async fn app_service_asked_for_without_its_variables_is_a_startup_error() {
    // The test process runs outside App Service: neither variable is set.
    assert!(std::env::var("IDENTITY_ENDPOINT").is_err());
    let error = ManagedIdentity::builder(ManagedIdentityId::SystemAssigned)
        .source(ManagedIdentitySource::AppService)
        .build()
        .unwrap_err();
    assert!(
        matches!(
            error,
            ConfigError::Missing {
                setting: Setting::IdentityEndpoint,
                ..
            }
        ),
        "{error:?}"
    );
    let text = error.to_string();
    assert!(text.contains("IDENTITY_ENDPOINT"), "{text}");
    assert!(text.contains("IDENTITY_HEADER"), "{text}");

    // Another scope shape is a configuration error naming the scopes, before any request.
    let endpoint = ManagedIdentityEndpoint::start().await;
    let identity = imds(&endpoint, ManagedIdentityId::SystemAssigned);
    let error = identity
        .token_for_client(&["https://graph.microsoft.com/User.Read"])
        .await
        .unwrap_err();
    assert!(matches!(
        error,
        axum_identity::Error::Config(ConfigError::Invalid {
            setting: Setting::Scopes,
            ..
        })
    ));
    assert_eq!(endpoint.request_count(), 0);

    // One credential: a secret next to a managed identity names both settings.
    let error = Auth::builder()
        .authority(format!("https://login.microsoftonline.com/{TENANT_A}"))
        .client_id(ms::CLIENT_ID)
        .client_secret("s")
        .client_assertion_managed_identity(identity)
        .redirect_uri("http://127.0.0.1:1/redirect")
        .build()
        .unwrap_err();
    assert!(
        matches!(
            error,
            ConfigError::Conflict {
                first: Setting::ClientSecret,
                second: Setting::ClientAssertionManagedIdentity,
                ..
            }
        ),
        "{error}"
    );
    assert!(
        error
            .to_string()
            .contains("CLIENT_ASSERTION_MANAGED_IDENTITY"),
        "{error}"
    );
}

/// Every line the runtime logs, at every level, while `f` runs on this thread.
fn logged(f: impl FnOnce()) -> String {
    use tracing_subscriber::util::SubscriberInitExt as _;
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = lines.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("trace"))
        .with_ansi(false)
        .with_writer(move || Sink(sink.clone()))
        .finish();
    {
        let _guard = subscriber.set_default();
        f();
    }
    String::from_utf8_lossy(&lines.lock().unwrap()).into_owned()
}

struct Sink(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn the_identity_header_never_appears_in_debug_output_or_logs() {
    let mut outputs = Vec::new();
    let log = logged(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let endpoint = ManagedIdentityEndpoint::start().await;
            let builder = fast(ManagedIdentity::builder(ManagedIdentityId::SystemAssigned))
                .app_service_endpoint(endpoint.app_service_url(), IDENTITY_HEADER);
            outputs.push(format!("{builder:?}"));
            let identity = builder.build().unwrap();
            outputs.push(format!("{identity:?}"));
            // A retried refusal and a failure: the lines logged on the way.
            endpoint.fail_next([Failure::Status(500), Failure::Html]);
            let error = identity.token_for_client(&[VAULT]).await.unwrap_err();
            outputs.push(format!("{error} {error:?}"));
            identity.token_for_client(&[VAULT]).await.expect("a token");
            // As a web app's credential too.
            let auth = Auth::builder()
                .authority(format!("https://login.microsoftonline.com/{TENANT_A}"))
                .client_id(ms::CLIENT_ID)
                .client_assertion_managed_identity(identity)
                .redirect_uri("http://127.0.0.1:1/redirect")
                .build()
                .unwrap();
            outputs.push(format!("{auth:?}"));
            assert_eq!(endpoint.request_count(), 3);
            assert!(
                endpoint
                    .requests()
                    .iter()
                    .all(|r| r.headers["x-identity-header"] == IDENTITY_HEADER)
            );
        });
    });
    assert!(log.contains("trying again"), "the retry was logged: {log}");
    assert!(log.contains("/msi/token"), "{log}");
    for output in outputs.iter().chain([&log]) {
        assert!(
            !output.contains(IDENTITY_HEADER),
            "the header leaked: {output}"
        );
    }
}

/// The app registration trusts the stand-in's managed identity through a federated identity
/// credential; the web app has no secret and no certificate.
async fn federated_app(
    microsoft: &Microsoft,
    endpoint: &ManagedIdentityEndpoint,
    credential: FederatedCredential,
) -> support::app::TestApp {
    microsoft.add_federated_credential(credential);
    let identity = app_service(endpoint, ManagedIdentityId::SystemAssigned);
    start_app_without_secret(microsoft, move |b| {
        b.authority(format!("https://login.microsoftonline.com/{TENANT_A}"))
            .client_assertion_managed_identity(identity)
    })
    .await
}

fn registered() -> FederatedCredential {
    let (issuer, subject, key) = federated_credential();
    FederatedCredential {
        issuer,
        subject,
        key,
    }
}

#[tokio::test]
async fn a_web_app_signs_in_with_the_managed_identity_as_its_federated_credential() {
    let microsoft = Microsoft::start().await;
    let endpoint = ManagedIdentityEndpoint::start().await;
    let app = federated_app(&microsoft, &endpoint, registered()).await;
    let browser = microsoft.browser();
    let page = browser.get(&app.url("/login")).await;
    assert_signed_in(&app, &browser, &page, "/", ALICE_SUB).await;

    // The code was redeemed with exactly the managed identity's token as the assertion.
    let issued = endpoint.issued();
    assert_eq!(issued.len(), 1, "one token for the token exchange");
    let request = &endpoint.requests()[0];
    assert_eq!(request.query["resource"], TOKEN_EXCHANGE);
    let requests = microsoft.token_requests();
    assert_eq!(requests.len(), 1);
    let form = &requests[0].1.form;
    assert_eq!(form["grant_type"], "authorization_code");
    assert_eq!(form["client_id"], ms::CLIENT_ID);
    assert_eq!(
        form["client_assertion_type"],
        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    );
    assert_eq!(form["client_assertion"], issued[0]);
    assert!(form.get("client_secret").is_none());
    assert!(requests[0].1.authorization.is_none(), "no Basic header");
    let claims = jwt_claims(&issued[0]);
    assert_eq!(claims["aud"], TOKEN_EXCHANGE);
    assert_eq!(claims["sub"], MI_OBJECT_ID);

    // The same assertion, cached by the identity, serves the next token request.
    app.auth
        .token_on_behalf_of("incoming-token-of-alice", &["api://downstream/.default"])
        .await
        .expect("an on-behalf-of token");
    let requests = microsoft.token_requests();
    assert_eq!(requests[1].1.form["client_assertion"], issued[0]);
    assert_eq!(endpoint.request_count(), 1);
}

#[tokio::test]
async fn a_federated_assertion_that_matches_no_credential_is_refused() {
    let endpoint = ManagedIdentityEndpoint::start().await;
    // Registered for another identity (subject), then for the right one signed by another key.
    for (credential, code) in [
        (
            FederatedCredential {
                subject: "another-identity".into(),
                ..registered()
            },
            "AADSTS700213",
        ),
        (
            FederatedCredential {
                key: 0,
                ..registered()
            },
            "AADSTS50013",
        ),
    ] {
        let microsoft = Microsoft::start().await;
        let app = federated_app(&microsoft, &endpoint, credential).await;
        let error = app
            .auth
            .token_on_behalf_of("incoming-token-of-alice", &["api://downstream/.default"])
            .await
            .unwrap_err();
        let text = format!("{error}");
        assert!(text.contains("invalid_client"), "{text}");
        assert!(text.contains(code), "{text}");
    }
}

/// Runs `examples/daemon.rs` to its end as a user does, from the repository root, with none of
/// the provider or managed-identity settings but `env`; its exit status, stdout and stderr.
async fn run_daemon(env: &[(&str, String)]) -> (bool, String, String) {
    let mut command = tokio::process::Command::new(support::example::binary("daemon"));
    command
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("RUST_LOG", "warn")
        .env("NO_COLOR", "1")
        .kill_on_drop(true);
    let platform = [
        "IDENTITY_ENDPOINT",
        "IDENTITY_HEADER",
        "MANAGED_IDENTITY_CLIENT_ID",
        "AZURE_POD_IDENTITY_AUTHORITY_HOST",
    ];
    for variable in support::example::PROVIDER_SETTINGS.iter().chain(&platform) {
        command.env_remove(variable);
    }
    for (variable, value) in env {
        command.env(variable, value);
    }
    let output = tokio::time::timeout(Duration::from_secs(60), command.output())
        .await
        .expect("the daemon finishes")
        .expect("the daemon runs");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// `examples/daemon.rs` on a managed identity: App Service's variables point it at the
/// stand-in, and it calls a loopback API twice with the identity's token (once asked for, then
/// cached).
#[tokio::test]
async fn the_daemon_example_runs_on_a_managed_identity() {
    let endpoint = ManagedIdentityEndpoint::start().await;
    let api = axum::Router::new().route(
        "/api",
        axum::routing::get(|headers: axum::http::HeaderMap| async move {
            let token = headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .unwrap_or_default();
            let claims = jwt_claims(token);
            axum::Json(serde_json::json!({ "aud": claims["aud"], "sub": claims["sub"] }))
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let api_url = format!("http://{}/api", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, api).await.unwrap() });

    let (success, said, complained) = run_daemon(&[
        ("IDENTITY_ENDPOINT", endpoint.app_service_url()),
        ("IDENTITY_HEADER", IDENTITY_HEADER.to_owned()),
        ("SCOPE", VAULT.to_owned()),
        ("ENDPOINT", api_url),
    ])
    .await;
    assert!(success, "{said}\n{complained}");
    assert!(said.contains("call 1: 200 OK"), "{said}");
    assert!(
        said.contains(MI_OBJECT_ID),
        "the API got the identity's token: {said}"
    );
    assert!(
        said.contains("\"aud\":\"https://vault.azure.net\""),
        "{said}"
    );
    assert!(
        said.contains("call 2: the token comes from the cache"),
        "{said}"
    );
    assert!(!said.contains(IDENTITY_HEADER) && !complained.contains(IDENTITY_HEADER));
    assert_eq!(endpoint.request_count(), 1);
    assert_eq!(
        endpoint.requests()[0].query["resource"],
        "https://vault.azure.net"
    );
}

/// With nothing configured, the daemon still starts the local provider and authenticates with
/// a test certificate, as before.
#[tokio::test]
async fn the_daemon_example_without_configuration_uses_the_local_provider() {
    let (success, said, complained) = run_daemon(&[]).await;
    assert!(success, "{said}\n{complained}");
    assert!(said.contains("using the local OpenID provider"), "{said}");
    assert!(said.contains("call 1: 200 OK"), "{said}");
    assert!(
        said.contains("call 2: the token comes from the cache"),
        "{said}"
    );
}
