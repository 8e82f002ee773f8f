//! OpenID Connect Back-Channel Logout 1.0: the provider tells the application, server to
//! server, that a user signed out, and every session of that user here ends.
//!
//! Sessions live in a tower-sessions store that cannot be searched by user, so the logout is
//! recorded as a marker ("`sub` signed out at `t`") in the same store, under an id derived from
//! the issuer and subject with a key only the application's instances know (so no cookie can
//! name a marker, load it as a session and delete it); a protected request checks the marker
//! (cached in-process for a few seconds, so a request costs no extra store read) and treats
//! sessions that began before it as signed out.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};
use sha2::Digest as _;
use tower_sessions::session::{Id, Record as StoreRecord};
use tower_sessions::session_store::SessionStore;

use crate::core::error::{ConfigError, Error, Setting};
use crate::core::params::parse_params;
use crate::core::response::NOT_CACHED;
use crate::oidc::jws::{self, Unverified};
use crate::oidc::provider::Provider;
use crate::store::single_use::SingleUse;

const EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";
/// How long a marker lookup is trusted before the store is asked again: the delay with which a
/// logout received by one instance reaches the others.
const MARK_CACHE: Duration = Duration::from_secs(5);
/// Logout tokens older than this are refused (and their `jti`s need not be remembered longer).
const MAX_AGE: i64 = 600;
/// How far in the future an `iat` may be (clock skew).
const LEEWAY: i64 = 60;

/// The back-channel logout markers: recorded in the session store, looked up (with a short
/// in-process cache) by every protected request.
pub(crate) struct LogoutMarkers {
    /// The key of the markers' ids, the same on every instance.
    key: Vec<u8>,
    seen: Mutex<HashMap<String, (Instant, Option<i64>)>>,
}

/// What a logout token is checked against.
pub(crate) struct Receiver<'a> {
    pub(crate) store: &'a dyn SessionStore,
    pub(crate) provider: &'a Provider,
    pub(crate) client_id: &'a str,
    /// How long a marker must be kept: the longest a session can live.
    pub(crate) lifetime: Duration,
    /// Where used `jti`s are remembered (across instances with a shared lock).
    pub(crate) once: &'a SingleUse,
    pub(crate) now: i64,
}

impl LogoutMarkers {
    /// Markers whose ids are keyed with `secret` (shared by every instance).
    pub(crate) fn new(secret: &[u8]) -> Self {
        LogoutMarkers {
            key: sha2::Sha256::digest([b"axum-identity logout markers\n", secret].concat())
                .to_vec(),
            seen: Mutex::default(),
        }
    }

    /// The markers of back-channel logout, keyed with a secret every instance has and that does
    /// not change when the client's credentials rotate: the dedicated key, else the token
    /// encryption key.
    pub(crate) fn from_settings(
        enabled: bool,
        dedicated: Option<&str>,
        token_key: Option<&str>,
    ) -> Result<LogoutMarkers, ConfigError> {
        if let Some(key) = dedicated.map(str::trim) {
            if key.len() < 32 {
                return Err(ConfigError::invalid(
                    Setting::BackchannelLogoutKey,
                    "it must be a secret of at least 32 characters (`openssl rand -base64 32`)",
                ));
            }
            return Ok(LogoutMarkers::new(key.as_bytes()));
        }
        match (token_key, enabled) {
            (Some(key), _) => Ok(LogoutMarkers::new(key.as_bytes())),
            (None, false) => Ok(LogoutMarkers::new(b"")),
            (None, true) => Err(ConfigError::missing(
                Setting::BackchannelLogoutKey,
                Some(
                    "back-channel logout keys its markers with it (or with TOKEN_ENCRYPTION_KEY), \
                     a key that stays the same when the client's credentials rotate",
                ),
            )),
        }
    }

    pub(crate) fn marker_id(&self, iss: &str, sub: &str) -> Id {
        use hmac::Mac as _;
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&self.key)
            .expect("HMAC takes a key of any length");
        mac.update(format!("{iss}\n{sub}").as_bytes());
        let digest = mac.finalize().into_bytes();
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&digest[..16]);
        Id(i128::from_le_bytes(bytes))
    }
}

/// What a verified logout token says: who signed out.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Logout<'a> {
    pub(crate) iss: &'a str,
    pub(crate) sub: &'a str,
    pub(crate) jti: &'a str,
}

impl LogoutMarkers {
    /// When `sub` of `iss` was last signed out by the provider, if ever (within the session
    /// lifetime).
    pub(crate) async fn signed_out_at(
        &self,
        store: &dyn SessionStore,
        iss: &str,
        sub: &str,
    ) -> Result<Option<i64>, Error> {
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
            .load(&self.marker_id(iss, sub))
            .await
            .map_err(Error::store)?;
        let value = loaded.and_then(|r| r.data.get("signed_out_at").and_then(Value::as_i64));
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        if seen.len() > 10_000 {
            seen.retain(|_, (at, _)| at.elapsed() < MARK_CACHE);
        }
        seen.insert(key, (Instant::now(), value));
        Ok(value)
    }

