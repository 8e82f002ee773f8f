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

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Extension, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum_identity::{Auth, AuthBuilder, Context, escape_html, login_required};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;
use url::Url;

use crate::app::{TestApp, launch};
use crate::browser::Browser;
use crate::kernel::{
    Codes, Grant, Refusal, TokenRequest, b64, json_response, merge, now, oauth_error,
};

// ---------------------------------------------------------------------------------------------
// Who is who

/// The application registration.
pub const CLIENT_ID: &str = "5c2f1f3e-8d0a-4b61-9f5e-2a7d3c4b1e90";
/// Shaped like an Entra client secret (they carry `~`, `.`, `_` and `-`).
pub const CLIENT_SECRET: &str = "Qx8Q~test.secret_for-loopback~only";

/// The Entra ID workforce tenant `contoso.onmicrosoft.com`.
pub const TENANT_A: &str = "9f6b1c2e-3a4d-4e5f-8a7b-1c2d3e4f5a6b";
/// Another Entra ID tenant (`fabrikam.onmicrosoft.com`).
pub const TENANT_B: &str = "2b7e3c1d-5f6a-4b8c-9d0e-1f2a3b4c5d6e";
/// The tenant of personal Microsoft accounts, which `consumers` issues for.
pub const MSA_TENANT: &str = "9188040d-6c67-4c5b-b112-36a304b66dad";
/// The External ID (CIAM) tenant `contoso.onmicrosoft.com` behind `contoso.ciamlogin.com`.
pub const CIAM_TENANT: &str = "c1a2b3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d";
/// Another External ID tenant.
pub const OTHER_CIAM_TENANT: &str = "0d9c8b7a-6f5e-4d3c-8b2a-19f8e7d6c5b4";
/// The Azure AD B2C tenant `contoso.onmicrosoft.com` behind `contoso.b2clogin.com`.
pub const B2C_TENANT: &str = "b2c0ffee-1234-4a5b-8c9d-0123456789ab";

/// The signed-in user's `sub` (Entra's is pairwise: per application).
pub const ALICE_SUB: &str = "hQ3nYbqXfA-5Tfk0bM3u0TzP1Vwz6yK2cC7x9Lr4dEo";
/// The user's object id (B2C's `sub` is the object id).
pub const ALICE_OID: &str = "00000000-0000-0000-66f3-3332eca7ea81";

/// The External ID custom URL domain.
pub const CUSTOM_DOMAIN: &str = "login.contoso.com";

/// The B2C user flows this tenant has, as their admin named them.
pub const SUSI: &str = "B2C_1_susi";
pub const EDIT: &str = "B2C_1_edit";
pub const RESET: &str = "B2C_1_reset";
const B2C_POLICIES: [&str; 3] = [SUSI, EDIT, RESET];

/// An API of the B2C tenant: asking for it is what makes B2C issue an access token.
pub const API_SCOPE: &str = "https://contoso.onmicrosoft.com/tasks-api/tasks.read";

/// B2C's error descriptions, as its authorization endpoint sends them.
pub fn aadb2c90118() -> String {
    "AADB2C90118: The user has forgotten their password.\r\nCorrelation ID: 1f3c2a0e-6b1d-4c8e-9a57-0d4e5f6a7b8c\r\nTimestamp: 2025-01-01 12:00:00Z\r\n".into()
}
pub fn aadb2c90091() -> String {
    "AADB2C90091: The user has cancelled entering self-asserted information.\r\nCorrelation ID: 2a4d3b1f-7c2e-4d9f-8b68-1e5f6a7b8c9d\r\nTimestamp: 2025-01-01 12:00:00Z\r\n".into()
}

/// `https://login.microsoftonline.com/<tenant>/v2.0`, the issuer Entra ID uses for `tenant`.
pub fn entra_issuer(tenant: &str) -> String {
    format!("https://login.microsoftonline.com/{tenant}/v2.0")
}

/// `https://<tid>.ciamlogin.com/<tid>/v2.0`, the issuer External ID uses.
pub fn ciam_issuer(tenant: &str) -> String {
    format!("https://{tenant}.ciamlogin.com/{tenant}/v2.0")
}

/// `https://login.contoso.com/<tid>/v2.0`, the custom domain's issuer.
pub fn custom_domain_issuer() -> String {
    format!("https://{CUSTOM_DOMAIN}/{CIAM_TENANT}/v2.0")
}

