//! What the examples share: reading the port, falling back to the local test provider when no
//! provider is configured, and serving until Ctrl-C.

use std::error::Error;

use axum::Router;
use axum_identity::{Auth, AuthBuilder};

use axum_identity_testkit::credentials;
use axum_identity_testkit::provider::TestProvider;

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
    ]
    .iter()
    .any(|name| std::env::var(name).is_ok_and(|v| !v.trim().is_empty()))
}

/// Starts the local OpenID provider the tests use, with a client for this example, and returns
/// it (keep it alive while the app runs) with an `Auth` builder pointed at it. `web`: a
/// confidential client with the redirect URI of `port` (authenticating with the certificate in
/// the file `CLIENT_CERTIFICATE` names, when set, instead of a secret); otherwise a public
/// Device Code client.
pub async fn provider(
    port: u16,
    client_id: &str,
    web: bool,
) -> Result<(TestProvider, AuthBuilder), Box<dyn Error>> {
    let redirect_uri = format!("http://127.0.0.1:{port}/redirect");
    let signed_out = format!("http://127.0.0.1:{port}/logout/done");
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
        .oidc_authority(&local.issuer);
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
