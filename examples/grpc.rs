//! A gRPC service protected by `ApiAuth`'s tower layer: `tonic` serves `identity.example.Notes`
//! (its `Whoami` answers with the caller's subject and scopes), and every call needs an
//! `authorization: Bearer <token>` metadata entry with a valid access token carrying SCOPE.
//! Without one the layer answers `UNAUTHENTICATED`; without the scope, `PERMISSION_DENIED`.
//!
//! ```bash
//! CLIENT_ID=<the API's application id> AUTHORITY=https://login.microsoftonline.com/<tenant> \
//! SCOPE=Notes.Read cargo run --example grpc
//! ```
//!
//! PORT (default 5000), CLIENT_ID, AUTHORITY or OIDC_AUTHORITY, AUDIENCE, RESOURCE and SCOPE
//! (required delegated scopes, space separated, default `notes.read`) come from the environment
//! or a `.env` file, as in `examples/web_api.rs`. With no provider configured, it starts the
//! local OpenID provider the tests use (on PROVIDER_PORT, default 5100) with this service as a
//! resource server (`api://notes-grpc`) and prints how to call it with a token.

#[path = "support/local.rs"]
#[allow(dead_code)]
mod local;
#[path = "support/notes_grpc.rs"]
mod notes_grpc;

use std::error::Error;

use axum_identity::ApiAuth;
use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    local::exit_code(run().await)
}

async fn run() -> Result<(), Box<dyn Error>> {
    tracing_subscriber::fmt().with_env_filter("info").init();
    dotenvy::dotenv().ok();
    let port = local::port();
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let scopes: Vec<String> = var("SCOPE")
        .unwrap_or_else(|| "notes.read".to_owned())
        .split_whitespace()
        .map(str::to_owned)
        .collect();

    let api = if local::configured() {
        ApiAuth::from_env()?
    } else {
        // With no provider configured: the local test provider. Not in a real service.
        local_api(port, &scopes).await?
    };
    match api.warm_up().await {
        Ok(()) => {}
        // A wrong authority stops the service now rather than at the first call.
        Err(error @ axum_identity::Error::Config(_)) => return Err(error.into()),
        Err(error) => eprintln!("warning: the provider's keys could not be fetched yet: {error}"),
    }
    println!(
        "Protecting {} for {} with the scopes {scopes:?}",
        notes_grpc::SERVICE,
        api.audiences().join(", ")
    );

    // Bound before "Listening on" is printed, so a client that reads it can connect at once.
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!("Listening on http://127.0.0.1:{port}");
    Server::builder()
        .layer(api.bearer_layer().scopes(scopes))
        .add_service(notes_grpc::NotesServer)
        .serve_with_incoming_shutdown(TcpIncoming::from(listener), async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}

/// The `ApiAuth` of this service at the local test provider (started with this service as a
/// resource server and a daemon client for app-only tokens), with how to call it.
async fn local_api(port: u16, scopes: &[String]) -> Result<ApiAuth, Box<dyn Error>> {
    let mut known = scopes.to_vec();
    // A scope the service does not require, so that a token without the required one can be
    // asked for and seen refused.
    known.push("notes.write".to_owned());
    let issuer = &local::resource_provider("api://notes-grpc", &known).await?;
    let scope = scopes.join(" ");
    println!(
        "No CLIENT_ID/AUTHORITY configured: using the local OpenID provider at {issuer}.\n\n\
         An app-only token, and a call with grpcurl (describe the service with the .proto in \
         examples/support/notes_grpc.rs):\n  \
         TOKEN=$(curl -s -u daemon:daemon-secret -d grant_type=client_credentials \
         -d 'scope={scope}' -d resource=api://notes-grpc {issuer}/token | sed 's/.*\"access_token\":\"\\([^\"]*\\)\".*/\\1/')\n  \
         grpcurl -plaintext -proto notes.proto -H \"authorization: Bearer $TOKEN\" \
         127.0.0.1:{port} identity.example.Notes/Whoami\n"
    );
    let api = ApiAuth::builder()
        .client_id("notes-grpc")
        .oidc_authority(issuer)
        .build()?;
    Ok(api)
}
