//! Bearer access tokens signed by the test itself (good and bad): what `tests/it/web_api.rs` and
//! the web-API benchmarks send to a web API protected by `ApiAuth`. The Entra-shaped key server
//! that publishes the keys they are checked against is [`crate::microsoft::entra`].
//!
//! Keys are the hostile provider's fixtures (`tests/fixtures/hostile/rsa-N.pem`).

use std::time::{SystemTime, UNIX_EPOCH};

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