/// `https://contoso.b2clogin.com/<tenant-guid>/v2.0/`, the one issuer of every B2C user flow.
pub fn b2c_issuer() -> String {
    format!("https://contoso.b2clogin.com/{B2C_TENANT}/v2.0/")
}

/// Whether `host` is one of the names this provider answers for (and the only names the test
/// clients resolve).
pub fn is_microsoft_host(host: &str) -> bool {
    let host = host.to_ascii_lowercase();
    host == "login.microsoftonline.com"
        || host == CUSTOM_DOMAIN
        || one_label_under(&host, ".ciamlogin.com")
        || one_label_under(&host, ".b2clogin.com")
}

fn one_label_under(host: &str, suffix: &str) -> bool {
    host.strip_suffix(suffix)
        .is_some_and(|label| !label.is_empty() && !label.contains('.'))
}

// ---------------------------------------------------------------------------------------------
// Keys and TLS

/// A Microsoft-style key id (27 base64url characters, like an `x5t`) for fixture key `i`.
pub fn ms_kid(i: usize) -> String {
    b64(&Sha256::digest(
        format!("microsoft-shaped key {i}").as_bytes(),
    ))[..27]
        .to_owned()
}

/// The test CA and the server configuration, made once per test binary.
struct Tls {
    ca_pem: String,
    server: Arc<rustls::ServerConfig>,
}

fn tls() -> &'static Tls {
    static TLS: OnceLock<Tls> = OnceLock::new();
    TLS.get_or_init(|| {
        use rcgen::{
            BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
            KeyPair, KeyUsagePurpose,
        };
        let ca_key = KeyPair::generate().expect("CA key");
        let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
        ca.distinguished_name
            .push(DnType::CommonName, "axum-identity test CA (loopback only)");
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca_cert = ca.self_signed(&ca_key).expect("self-signed CA");
        let issuer = Issuer::new(ca, ca_key);

        let server_key = KeyPair::generate().expect("server key");
        let mut leaf = CertificateParams::new(vec![
            "login.microsoftonline.com".to_owned(),
            "*.ciamlogin.com".to_owned(),
            "*.b2clogin.com".to_owned(),
            CUSTOM_DOMAIN.to_owned(),
        ])
        .expect("server certificate parameters");
        leaf.distinguished_name
            .push(DnType::CommonName, "login.microsoftonline.com");
        leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        let leaf_cert = leaf
            .signed_by(&server_key, &issuer)
            .expect("server certificate");

        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut server = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_no_client_auth()
            .with_single_cert(
                vec![leaf_cert.der().clone(), ca_cert.der().clone()],
                rustls::pki_types::PrivateKeyDer::Pkcs8(server_key.serialize_der().into()),
            )
            .expect("server TLS configuration");
        server.alpn_protocols = vec![b"http/1.1".to_vec()];
        Tls {
            ca_pem: ca_cert.pem(),
            server: Arc::new(server),
        }
    })
}

/// An `axum::serve` listener that hands over connections once their TLS handshake is done
/// (handshakes run concurrently, so a stalled client holds up nobody).
struct TlsListener {
    incoming: tokio::sync::mpsc::Receiver<(
        tokio_rustls::server::TlsStream<tokio::net::TcpStream>,
        SocketAddr,
    )>,
    local: SocketAddr,
}

