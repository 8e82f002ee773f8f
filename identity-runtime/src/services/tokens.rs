//! Access tokens for the scopes a handler declares: served from the session's cache, refreshed
//! silently when they expire, one refresh at a time (per process with in-flight refreshes, and
//! across instances with a [`RefreshLock`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use openidconnect::{OAuth2TokenResponse, RefreshToken, Scope, TokenResponse};
use serde_json::{Map, Value};
use sha2::Digest as _;
use tower_sessions::Session;

use crate::core::clock::Clock;
use crate::core::error::{Error, Flow};
use crate::core::params::api_scopes;
use crate::oidc::client::{Client, cached_token, granted_scopes, token_error};
use crate::oidc::id_token::{self, NoNonce, TimeRules};
use crate::oidc::provider::Provider;
use crate::store::lock::RefreshLock;
use crate::store::seal::Sealer;
use crate::store::session::{self, CachedToken, Record, SessionPolicy, SignedIn, is_fresh};

/// How long a finished refresh is remembered, so a request that read the session before the
/// refresh was written uses its result instead of presenting the rotated refresh token again.
const REMEMBER_FLIGHT: i64 = 60;
/// How long one instance may hold the cross-instance refresh lock before it lapses.
const LOCK_TTL: Duration = Duration::from_secs(15);
/// How long a request waits for another instance's refresh before giving up with a 503.
const LOCK_WAIT: Duration = Duration::from_secs(10);

/// What a handler gets: a token for its scopes.
#[derive(Debug)]
pub(crate) struct Acquired {
    pub(crate) token: CachedToken,
    /// The record changed (a refresh happened) and must be stored.
    pub(crate) changed: bool,
}

/// Why no token could be had.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The user must go through sign-in for these scopes (no refresh token, revoked grant,
    /// consent needed).
    SignIn,
    /// The user or provider declined these scopes before; asking again would loop.
    Declined(Vec<String>),
    /// Something to show as an error page.
    Error(Error),
}

fn covers(token: &CachedToken, scopes: &[&str]) -> bool {
    scopes.iter().all(|s| token.scopes.iter().any(|t| t == s))
}

/// A fresh cached token that covers `scopes` and is not the one an API `refused`: the newest
/// (a token from a sign-in with a claims challenge wins over an older one the API refused).
fn cached<'a>(
    user: &'a SignedIn,
    scopes: &[&str],
    now: i64,
    refused: Option<&str>,
) -> Option<&'a CachedToken> {
    let usable = |t: &&CachedToken| {
        covers(t, scopes) && is_fresh(t, now) && refused != Some(t.access_token.as_str())
    };
    user.tokens.iter().rev().find(usable)
}

/// Puts a token into the user's cache, replacing those it supersedes (for the same scopes or
/// fewer: a token from a sign-in with a claims challenge must be found before the one the API
/// refused) and dropping expired ones.
pub(crate) fn keep(user: &mut SignedIn, token: CachedToken, now: i64) {
    user.tokens
        .retain(|t| !t.scopes.iter().all(|s| token.scopes.contains(s)) && t.expires_at > now);
    user.tokens.push(token);
}

/// Where a refresh goes: the application's registration and its provider.
#[derive(Clone, Copy)]
pub(crate) struct Upstream<'a> {
    pub(crate) client: &'a Client,
    pub(crate) provider: &'a Provider,
    pub(crate) clock: &'a Clock,
    /// Seconds of clock skew tolerated on a refreshed ID token.
    pub(crate) leeway: i64,
    /// How tokens are stored.
    pub(crate) sealer: &'a Sealer,
    /// When a stored record expires.
    pub(crate) policy: &'a SessionPolicy,
}

/// The token cache's running state: refreshes in flight, and the lock shared with other
/// instances, if any.
pub(crate) struct TokenCache {
    flights: Flights,
    lock: Option<Arc<dyn RefreshLock>>,
    /// How long a lease on the refresh lock lasts; renewed at a third of it while a refresh is
    /// in flight. [`LOCK_TTL`]; shorter in tests.
    lock_ttl: Duration,
}

impl TokenCache {
    pub(crate) fn new(lock: Option<Arc<dyn RefreshLock>>) -> Self {
        TokenCache {
            flights: Flights::default(),
            lock,
            lock_ttl: LOCK_TTL,
        }
    }

    /// Finds or obtains a token for `scopes` (already free of OpenID scopes). With a
    /// [`RefreshLock`], a refresh happens under the lock and after re-reading the session from
    /// the store, so instances never present the same refresh token twice; the record is then
    /// stored before the lock is released.
    pub(crate) async fn acquire(
        &self,
        upstream: Upstream<'_>,
        session: &Session,
        record: &mut Record,
        scopes: &[&str],
    ) -> Result<Acquired, Failure> {
        self.acquire_replacing(upstream, session, record, scopes, None)
            .await
    }

