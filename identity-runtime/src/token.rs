//! Access tokens for the scopes a handler declares: served from the session's cache, refreshed
//! silently when they expire, one refresh at a time.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use openidconnect::{OAuth2TokenResponse, RefreshToken, Scope, TokenResponse};
use sha2::Digest as _;
use tower_sessions::Session;

use crate::Error;
use crate::config::Auth;
use crate::flow::{NoNonce, granted_scopes, store_token, token_error, verify_id_token};
use crate::record::{self, CachedToken, Record};

/// The safety margin before expiry, at most: MSAL's five minutes.
const MAX_MARGIN: i64 = 300;
/// How long a finished refresh is remembered, so a request that read the session before the
/// refresh was written uses its result instead of presenting the rotated refresh token again.
const REMEMBER_FLIGHT: Duration = Duration::from_secs(60);

/// What a handler gets: a token for its scopes.
pub(crate) struct Acquired {
    pub(crate) token: CachedToken,
    /// The record changed (a refresh happened) and must be stored.
    pub(crate) changed: bool,
}

/// Why no token could be had.
pub(crate) enum Failure {
    /// The user must go through sign-in for these scopes (no refresh token, revoked grant,
    /// consent needed).
    SignIn,
    /// The user or provider declined these scopes before; asking again would loop.
    Declined(Vec<String>),
    /// Something to show as an error page.
    Error(Error),
}

/// Whether a cached token is still good for the next request: the margin is a fraction of
/// the token's own lifetime, so a 60-second token is used for ~45 seconds rather than being
/// refreshed on every request.
pub(crate) fn is_fresh(token: &CachedToken, now: i64) -> bool {
    let lifetime = (token.expires_at - token.obtained_at).max(0);
    let margin = (lifetime / 4).min(MAX_MARGIN);
    now < token.expires_at - margin
}

fn covers(token: &CachedToken, scopes: &[&str]) -> bool {
    scopes.iter().all(|s| token.scopes.iter().any(|t| t == s))
}

/// How long one instance may hold the cross-instance refresh lock before it lapses.
const LOCK_TTL: Duration = Duration::from_secs(15);
/// How long a request waits for another instance's refresh before giving up with a 503.
const LOCK_WAIT: Duration = Duration::from_secs(10);