impl TlsListener {
    fn new(tcp: tokio::net::TcpListener) -> (TlsListener, tokio::task::JoinHandle<()>) {
        let local = tcp.local_addr().expect("local address");
        let acceptor = TlsAcceptor::from(tls().server.clone());
        let (sender, incoming) = tokio::sync::mpsc::channel(64);
        let accepting = tokio::spawn(async move {
            loop {
                let Ok((stream, peer)) = tcp.accept().await else {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                };
                let acceptor = acceptor.clone();
                let sender = sender.clone();
                tokio::spawn(async move {
                    if let Ok(Ok(tls)) =
                        tokio::time::timeout(Duration::from_secs(10), acceptor.accept(stream)).await
                    {
                        let _ = sender.send((tls, peer)).await;
                    }
                });
            }
        });
        (TlsListener { incoming, local }, accepting)
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = tokio_rustls::server::TlsStream<tokio::net::TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.incoming.recv().await {
            Some(connection) => connection,
            // The accepting task is gone: the provider is shutting down.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}

/// Resolves Microsoft's host names (and only those) to the provider's loopback address.
struct LoopbackResolver {
    addr: SocketAddr,
}

impl reqwest::dns::Resolve for LoopbackResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_owned();
        let addr = self.addr;
        Box::pin(async move {
            if is_microsoft_host(&host) {
                Ok(Box::new(std::iter::once(addr)) as reqwest::dns::Addrs)
            } else {
                Err(format!("`{host}` is not resolved in the tests (only Microsoft's host names are, to {addr})").into())
            }
        })
    }
}

// ---------------------------------------------------------------------------------------------
// The provider

/// Which Microsoft authority a request is for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Site {
    /// `login.microsoftonline.com/<tenant>`: the segment as the request spelled it.
    Entra { tenant: String },
    /// `<name>.ciamlogin.com/<tenant>`.
    Ciam { host: String },
    /// External ID behind the custom URL domain `login.contoso.com/<tenant-id>`.
    CustomDomain,
    /// `contoso.b2clogin.com/contoso.onmicrosoft.com/<user flow>`: the flow's configured name.
    B2c { policy: String },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Endpoint {
    Discovery,
    Keys,
    Authorize,
    Token,
    Logout,
}

impl Site {
    /// The site and endpoint of a request, `None` for anything this provider does not serve.
    fn route(host: &str, path: &str) -> Option<(Site, Endpoint)> {
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let (site, rest) = if host == "login.microsoftonline.com" {
            let tenant = *segments.first()?;
            let known = [
                "common",
                "organizations",
                "consumers",
                "contoso.onmicrosoft.com",
                "fabrikam.onmicrosoft.com",
            ]
            .contains(&tenant.to_ascii_lowercase().as_str())
                || [TENANT_A, TENANT_B, MSA_TENANT].contains(&tenant.to_ascii_lowercase().as_str());
            if !known {
                return None;
            }
            (
                Site::Entra {
                    tenant: tenant.to_owned(),
                },
                &segments[1..],
            )
        } else if host.ends_with(".ciamlogin.com") {
            // Both the tenant's name and its id address the tenant, on its name's host and its
            // id's host.
            let tenant = segments.first()?.to_ascii_lowercase();
            let ok_host =
                host == "contoso.ciamlogin.com" || host == format!("{CIAM_TENANT}.ciamlogin.com");
            if !ok_host || (tenant != "contoso.onmicrosoft.com" && tenant != CIAM_TENANT) {
                return None;
            }
            (
                Site::Ciam {
                    host: host.to_owned(),
                },
                &segments[1..],
            )
        } else if host == CUSTOM_DOMAIN {
            if segments.first()?.to_ascii_lowercase() != CIAM_TENANT {
                return None;
            }
            (Site::CustomDomain, &segments[1..])
        } else if host == "contoso.b2clogin.com" {
            let tenant = segments.first()?.to_ascii_lowercase();
            if tenant != "contoso.onmicrosoft.com" && tenant != B2C_TENANT {
                return None;
            }
            // B2C's policy names are case-insensitive.
            let policy = B2C_POLICIES
                .iter()
                .find(|p| p.eq_ignore_ascii_case(segments.get(1).unwrap_or(&"")))?;
            (
                Site::B2c {
                    policy: (*policy).to_owned(),
                },
                segments.get(2..)?,
            )
        } else {
            return None;
        };
        let endpoint = match rest {
            ["v2.0", ".well-known", "openid-configuration"] => Endpoint::Discovery,
            ["discovery", "v2.0", "keys"] => Endpoint::Keys,
            ["oauth2", "v2.0", "authorize"] => Endpoint::Authorize,
            ["oauth2", "v2.0", "token"] => Endpoint::Token,
            ["oauth2", "v2.0", "logout"] => Endpoint::Logout,
            _ => return None,
        };
        Some((site, endpoint))
    }

