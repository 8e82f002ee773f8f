//! A daemon with no user: it gets an app-only token (the client credentials grant, Python's
//! `get_token_for_client`) and calls an API with it twice — the second time from the cache.
//! Run it with `cargo run --example daemon`.
//!
//! Configured by CLIENT_ID, CLIENT_SECRET or CLIENT_CERTIFICATE (a PEM file with the private key
//! and the certificate), AUTHORITY or OIDC_AUTHORITY, SCOPE (for Entra ID
//! `api://<api id>/.default`) and ENDPOINT (the API's URL), from the environment or a `.env`
//! file. With none of them set, it starts the local OpenID provider the tests use, registers
//! itself there with a certificate made on the spot, and calls a small local API.
//!
//! On Azure it needs no secret at all: where the platform gives it a managed identity
//! (`IDENTITY_ENDPOINT` and `IDENTITY_HEADER` on App Service, Functions and Container Apps; or
//! `MANAGED_IDENTITY_CLIENT_ID` set to `system` or a user-assigned identity's client id, which
//! also reaches IMDS on a VM or AKS node), it asks that identity for its token, with SCOPE
//! `<resource>/.default` (such as `https://vault.azure.net/.default`) and ENDPOINT.
//!
//! Prints the API's answers and exits 0, or exits 1 with the provider's error.

#[path = "support/local.rs"]
#[allow(dead_code)]
mod local;

use std::process::ExitCode;

use axum_identity::{Auth, ClientToken, ManagedIdentity, ManagedIdentityId};

#[tokio::main]
async fn main() -> ExitCode {
    dotenvy::dotenv().ok();
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("daemon: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Where the daemon's tokens come from.
enum Credential {
    /// An app registration: the client credentials grant.
    App(Auth),
    /// The platform's managed identity: no app registration, no secret.
    Managed(ManagedIdentity),
}

impl Credential {
    async fn token(&self, scopes: &[&str]) -> Result<ClientToken, axum_identity::Error> {
        match self {
            Credential::App(auth) => auth.token_for_client(scopes).await,
            Credential::Managed(identity) => identity.token_for_client(scopes).await,
        }
    }
}

/// Whether the platform offers a managed identity (or the environment names one).
fn managed_identity_configured() -> bool {
    let set = |name: &str| std::env::var(name).is_ok_and(|v| !v.trim().is_empty());
    (set("IDENTITY_ENDPOINT") && set("IDENTITY_HEADER")) || set("MANAGED_IDENTITY_CLIENT_ID")
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let (credential, scope, endpoint) = if managed_identity_configured() {
        let scope = std::env::var("SCOPE").map_err(|_| "SCOPE is not set")?;
        let endpoint = std::env::var("ENDPOINT").map_err(|_| "ENDPOINT is not set")?;
        // MANAGED_IDENTITY_CLIENT_ID names a user-assigned identity; without it, the
        // system-assigned one.
        let identity = match std::env::var("MANAGED_IDENTITY_CLIENT_ID") {
            Ok(_) => ManagedIdentity::from_env()?,
            Err(_) => ManagedIdentity::builder(ManagedIdentityId::SystemAssigned).build()?,
        };
        println!("Using the managed identity {identity:?}.");
        (Credential::Managed(identity), scope, endpoint)
    } else if local::configured() {
        let scope = std::env::var("SCOPE").map_err(|_| "SCOPE is not set")?;
        let endpoint = std::env::var("ENDPOINT").map_err(|_| "ENDPOINT is not set")?;
        (Credential::App(Auth::from_env()?), scope, endpoint)
    } else {
        // Nothing configured: the local provider and a small API to call (drop this branch in
        // a real daemon).
        let (auth, endpoint) = local::daemon().await?;
        (Credential::App(auth), "api.read".to_owned(), endpoint)
    };
    let scopes: Vec<&str> = scope.split_whitespace().collect();
    let http = reqwest::Client::new();
    let mut previous = None;
    for call in 1..=2 {
        let token = credential.token(&scopes).await?;
        if previous.as_ref() == Some(&token.access_token) {
            println!("call {call}: the token comes from the cache");
        }
        previous = Some(token.access_token.clone());
        let response = http
            .get(&endpoint)
            .bearer_auth(&token.access_token)
            .send()
            .await?;
        let status = response.status();
        let body = response.text().await?;
        println!("call {call}: {status} {body}");
        if !status.is_success() {
            return Err(format!("{endpoint} answered {status}").into());
        }
    }
    Ok(())
}
