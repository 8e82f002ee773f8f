//! An Entra-shaped key server on plain HTTP at 127.0.0.1, for Entra ID v1/v2 and multi-tenant
//! bearer tokens that the test signs itself with [`crate::bearer::sign`]: the discovery document
//! (with Entra's `{tenantid}` issuer template) and the keys a web API protected by `ApiAuth`
//! checks them against. Unlike [`Microsoft`](super::Microsoft) it needs no TLS or resolver: a
//! web API only fetches these two documents.

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::get;
use serde_json::{Value, json};

use crate::bearer::jwk;

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
    /// Starts the server on an ephemeral port.
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
