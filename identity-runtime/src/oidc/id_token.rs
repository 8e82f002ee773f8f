//! Verifying an ID token (signature, `iss`, `aud`, `azp`, `exp`, `iat`, `nonce`, `sub`),
//! completing a thin one's claims from userinfo, and both for a sign-in's token response
//! (`claims_from`).

use std::sync::Arc;

use axum::http::header;
use openidconnect::core::{CoreIdToken, CoreTokenResponse};
use openidconnect::{
    ClaimsVerificationError, Nonce, NonceVerifier, OAuth2TokenResponse, TokenResponse,
};
use serde_json::{Map, Value};

use crate::core::error::Error;
use crate::core::http::{MAX_RESPONSE_BYTES, read_limited};
use crate::oidc::authority::IssuerRule;
use crate::oidc::client::Client;
use crate::oidc::jws::{self, Unverified};
use crate::oidc::provider::{Metadata, Provider};

/// How a flow checks the nonce: the sign-in compares it, a refresh has none to compare.
pub(crate) trait NonceCheck {
    fn check(&self, nonce: Option<&Nonce>) -> Result<(), String>;
}

impl NonceCheck for Nonce {
    fn check(&self, nonce: Option<&Nonce>) -> Result<(), String> {
        self.verify(nonce)
    }
}

/// Refreshed ID tokens carry no nonce (OpenID Connect Core §12.2), and the Device Code flow has
/// none to compare.
pub(crate) struct NoNonce;

impl NonceCheck for NoNonce {
    fn check(&self, _: Option<&Nonce>) -> Result<(), String> {
        Ok(())
    }
}

/// The time rules of a token: what time it is, and how much clock skew between us and the
/// provider is tolerated on `exp`, `iat` and `nbf`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TimeRules {
    /// Unix seconds.
    pub(crate) now: i64,
    /// Seconds.
    pub(crate) leeway: i64,
}

impl TimeRules {
    fn at(seconds: i64) -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::from_timestamp(seconds, 0).unwrap_or_default()
    }

    /// `nbf` and `iat` may not be later than now plus the leeway.
    fn check(&self, claims: &Map<String, Value>) -> Result<(), Error> {
        let latest = self.now + self.leeway;
        if claims
            .get("nbf")
            .and_then(Value::as_i64)
            .is_some_and(|nbf| nbf > latest)
        {
            return Err(Error::InvalidToken(
                "the token is not valid yet (`nbf`)".into(),
            ));
        }
        if claims
            .get("iat")
            .and_then(Value::as_i64)
            .is_some_and(|iat| iat > latest)
        {
            return Err(Error::InvalidToken(
                "the token was issued in the future (`iat`)".into(),
            ));
        }
        Ok(())
    }
}

/// Verifies an ID token and returns its raw claims, with the metadata it was verified under.
/// An unknown signing key, or a signature that fails under a known one (the provider replaced
/// its key but kept the `kid`, or serves one key without any), makes one (rate-limited) attempt
/// with freshly fetched keys.
///
/// The signature is checked here, with ring (`jws::verify`, the same check as every other token
/// of the library); openidconnect then checks the claims of the very same token
/// (`verify_claims`).
pub(crate) async fn verify(
    client: &Client,
    provider: &Provider,
    meta: Arc<Metadata>,
    id_token: &CoreIdToken,
    nonce: &impl NonceCheck,
    time: TimeRules,
) -> Result<(Arc<Metadata>, Map<String, Value>), Error> {
    // The compact form as received: openidconnect keeps the token's own bytes.
    let token = id_token.to_string();
    let (meta, claims) = match jws::verify(&meta.keys, &meta.allowed_algs(), &token) {
        Ok(claims) => (meta, claims),
        // The provider may have rotated its keys, under a new `kid` or the same one.
        Err(first @ (Unverified::NoKey | Unverified::BadSignature)) => {
            match provider.refetch_keys(&meta).await? {
                Some(fresh) => {
                    let claims = jws::verify(&fresh.keys, &fresh.allowed_algs(), &token)
                        .map_err(unaccepted)?;
                    (fresh, claims)
                }
                None => return Err(unaccepted(first)),
            }
        }
        Err(other) => return Err(unaccepted(other)),
    };
    verify_claims(client, &meta, id_token, nonce, time)
        .map_err(|e| Error::InvalidToken(e.to_string()))?;
    time.check(&claims)?;
    let claims = check_claims(&meta.issuer_rule, client.id(), claims)?;
    Ok((meta, claims))
}

/// Keeps the cause of a signature failure ("not allowed", "unknown key") for the log.
fn unaccepted(error: Unverified) -> Error {
    Error::InvalidToken(format!(
        "the ID token's signature was not accepted: {error}"
    ))
}

