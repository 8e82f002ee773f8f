//! Opaque access tokens for a web API (RFC 7662): a bearer token that is not a JWT is sent to
//! the provider's introspection endpoint, authenticated as the API itself (its secret or its
//! certificate), and the answer is checked like a JWT's claims. Answers are cached, bounded in
//! bytes, never past the token's `exp` and at most a short TTL, so a repeated token costs no
//! provider call, and a revoked one is refused again within that TTL.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value};
use sha2::Digest as _;

use crate::core::error::{Error, Flow};
use crate::oidc::access_token::{Policy, Rejected};
use crate::oidc::client::Client;
use crate::oidc::provider::Provider;

/// How long an introspection answer is trusted by default: a minute, the time a revoked token
/// may still be accepted.
pub(crate) const DEFAULT_TTL: Duration = Duration::from_secs(60);
/// How many bytes of answers are kept by default (about 20,000 typical answers).
const DEFAULT_CAPACITY_BYTES: u64 = 8 * 1024 * 1024;
/// What an entry costs besides its claims: the key, the map and the cache's own bookkeeping.
const ENTRY_OVERHEAD: usize = 160;

/// A cached answer: the claims, and until when (the API's clock) they may be used.
#[derive(Clone)]
struct Entry {
    claims: Arc<Map<String, Value>>,
    until: i64,
    weight: u32,
}

/// Introspects the tokens a web API receives that are not JWTs.
pub(crate) struct Introspector {
    client: Client,
    ttl: Duration,
    cache: moka::sync::Cache<[u8; 32], Entry>,
}

impl Introspector {
    /// Introspects as `client` (the API's own credentials), trusting each answer for `ttl` at
    /// most.
    pub(crate) fn new(client: Client, ttl: Duration) -> Self {
        Introspector {
            client,
            ttl,
            cache: moka::sync::Cache::builder()
                .max_capacity(DEFAULT_CAPACITY_BYTES)
                .weigher(|_key, entry: &Entry| entry.weight)
                // A backstop on wall-clock time; the entry's own `until` decides first.
                .time_to_live(ttl.max(Duration::from_secs(1)))
                .build(),
        }
    }

    /// The claims of the active token `token`, from the cache or the provider.
    pub(crate) async fn claims(
        &self,
        provider: &Provider,
        policy: &Policy,
        token: &str,
        now: i64,
    ) -> Result<Arc<Map<String, Value>>, Rejected> {
        let key: [u8; 32] = sha2::Sha256::digest(token.as_bytes()).into();
        if let Some(entry) = self.cache.get(&key) {
            if now < entry.until {
                return Ok(entry.claims);
            }
            self.cache.invalidate(&key);
        }
        let meta = provider.metadata().await.map_err(Rejected::Unavailable)?;
        let Some(endpoint) = meta.extra.introspection_endpoint.clone() else {
            return Err(not_a_jwt());
        };
        let form = vec![
            ("token".to_owned(), token.to_owned()),
            ("token_type_hint".to_owned(), "access_token".to_owned()),
        ];
        // Every failure to get an answer is the provider's or ours, never the caller's: 503.
        let unavailable = |error: Error| {
            Rejected::Unavailable(match error {
                Error::Config(config) => Error::unavailable(config.to_string()),
                other => other,
            })
        };
        let (status, body, summary) = self
            .client
            .post_form(provider, &meta, &endpoint, form, Flow::Introspection)
            .await
            .map_err(unavailable)?;
        if !status.is_success() {
            let refused = status == reqwest::StatusCode::UNAUTHORIZED
                || status == reqwest::StatusCode::FORBIDDEN;
            let what = if refused {
                format!(
                    "{}: the provider refused the API's credentials ({summary}); check CLIENT_ID \
                     and CLIENT_SECRET (or CLIENT_CERTIFICATE) of the API, and \
                     TOKEN_ENDPOINT_AUTH_METHOD",
                    Flow::Introspection
                )
            } else {
                format!(
                    "{}: the introspection endpoint answered {summary}",
                    Flow::Introspection
                )
            };
            return Err(Rejected::Unavailable(Error::unavailable(what)));
        }
        let answer: Map<String, Value> = serde_json::from_slice(&body).map_err(|e| {
            Rejected::Unavailable(Error::unavailable_because(
                format!(
                    "{}: the answer is unreadable ({summary})",
                    Flow::Introspection
                ),
                e,
            ))
        })?;
        let exp = check(provider, &meta.issuer_rule, policy, &answer, now)?;
        let until = exp.min(now.saturating_add(self.ttl.as_secs() as i64));
        let weight = (body.len() + token.len() / 4 + ENTRY_OVERHEAD).min(u32::MAX as usize) as u32;
        let claims = Arc::new(answer);
        self.cache.insert(
            key,
            Entry {
                claims: claims.clone(),
                until,
                weight,
            },
        );
        Ok(claims)
    }
}

/// The refusal of a token that is not a JWT, at an API that cannot introspect.
pub(crate) fn not_a_jwt() -> Rejected {
    Rejected::Invalid(
        "it is not a JWT, and this API validates JWT access tokens only (the provider publishes \
         no introspection endpoint, or the API has no client credentials to call it)"
            .into(),
    )
}

/// RFC 7662 §2.2: `active` must be true; `exp` (required here: without it the answer could be
/// trusted for ever), `nbf`, `iss`, `aud`, `sub` and `client_id` are checked as a JWT's when
/// present. Returns `exp`.
fn check(
    provider: &Provider,
    issuer: &crate::oidc::authority::IssuerRule,
    policy: &Policy,
    answer: &Map<String, Value>,
    now: i64,
) -> Result<i64, Rejected> {
    let invalid = |reason: &'static str| Rejected::Invalid(reason.into());
    if answer.get("active") != Some(&Value::Bool(true)) {
        return Err(invalid("the provider says it is not active"));
    }
    let number = |name: &str| answer.get(name).and_then(Value::as_i64);
    let exp = number("exp").ok_or_else(|| invalid("its introspection has no `exp`"))?;
    if now >= exp.saturating_add(policy.leeway) {
        return Err(invalid("it expired"));
    }
    if number("nbf").is_some_and(|nbf| nbf > now.saturating_add(policy.leeway)) {
        return Err(invalid("it is not valid yet (`nbf`)"));
    }
    if answer.contains_key("iss") {
        let rules = provider.authority().access_token_issuers(issuer);
        if !rules.iter().any(|rule| rule.check(answer).is_ok()) {
            return Err(invalid("it was issued by another issuer"));
        }
    }
    let ours = |aud: &str| policy.audiences.iter().any(|a| a == aud);
    let for_us = match answer.get("aud") {
        None => true,
        Some(Value::String(aud)) => ours(aud),
        Some(Value::Array(auds)) => auds.iter().filter_map(Value::as_str).any(ours),
        Some(_) => false,
    };
    if !for_us {
        return Err(invalid("it is for another audience"));
    }
    for name in ["sub", "client_id", "scope"] {
        if answer.get(name).is_some_and(|v| !v.is_string()) {
            return Err(invalid(
                "its introspection has a malformed `sub`, `client_id` or `scope`",
            ));
        }
    }
    Ok(exp)
}

#[cfg(test)]
mod tests;
