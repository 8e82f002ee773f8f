//! What the examples share: reading the port, falling back to the local test provider when no
//! provider is configured, and serving until Ctrl-C.

use std::error::Error;

use axum::Router;
use axum_identity::{Auth, AuthBuilder};

use axum_identity_testkit::credentials;
use axum_identity_testkit::provider::TestProvider;

/// The exit code of an example, with its error printed in its `Display` form: `?` out of
/// `main` would print the `Debug` form, and the message that names the setting to fix would
/// never reach the user.
#[allow(dead_code)] // Each example compiles this module; the daemon reports errors its own way.
pub fn exit_code(result: Result<(), Box<dyn Error>>) -> std::process::ExitCode {
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Fetches the provider's discovery document and keys now, so that a wrong authority or a
/// provider that refuses the configuration stops the example at startup, before the first user
/// arrives. A provider that cannot be reached right now is only a warning: it may come back.
#[allow(dead_code)]
pub async fn warm_up(auth: &Auth) -> Result<(), Box<dyn Error>> {
    match auth.warm_up().await {
        Ok(()) => Ok(()),
        Err(error @ axum_identity::Error::Config(_)) => Err(error.into()),
        Err(error) => {
            tracing::warn!(%error, "the identity provider cannot be reached yet");
            Ok(())
        }
    }
}

/// The port from `PORT`, default 5000.
pub fn port() -> u16 {
    std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(5000)
}

/// Whether the environment (or `.env`) names a provider.
pub fn configured() -> bool {
    [
        "CLIENT_ID",
        "AUTHORITY",
        "OIDC_AUTHORITY",
        "B2C_TENANT_NAME",
        "IDENTITY_PROVIDERS",
    ]
    .iter()
    .any(|name| std::env::var(name).is_ok_and(|v| !v.trim().is_empty()))
}

/// Starts the local OpenID provider the tests use, with a client for this example, and returns
/// it (keep it alive while the app runs) with an `Auth` builder pointed at it. `web`: a
/// confidential client with the redirect URI of `port` (authenticating with the certificate in
/// the file `CLIENT_CERTIFICATE` names, when set, instead of a secret); otherwise a public
/// Device Code client. `root`: the application root (`APPLICATION_ROOT`, such as `/app`; `""`
/// for none), which the URIs registered at the provider, and the builder, have.
pub async fn provider(
    port: u16,
    client_id: &str,
    web: bool,
    root: &str,
) -> Result<(TestProvider, AuthBuilder), Box<dyn Error>> {
    let root = root.trim().trim_end_matches('/');
    let redirect_uri = format!("http://127.0.0.1:{port}{root}/redirect");
    let signed_out = format!("http://127.0.0.1:{port}{root}/logout/done");
    let secret = format!("{client_id}-secret");
    let certificate = std::env::var("CLIENT_CERTIFICATE")
        .ok()
        .filter(|path| web && !path.trim().is_empty());
    let mut client = if web {
        TestProvider::web_client(client_id, &secret, &[&redirect_uri], &[&signed_out])
    } else {
        TestProvider::device_client(client_id)
    };
    if let Some(path) = &certificate {
        let pem = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
        let jwks = credentials::jwks_of_pem(&pem).map_err(|e| format!("{path}: {e}"))?;
        let client = client.as_object_mut().expect("client metadata");
        client.remove("client_secret");
        client.extend(
            credentials::private_key_jwt_client(jwks)
                .as_object()
                .expect("client metadata")
                .clone(),
        );
    }
    let local = TestProvider::start(serde_json::json!({ "clients": [client] })).await?;
    println!(
        "No CLIENT_ID/AUTHORITY configured: using the local OpenID provider at {} \
         (any user name and password signs in).",
        local.issuer
    );
    let mut builder = Auth::builder()
        .client_id(client_id)
        .oidc_authority(&local.issuer)
        .application_root(root);
    if web {
        builder = builder.redirect_uri(redirect_uri);
        builder = match certificate {
            Some(path) => {
                println!("Authenticating with the certificate in {path}.");
                builder.client_certificate_file(path)
            }
            None => builder.client_secret(secret),
        };
    }
    Ok((local, builder))
}

/// Logs what to register at the provider for this app: the redirect URI and the post-logout
/// redirect URI (without the latter, a provider that checks it ends logout on its own error
/// page). The Device Code flow registers neither.
pub fn log_registration(auth: &Auth) {
    match (auth.redirect_uri(), auth.post_logout_redirect_uri()) {
        (Some(redirect_uri), Some(post_logout)) => {
            tracing::info!("Redirect URI to register at the provider: {redirect_uri}");
            tracing::info!("Post-logout redirect URI to register at the provider: {post_logout}");
        }
        _ => tracing::info!(
            "Device Code flow: no redirect URI to register; allow public client flows at the provider"
        ),
    }
}

/// Serves `app` on 127.0.0.1:`port` until Ctrl-C.
pub async fn serve(app: Router, port: u16) -> Result<(), Box<dyn Error>> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!("Listening on http://127.0.0.1:{port}");
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}

