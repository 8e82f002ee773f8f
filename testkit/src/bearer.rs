//! Bearer access tokens signed by the test itself (good and bad), and a Microsoft-shaped key
//! server on 127.0.0.1 for Entra ID v1/v2 and multi-tenant tokens: what `tests/web_api.rs` and
//! `benches/web_api.rs` send to a web API protected by `ApiAuth`.
//!
//! Keys are the hostile provider's fixtures (`tests/fixtures/hostile/rsa-N.pem`).
#![allow(dead_code)]

use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rsa::traits::PublicKeyParts;
use serde_json::{Map, Value, json};

use crate::hostile::keys;

/// Unix seconds now.
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// How a token is signed: the kernel's [`Signing`](crate::kernel::Signing).
pub use crate::kernel::Signing as Sign;

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// `base` with `patch` merged over it at the top level; `null` removes a field.
pub fn merged(base: Value, patch: &Value) -> Map<String, Value> {
    let mut out = base.as_object().cloned().unwrap_or_default();
    if let Value::Object(patch) = patch {
        for (name, value) in patch {
            if value.is_null() {
                out.remove(name);
            } else {
                out.insert(name.clone(), value.clone());
            }
        }
    }
    out
}

/// A compact JWS of `claims` with `header` (its `alg` set from `sign` unless given).
pub fn sign(header: &Value, claims: &Value, sign: &Sign) -> String {
    let header = merged(json!({"alg": sign.alg()}), header);
    let claims = claims.as_object().expect("claims as a JSON object");
    crate::kernel::sign(&header, claims, sign)
}

/// The public JWK of fixture key `i` under `kid`, without `alg` (as Entra publishes them).
pub fn jwk(i: usize, kid: &str) -> Value {
    let public = keys()[i].to_public_key();
    json!({
        "kty": "RSA",
        "use": "sig",
        "kid": kid,
        "n": b64(&public.n().to_bytes_be()),
        "e": b64(&public.e().to_bytes_be()),
    })
}

/// A Microsoft-shaped provider on 127.0.0.1: `/<tenant>/v2.0/.well-known/openid-configuration`
/// declares the issuer `http://127.0.0.1:<port>/<tenant>/v2.0` (the `{tenantid}` template for
/// `organizations` and `common`, as Entra ID does), and the keys are fixture key 0 under the
/// kid [`ENTRA_KID`]. Dropping it stops the server.
pub struct Entra {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    server: tokio::task::JoinHandle<()>,
}

/// The key id of Entra's signing key here.
pub const ENTRA_KID: &str = "entra-key-0";

impl Drop for Entra {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Entra {
    pub async fn start() -> Entra {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let app = Router::new()
            .route(
                "/{tenant}/v2.0/.well-known/openid-configuration",
                get(entra_discovery),
            )
            .route(
                "/common/discovery/v2.0/keys",
                get(|| async { axum::Json(json!({"keys": [jwk(0, ENTRA_KID)]})) }),
            )
            .with_state(base.clone());
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Entra { base, server }
    }

    /// The authority for `tenant` (a tenant id, `organizations` or `common`).
    pub fn authority(&self, tenant: &str) -> String {
        format!("{}/{tenant}", self.base)
    }

    /// The v2 issuer of `tid`.
    pub fn v2_issuer(&self, tid: &str) -> String {
        format!("{}/{tid}/v2.0", self.base)
    }
}

/// The v1 issuer of `tid`, as Entra ID writes it into v1 access tokens.
pub fn v1_issuer(tid: &str) -> String {
    format!("https://sts.windows.net/{tid}/")
}

async fn entra_discovery(
    State(base): State<String>,
    Path(tenant): Path<String>,
) -> axum::Json<Value> {
    let issuer_tenant = if tenant == "organizations" || tenant == "common" {
        "{tenantid}".to_owned()
    } else {
        tenant.clone()
    };
    axum::Json(json!({
        "issuer": format!("{base}/{issuer_tenant}/v2.0"),
        "authorization_endpoint": format!("{base}/{tenant}/oauth2/v2.0/authorize"),
        "token_endpoint": format!("{base}/{tenant}/oauth2/v2.0/token"),
        "jwks_uri": format!("{base}/common/discovery/v2.0/keys"),
        "response_types_supported": ["code", "id_token", "code id_token"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
    }))
}