/// Finds or obtains a token for `scopes` (already free of OpenID scopes). With a
/// [`RefreshLock`](crate::RefreshLock), a refresh happens under the lock and after re-reading
/// the session from the store, so instances never present the same refresh token twice.
pub(crate) async fn acquire(
    auth: &Auth,
    session: &Session,
    record: &mut Record,
    scopes: &[&str],
) -> Result<Acquired, Failure> {
    let Some(lock) = auth.inner.refresh_lock.clone() else {
        return acquire_here(auth, record, scopes).await;
    };
    if let Some(token) = cached(record, scopes) {
        return Ok(Acquired {
            token,
            changed: false,
        });
    }
    let refresh_token = match record
        .user
        .as_ref()
        .and_then(|u| u.refresh_token.as_deref())
    {
        Some(token) => token.to_owned(),
        None => return acquire_here(auth, record, scopes).await,
    };
    // The key names the grant, not the token itself: no secret goes to the lock's store.
    let digest = sha2::Sha256::digest(refresh_token.as_bytes());
    let key = format!(
        "axum-identity:refresh:{}",
        digest
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
    let deadline = std::time::Instant::now() + LOCK_WAIT;
    loop {
        let held = lock
            .try_lock(&key, LOCK_TTL)
            .await
            .map_err(|e| Failure::Error(Error::SessionStore(e)))?;
        // Whoever held the lock before may have stored a fresh token (and a rotated refresh
        // token): read the session again from the store before deciding anything.
        session.load().await.map_err(|e| Failure::Error(e.into()))?;
        *record = record::load_full(session).await.map_err(Failure::Error)?;
        if let Some(token) = cached(record, scopes) {
            if let Some(held) = &held {
                lock.unlock(&key, held).await;
            }
            return Ok(Acquired {
                token,
                changed: false,
            });
        }
        if let Some(held) = held {
            let result = acquire_here(auth, record, scopes).await;
            if matches!(result, Ok(Acquired { changed: true, .. })) {
                // Stored before the lock is released, so the next holder reads it.
                if let Err(error) = record::store(session, record).await {
                    lock.unlock(&key, &held).await;
                    return Err(Failure::Error(error));
                }
            }
            lock.unlock(&key, &held).await;
            return result.map(|acquired| Acquired {
                changed: false,
                ..acquired
            });
        }
        if std::time::Instant::now() >= deadline {
            return Err(Failure::Error(Error::ProviderUnavailable(
                "another instance's token refresh did not finish".into(),
            )));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn cached(record: &Record, scopes: &[&str]) -> Option<CachedToken> {
    let now = record::now();
    let user = record.user.as_ref()?;
    user.tokens
        .iter()
        .find(|t| covers(t, scopes) && is_fresh(t, now))
        .cloned()
}

async fn acquire_here(
    auth: &Auth,
    record: &mut Record,
    scopes: &[&str],
) -> Result<Acquired, Failure> {
    let now = record::now();
    let user = record.user.as_mut().ok_or(Failure::SignIn)?;
    if let Some(token) = user
        .tokens
        .iter()
        .find(|t| covers(t, scopes) && is_fresh(t, now))
    {
        return Ok(Acquired {
            token: token.clone(),
            changed: false,
        });
    }
    let declined: Vec<String> = scopes
        .iter()
        .filter(|s| user.declined.iter().any(|d| d == *s))
        .map(|s| s.to_string())
        .collect();
    if !declined.is_empty() {
        return Err(Failure::Declined(declined));
    }
    let Some(refresh_token) = user.refresh_token.clone() else {
        return Err(Failure::SignIn);
    };
    let mut key: Vec<&str> = scopes.to_vec();
    key.sort_unstable();
    let flight = auth
        .inner
        .flights
        .join(format!("{refresh_token}\n{}", key.join(" ")));
    let refreshed = flight
        .cell
        .get_or_init(|| refresh(auth, refresh_token.clone(), user.claims.clone(), scopes))
        .await
        .clone();
    let refreshed = match refreshed {
        Ok(refreshed) => refreshed,
        Err(Shared::SignIn) => return Err(Failure::SignIn),
        Err(Shared::Unavailable(message)) => {
            return Err(Failure::Error(Error::ProviderUnavailable(message)));
        }
        Err(Shared::Rejected(message)) => return Err(Failure::Error(Error::InvalidToken(message))),
        Err(Shared::Other(message)) => return Err(Failure::Error(Error::TokenEndpoint(message))),
    };
    if let Some(rotated) = &refreshed.refresh_token {
        user.refresh_token = Some(rotated.clone());
    }
    if let Some(claims) = &refreshed.claims {
        user.claims = claims.clone();
    }
    user.tokens
        .retain(|t| t.scopes != refreshed.token.scopes && t.expires_at > now);
    user.tokens.push(refreshed.token.clone());
    if !covers(&refreshed.token, scopes) {
        let missing = scopes
            .iter()
            .filter(|s| !refreshed.token.scopes.iter().any(|t| t == *s))
            .map(|s| s.to_string())
            .collect();
        return Err(Failure::Declined(missing));
    }
    Ok(Acquired {
        token: refreshed.token.clone(),
        changed: true,
    })
}

/// A refresh's outcome, shared by every request that waited for it.
#[derive(Clone)]
struct Refreshed {
    token: CachedToken,
    refresh_token: Option<String>,
    claims: Option<serde_json::Map<String, serde_json::Value>>,
}

#[derive(Clone)]
enum Shared {
    SignIn,
    Unavailable(String),
    Rejected(String),
    Other(String),
}

async fn refresh(
    auth: &Auth,
    refresh_token: String,
    claims: serde_json::Map<String, serde_json::Value>,
    scopes: &[&str],
) -> Result<Refreshed, Shared> {
    let inner = &auth.inner;
    let meta = inner
        .provider
        .metadata()
        .await
        .map_err(|e| Shared::Unavailable(e.to_string()))?;
    let client = meta
        .client(
            &inner.client_id,
            inner.client_secret.as_deref(),
            inner.redirect_uri.as_ref(),
        )
        .map_err(|e| Shared::Other(e.to_string()))?;
    let refresh_token = RefreshToken::new(refresh_token);
    let mut request = client.exchange_refresh_token(&refresh_token);
    for scope in scopes {
        request = request.add_scope(Scope::new((*scope).to_owned()));
    }
    tracing::debug!(?scopes, "refreshing an access token");
    let response =
        request
            .request_async(&inner.provider.oauth)
            .await
            .map_err(|e| match token_error(e) {
                Error::InvalidGrant(_) => Shared::SignIn,
                Error::ProviderUnavailable(m) => Shared::Unavailable(m),
                other => Shared::Other(other.to_string()),
            })?;
    // A refreshed ID token must describe the same user from the same issuer (OpenID Connect
    // Core §12.2); anything else is an attack or a provider bug, and nothing of it is used.
    let new_claims = match response.id_token() {
        Some(id_token) => {
            let (_, fresh) = verify_id_token(auth, &inner.provider, meta, id_token, &NoNonce)
                .await
                .map_err(|e| Shared::Rejected(e.to_string()))?;
            if fresh.get("iss") != claims.get("iss") || fresh.get("sub") != claims.get("sub") {
                return Err(Shared::Rejected(
                    "the refreshed ID token names another issuer or subject".into(),
                ));
            }
            let mut merged = claims.clone();
            merged.extend(fresh);
            Some(merged)
        }
        None => None,
    };
    let asked: Vec<String> = scopes.iter().map(|s| s.to_string()).collect();
    let granted = granted_scopes(&response, &asked, &[]);
    let mut user = record::SignedIn {
        claims: serde_json::Map::new(),
        id_token: String::new(),
        since: 0,
        seen: 0,
        refresh_token: None,
        tokens: Vec::new(),
        declined: Vec::new(),
    };
    store_token(&mut user, &response, granted, record::now());
    let token = user
        .tokens
        .pop()
        .ok_or_else(|| Shared::Other("the refresh answer has no access token".into()))?;
    Ok(Refreshed {
        token,
        refresh_token: response.refresh_token().map(|t| t.secret().clone()),
        claims: new_claims,
    })
}

/// Refreshes in flight (and just finished), keyed by refresh token and scope set.
#[derive(Default)]
pub(crate) struct Flights {
    map: Mutex<HashMap<String, Arc<Flight>>>,
}

pub(crate) struct Flight {
    cell: tokio::sync::OnceCell<Result<Refreshed, Shared>>,
    started: Instant,
}

impl Flights {
    fn join(&self, key: String) -> Arc<Flight> {
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        // A failed flight is not remembered: the next request may try again (the provider may
        // be back).
        let now = record::now();
        map.retain(|_, f| {
            f.started.elapsed() < REMEMBER_FLIGHT
                && match f.cell.get() {
                    Some(Ok(done)) => is_fresh(&done.token, now),
                    Some(Err(_)) => false,
                    None => true,
                }
        });
        map.entry(key)
            .or_insert_with(|| {
                Arc::new(Flight {
                    cell: tokio::sync::OnceCell::new(),
                    started: Instant::now(),
                })
            })
            .clone()
    }
}