/// The local providers started by the helpers below, kept for as long as the example runs. A
/// provider exits by itself when the example does (its stdin closes).
static KEPT: std::sync::Mutex<Vec<TestProvider>> = std::sync::Mutex::new(Vec::new());

/// Keeps `provider` running until the example exits.
fn keep(provider: TestProvider) {
    KEPT.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .push(provider);
}

/// `Auth::from_env()` (after reading `.env`) when the environment names a provider; otherwise
/// the local OpenID provider the tests use, started now with a confidential client
/// `client_id` whose redirect URI is `http://127.0.0.1:<port>/redirect` (under
/// `APPLICATION_ROOT`, when set), and an `Auth` for it. The one line an example calls to run
/// with no configuration; in a real app, that line is `let auth = Auth::from_env()?;`.
#[allow(dead_code)]
pub async fn auth_or_local(client_id: &str, port: u16) -> Result<Auth, Box<dyn Error>> {
    Ok(builder_or_local(client_id, port).await?.build()?)
}

/// Like [`auth_or_local`], but the builder, for an example that adds settings of its own: in a
/// real app, that line is `Auth::builder_from_env()`.
#[allow(dead_code)]
pub async fn builder_or_local(client_id: &str, port: u16) -> Result<AuthBuilder, Box<dyn Error>> {
    dotenvy::dotenv().ok();
    if configured() {
        return Ok(Auth::builder_from_env());
    }
    let root = std::env::var("APPLICATION_ROOT").unwrap_or_default();
    let (provider, builder) = self::provider(port, client_id, true, &root).await?;
    keep(provider);
    Ok(builder)
}

/// A local OpenID provider for a resource server (a web API, a gRPC or MCP server) started when
/// the environment names no provider: a resource `resource` with `scopes`, and a daemon client
/// (`daemon`/`daemon-secret`, client credentials) to get tokens for it. On `PROVIDER_PORT`
/// (default 5100), so that the commands it prints stay the same from run to run. Returns its
/// issuer; the provider runs until the example exits.
#[allow(dead_code)]
pub async fn resource_provider(
    resource: &str,
    scopes: &[String],
) -> Result<String, Box<dyn Error>> {
    let provider_port = std::env::var("PROVIDER_PORT")
        .ok()
        .and_then(|p| p.parse::<u16>().ok())
        .unwrap_or(5100);
    let provider = TestProvider::start(serde_json::json!({
        "port": provider_port,
        "clients": [{
            "client_id": "daemon",
            "client_secret": "daemon-secret",
            "grant_types": ["client_credentials"],
            "response_types": [],
            "redirect_uris": [],
        }],
        "apiResource": {"indicator": resource, "scopes": scopes},
    }))
    .await?;
    let issuer = provider.issuer.clone();
    keep(provider);
    Ok(issuer)
}

