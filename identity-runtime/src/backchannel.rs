//! OpenID Connect Back-Channel Logout 1.0: the provider tells the application, server to
//! server, that a user signed out, and every session of that user here ends.
//!
//! Sessions live in a tower-sessions store that cannot be searched by user, so the logout is
//! recorded as a marker ("`sub` signed out at `t`") in the same store, under an id derived from
//! the issuer and subject; a protected request checks the marker (cached in-process for a few
//! seconds, so a request costs no extra store read) and treats sessions that began before it
//! as signed out.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use openidconnect::JsonWebKey;
use openidconnect::core::{CoreJsonWebKey, CoreJwsSigningAlgorithm};
use serde_json::{Map, Value};
use sha2::Digest as _;
use tower_sessions::session::{Id, Record as StoreRecord};
use tower_sessions::session_store::SessionStore;

use crate::Error;
use crate::config::Auth;
use crate::flow::parse_params;
use crate::record;

const EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";
/// How long a marker lookup is trusted before the store is asked again: the delay with which a
/// logout received by one instance reaches the others.
const MARK_CACHE: Duration = Duration::from_secs(5);
/// Logout tokens older than this are refused (and their `jti`s need not be remembered longer).
const MAX_AGE: i64 = 600;

/// The store handle and caches behind back-channel logout.
#[derive(Default)]
pub(crate) struct Marks {
    pub(crate) store: OnceLock<Arc<dyn SessionStore>>,
    seen: Mutex<HashMap<String, (Instant, Option<i64>)>>,
    jtis: Mutex<HashMap<String, i64>>,
}

