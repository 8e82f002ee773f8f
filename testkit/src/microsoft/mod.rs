//! A provider shaped like Microsoft's, inside the test suite: Entra ID (`login.microsoftonline.com`,
//! single tenant, `common`, `organizations`, `consumers`), Entra External ID
//! (`<name>.ciamlogin.com`, and a custom URL domain `login.contoso.com`) and Azure AD B2C
//! (`<t>.b2clogin.com` with one authority per user flow). It serves the documents those services
//! publish — the same paths, issuers (`{tenantid}` templates, External ID's issuer on the tenant-id
//! host, B2C's issuer on the tenant GUID), keys with Microsoft-style key ids, ID tokens with `tid`,
//! `oid`, `ver`, and B2C's `tfp` naming the user flow, B2C's token responses (no `access_token`
//! unless an API scope was asked for) and B2C's `AADB2C90118` / `AADB2C90091` error redirects.
//!
//! It listens on one ephemeral port of 127.0.0.1 over HTTPS, with a certificate for
//! `login.microsoftonline.com`, `*.ciamlogin.com`, `*.b2clogin.com` and `login.contoso.com` issued
//! by a CA made for the test run with rcgen. Nothing resolves those names through DNS: the clients
//! made here ([`Microsoft::http_client`] for the app, [`Microsoft::browser`] for the user) carry a resolver
//! that maps exactly those names to the provider's loopback address and refuses every other name,
//! so a test can never reach Microsoft (or anyone else) by mistake.
//!
//! The authorization endpoint answers at once with a `302` back to the `redirect_uri` (code and
//! state, or the error a test queued with [`Microsoft::fail_next_authorization`]), remembering the
//! nonce and the PKCE challenge; the token endpoint checks the client's credentials, the code (single
//! use, redeemed at the authority that issued it), PKCE and the redirect URI, then signs an RS256 ID
//! token with a fixture key of the [`kernel`](crate::kernel) it is a configuration of. Tests
//! change the claims of the next tokens with [`Microsoft::set_claims`] and the discovery documents
//! with [`Microsoft::set_discovery`].
//!
//! The modules: `tenants` (who is who), `site` (the authorities and their documents),
//! `server` (the provider's state and router), `authorize` and `token` (the endpoints),
//! `on_behalf_of` (Entra's grant for web APIs), `federated` (federated credentials' client
//! assertions, checked as Entra checks them), `tls` (certificates and the loopback-only
//! resolver), `app` (the app under test) and [`entra`] (a plain-HTTP Entra key server for
//! bearer tokens signed by the test).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use serde_json::{Value, json};

use crate::browser::Browser;
use crate::kernel::{Codes, TokenRequest};

mod app;
mod authorize;
pub mod entra;
mod federated;
mod on_behalf_of;
mod server;
mod site;
mod tenants;
mod tls;
mod token;

pub use app::{start_app, start_app_without_secret};
pub use federated::{FederatedCredential, TOKEN_EXCHANGE_AUDIENCE};
pub use on_behalf_of::{MFA_CLAIMS, NEEDS_MFA};
pub use server::Authorization;
pub use site::Site;
pub use tenants::*;
pub use tls::ms_kid;

use server::{QueuedError, Shared, handle};
use tls::{LoopbackResolver, TlsListener, tls};