    /// A token for `scopes` from the session's own record (read now, stored again when a
    /// refresh changed it), `refused` counting as expired: for a handler's call to an API
    /// whose scopes it did not declare, or whose token the API refused.
    pub(crate) async fn for_session(
        &self,
        upstream: Upstream<'_>,
        session: &Session,
        scopes: &[&str],
        refused: Option<&str>,
    ) -> Result<String, Failure> {
        let mut record = session::load_with_tokens(session, upstream.sealer)
            .await
            .map_err(Failure::Error)?;
        // Microsoft's authorities: the OpenID scopes need no access token.
        let scopes = if upstream.provider.authority().is_microsoft() {
            api_scopes(scopes)
        } else {
            scopes.to_vec()
        };
        let acquired = self
            .acquire_replacing(upstream, session, &mut record, &scopes, refused)
            .await?;
        if acquired.changed {
            let expiring = upstream.policy.at(upstream.clock.now());
            session::store_with_tokens(session, &record, upstream.sealer, expiring)
                .await
                .map_err(Failure::Error)?;
        }
        Ok(acquired.token.access_token)
    }

    /// [`acquire`](Self::acquire), where the cached token `refused` (an API answered it with
    /// `invalid_token`) counts as expired: the one refresh that replaces it happens once, and a
    /// request that finds it already replaced (in the store, or by a refresh in flight) uses
    /// the replacement.
    pub(crate) async fn acquire_replacing(
        &self,
        upstream: Upstream<'_>,
        session: &Session,
        record: &mut Record,
        scopes: &[&str],
        refused: Option<&str>,
    ) -> Result<Acquired, Failure> {
        let now = upstream.clock.now();
        let user = record.user.as_ref().ok_or(Failure::SignIn)?;
        if let Some(token) = cached(user, scopes, now, refused) {
            return Ok(Acquired {
                token: token.clone(),
                changed: false,
            });
        }
        let (Some(lock), Some(refresh_token)) = (&self.lock, user.refresh_token.as_deref()) else {
            return self.acquire_here(upstream, record, scopes, refused).await;
        };
        let key = lock_key(refresh_token);
        let deadline = std::time::Instant::now() + LOCK_WAIT;
        loop {
            let held = lock.try_lock(&key, self.lock_ttl).await.map_err(|e| {
                Failure::Error(Error::store(tower_sessions::session_store::Error::Backend(
                    e,
                )))
            })?;
            // Whoever held the lock before may have stored a fresh token (and a rotated refresh
            // token): read the session again from the store before deciding anything.
            session.load().await.map_err(|e| Failure::Error(e.into()))?;
            *record = session::load_with_tokens(session, upstream.sealer)
                .await
                .map_err(Failure::Error)?;
            let now = upstream.clock.now();
            if let Some(token) = record
                .user
                .as_ref()
                .and_then(|user| cached(user, scopes, now, refused))
            {
                let token = token.clone();
                if let Some(held) = &held {
                    lock.unlock(&key, held).await;
                }
                return Ok(Acquired {
                    token,
                    changed: false,
                });
            }
            if let Some(held) = held {
                let result = {
                    let refresh = self.acquire_here(upstream, record, scopes, refused);
                    tokio::pin!(refresh);
                    // The lease is renewed while the refresh is in flight.
                    let mut renewal = tokio::time::interval(self.lock_ttl / 3);
                    renewal.tick().await;
                    loop {
                        tokio::select! {
                            result = &mut refresh => break result,
                            _ = renewal.tick() => {
                                if !lock.renew(&key, &held, self.lock_ttl).await {
                                    tracing::debug!("the refresh lock could not be renewed");
                                }
                            }
                        }
                    }
                };
                if matches!(result, Ok(Acquired { changed: true, .. })) {
                    // Stored before the lock is released, so the next holder reads it.
                    if let Err(error) = session::store_with_tokens(
                        session,
                        record,
                        upstream.sealer,
                        upstream.policy.at(upstream.clock.now()),
                    )
                    .await
                    {
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
                return Err(Failure::Error(Error::unavailable(
                    "another instance's token refresh did not finish",
                )));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn acquire_here(
        &self,
        upstream: Upstream<'_>,
        record: &mut Record,
        scopes: &[&str],
        refused: Option<&str>,
    ) -> Result<Acquired, Failure> {
        let now = upstream.clock.now();
        let user = record.user.as_mut().ok_or(Failure::SignIn)?;
        if let Some(token) = cached(user, scopes, now, refused) {
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
        let flight = self
            .flights
            .join(flight_key(&refresh_token, scopes), now, refused);
        let refreshed = flight
            .cell
            .get_or_init(|| refresh(upstream, refresh_token.clone(), user.claims.map(), scopes))
            .await
            .clone();
        let refreshed = match refreshed {
            Ok(refreshed) => refreshed,
            Err(error) if matches!(*error, Error::InvalidGrant(_)) => return Err(Failure::SignIn),
            Err(error) => return Err(Failure::Error(Error::Refresh(error))),
        };
        if let Some(rotated) = &refreshed.refresh_token {
            user.refresh_token = Some(rotated.clone());
        }
        if let Some(claims) = &refreshed.claims {
            user.claims = claims.clone().into();
        }
        keep(user, refreshed.token.clone(), now);
        if !covers(&refreshed.token, scopes) {
            let missing = scopes
                .iter()
                .filter(|s| !refreshed.token.scopes.iter().any(|t| t == *s))
                .map(|s| s.to_string())
                .collect();
            return Err(Failure::Declined(missing));
        }
        Ok(Acquired {
            token: refreshed.token,
            changed: true,
        })
    }
}

/// The lock's key names the grant, not the token itself: no secret goes to the lock's store.
fn lock_key(refresh_token: &str) -> String {
    let digest = sha2::Sha256::digest(refresh_token.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("axum-identity:refresh:{hex}")
}

/// One flight per grant and scope set (the scopes in any order).
fn flight_key(refresh_token: &str, scopes: &[&str]) -> String {
    let mut sorted: Vec<&str> = scopes.to_vec();
    sorted.sort_unstable();
    format!("{refresh_token}\n{}", sorted.join(" "))
}

/// A refresh's outcome, shared by every request that waited for it.
#[derive(Clone, Debug)]
struct Refreshed {
    token: CachedToken,
    refresh_token: Option<String>,
    claims: Option<Map<String, Value>>,
}

#[tracing::instrument(name = "refresh", level = "debug", skip_all, fields(flow = "refresh", ?scopes, sub = claims.get("sub").and_then(|sub| sub.as_str()).unwrap_or_default()))]
async fn refresh(
    upstream: Upstream<'_>,
    refresh_token: String,
    claims: &Map<String, Value>,
    scopes: &[&str],
) -> Result<Refreshed, Arc<Error>> {
    let Upstream {
        client, provider, ..
    } = upstream;
    let meta = provider.metadata().await?;
    let oidc = client.oidc(&meta)?;
    let refresh_token = RefreshToken::new(refresh_token);
    let mut request = oidc.exchange_refresh_token(&refresh_token);
    for scope in scopes {
        request = request.add_scope(Scope::new((*scope).to_owned()));
    }
    for (name, value) in client
        .assertion_params(&meta)
        .await?
        .into_iter()
        .chain(client.token_params())
    {
        request = request.add_extra_param(name, value);
    }
    tracing::debug!("refreshing an access token");
    let http = provider.oauth().recording();
    let response = request
        .request_async(&http)
        .await
        .map_err(|e| token_error(e, Flow::Refresh, http.answer()))?;
    // A refreshed ID token must describe the same user from the same issuer (OpenID Connect
    // Core §12.2); anything else is an attack or a provider bug, and nothing of it is used.
    let new_claims = match response.id_token() {
        Some(id_token) => {
            let time = TimeRules {
                now: upstream.clock.now(),
                leeway: upstream.leeway,
            };
            let (_, fresh) =
                id_token::verify(client, provider, meta, id_token, &NoNonce, time).await?;
            if fresh.get("iss") != claims.get("iss") || fresh.get("sub") != claims.get("sub") {
                return Err(Arc::new(Error::InvalidToken(
                    "the refreshed ID token names another issuer or subject".into(),
                )));
            }
            let mut merged = claims.clone();
            merged.extend(fresh);
            Some(merged)
        }
        None => None,
    };
    let asked: Vec<String> = scopes.iter().map(|s| s.to_string()).collect();
    let keep_oidc = !provider.authority().is_microsoft();
    let granted = granted_scopes(&response, &asked, &[], keep_oidc);
    let token = cached_token(&response, granted, upstream.clock.now())
        .ok_or_else(|| Error::token_endpoint("the refresh answer has no access token"))?;
    Ok(Refreshed {
        token,
        refresh_token: response.refresh_token().map(|t| t.secret().clone()),
        claims: new_claims,
    })
}

/// Refreshes in flight (and just finished), keyed by refresh token and scope set.
#[derive(Default)]
struct Flights {
    map: Mutex<HashMap<String, Arc<Flight>>>,
}

struct Flight {
    cell: tokio::sync::OnceCell<Result<Refreshed, Arc<Error>>>,
    /// Unix seconds.
    started: i64,
}

impl Flights {
    fn join(&self, key: String, now: i64, refused: Option<&str>) -> Arc<Flight> {
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        // A failed flight is not remembered: the next request may try again (the provider may
        // be back). Nor is one whose token an API refused: its replacement is a new flight.
        map.retain(|_, f| {
            now - f.started < REMEMBER_FLIGHT
                && match f.cell.get() {
                    Some(Ok(done)) => {
                        is_fresh(&done.token, now)
                            && refused != Some(done.token.access_token.as_str())
                    }
                    Some(Err(_)) => false,
                    None => true,
                }
        });
        map.entry(key)
            .or_insert_with(|| {
                Arc::new(Flight {
                    cell: tokio::sync::OnceCell::new(),
                    started: now,
                })
            })
            .clone()
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.map.lock().unwrap().len()
    }
}

#[cfg(test)]
mod tests;
