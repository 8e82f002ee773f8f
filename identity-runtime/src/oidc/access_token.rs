//! Bearer access tokens for this application's own web API (RFC 9068 JWTs, Entra ID's v1 and
//! v2 tokens), verified locally: the signature against the provider's keys — the same key
//! cache as sign-in, re-fetched (rate limited) when a token names an unknown key or fails under
//! a known one — then the header and the claims. No provider call per token.

use std::borrow::Cow;

use openidconnect::core::CoreJwsSigningAlgorithm as Alg;
use serde_json::{Map, Value};

use crate::core::error::Error;
use crate::oidc::authority::IssuerRule;
use crate::oidc::jws::{self, Unverified};
use crate::oidc::provider::Provider;

/// The algorithms an access token may be signed with: asymmetric ones only. `none` and the
/// HMAC family never, whatever the token or the provider says (an HMAC "key" would be a public
/// key anyone can read).
pub(crate) const ALGORITHMS: &[Alg] = &[
    Alg::RsaSsaPkcs1V15Sha256,
    Alg::RsaSsaPkcs1V15Sha384,
    Alg::RsaSsaPkcs1V15Sha512,
    Alg::RsaSsaPssSha256,
    Alg::RsaSsaPssSha384,
    Alg::RsaSsaPssSha512,
    Alg::EcdsaP256Sha256,
    Alg::EcdsaP384Sha384,
];

/// What an access token must say to be accepted, beyond its signature and issuer.
#[derive(Debug, Clone)]
pub(crate) struct Policy {
    /// Accepted `aud` values: the client id, `api://<client id>`, and any configured.
    pub(crate) audiences: Vec<String>,
    /// When set, the token's `tid` must be one of these.
    pub(crate) tenants: Option<Vec<String>>,
    /// Seconds of clock skew allowed on `exp`, `nbf` and `iat`.
    pub(crate) leeway: i64,
    /// Whether the header must say `typ: at+jwt` (RFC 9068 §4), which keeps out every token
    /// that is not an access token, ID tokens included.
    pub(crate) require_at_jwt: bool,
}