    /// Where the endpoints of the discovery document live.
    fn base(&self) -> String {
        match self {
            Site::Entra { tenant } => {
                // A tenant addressed by its domain publishes endpoints under its id.
                let tenant = match tenant.to_ascii_lowercase().as_str() {
                    "contoso.onmicrosoft.com" => TENANT_A.to_owned(),
                    "fabrikam.onmicrosoft.com" => TENANT_B.to_owned(),
                    _ => tenant.clone(),
                };
                format!("https://login.microsoftonline.com/{tenant}")
            }
            Site::Ciam { host } => format!("https://{host}/{CIAM_TENANT}"),
            Site::CustomDomain => format!("https://{CUSTOM_DOMAIN}/{CIAM_TENANT}"),
            Site::B2c { policy } => {
                format!(
                    "https://contoso.b2clogin.com/contoso.onmicrosoft.com/{}",
                    policy.to_ascii_lowercase()
                )
            }
        }
    }

    /// The tenant whose users sign in here by default.
    fn home_tenant(&self) -> &'static str {
        match self {
            Site::Entra { tenant } => match tenant.to_ascii_lowercase().as_str() {
                "consumers" => MSA_TENANT,
                t if t == TENANT_B || t == "fabrikam.onmicrosoft.com" => TENANT_B,
                _ => TENANT_A,
            },
            Site::Ciam { .. } | Site::CustomDomain => CIAM_TENANT,
            Site::B2c { .. } => B2C_TENANT,
        }
    }

    /// The `issuer` of the discovery document.
    fn issuer(&self) -> String {
        match self {
            Site::Entra { tenant } => match tenant.to_ascii_lowercase().as_str() {
                "common" | "organizations" => entra_issuer("{tenantid}"),
                _ => entra_issuer(self.home_tenant()),
            },
            Site::Ciam { .. } => ciam_issuer(CIAM_TENANT),
            Site::CustomDomain => custom_domain_issuer(),
            Site::B2c { .. } => b2c_issuer(),
        }
    }

    fn discovery(&self) -> Value {
        let base = self.base();
        match self {
            Site::B2c { .. } => json!({
                "issuer": self.issuer(),
                "authorization_endpoint": format!("{base}/oauth2/v2.0/authorize"),
                "token_endpoint": format!("{base}/oauth2/v2.0/token"),
                "end_session_endpoint": format!("{base}/oauth2/v2.0/logout"),
                "jwks_uri": format!("{base}/discovery/v2.0/keys"),
                "response_modes_supported": ["query", "fragment", "form_post"],
                "response_types_supported": ["code", "code id_token", "code token", "code id_token token", "id_token", "id_token token", "token", "token id_token"],
                "scopes_supported": ["openid"],
                "subject_types_supported": ["pairwise"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
                "claims_supported": ["name", "emails", "idp", "oid", "sub", "tfp", "iss", "iat", "exp", "aud", "acr", "nonce", "auth_time"],
            }),
            _ => {
                let entra = matches!(self, Site::Entra { .. });
                let multi = self.issuer().contains("{tenantid}");
                json!({
                    "token_endpoint": format!("{base}/oauth2/v2.0/token"),
                    "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
                    "jwks_uri": format!("{base}/discovery/v2.0/keys"),
                    "response_modes_supported": ["query", "fragment", "form_post"],
                    "subject_types_supported": ["pairwise"],
                    "id_token_signing_alg_values_supported": ["RS256"],
                    "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
                    "scopes_supported": ["openid", "profile", "email", "offline_access"],
                    "issuer": self.issuer(),
                    "request_uri_parameter_supported": false,
                    "userinfo_endpoint": "https://graph.microsoft.com/oidc/userinfo",
                    "authorization_endpoint": format!("{base}/oauth2/v2.0/authorize"),
                    "device_authorization_endpoint": format!("{base}/oauth2/v2.0/devicecode"),
                    "http_logout_supported": true,
                    "frontchannel_logout_supported": true,
                    "end_session_endpoint": format!("{base}/oauth2/v2.0/logout"),
                    "claims_supported": ["sub", "iss", "cloud_instance_name", "cloud_instance_host_name", "cloud_graph_host_name", "msgraph_host", "aud", "exp", "iat", "auth_time", "acr", "nonce", "preferred_username", "name", "tid", "ver", "at_hash", "c_hash", "email"],
                    "kerberos_endpoint": format!("{base}/kerberos"),
                    "tenant_region_scope": if multi { Value::Null } else if entra { json!("NA") } else { json!("EU") },
                    "cloud_instance_name": "microsoftonline.com",
                    "cloud_graph_host_name": "graph.windows.net",
                    "msgraph_host": "graph.microsoft.com",
                    "rbac_url": "https://pas.windows.net",
                })
            }
        }
    }
}

/// One request to the authorization endpoint.
#[derive(Clone, Debug)]
pub struct Authorization {
    /// The full URL requested, host and path included.
    pub url: Url,
    pub site: Site,
    pub params: HashMap<String, String>,
}

impl Grant for Authorization {
    fn params(&self) -> &HashMap<String, String> {
        &self.params
    }
}

impl Authorization {
    /// The requested scopes.
    pub fn scopes(&self) -> Vec<String> {
        self.params
            .get("scope")
            .map(|s| s.split(' ').map(str::to_owned).collect())
            .unwrap_or_default()
    }
}

/// An error the authorization endpoint answers with instead of a code.
struct QueuedError {
    /// The B2C user flow it applies to; `None`: the next authorization anywhere.
    policy: Option<String>,
    error: String,
    description: String,
}

struct Shared {
    claims: Mutex<Value>,
    discovery: Mutex<Value>,
    published: Mutex<Vec<usize>>,
    signing_key: Mutex<usize>,
    errors: Mutex<Vec<QueuedError>>,
    codes: Codes<Authorization>,
    authorizations: Mutex<Vec<Authorization>>,
    token_requests: Mutex<Vec<(Site, TokenRequest)>>,
    /// Every request as `METHOD https://host/path`.
    requests: Mutex<Vec<String>>,
    sequence: std::sync::atomic::AtomicUsize,
}

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

async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(|h| h.split(':').next().unwrap_or_default().to_ascii_lowercase())
        .unwrap_or_default();
    shared
        .requests
        .lock()
        .unwrap()
        .push(format!("{method} https://{host}{}", uri.path()));
    let Some((site, endpoint)) = Site::route(&host, uri.path()) else {
        return oauth_error(
            StatusCode::NOT_FOUND,
            "invalid_request",
            &format!("nothing at https://{host}{}", uri.path()),
        );
    };
    match (endpoint, method) {
        (Endpoint::Discovery, Method::GET) => shared.discovery(&site),
        (Endpoint::Keys, Method::GET) => shared.keys(&site),
        (Endpoint::Authorize, Method::GET) => {
            let url = Url::parse(&format!("https://{host}{uri}")).expect("a URL");
            shared.authorize(site, url)
        }
        (Endpoint::Token, Method::POST) => shared.token(site, &headers, &body),
        (Endpoint::Logout, Method::GET) => Html("You signed out of your account.").into_response(),
        _ => oauth_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "invalid_request",
            "method not allowed",
        ),
    }
}