/// A running Microsoft-shaped provider. Dropping it stops the server.
pub struct Microsoft {
    /// Where every Microsoft host name resolves to in the test clients.
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for Microsoft {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl Microsoft {
    pub async fn start() -> Microsoft {
        let tcp = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the Microsoft-shaped provider");
        let addr = tcp.local_addr().unwrap();
        let shared = Arc::new(Shared {
            claims: Mutex::new(json!({})),
            discovery: Mutex::new(json!({})),
            published: Mutex::new(vec![0, 1]),
            signing_key: Mutex::new(0),
            errors: Mutex::new(Vec::new()),
            codes: Codes::default(),
            authorizations: Mutex::new(Vec::new()),
            token_requests: Mutex::new(Vec::new()),
            requests: Mutex::new(Vec::new()),
            sequence: std::sync::atomic::AtomicUsize::new(0),
            federated: Mutex::new(Vec::new()),
        });
        let (listener, accepting) = TlsListener::new(tcp);
        let router = Router::new().fallback(handle).with_state(shared.clone());
        let server = tokio::spawn(async move {
            axum::serve(listener, router)
                .await
                .expect("the Microsoft-shaped provider runs");
        });
        Microsoft {
            addr,
            shared,
            tasks: vec![accepting, server],
        }
    }

    /// The HTTP client the app must use to reach this provider: Microsoft's host names resolve
    /// to it (and nothing else resolves), the test CA is trusted, no redirects are followed.
    pub fn http_client(&self) -> reqwest::Client {
        client_builder(self.addr)
            .timeout(Duration::from_secs(10))
            .build()
            .expect("the app's HTTP client")
    }

    /// A web API of tenant A's registration, with the registration's secret as its downstream
    /// client: it accepts this provider's tokens and exchanges them on behalf of their users.
    pub fn on_behalf_of_api(&self) -> axum_identity::ApiAuth {
        let authority = format!("https://login.microsoftonline.com/{TENANT_A}");
        let client = axum_identity::Auth::builder()
            .client_id(CLIENT_ID)
            .client_secret(CLIENT_SECRET)
            .authority(&authority)
            .http_client(self.http_client())
            .build()
            .expect("the downstream client");
        axum_identity::ApiAuth::builder()
            .client_id(CLIENT_ID)
            .authority(&authority)
            .http_client(self.http_client())
            .downstream_client(client)
            .build()
            .expect("the web API")
    }

    /// A browser that reaches the app on loopback and this provider under Microsoft's names.
    pub fn browser(&self) -> Browser {
        Browser::with_client(
            client_builder(self.addr)
                .user_agent("axum-identity-tests (microsoft)")
                .timeout(Duration::from_secs(20)),
        )
    }

    /// Merges `claims` into every ID token issued from now on (top-level; `null` removes a
    /// claim), replacing what an earlier call set.
    pub fn set_claims(&self, claims: Value) {
        *self.shared.claims.lock().unwrap() = claims;
    }

    /// Merges `patch` into every discovery document served from now on (top-level; `null`
    /// removes a field).
    pub fn set_discovery(&self, patch: Value) {
        *self.shared.discovery.lock().unwrap() = patch;
    }

    /// Publishes these fixture keys from now on, and signs with `signing`.
    pub fn set_keys(&self, published: Vec<usize>, signing: usize) {
        *self.shared.published.lock().unwrap() = published;
        *self.shared.signing_key.lock().unwrap() = signing;
    }

    /// The next authorization request (of the B2C user flow `policy`, or any) is answered with
    /// this error instead of a code, as B2C does when the user picks "Forgot your password?"
    /// (`AADB2C90118`) or cancels (`AADB2C90091`).
    pub fn fail_next_authorization(&self, policy: Option<&str>, error: &str, description: &str) {
        self.shared.errors.lock().unwrap().push(QueuedError {
            policy: policy.map(str::to_owned),
            error: error.to_owned(),
            description: description.to_owned(),
        });
    }

    /// Every authorization request so far, in order.
    pub fn authorizations(&self) -> Vec<Authorization> {
        self.shared.authorizations.lock().unwrap().clone()
    }

    /// Every token request so far, in order, with the authority it was sent to.
    pub fn token_requests(&self) -> Vec<(Site, TokenRequest)> {
        self.shared.token_requests.lock().unwrap().clone()
    }

    /// Registers a federated identity credential on the application ([`CLIENT_ID`]): from now
    /// on a client assertion for `api://AzureADTokenExchange` is accepted when its issuer,
    /// subject, signature (by `credential.key`) and lifetime match one, as Entra ID checks them.
    pub fn add_federated_credential(&self, credential: FederatedCredential) {
        self.shared.federated.lock().unwrap().push(credential);
    }

    /// Every request so far, as `METHOD https://host/path`.
    pub fn requests(&self) -> Vec<String> {
        self.shared.requests.lock().unwrap().clone()
    }
}

fn client_builder(addr: SocketAddr) -> reqwest::ClientBuilder {
    let ca = reqwest::Certificate::from_pem(tls().ca_pem.as_bytes()).expect("the test CA");
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .dns_resolver(Arc::new(LoopbackResolver { addr }))
        // Only the test CA: nothing else could be trusted (or loaded) by mistake.
        .tls_built_in_root_certs(false)
        .add_root_certificate(ca)
        .no_proxy()
}