/// Why a token was not accepted.
#[derive(Debug)]
pub(crate) enum Rejected {
    /// The token is not acceptable (401 `invalid_token`).
    Invalid(Cow<'static, str>),
    /// The provider's keys could not be had at all (503).
    Unavailable(Error),
}

fn invalid(reason: impl Into<Cow<'static, str>>) -> Rejected {
    Rejected::Invalid(reason.into())
}

/// A verified token's claims and its `exp`.
pub(crate) struct Verified {
    pub(crate) claims: Map<String, Value>,
    pub(crate) exp: i64,
}

/// Verifies `token` with the provider's keys and checks its claims at `now`.
pub(crate) async fn verify(
    provider: &Provider,
    policy: &Policy,
    token: &str,
    now: i64,
) -> Result<Verified, Rejected> {
    check_header(token, policy.require_at_jwt)?;
    let meta = provider.metadata().await.map_err(Rejected::Unavailable)?;
    let claims = match jws::verify(&meta.keys, ALGORITHMS, token) {
        // The provider may have rotated its keys (a new `kid`, or new material under an old
        // one): fetch them again, at most every so often, and try once more.
        Err(first @ (Unverified::NoKey | Unverified::BadSignature)) => {
            match provider.refetch_keys(&meta).await {
                Ok(Some(fresh)) => {
                    jws::verify(&fresh.keys, ALGORITHMS, token).map_err(unverified)?
                }
                Ok(None) => return Err(unverified(first)),
                Err(error) => {
                    tracing::warn!(error = %error.chain(), "re-fetching the provider's keys failed");
                    return Err(unverified(first));
                }
            }
        }
        other => other.map_err(unverified)?,
    };
    let rules = provider.authority().access_token_issuers(&meta.issuer_rule);
    let exp = check_claims(&rules, policy, &claims, now)?;
    Ok(Verified { claims, exp })
}

fn unverified(error: Unverified) -> Rejected {
    invalid(match error {
        Unverified::NoKey => "it is signed with a key the provider does not publish",
        Unverified::BadSignature => "its signature is invalid",
        Unverified::Invalid(reason) => reason,
    })
}

/// RFC 9068 §4: an access token says `typ: at+jwt`; Entra's say `JWT` or nothing. Any other
/// type (`logout+jwt`, ...) is another kind of token. With `require_at_jwt`, only `at+jwt`.
pub(crate) fn check_header(token: &str, require_at_jwt: bool) -> Result<(), Rejected> {
    let header = jws::header(token).map_err(|_| invalid("it is not a JWT"))?;
    if require_at_jwt {
        return match header.get("typ").and_then(Value::as_str) {
            Some(typ)
                if typ.eq_ignore_ascii_case("at+jwt")
                    || typ.eq_ignore_ascii_case("application/at+jwt") =>
            {
                Ok(())
            }
            _ => Err(invalid(
                "its `typ` is not `at+jwt`, which this API requires",
            )),
        };
    }
    match header.get("typ") {
        None => Ok(()),
        Some(Value::String(typ))
            if ["jwt", "at+jwt", "application/at+jwt"]
                .iter()
                .any(|t| typ.eq_ignore_ascii_case(t)) =>
        {
            Ok(())
        }
        Some(_) => Err(invalid("its `typ` is not an access token's")),
    }
}

fn number(claims: &Map<String, Value>, name: &str) -> Result<Option<i64>, Rejected> {
    match claims.get(name) {
        None => Ok(None),
        Some(value) => value
            .as_i64()
            .or_else(|| value.as_f64().map(|f| f as i64))
            .map(Some)
            .ok_or_else(|| invalid(format!("its `{name}` is not a number"))),
    }
}

/// The claim rules; returns the token's `exp`.
pub(crate) fn check_claims(
    issuers: &[IssuerRule],
    policy: &Policy,
    claims: &Map<String, Value>,
    now: i64,
) -> Result<i64, Rejected> {
    if !issuers.iter().any(|rule| rule.check(claims).is_ok()) {
        let iss = claims.get("iss").and_then(Value::as_str).unwrap_or("none");
        return Err(invalid(format!(
            "it was issued by another issuer (`{iss}`)"
        )));
    }
    if let Some(tenants) = &policy.tenants {
        let tid = claims.get("tid").and_then(Value::as_str);
        if !tid.is_some_and(|tid| tenants.iter().any(|t| t.eq_ignore_ascii_case(tid))) {
            return Err(invalid("its tenant is not allowed"));
        }
    }
    let ours = |aud: &str| policy.audiences.iter().any(|a| a == aud);
    let for_us = match claims.get("aud") {
        Some(Value::String(aud)) => ours(aud),
        Some(Value::Array(auds)) => auds.iter().filter_map(Value::as_str).any(ours),
        _ => false,
    };
    if !for_us {
        return Err(invalid("it is for another audience"));
    }
    let exp = number(claims, "exp")?.ok_or_else(|| invalid("it has no `exp`"))?;
    if now >= exp.saturating_add(policy.leeway) {
        return Err(invalid("it expired"));
    }
    if number(claims, "nbf")?.is_some_and(|nbf| nbf > now.saturating_add(policy.leeway)) {
        return Err(invalid("it is not valid yet (`nbf`)"));
    }
    if number(claims, "iat")?.is_some_and(|iat| iat > now.saturating_add(policy.leeway)) {
        return Err(invalid("it was issued in the future (`iat`)"));
    }
    // An ID token of a web app registered under the same client id would pass the checks
    // above; access tokens never carry a nonce. An ID token from a refresh has no nonce, which
    // is why `require_at_jwt` exists.
    if claims.contains_key("nonce") {
        return Err(invalid("it is an ID token, not an access token"));
    }
    // A logout token (OpenID Back-Channel Logout) carries `events` and may come without `typ`.
    if claims.contains_key("events") {
        return Err(invalid("it is a logout token, not an access token"));
    }
    match claims.get("sub").and_then(Value::as_str) {
        Some(sub) if !sub.is_empty() => Ok(exp),
        _ => Err(invalid("it has no `sub`")),
    }
}

#[cfg(test)]
mod tests;