impl Shared {
    fn discovery_document(&self, site: &Site) -> Map<String, Value> {
        let mut document = site.discovery().as_object().unwrap().clone();
        merge(&mut document, &self.discovery.lock().unwrap());
        document
    }

    fn discovery(&self, site: &Site) -> Response {
        json_response(StatusCode::OK, Value::Object(self.discovery_document(site)))
    }

    fn keys(&self, site: &Site) -> Response {
        let issuer = site.issuer();
        let keys: Vec<Value> = self
            .published
            .lock()
            .unwrap()
            .iter()
            .map(|&i| {
                let mut jwk = crate::kernel::jwk(i);
                jwk.insert("kid".into(), json!(ms_kid(i)));
                match site {
                    Site::B2c { .. } => {
                        jwk.insert("nbf".into(), json!(1_493_763_266));
                    }
                    _ => {
                        jwk.insert("x5t".into(), json!(ms_kid(i)));
                        jwk.insert("issuer".into(), json!(issuer));
                    }
                }
                Value::Object(jwk)
            })
            .collect();
        json_response(StatusCode::OK, json!({ "keys": keys }))
    }

    fn authorize(&self, site: Site, url: Url) -> Response {
        let params: HashMap<String, String> = url.query_pairs().into_owned().collect();
        let request = Authorization {
            url: url.clone(),
            site: site.clone(),
            params: params.clone(),
        };
        self.authorizations.lock().unwrap().push(request.clone());
        // Microsoft shows its own error page for an unknown client or an unregistered redirect
        // URI (AADSTS700016, AADSTS50011); this one registers loopback callbacks only.
        let redirect = params.get("redirect_uri").and_then(|r| Url::parse(r).ok());
        let Some(mut target) = redirect.filter(|r| {
            r.scheme() == "http" && r.host_str() == Some("127.0.0.1") && r.path() == "/redirect"
        }) else {
            return (
                StatusCode::BAD_REQUEST,
                Html("AADSTS50011: The redirect URI specified in the request does not match."),
            )
                .into_response();
        };
        if params.get("client_id").map(String::as_str) != Some(CLIENT_ID) {
            return (
                StatusCode::BAD_REQUEST,
                Html("AADSTS700016: Application not found in the directory."),
            )
                .into_response();
        }
        let policy = match &site {
            Site::B2c { policy } => Some(policy.clone()),
            _ => None,
        };
        let queued = {
            let mut errors = self.errors.lock().unwrap();
            let position = errors
                .iter()
                .position(|e| e.policy.is_none() || e.policy == policy);
            position.map(|i| errors.remove(i))
        };
        let problem = if let Some(queued) = queued {
            Some((queued.error, queued.description))
        } else if params.get("response_type").map(String::as_str) != Some("code") {
            Some((
                "unsupported_response_type".to_owned(),
                "AADSTS700054: response_type 'code' is expected.".to_owned(),
            ))
        } else if !request.scopes().iter().any(|s| s == "openid") {
            Some(("invalid_scope".to_owned(), "openid is required".to_owned()))
        } else if params.get("code_challenge_method").map(String::as_str) != Some("S256")
            || !params.contains_key("code_challenge")
        {
            Some((
                "invalid_request".to_owned(),
                "AADSTS9002325: Proof Key for Code Exchange is required.".to_owned(),
            ))
        } else if !params.contains_key("nonce") {
            Some((
                "invalid_request".to_owned(),
                "a nonce is required".to_owned(),
            ))
        } else {
            None
        };
        {
            let mut query = target.query_pairs_mut();
            match problem {
                Some((error, description)) => {
                    query.append_pair("error", &error);
                    query.append_pair("error_description", &description);
                }
                None => {
                    let n = self
                        .sequence
                        .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let code = format!(
                        "0.A{}{n}",
                        b64(&Sha256::digest(format!("{url}{n}{}", now()).as_bytes()))
                    );
                    self.codes.issue(code.clone(), request);
                    query.append_pair("code", &code);
                }
            }
            if let Some(state) = params.get("state") {
                query.append_pair("state", state);
            }
            if !matches!(site, Site::B2c { .. }) {
                query.append_pair("session_state", "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d");
            }
        }
        (
            StatusCode::FOUND,
            [
                (header::LOCATION, target.to_string()),
                (header::CACHE_CONTROL, "no-store".to_owned()),
            ],
        )
            .into_response()
    }