/// The local provider with the daemon example registered by certificate (`daemon`), and an API
/// on loopback that answers with what it received: an `Auth` for the daemon and the API's URL.
/// The provider runs until the example exits.
#[allow(dead_code)]
pub async fn daemon() -> Result<(Auth, String), Box<dyn Error>> {
    use axum::Json;
    use axum::http::HeaderMap;
    use axum::routing::get;
    use credentials::{certificate, certificate_pem, jwks, private_key_jwt_client, thumbprint};
    use serde_json::{Value, json};

    let kid = thumbprint(&certificate(0).1);
    let mut client = json!({ "client_id": "daemon", "redirect_uris": [], "response_types": [] });
    client.as_object_mut().unwrap().extend(
        private_key_jwt_client(jwks(0, &kid))
            .as_object()
            .unwrap()
            .clone(),
    );
    client["grant_types"] = json!(["client_credentials"]);
    let provider = TestProvider::start(json!({ "clients": [client] })).await?;
    println!(
        "No CLIENT_ID/AUTHORITY configured: using the local OpenID provider at {}, \
         authenticating with a test certificate.",
        provider.issuer
    );
    let auth = Auth::builder()
        .client_id("daemon")
        .oidc_authority(&provider.issuer)
        .client_certificate_pem(certificate_pem(0, 0))
        .build()?;

    let api = axum::Router::new().route(
        "/api",
        get(|headers: HeaderMap| async move {
            let token = headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .unwrap_or_default()
                .to_owned();
            let tail: String = token
                .chars()
                .rev()
                .take(6)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            Json::<Value>(json!({ "hello": "daemon", "token_ends_with": tail }))
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let endpoint = format!("http://{}/api", listener.local_addr()?);
    tokio::spawn(async move {
        let _ = axum::serve(listener, api).await;
    });
    keep(provider);
    Ok((auth, endpoint))
}

/// The local test provider with the web API example as a resource server, a daemon client for app-only
/// tokens, and a web client for `examples/call_api.rs` on the next port.
/// The provider runs until the example exits.
#[allow(dead_code)]
pub async fn web_api(
    port: u16,
    scopes: &[String],
) -> Result<axum_identity::ApiAuth, Box<dyn Error>> {
    use serde_json::json;
    let web_port = port + 1;
    let redirect_uri = format!("http://127.0.0.1:{web_port}/redirect");
    let local = TestProvider::start(json!({
        "port": local_provider_port(),
        "clients": [
            TestProvider::web_client("call-api", "call-api-secret", &[&redirect_uri], &[]),
            {
                "client_id": "daemon",
                "client_secret": "daemon-secret",
                "grant_types": ["client_credentials"],
                "response_types": [],
                "redirect_uris": [],
            },
        ],
        "apiResource": {"indicator": "api://web-api", "scopes": scopes},
        "autoConsent": true,
    }))
    .await?;
    let issuer = &local.issuer;
    let scope = scopes.join(" ");
    println!(
        "No CLIENT_ID/AUTHORITY configured: using the local OpenID provider at {issuer}.\n\n\
         An app-only token:\n  \
         TOKEN=$(curl -s -u daemon:daemon-secret -d grant_type=client_credentials \
         -d 'scope={scope}' -d resource=api://web-api {issuer}/token | sed 's/.*\"access_token\":\"\\([^\"]*\\)\".*/\\1/')\n  \
         curl -H \"Authorization: Bearer $TOKEN\" http://127.0.0.1:{port}/resource\n\n\
         A signed-in user's token, through the web app example (then open http://127.0.0.1:{web_port}/call_api):\n  \
         PORT={web_port} CLIENT_ID=call-api CLIENT_SECRET=call-api-secret OIDC_AUTHORITY={issuer} \
         REDIRECT_URI={redirect_uri} SCOPE='{scope}' ENDPOINT=http://127.0.0.1:{port}/resource \
         cargo run --example call_api\n"
    );
    let api = axum_identity::ApiAuth::builder()
        .client_id("web-api")
        .oidc_authority(issuer)
        .build()?;
    keep(local);
    Ok(api)
}

/// The port of the local provider when nothing is configured (`PROVIDER_PORT` to change), fixed
/// so that call_api can be pointed at it.
fn local_provider_port() -> u16 {
    std::env::var("PROVIDER_PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(5100)
}
