//! App-only tokens (Python's `get_token_for_client`): the client credentials grant, one cached
//! token per scope set until shortly before it expires, obtained once for any number of callers
//! that ask at the same time.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use openidconnect::Scope;

use crate::core::clock::Clock;
use crate::core::error::{ConfigError, Error, Flow, Setting};
use crate::core::params::is_single_scope;
use crate::oidc::client::{Client, application_token, token_error};
use crate::oidc::provider::Provider;
use crate::store::session::CachedToken;
use crate::store::token_slot::TokenSlot;

/// An access token of the application itself, not of a user: from
/// [`Auth::token_for_client`](crate::Auth::token_for_client).
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClientToken {
    /// The token, for `Authorization: Bearer <token>`.
    pub access_token: String,
    /// `Bearer` unless the provider said otherwise.
    pub token_type: String,
    /// When it expires, in Unix seconds.
    pub expires_at: i64,
    /// The scopes it was granted for, sorted.
    pub scopes: Vec<String>,
}

impl std::fmt::Debug for ClientToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the token.
        f.debug_struct("ClientToken")
            .field("token_type", &self.token_type)
            .field("expires_at", &self.expires_at)
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

impl From<&CachedToken> for ClientToken {
    fn from(token: &CachedToken) -> Self {
        ClientToken {
            access_token: token.access_token.clone(),
            token_type: token.token_type.clone(),
            expires_at: token.expires_at,
            scopes: token.scopes.clone(),
        }
    }
}

/// The app-only and on-behalf-of tokens, one slot per scope set (and, on behalf of a caller,
/// per incoming token): bounded by the bytes the slots hold, since on-behalf-of slots come
/// and go with every caller's token.
pub(crate) struct AppTokens {
    slots: moka::sync::Cache<String, Arc<Slot>>,
}

/// The bytes of a slot before its token is known: the key, the slot, the cache's bookkeeping.
const EMPTY_SLOT: u32 = 256;

/// How many bytes of tokens are kept by default: thousands of on-behalf-of tokens.
pub(crate) const DEFAULT_CACHE_BYTES: u64 = 16 << 20;

impl AppTokens {
    /// Slots holding at most `max_bytes` (keys and tokens); the least valuable go first when
    /// it is spent (a slot in use stays usable by its waiters, and is fetched again later).
    pub(crate) fn new(max_bytes: u64) -> Self {
        AppTokens {
            slots: moka::sync::Cache::builder()
                .max_capacity(max_bytes.max(1))
                .weigher(|key: &String, slot: &Arc<Slot>| {
                    let key = u32::try_from(key.len()).unwrap_or(u32::MAX);
                    key.saturating_add(slot.weight.load(Ordering::Relaxed))
                })
                .build(),
        }
    }
}

/// A scope set's token (one request for every caller waiting at the time), and the bytes it
/// holds, about, for the cache's bound: set before it is put back.
struct Slot {
    token: TokenSlot,
    weight: AtomicU32,
}

impl Default for Slot {
    fn default() -> Self {
        Slot {
            token: TokenSlot::default(),
            weight: AtomicU32::new(EMPTY_SLOT),
        }
    }
}

impl AppTokens {
    /// A token for `scopes`: the cached one while it is fresh (and not `refused`), else one
    /// client credentials request, made once for every caller waiting at the time.
    pub(crate) async fn get(
        &self,
        client: &Client,
        provider: &Provider,
        clock: &Clock,
        scopes: &[&str],
        refused: Option<&str>,
    ) -> Result<ClientToken, Arc<Error>> {
        let sorted = scope_set(scopes)?;
        let key = sorted.join(" ");
        self.cached(
            key,
            clock,
            refused,
            request(client, provider, clock, &sorted),
        )
        .await
    }

    /// The token cached under `key` while it is fresh, else the outcome of `fetch`, awaited once
    /// for every caller waiting at the time (the others drop theirs unpolled). A cached token
    /// that is `refused` (an API answered it with `invalid_token`) counts as expired, so the
    /// callers that saw it refused make one request between them.
    pub(crate) async fn cached(
        &self,
        key: String,
        clock: &Clock,
        refused: Option<&str>,
        fetch: impl Future<Output = Result<CachedToken, Error>>,
    ) -> Result<ClientToken, Arc<Error>> {
        // One slot per key, also for callers arriving at the same moment.
        let slot = self
            .slots
            .get_with_by_ref(&key, || Arc::new(Slot::default()));
        let fetched = |token: &CachedToken| {
            // Weighed again with its token: put back under its key.
            let bytes = EMPTY_SLOT as usize
                + token.access_token.len()
                + token.token_type.len()
                + token.scopes.iter().map(|s| s.len() + 24).sum::<usize>();
            slot.weight
                .store(u32::try_from(bytes).unwrap_or(u32::MAX), Ordering::Relaxed);
            self.slots.insert(key, slot.clone());
        };
        slot.token
            .get(clock, refused, fetch, fetched, |token| {
                ClientToken::from(token)
            })
            .await
    }
}

/// `scopes` sorted and deduplicated; one or more, each a single scope.
pub(crate) fn scope_set(scopes: &[&str]) -> Result<Vec<String>, Arc<Error>> {
    let mut sorted: Vec<String> = scopes.iter().map(|s| s.to_string()).collect();
    sorted.sort();
    sorted.dedup();
    if sorted.is_empty() || !sorted.iter().all(|s| is_single_scope(s)) {
        return Err(Arc::new(Error::Config(ConfigError::invalid(
            Setting::Scopes,
            format!(
                "a token for the application needs one or more scopes, each a single scope (for Entra ID `api://<api id>/.default`), not {scopes:?}"
            ),
        ))));
    }
    Ok(sorted)
}

#[tracing::instrument(name = "client_credentials", level = "debug", skip_all, fields(flow = "client_credentials", ?scopes))]
async fn request(
    client: &Client,
    provider: &Provider,
    clock: &Clock,
    scopes: &[String],
) -> Result<CachedToken, Error> {
    let meta = provider.metadata().await?;
    let oidc = client.oidc(&meta)?;
    let mut request = oidc.exchange_client_credentials();
    for scope in scopes {
        request = request.add_scope(Scope::new(scope.clone()));
    }
    for (name, value) in client
        .assertion_params(&meta)
        .await?
        .into_iter()
        .chain(client.token_params())
    {
        request = request.add_extra_param(name, value);
    }
    tracing::debug!("asking for an app-only token");
    let http = provider.oauth().recording();
    let response = request
        .request_async(&http)
        .await
        .map_err(|e| token_error(e, Flow::AppToken, http.answer()))?;
    let keep_oidc = !provider.authority().is_microsoft();
    application_token(
        &response,
        scopes,
        keep_oidc,
        clock.now(),
        "client credentials",
    )
}