    fn token(&self, site: Site, headers: &HeaderMap, body: &[u8]) -> Response {
        let request = TokenRequest::new(headers, body);
        let form = request.form.clone();
        self.token_requests
            .lock()
            .unwrap()
            .push((site.clone(), request.clone()));

        // A client assertion is taken as it comes (the real provider's tests check signatures);
        // the test reads it from `token_requests` to check Entra's header fields.
        let asserted = form.get("client_id").map(String::as_str) == Some(CLIENT_ID)
            && form.get("client_assertion_type").map(String::as_str)
                == Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
            && form
                .get("client_assertion")
                .is_some_and(|a| a.split('.').count() == 3);
        if !asserted
            && request.credentials() != Some((CLIENT_ID.to_owned(), CLIENT_SECRET.to_owned()))
        {
            return oauth_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "AADSTS7000215: Invalid client secret provided.",
            );
        }
        if form.get("grant_type").map(String::as_str)
            == Some("urn:ietf:params:oauth:grant-type:jwt-bearer")
        {
            return on_behalf_of(&form);
        }
        if form.get("grant_type").map(String::as_str) != Some("authorization_code") {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "only authorization codes here",
            );
        }
        let code = form.get("code").cloned().unwrap_or_default();
        let grant = match self.codes.redeem(&form) {
            Ok(grant) => grant,
            Err(refusal) => {
                let description = match refusal {
                    Refusal::UnknownCode => {
                        "AADSTS54005: OAuth2 Authorization code was already redeemed."
                    }
                    Refusal::Pkce => {
                        "AADSTS501481: The Code_Verifier does not match the code_challenge."
                    }
                    Refusal::RedirectUri => "AADSTS50148: The redirect URI does not match.",
                };
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", description);
            }
        };
        if grant.site != site {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_grant",
                "AADSTS50148/AADB2C90090: the code was issued by another authority.",
            );
        }

        let scopes = grant.scopes();
        let id_token = self.id_token(&site, grant.params.get("nonce").map(String::as_str));
        let now = now();
        let offline = scopes.iter().any(|s| s == "offline_access");
        let api: Vec<&String> = scopes
            .iter()
            .filter(|s| !["openid", "profile", "email", "offline_access"].contains(&s.as_str()))
            .collect();
        let mut response = match &site {
            Site::B2c { .. } => {
                // B2C issues an access token only for an API scope (or the client id); with
                // `openid` alone the response has no `access_token` at all.
                let mut granted: Vec<&str> = api.iter().map(|s| s.as_str()).collect();
                if offline {
                    granted.push("offline_access");
                }
                granted.push("openid");
                let mut response = json!({
                    "id_token": id_token,
                    "token_type": "Bearer",
                    "not_before": now,
                    "id_token_expires_in": 3600,
                    "profile_info": b64(br#"{"ver":"1.0","tid":"b2c0ffee-1234-4a5b-8c9d-0123456789ab","sub":null,"name":"Alice","preferred_username":null,"idp":null}"#),
                    "scope": granted.join(" "),
                });
                if !api.is_empty() {
                    response["access_token"] = json!(format!("b2c-access-{code}"));
                    response["expires_in"] = json!(3600);
                    response["expires_on"] = json!(now + 3600);
                    response["resource"] = json!("3b5e2a1c-9d8f-4e7a-b6c5-d4e3f2a1b0c9");
                }
                if offline {
                    response["refresh_token"] = json!(format!("b2c-refresh-{code}"));
                    response["refresh_token_expires_in"] = json!(1_209_600);
                }
                response
            }
            _ => {
                let mut granted: Vec<String> = scopes
                    .iter()
                    .filter(|s| *s != "offline_access")
                    .cloned()
                    .collect();
                if api.is_empty() {
                    granted.push("https://graph.microsoft.com/User.Read".into());
                }
                let mut response = json!({
                    "token_type": "Bearer",
                    "scope": granted.join(" "),
                    "expires_in": 4631,
                    "ext_expires_in": 4631,
                    "access_token": format!("eyJ0eXAiOiJKV1QiLCJub25jZSI6Im9wYXF1ZSJ9.{}", b64(code.as_bytes())),
                    "id_token": id_token,
                });
                if offline {
                    response["refresh_token"] = json!(format!("1.A{}", b64(code.as_bytes())));
                }
                response
            }
        };
        if let Value::Object(map) = &mut response {
            map.retain(|_, v| !v.is_null());
        }
        json_response(StatusCode::OK, response)
    }

    /// An ID token as the site issues it, with the test's claims merged in.
    fn id_token(&self, site: &Site, nonce: Option<&str>) -> String {
        let now = now();
        let tid = site.home_tenant();
        let declared = self
            .discovery_document(site)
            .get("issuer")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let iss = declared.replace("{tenantid}", tid);
        let mut claims = match site {
            Site::B2c { policy } => json!({
                "ver": "1.0",
                "iss": iss,
                "sub": ALICE_OID,
                "aud": CLIENT_ID,
                "exp": now + 3600,
                "nonce": nonce,
                "iat": now,
                "auth_time": now,
                "oid": ALICE_OID,
                "name": "Alice",
                "emails": ["alice@example.com"],
                "tfp": policy,
                "nbf": now,
            }),
            _ => json!({
                "aud": CLIENT_ID,
                "iss": iss,
                "iat": now,
                "nbf": now,
                "exp": now + 3600,
                "aio": "AUQAu/8ZAAAA3Lw2i0Qv8bq2nL1C5eWqXg==",
                "name": "Alice Contoso",
                "nonce": nonce,
                "oid": ALICE_OID,
                "preferred_username": "alice@contoso.com",
                "rh": "1.AXkAv4j5cvGGr0GRqy180BHbR9Ct.",
                "sid": "00c3a7d2-59bd-4d69-ae1e-4f3a6a0c2f41",
                "sub": ALICE_SUB,
                "tid": tid,
                "uti": "b4q2xg0aQkqV7uZlk1l3AA",
                "ver": "2.0",
            }),
        }
        .as_object()
        .unwrap()
        .clone();
        claims.retain(|_, v| !v.is_null());
        merge(&mut claims, &self.claims.lock().unwrap());
        let key = *self.signing_key.lock().unwrap();
        let header = json!({"typ": "JWT", "alg": "RS256", "kid": ms_kid(key)});
        crate::kernel::sign(
            header.as_object().unwrap(),
            &claims,
            &crate::kernel::Signing::Rsa(key),
        )
    }
}