    async fn mark(
        &self,
        store: &dyn SessionStore,
        iss: &str,
        sub: &str,
        at: i64,
        lifetime: Duration,
    ) -> Result<(), Error> {
        let id = self.marker_id(iss, sub);
        let mut data = HashMap::new();
        data.insert("signed_out_at".to_owned(), Value::from(at));
        // The store expires records by its own (wall) clock.
        let expiry = time::OffsetDateTime::now_utc()
            + time::Duration::try_from(lifetime).unwrap_or(time::Duration::days(1));
        let mut marker = StoreRecord {
            id,
            data,
            expiry_date: expiry,
        };
        // `save` updates an existing record (some stores only update); `create` makes it.
        store.save(&marker).await.map_err(Error::store)?;
        if store.load(&id).await.map_err(Error::store)?.is_none() {
            store.create(&mut marker).await.map_err(Error::store)?;
        }
        self.seen
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(format!("{iss}\n{sub}"), (Instant::now(), Some(at)));
        Ok(())
    }

    /// `POST <logout_path>/backchannel`: verifies the logout token and ends every session of
    /// its user. Answers 200, or 400 with a JSON error (§2.8).
    #[tracing::instrument(
        name = "backchannel",
        level = "debug",
        skip_all,
        fields(flow = "backchannel")
    )]
    pub(crate) async fn receive(&self, to: Receiver<'_>, body: &[u8]) -> Response {
        let answer = |status: StatusCode, error: Option<String>| match error {
            Some(error) => {
                tracing::info!(error = ?error, "back-channel logout refused");
                (
                    status,
                    [NOT_CACHED],
                    axum::Json(
                        serde_json::json!({"error": "invalid_request", "error_description": error}),
                    ),
                )
                    .into_response()
            }
            None => (status, [NOT_CACHED]).into_response(),
        };
        match self.handle(to, body).await {
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
            Err(other) => {
                tracing::warn!(error = %other.chain(), "back-channel logout failed");
                answer(other.status(), Some(other.to_string()))
            }
        }
    }

    async fn handle(&self, to: Receiver<'_>, body: &[u8]) -> Result<(), Error> {
        let provider = to.provider;
        let params = parse_params(body)?;
        let token = params
            .get("logout_token")
            .ok_or(Error::MissingParameter("logout_token"))?;
        let meta = provider.metadata().await?;
        let claims = match jws::verify(&meta.keys, &meta.allowed_algs(), token) {
            // The provider may have rotated its keys, under a new `kid` or the same one.
            Err(unverified @ (Unverified::NoKey | Unverified::BadSignature)) => {
                match provider.refetch_keys(&meta).await? {
                    Some(fresh) => {
                        jws::verify(&fresh.keys, &fresh.allowed_algs(), token).map_err(rejected)?
                    }
                    None => return Err(rejected(unverified)),
                }
            }
            other => other.map_err(rejected)?,
        };
        meta.issuer_rule
            .check(&claims)
            .map_err(Error::InvalidToken)?;
        let logout = check_claims(&claims, to.client_id, to.now)?;
        // Remembered past the token's oldest acceptable age, so a replay is always caught.
        let jti = format!("{}\n{}", logout.iss, logout.jti);
        let remember = Duration::from_secs(2 * MAX_AGE as u64);
        if !to.once.claim("jti", &jti, to.now, remember).await? {
            return Err(Error::InvalidToken(
                "the logout token was already used".into(),
            ));
        }
        self.mark(to.store, logout.iss, logout.sub, to.now, to.lifetime)
            .await?;
        tracing::info!("back-channel logout: every session of a user ended");
        Ok(())
    }
}

fn rejected(error: Unverified) -> Error {
    Error::InvalidToken(format!("the logout token is not acceptable: {error}"))
}

/// The claim rules of a logout token (§2.4, §2.6), beyond the signature and the issuer.
pub(crate) fn check_claims<'a>(
    claims: &'a Map<String, Value>,
    client_id: &str,
    now: i64,
) -> Result<Logout<'a>, Error> {
    let invalid = |reason: &str| Err(Error::InvalidToken(reason.to_owned()));
    match claims.get("aud") {
        Some(Value::String(aud)) if aud == client_id => {}
        Some(Value::Array(auds)) if auds.len() == 1 && auds[0].as_str() == Some(client_id) => {}
        _ => return invalid("the logout token is not for this client"),
    }
    let iat = claims
        .get("iat")
        .and_then(Value::as_i64)
        .ok_or(Error::InvalidToken("no `iat`".into()))?;
    if iat > now + LEEWAY || now - iat > MAX_AGE {
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
    Ok(Logout { iss, sub, jti })
}

#[cfg(test)]
mod tests;
