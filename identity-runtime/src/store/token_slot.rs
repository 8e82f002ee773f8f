//! One kept token and the request that renews it, shared by every caller waiting at the time:
//! the single flight of app-only and on-behalf-of tokens (`services/app_tokens.rs`) and of a
//! managed identity's tokens (`oidc/managed_identity.rs`), written once.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::core::clock::Clock;
use crate::core::error::Error;
use crate::store::session::{CachedToken, is_fresh};

/// A token, and the outcome of its last request: callers that waited for a request share its
/// failure instead of each making one more, and the next caller tries again.
#[derive(Default)]
pub(crate) struct TokenSlot {
    /// How many requests have finished.
    finished: AtomicU64,
    state: tokio::sync::Mutex<State>,
}

#[derive(Default)]
struct State {
    token: Option<CachedToken>,
    failure: Option<Arc<Error>>,
}

impl TokenSlot {
    /// `answer` of the kept token while it is fresh (and not `refused`: a token an API answered
    /// with `invalid_token` counts as expired), else of the outcome of `fetch`, awaited once for
    /// every caller waiting at the time (the others drop theirs unpolled). `fetched` sees a new
    /// token before any waiter does, while the slot is still held.
    pub(crate) async fn get<R>(
        &self,
        clock: &Clock,
        refused: Option<&str>,
        fetch: impl Future<Output = Result<CachedToken, Error>>,
        fetched: impl FnOnce(&CachedToken),
        answer: impl Fn(&CachedToken) -> R,
    ) -> Result<R, Arc<Error>> {
        let seen = self.finished.load(Ordering::Acquire);
        let mut state = self.state.lock().await;
        if let Some(token) = state
            .token
            .as_ref()
            .filter(|t| is_fresh(t, clock.now()) && refused != Some(t.access_token.as_str()))
        {
            return Ok(answer(token));
        }
        // A request finished while this caller waited, and failed: its answer is this caller's
        // too (the next caller tries again).
        if let Some(failure) = &state.failure
            && self.finished.load(Ordering::Acquire) != seen
        {
            return Err(failure.clone());
        }
        let outcome = fetch.await;
        self.finished.fetch_add(1, Ordering::Release);
        match outcome {
            Ok(token) => {
                fetched(&token);
                let answered = answer(&token);
                state.token = Some(token);
                state.failure = None;
                Ok(answered)
            }
            Err(error) => {
                let error = Arc::new(error);
                state.failure = Some(error.clone());
                Err(error)
            }
        }
    }
}