fn marker_id(iss: &str, sub: &str) -> Id {
    let digest = sha2::Sha256::digest(format!("axum-identity logout\n{iss}\n{sub}").as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    Id(i128::from_le_bytes(bytes))
}

impl Marks {
    /// When `sub` of `iss` was last signed out by the provider, if ever (within the session
    /// lifetime).
    pub(crate) async fn signed_out_at(&self, iss: &str, sub: &str) -> Result<Option<i64>, Error> {
        let Some(store) = self.store.get() else {
            return Ok(None);
        };
        let key = format!("{iss}\n{sub}");
        let cached = self
            .seen
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
            .filter(|(at, _)| at.elapsed() < MARK_CACHE)
            .map(|(_, value)| *value);
        if let Some(value) = cached {
            return Ok(value);
        }
        let loaded = store
            .load(&marker_id(iss, sub))
            .await
            .map_err(|e| Error::SessionStore(e.to_string()))?;
        let value = loaded.and_then(|r| r.data.get("signed_out_at").and_then(Value::as_i64));
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        if seen.len() > 10_000 {
            seen.retain(|_, (at, _)| at.elapsed() < MARK_CACHE);
        }
        seen.insert(key, (Instant::now(), value));
        Ok(value)
    }

    async fn mark(&self, iss: &str, sub: &str, at: i64, lifetime: Duration) -> Result<(), Error> {
        let store = self.store.get().ok_or(Error::Setup(
            "back-channel logout needs the session store: build the session layer with `Auth::session_layer`",
        ))?;
        let id = marker_id(iss, sub);
        let mut data = HashMap::new();
        data.insert("signed_out_at".to_owned(), Value::from(at));
        let expiry = time::OffsetDateTime::now_utc()
            + time::Duration::try_from(lifetime).unwrap_or(time::Duration::days(1));
        let mut marker = StoreRecord {
            id,
            data,
            expiry_date: expiry,
        };
        let failed = |e: tower_sessions::session_store::Error| Error::SessionStore(e.to_string());
        // `save` updates an existing record (some stores only update); `create` makes it.
        store.save(&marker).await.map_err(failed)?;
        if store.load(&id).await.map_err(failed)?.is_none() {
            store.create(&mut marker).await.map_err(failed)?;
        }
        self.seen
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(format!("{iss}\n{sub}"), (Instant::now(), Some(at)));
        Ok(())
    }

    /// Remembers a `jti`; false when it was seen before (a replay).
    fn first_use(&self, jti: &str, now: i64) -> bool {
        let mut jtis = self.jtis.lock().unwrap_or_else(|e| e.into_inner());
        jtis.retain(|_, at| now - *at <= MAX_AGE * 2);
        jtis.insert(jti.to_owned(), now).is_none()
    }
}

/// `POST <logout_path>/backchannel`.
pub(crate) async fn receive(auth: &Auth, body: &[u8]) -> Response {
    let answer = |status: StatusCode, error: Option<String>| {
        let mut response = match error {
            Some(error) => {
                tracing::info!(%error, "back-channel logout refused");
                (
                    status,
                    axum::Json(
                        serde_json::json!({"error": "invalid_request", "error_description": error}),
                    ),
                )
                    .into_response()
            }
            None => status.into_response(),
        };
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    };
    match handle(auth, body).await {
        Ok(()) => answer(StatusCode::OK, None),
        Err(Error::InvalidToken(reason) | Error::Malformed(reason)) => {
            answer(StatusCode::BAD_REQUEST, Some(reason))
        }
        Err(Error::MissingParameter(name)) => {
            answer(StatusCode::BAD_REQUEST, Some(format!("missing `{name}`")))
        }
        Err(Error::DuplicateParameter(name)) => answer(
            StatusCode::BAD_REQUEST,
            Some(format!("`{name}` more than once")),
        ),
        Err(other) => answer(other.status(), Some(other.to_string())),
    }
}

async fn handle(auth: &Auth, body: &[u8]) -> Result<(), Error> {
    let params = parse_params(body)?;
    let token = params
        .get("logout_token")
        .ok_or(Error::MissingParameter("logout_token"))?;
    let provider = &auth.inner.provider;
    let meta = provider.metadata().await?;
    let claims = match verify(&meta.jwks, &meta.allowed_algs(), token) {
        Err(Unverified::NoKey) => match provider.refetch_keys(&meta).await? {
            Some(fresh) => {
                verify(&fresh.jwks, &fresh.allowed_algs(), token).map_err(Unverified::into_error)?
            }
            None => return Err(Unverified::NoKey.into_error()),
        },
        other => other.map_err(Unverified::into_error)?,
    };
    meta.issuer_rule
        .check(&claims)
        .map_err(Error::InvalidToken)?;
    let invalid = |reason: &str| Err(Error::InvalidToken(reason.to_owned()));
    match claims.get("aud") {
        Some(Value::String(aud)) if aud == &auth.inner.client_id => {}
        Some(Value::Array(auds))
            if auds.len() == 1 && auds[0].as_str() == Some(&auth.inner.client_id) => {}
        _ => return invalid("the logout token is not for this client"),
    }
    let now = record::now();
    let iat = claims
        .get("iat")
        .and_then(Value::as_i64)
        .ok_or(Error::InvalidToken("no `iat`".into()))?;
    if iat > now + 60 || now - iat > MAX_AGE {
        return invalid("the logout token is too old or from the future");
    }
    if claims
        .get("exp")
        .and_then(Value::as_i64)
        .is_some_and(|exp| exp < now)
    {
        return invalid("the logout token expired");
    }
    // §2.6: a logout token carries the back-channel logout event and never a nonce (so an ID
    // token cannot be passed off as one).
    if !claims
        .get("events")
        .and_then(Value::as_object)
        .is_some_and(|events| events.get(EVENT).is_some_and(Value::is_object))
    {
        return invalid("the logout token has no back-channel logout event");
    }
    if claims.contains_key("nonce") {
        return invalid("a logout token must not contain a nonce");
    }
    let sub = match claims.get("sub").and_then(Value::as_str) {
        Some(sub) if !sub.is_empty() => sub,
        _ => {
            return invalid(
                "the logout token has no `sub` (logout by `sid` alone is not supported)",
            );
        }
    };
    let jti = claims
        .get("jti")
        .and_then(Value::as_str)
        .filter(|j| !j.is_empty())
        .ok_or(Error::InvalidToken("no `jti`".into()))?;
    let iss = claims
        .get("iss")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !auth.inner.marks.first_use(&format!("{iss}\n{jti}"), now) {
        return invalid("the logout token was already used");
    }
    auth.inner
        .marks
        .mark(iss, sub, now, auth.inner.session_lifetime)
        .await?;
    tracing::info!("back-channel logout: every session of a user ended");
    Ok(())
}

enum Unverified {
    NoKey,
    Invalid(String),
}

impl Unverified {
    fn into_error(self) -> Error {
        match self {
            Unverified::NoKey => {
                Error::InvalidToken("the logout token is signed with an unknown key".into())
            }
            Unverified::Invalid(reason) => Error::InvalidToken(reason),
        }
    }
}

/// Checks the JWS (header and signature, with the crate's own key and algorithm types) and
/// returns the claims.
fn verify(
    jwks: &openidconnect::core::CoreJsonWebKeySet,
    allowed: &[CoreJwsSigningAlgorithm],
    token: &str,
) -> Result<Map<String, Value>, Unverified> {
    let invalid = |reason: &str| Unverified::Invalid(reason.to_owned());
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(invalid("the logout token is not a signed JWT"));
    };
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let decode_json = |part: &str| -> Result<Map<String, Value>, Unverified> {
        let bytes = b64
            .decode(part)
            .map_err(|_| invalid("the logout token is not base64url"))?;
        serde_json::from_slice(&bytes).map_err(|_| invalid("the logout token is not JSON"))
    };
    let header = decode_json(header)?;
    if header.contains_key("crit") {
        return Err(invalid(
            "the logout token has critical header parameters we do not understand",
        ));
    }
    let alg: CoreJwsSigningAlgorithm = header
        .get("alg")
        .cloned()
        .and_then(|alg| serde_json::from_value(alg).ok())
        .ok_or_else(|| invalid("the logout token has no usable `alg`"))?;
    if !allowed.contains(&alg) {
        return Err(invalid("the logout token's algorithm is not allowed"));
    }
    let signature = b64
        .decode(signature)
        .map_err(|_| invalid("the logout token's signature is not base64url"))?;
    let kid = header.get("kid").and_then(Value::as_str);
    let candidates: Vec<&CoreJsonWebKey> = jwks
        .keys()
        .iter()
        .filter(|key| match kid {
            Some(kid) => key.key_id().is_some_and(|id| id.as_str() == kid),
            None => true,
        })
        .collect();
    let key = match candidates.as_slice() {
        [] => return Err(Unverified::NoKey),
        [key] => key,
        _ => {
            return Err(invalid(
                "the logout token names no key and the provider has several",
            ));
        }
    };
    let message = format!(
        "{}.{}",
        token.split('.').next().unwrap_or_default(),
        payload
    );
    key.verify_signature(&alg, message.as_bytes(), &signature)
        .map_err(|e| {
            Unverified::Invalid(format!("the logout token's signature is invalid: {e}"))
        })?;
    decode_json(payload)
}