/// openidconnect's claim checks (`iss`, `aud`, `exp`, `iat`, `nonce`) on a token whose
/// signature `verify` has just checked.
///
/// Its signature check is switched off here, and only here, because it would repeat the one
/// made a moment before on the same bytes (`id_token.to_string()` is the token as received,
/// and the claims checked are parsed from it), through the `rsa` crate at several times the
/// cost. Nothing reaches this function without that check: it is private and `verify` calls it
/// only after `jws::verify` succeeded.
fn verify_claims(
    client: &Client,
    meta: &Metadata,
    id_token: &CoreIdToken,
    nonce: &impl NonceCheck,
    time: TimeRules,
) -> Result<(), ClaimsVerificationError> {
    let oidc = client
        .oidc(meta)
        .map_err(|e| ClaimsVerificationError::Other(e.to_string()))?;
    let verifier = oidc
        .id_token_verifier()
        .insecure_disable_signature_check()
        .require_issuer_match(meta.issuer_rule.exact().is_some())
        // `exp` is compared with this time: an ID token stays acceptable for the leeway.
        .set_time_fn(move || TimeRules::at(time.now - time.leeway))
        .set_issue_time_verifier_fn(move |iat| {
            if iat > TimeRules::at(time.now + time.leeway) {
                Err("the ID token was issued in the future".into())
            } else {
                Ok(())
            }
        });
    id_token
        .claims(&verifier, |n: Option<&Nonce>| nonce.check(n))
        .map(|_| ())
}

/// The claim rules openidconnect leaves to us: the issuer rule of the authority, `azp`, `sub`.
fn check_claims(
    issuer_rule: &IssuerRule,
    client_id: &str,
    claims: Map<String, Value>,
) -> Result<Map<String, Value>, Error> {
    issuer_rule.check(&claims).map_err(Error::InvalidToken)?;
    // OpenID Connect Core §3.1.3.7 step 5; the openidconnect crate leaves `azp` unchecked.
    if let Some(azp) = claims
        .get("azp")
        .filter(|azp| azp.as_str() != Some(client_id))
    {
        return Err(Error::InvalidToken(format!(
            "the ID token was issued to another party (azp {azp})"
        )));
    }
    match claims.get("sub").and_then(Value::as_str) {
        Some(sub) if !sub.is_empty() => Ok(claims),
        _ => Err(Error::InvalidToken("the ID token has no `sub`".into())),
    }
}

/// The claims of a sign-in's token response (the authorization code's or the Device Code's):
/// its ID token verified, and a thin one completed from userinfo with the access token of the
/// same response. The one place a sign-in turns a token response into the user's claims, so the
/// two flows cannot check differently.
pub(crate) async fn claims_from(
    client: &Client,
    provider: &Provider,
    meta: Arc<Metadata>,
    response: &CoreTokenResponse,
    nonce: &impl NonceCheck,
    time: TimeRules,
) -> Result<Map<String, Value>, Error> {
    let id_token = response
        .id_token()
        .ok_or_else(|| Error::InvalidToken("the provider sent no ID token".into()))?;
    let (meta, mut claims) = verify(client, provider, meta, id_token, nonce, time).await?;
    if needs_userinfo(&claims) {
        merge_userinfo(
            provider,
            &meta,
            response.access_token().secret(),
            &mut claims,
        )
        .await?;
    }
    Ok(claims)
}

/// A code-flow ID token may carry only `sub` (OpenID Connect Core §5.4); the profile then
/// comes from userinfo.
pub(crate) fn needs_userinfo(claims: &Map<String, Value>) -> bool {
    !["name", "preferred_username", "email"]
        .iter()
        .any(|c| claims.contains_key(*c))
}

/// Adds userinfo's claims to a thin ID token's. Userinfo failing is not fatal (the ID token
/// alone signs the user in); userinfo about another subject is.
async fn merge_userinfo(
    provider: &Provider,
    meta: &Metadata,
    access_token: &str,
    claims: &mut Map<String, Value>,
) -> Result<(), Error> {
    let Some(url) = meta.provider.userinfo_endpoint() else {
        return Ok(());
    };
    let response = provider
        .http()
        .get(url.as_str())
        .bearer_auth(access_token)
        .header(header::ACCEPT, "application/json")
        .send()
        .await;
    let info: Map<String, Value> = match response {
        Ok(r) if r.status().is_success() => match read_limited(r, MAX_RESPONSE_BYTES).await {
            Ok(body) => match serde_json::from_slice(&body) {
                Ok(info) => info,
                Err(error) => {
                    tracing::warn!(%error, "userinfo is not a JSON object; using the ID token's claims only");
                    return Ok(());
                }
            },
            Err(error) => {
                tracing::warn!(%error, "userinfo unreadable; using the ID token's claims only");
                return Ok(());
            }
        },
        Ok(r) => {
            tracing::warn!(status = %r.status(), "userinfo failed; using the ID token's claims only");
            return Ok(());
        }
        Err(error) => {
            tracing::warn!(%error, "userinfo unreachable; using the ID token's claims only");
            return Ok(());
        }
    };
    merge(claims, info)
}

/// OpenID Connect Core §5.3.2: a userinfo `sub` that differs means the answer is not about this
/// user and must not be used. The ID token's claims win over userinfo's.
fn merge(claims: &mut Map<String, Value>, info: Map<String, Value>) -> Result<(), Error> {
    if info.get("sub") != claims.get("sub") {
        return Err(Error::InvalidToken(
            "the userinfo response is about another subject".into(),
        ));
    }
    for (name, value) in info {
        claims.entry(name).or_insert(value);
    }
    Ok(())
}

#[cfg(test)]
mod tests;
