//! Client assertions of federated credentials, checked as Entra ID checks them: an assertion
//! whose audience is `api://AzureADTokenExchange` must match one federated identity credential
//! registered on the application (its issuer and subject), be signed by that issuer's key, and
//! be within its lifetime. The refusals carry Entra's AADSTS codes.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rsa::Pkcs1v15Sign;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::kernel::{keys, now};

/// The audience of every federated credential's assertion.
pub const TOKEN_EXCHANGE_AUDIENCE: &str = "api://AzureADTokenExchange";

/// A federated identity credential of the app registration: the issuer and subject its
/// assertions must carry, and the fixture key the issuer signs with.
#[derive(Clone, Debug)]
pub struct FederatedCredential {
    pub issuer: String,
    pub subject: String,
    pub key: usize,
}

/// The assertion's claims, when it is a JWT with a JSON payload.
pub(super) fn claims(assertion: &str) -> Option<Value> {
    let payload = assertion.split('.').nth(1)?;
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()
}

/// Whether `assertion` is a federated credential's (its audience is Entra's token exchange).
pub(super) fn is_federated(assertion: &str) -> bool {
    claims(assertion).is_some_and(|c| audiences(&c).iter().any(|a| a == TOKEN_EXCHANGE_AUDIENCE))
}

fn audiences(claims: &Value) -> Vec<String> {
    match &claims["aud"] {
        Value::String(a) => vec![a.clone()],
        Value::Array(list) => list
            .iter()
            .filter_map(|a| a.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

/// Checks a federated assertion against the registered credentials; `Err` is Entra's
/// description of the refusal.
pub(super) fn check(assertion: &str, registered: &[FederatedCredential]) -> Result<(), String> {
    let parts: Vec<&str> = assertion.split('.').collect();
    let [header, payload, signature] = parts[..] else {
        return Err("AADSTS50027: JWT token is invalid or malformed.".into());
    };
    let header: Value = URL_SAFE_NO_PAD
        .decode(header)
        .ok()
        .and_then(|h| serde_json::from_slice(&h).ok())
        .ok_or("AADSTS50027: JWT token is invalid or malformed.")?;
    let claims = claims(assertion).ok_or("AADSTS50027: JWT token is invalid or malformed.")?;
    let issuer = claims["iss"].as_str().unwrap_or_default();
    let subject = claims["sub"].as_str().unwrap_or_default();
    let by_issuer: Vec<&FederatedCredential> =
        registered.iter().filter(|c| c.issuer == issuer).collect();
    if by_issuer.is_empty() {
        return Err(format!(
            "AADSTS700211: No matching federated identity record found for presented assertion issuer '{issuer}'."
        ));
    }
    let Some(credential) = by_issuer.iter().find(|c| c.subject == subject) else {
        return Err(format!(
            "AADSTS700213: No matching federated identity record found for presented assertion subject '{subject}'."
        ));
    };
    if header["alg"] != "RS256" {
        return Err("AADSTS5002738: Invalid JWT token. Unsupported signing algorithm.".into());
    }
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| "AADSTS50027: JWT token is invalid or malformed.")?;
    let digest =
        Sha256::digest(format!("{header_b64}.{payload}", header_b64 = parts[0]).as_bytes());
    keys()[credential.key]
        .to_public_key()
        .verify(Pkcs1v15Sign::new::<Sha256>(), &digest, &signature)
        .map_err(|_| {
            "AADSTS50013: Assertion failed signature validation. [Reason - The key was not found.]"
                .to_owned()
        })?;
    let exp = claims["exp"].as_i64().unwrap_or(0);
    let nbf = claims["nbf"].as_i64().unwrap_or(0);
    let now = now();
    if exp <= now || nbf > now + 300 {
        return Err(
            "AADSTS700024: Client assertion is not within its valid time range.".to_owned(),
        );
    }
    Ok(())
}