// ---------------------------------------------------------------------------------------------
// The app under test

/// Works signed in or not. Signed in, one line per fact the tests look at, and the
/// edit-profile link when B2C's edit-profile flow is configured.
async fn home(context: Option<Context>, Extension(auth): Extension<Auth>) -> Html<String> {
    let Some(context) = context else {
        return Html("anonymous".into());
    };
    let claim = |name: &str| {
        context
            .user
            .claim(name)
            .and_then(Value::as_str)
            .unwrap_or("-")
            .to_owned()
    };
    let edit = auth
        .edit_profile_url("/")
        .map(|url| {
            format!(
                "\n<a id=\"edit-profile\" href=\"{}\">Edit profile</a>",
                escape_html(&url)
            )
        })
        .unwrap_or_default();
    Html(format!(
        "signed in as {}\nname: {}\ntid: {}\ntfp: {}\niss: {}{edit}",
        escape_html(context.user.subject()),
        escape_html(&claim("name")),
        escape_html(&claim("tid")),
        escape_html(&claim("tfp")),
        escape_html(&claim("iss")),
    ))
}

/// A page that needs sign-in.
#[login_required]
async fn profile(context: Context) -> Html<String> {
    Html(format!(
        "profile of {} ({})",
        escape_html(context.user.subject()),
        escape_html(
            context
                .user
                .claim("name")
                .and_then(Value::as_str)
                .unwrap_or("-")
        )
    ))
}

