//! Compact JWS (RFC 7515): splitting a token, reading its payload, and verifying its signature
//! against the provider's keys with ring (`keys::KeySet`, decoded once per key-set fetch).
//!
//! Every signature this library checks goes through `verify`: ID tokens at sign-in, access
//! tokens of the web API and back-channel logout tokens, so the header rules (no `crit`, an
//! allowed asymmetric `alg`, the key the `kid` names) are written once.

use base64::Engine as _;
use openidconnect::core::CoreJwsSigningAlgorithm;
use serde_json::{Map, Value};

use crate::oidc::keys::{KeySet, supported};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Why a JWS was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Unverified {
    /// No key of the set matches the token's `kid`: the provider may have rotated its keys.
    #[error("signed with an unknown key")]
    NoKey,
    /// Anything else: the token is not acceptable whatever keys the provider has.
    #[error("{0}")]
    Invalid(&'static str),
    /// The signature does not verify under the matching key.
    #[error("the signature is invalid")]
    BadSignature,
}

/// The payload of an already verified compact JWT, as raw JSON.
pub(crate) fn payload(jwt: &str) -> Result<Map<String, Value>, Unverified> {
    let payload = jwt
        .split('.')
        .nth(1)
        .ok_or(Unverified::Invalid("not a compact JWT"))?;
    decode_json(payload.trim_end_matches('='))
}

/// The header of a compact JWT, as raw JSON (not verified: for checks made after `verify`).
pub(crate) fn header(jwt: &str) -> Result<Map<String, Value>, Unverified> {
    let header = jwt
        .split('.')
        .next()
        .ok_or(Unverified::Invalid("not a compact JWT"))?;
    decode_json(header)
}

fn decode_json(part: &str) -> Result<Map<String, Value>, Unverified> {
    let bytes = B64
        .decode(part)
        .map_err(|_| Unverified::Invalid("not base64url"))?;
    serde_json::from_slice(&bytes).map_err(|_| Unverified::Invalid("not a JSON object"))
}

/// Checks the header (no `crit`, an allowed `alg`) and the signature under the key the `kid`
/// names (or the only key, without a `kid`), and returns the claims. The claims themselves are
/// the caller's to check.
pub(crate) fn verify(
    keys: &KeySet,
    allowed: &[CoreJwsSigningAlgorithm],
    token: &str,
) -> Result<Map<String, Value>, Unverified> {
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Unverified::Invalid("not a signed JWT"));
    };
    let header_fields = decode_json(header)?;
    if header_fields.contains_key("crit") {
        return Err(Unverified::Invalid(
            "it has critical header parameters (`crit`) we do not understand",
        ));
    }
    let alg: CoreJwsSigningAlgorithm = header_fields
        .get("alg")
        .cloned()
        .and_then(|alg| serde_json::from_value(alg).ok())
        .ok_or(Unverified::Invalid("it has no usable `alg`"))?;
    // `none` and HMAC are refused even when a caller's list names them.
    if !allowed.contains(&alg) || !supported(&alg) {
        return Err(Unverified::Invalid("its algorithm is not allowed"));
    }
    let signature = B64
        .decode(signature)
        .map_err(|_| Unverified::Invalid("its signature is not base64url"))?;
    let kid = header_fields.get("kid").and_then(Value::as_str);
    let mut candidates = keys.named(kid);
    let key = match (candidates.next(), candidates.next()) {
        (None, _) => return Err(Unverified::NoKey),
        (Some(key), None) => key,
        (Some(_), Some(_)) => {
            return Err(Unverified::Invalid(
                "it names no key and the provider has several",
            ));
        }
    };
    // The signing input is the token up to its second dot, as sent: no copy.
    let message = &token[..header.len() + 1 + payload.len()];
    if !key.verify(&alg, message.as_bytes(), &signature) {
        return Err(Unverified::BadSignature);
    }
    decode_json(payload)
}

#[cfg(test)]
mod tests;