/// The assertion an on-behalf-of request presents to get Entra's conditional-access answer
/// (multi-factor authentication required, with a claims challenge); a signed incoming token
/// with the claim `"needs_mfa": true` gets the same answer.
pub const NEEDS_MFA: &str = "incoming-token-needing-mfa";

/// The claims challenge of that answer.
pub const MFA_CLAIMS: &str = r#"{"access_token":{"capolids":{"essential":true,"values":["c1"]}}}"#;

/// Entra's on-behalf-of grant: a token per call whose value names the incoming token and the
/// scope, or the conditional-access refusal for [`NEEDS_MFA`].
fn on_behalf_of(form: &std::collections::HashMap<String, String>) -> Response {
    if form.get("requested_token_use").map(String::as_str) != Some("on_behalf_of") {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "AADSTS50027: requested_token_use must be on_behalf_of.",
        );
    }
    let assertion = form.get("assertion").cloned().unwrap_or_default();
    let scope = form.get("scope").cloned().unwrap_or_default();
    // A signed incoming token asks for the refusal with a `needs_mfa` claim.
    let wants_mfa = assertion.split('.').count() == 3
        && crate::credentials::jwt_part(&assertion, 1)["needs_mfa"] == json!(true);
    if assertion == NEEDS_MFA || wants_mfa {
        return json_response(
            StatusCode::BAD_REQUEST,
            json!({
                "error": "interaction_required",
                "error_description": "AADSTS50076: Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access the API.",
                "error_codes": [50076],
                "suberror": "basic_action",
                "claims": MFA_CLAIMS,
            }),
        );
    }
    static ISSUED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = ISSUED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    json_response(
        StatusCode::OK,
        json!({
            "token_type": "Bearer",
            "scope": scope,
            "expires_in": 3600,
            "ext_expires_in": 3600,
            "access_token": format!("obo-{}-{n}", assertion.len()),
        }),
    )
}

/// Starts an app that signs in as [`CLIENT_ID`] through `microsoft`'s HTTP client; `configure`
/// names the authority (and anything else).
pub async fn start_app(
    microsoft: &Microsoft,
    configure: impl FnOnce(AuthBuilder) -> AuthBuilder + Send + 'static,
) -> TestApp {
    let http = microsoft.http_client();
    let routes = Router::new()
        .route("/", get(home))
        .route("/profile", get(profile));
    launch(routes)
        .configured_provider()
        .client(CLIENT_ID, CLIENT_SECRET)
        .auth(move |b| configure(b.http_client(http).app_name("Microsoft-shaped")))
        .start()
        .await
}
