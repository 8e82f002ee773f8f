//! What this library keeps in the tower-sessions session, typed and versioned, and when a
//! signed-in session is still current.
//!
//! Everything lives server-side in the store; the cookie holds only the session id. A record
//! written by another version of this library, or one that does not parse, reads as "signed
//! out" rather than failing the request.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tower_sessions::Session;

use crate::core::error::Error;
use crate::store::claims::Claims;
use crate::store::seal::Sealer;

/// The session key under which the record lives.
pub(crate) const KEY: &str = "axum_identity";
/// The session key of the user's tokens, kept apart so that a protected request, which needs
/// only the claims, does not copy and parse them.
pub(crate) const SECRETS_KEY: &str = "axum_identity.tokens";
/// Bumped whenever the record's shape changes incompatibly.
pub(crate) const VERSION: u32 = 3;
/// At most this many sign-ins may be in flight in one browser (tabs); older ones are dropped.
pub(crate) const MAX_PENDING: usize = 8;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Record {
    pub(crate) v: u32,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) pending: Vec<PendingLogin>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) user: Option<SignedIn>,
    /// A Device Code sign-in waiting for the user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) device: Option<PendingDevice>,
}

impl Default for Record {
    fn default() -> Self {
        Record {
            v: VERSION,
            pending: Vec::new(),
            user: None,
            device: None,
        }
    }
}

/// The user's tokens, under [`SECRETS_KEY`]: as they are, or sealed (see [`Sealer`]).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Stored {
    v: u32,
    /// The [`Secrets`], encrypted, when a token encryption key is configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sealed: Option<String>,
    #[serde(flatten)]
    plain: Option<Secrets>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Secrets {
    #[serde(default)]
    v: u32,
    id_token: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    refresh_token: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    tokens: Vec<CachedToken>,
}

/// A Device Code sign-in (RFC 8628) in progress.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct PendingDevice {
    /// The device code, sealed like the tokens when a token encryption key is configured (see
    /// [`PendingDevice::sealed`]): whoever holds it can redeem the sign-in.
    pub(crate) device_code: String,
    /// Whether `device_code` is sealed.
    #[serde(default)]
    pub(crate) sealed: bool,
    pub(crate) user_code: String,
    pub(crate) verification_uri: String,
    #[serde(default)]
    pub(crate) verification_uri_complete: Option<String>,
    /// Unix seconds.
    pub(crate) expires_at: i64,
    /// Seconds between polls, as the provider asks (raised by `slow_down`).
    pub(crate) interval: i64,
    /// Unix seconds of the earliest next poll.
    pub(crate) next_poll: i64,
    pub(crate) scopes: Vec<String>,
    pub(crate) next: String,
}

/// A sign-in that was started and not yet completed, keyed by its `state`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct PendingLogin {
    pub(crate) state: String,
    pub(crate) nonce: String,
    pub(crate) verifier: String,
    /// The scopes a handler asked for, beyond the sign-in's own.
    #[serde(default)]
    pub(crate) scopes: Vec<String>,
    pub(crate) next: String,
    /// Unix seconds.
    pub(crate) created: i64,
    /// Which user flow (B2C) the sign-in went through.
    #[serde(default)]
    pub(crate) flow: UserFlow,
    /// What the page that started the sign-in requires of the authentication (`max_age`,
    /// `acr`), checked on the new ID token so that a provider ignoring it cannot loop.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) step_up: Option<StepUp>,
    /// Sent with `prompt=none`: the provider's "interaction needed" answer means "not signed
    /// in", not an error.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) silent: bool,
    /// The provider it went to, in an application with several: the callback completes it
    /// there, whatever the answer says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) provider: Option<String>,
}

/// What a page requires of the user's authentication beyond being signed in:
/// `#[login_required(max_age = .., acr = "..")]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct StepUp {
    /// At most this many seconds since the user last authenticated (`auth_time`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) max_age: Option<u64>,
    /// The authentication context class the ID token's `acr` must name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) acr: Option<String>,
}

/// The user flows a sign-in can go through; all but `SignIn` are Azure AD B2C's.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum UserFlow {
    #[default]
    SignIn,
    EditProfile,
    ResetPassword,
}

/// A signed-in user and their tokens.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct SignedIn {
    /// The verified ID token's claims (merged with userinfo where the ID token was thin),
    /// stored as one JSON string.
    pub(crate) claims: Claims,
    /// Kept for `id_token_hint` at logout. Stored under [`SECRETS_KEY`].
    #[serde(skip)]
    pub(crate) id_token: String,
    /// Unix seconds of the sign-in: the absolute session lifetime counts from here, and a
    /// token refresh does not move it.
    pub(crate) since: i64,
    /// Unix seconds of the last activity seen, updated coarsely (see `Auth::idle_timeout`).
    #[serde(default)]
    pub(crate) seen: i64,
    /// Stored under [`SECRETS_KEY`].
    #[serde(skip)]
    pub(crate) refresh_token: Option<String>,
    /// Access tokens, one per scope set. Stored under [`SECRETS_KEY`].
    #[serde(skip)]
    pub(crate) tokens: Vec<CachedToken>,
    /// Scopes asked for at a sign-in and not granted: asking again would loop.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) declined: Vec<String>,
    /// The name of the key that sealed the tokens (`""`: stored as they are), so that a
    /// request that reads no token still signs the user out when they would not open (the key
    /// was removed or replaced without keeping the old one). `None` in records written before
    /// it was kept: those are decided when the tokens are read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) sealed_by: Option<String>,
    /// What the application's sign-in hook added (a local user id, roles from its database),
    /// kept like the claims: one JSON string, parsed once per distinct string.
    #[serde(default, skip_serializing_if = "Claims::is_empty")]
    pub(crate) data: Claims,
    /// Unix seconds (this server's clock) of the user's last authentication at the provider,
    /// from the ID token's `auth_time`; `None` when the provider did not say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) authenticated: Option<i64>,
    /// The name of the provider the user signed in with, in an application with several.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) provider: Option<String>,
}

/// An access token and what it is good for.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct CachedToken {
    /// The granted scopes (sorted), OpenID scopes left out.
    pub(crate) scopes: Vec<String>,
    pub(crate) access_token: String,
    pub(crate) token_type: String,
    /// Unix seconds.
    pub(crate) expires_at: i64,
    /// Unix seconds.
    pub(crate) obtained_at: i64,
}

/// The safety margin before expiry, at most: MSAL's five minutes.
const MAX_MARGIN: i64 = 300;

/// Whether a cached token is still good for the next request: the margin is a fraction of
/// the token's own lifetime, so a 60-second token is used for ~45 seconds rather than being
/// refreshed on every request.
pub(crate) fn is_fresh(token: &CachedToken, now: i64) -> bool {
    let lifetime = (token.expires_at - token.obtained_at).max(0);
    let margin = (lifetime / 4).min(MAX_MARGIN);
    now < token.expires_at - margin
}

/// How long a session lives: a signed-in one, and one that holds only sign-ins in progress.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SessionPolicy {
    /// Signed out after this long without a request.
    pub(crate) idle_timeout: Duration,
    /// Signed out this long after the sign-in, however active.
    pub(crate) lifetime: Duration,
    /// A sign-in in progress (and a session that holds nothing else) lives this long.
    pub(crate) login_timeout: Duration,
}

impl SessionPolicy {
    /// When the store may drop the record and the browser its cookie.
    ///
    /// A signed-in record expires when it stops being current: its idle timeout after the last
    /// activity recorded (a write happens anyway whenever activity is recorded, see
    /// [`SignedIn::touch`]), and never later than the absolute lifetime after the sign-in. Left
    /// to tower-sessions, a signed-in record would live its two-week default behind a
    /// browser-session cookie. A record holding only sign-ins in progress lives as long as they
    /// may: every anonymous `GET /login` writes one.
    ///
    /// The end is computed on the application's clock (`now`) and handed to tower-sessions as
    /// the time left, which the store and the cookie count from their own clock.
    pub(crate) fn expiry(&self, record: &Record, now: i64) -> tower_sessions::Expiry {
        let Some(user) = &record.user else {
            let timeout =
                time::Duration::try_from(self.login_timeout).unwrap_or(time::Duration::minutes(10));
            return tower_sessions::Expiry::OnInactivity(timeout);
        };
        let secs = |d: Duration| i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
        let idle_ends = user
            .seen
            .max(user.since)
            .saturating_add(secs(self.idle_timeout));
        let life_ends = user.since.saturating_add(secs(self.lifetime));
        let left = idle_ends.min(life_ends).saturating_sub(now).max(0);
        tower_sessions::Expiry::OnInactivity(time::Duration::seconds(left))
    }

    /// The policy read at `now`, for storing a record.
    pub(crate) fn at(&self, now: i64) -> Expiring<'_> {
        Expiring { policy: self, now }
    }
}

/// How a record being stored expires: a [`SessionPolicy`] read at a time of the application's
/// clock.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Expiring<'a> {
    policy: &'a SessionPolicy,
    now: i64,
}

impl Expiring<'_> {
    fn of(&self, record: &Record) -> tower_sessions::Expiry {
        self.policy.expiry(record, self.now)
    }
}

impl SignedIn {
    /// A user who has just authenticated, at `now`.
    pub(crate) fn new(claims: Map<String, Value>, now: i64) -> Self {
        SignedIn {
            claims: Claims::new(claims),
            id_token: String::new(),
            since: now,
            seen: now,
            refresh_token: None,
            tokens: Vec::new(),
            declined: Vec::new(),
            sealed_by: None,
            data: Claims::default(),
            authenticated: None,
            provider: None,
        }
    }

    /// Whether the tokens of this sign-in would open with `sealer`'s keys (see
    /// [`SignedIn::sealed_by`]).
    pub(crate) fn tokens_open_with(&self, sealer: &Sealer) -> bool {
        self.sealed_by
            .as_deref()
            .is_none_or(|name| sealer.can_open(name))
    }

    /// Whether the sign-in is still within its lifetime and idle timeout.
    pub(crate) fn is_current(&self, now: i64, policy: &SessionPolicy) -> bool {
        let seen = self.seen.max(self.since);
        now - self.since <= policy.lifetime.as_secs() as i64
            && now - seen <= policy.idle_timeout.as_secs() as i64
    }

    /// Records activity when the last record of it is older than a tenth of the idle timeout;
    /// true when the record changed. Recording every request would make every protected request
    /// a store write; a tenth of the idle timeout is precise enough.
    pub(crate) fn touch(&mut self, now: i64, policy: &SessionPolicy) -> bool {
        let seen = self.seen.max(self.since);
        if now - seen > (policy.idle_timeout.as_secs() / 10) as i64 {
            self.seen = now;
            return true;
        }
        false
    }

    /// A string claim, or `""`.
    pub(crate) fn claim_str(&self, name: &str) -> &str {
        self.claims
            .get(name)
            .and_then(Value::as_str)
            .unwrap_or_default()
    }
}

/// Loads the record. A store failure is an error (the caller answers 503, never lets anyone
/// in); a missing, foreign-version or corrupt record is an empty one.
pub(crate) async fn load(session: &Session) -> Result<Record, Error> {
    let value = match session.get_value(KEY).await {
        Ok(value) => value,
        // The store holds bytes it cannot decode (another application's format, a truncated
        // write): that session is unusable, but the store works. Dropping it signs the browser
        // out instead of locking it out with 503s until the cookie expires.
        Err(tower_sessions::session::Error::Store(
            tower_sessions::session_store::Error::Decode(reason),
        )) => {
            tracing::warn!(%reason, "dropping a session record the store cannot decode");
            session.flush().await?;
            return Ok(Record::default());
        }
        Err(other) => return Err(other.into()),
    };
    Ok(value
        .and_then(|value| serde_json::from_value::<Record>(value).ok())
        .filter(|record| record.v == VERSION)
        .unwrap_or_default())
}

/// Loads the record with the user's tokens, for the flows that use or replace them; store it
/// back with [`store_with_tokens`].
pub(crate) async fn load_with_tokens(session: &Session, sealer: &Sealer) -> Result<Record, Error> {
    let mut record = load(session).await?;
    attach_tokens(session, &mut record, sealer).await?;
    Ok(record)
}

/// What sealed tokens are bound to: the sign-in they belong to, so a sealed blob copied into
/// another session (of another user, or another sign-in) does not open.
fn seal_context(user: &SignedIn) -> Vec<u8> {
    format!(
        "axum-identity tokens\n{}\n{}\n{}",
        user.claim_str("iss"),
        user.claim_str("sub"),
        user.since
    )
    .into_bytes()
}

/// Adds the user's tokens to a record loaded without them. Tokens that do not open (another
/// key, another record, sealed where no key is configured or plain where one is) sign the user
/// out, as a record of another version does.
pub(crate) async fn attach_tokens(
    session: &Session,
    record: &mut Record,
    sealer: &Sealer,
) -> Result<(), Error> {
    let Some(user) = record.user.as_mut() else {
        return Ok(());
    };
    let stored = session
        .get_value(SECRETS_KEY)
        .await?
        .and_then(|value| serde_json::from_value::<Stored>(value).ok())
        .filter(|stored| stored.v == VERSION);
    let secrets = match stored {
        None => Some(Secrets::default()),
        Some(Stored {
            sealed: Some(sealed),
            ..
        }) => sealer
            .open(&sealed, &seal_context(user))
            .and_then(|plain| serde_json::from_slice::<Secrets>(&plain).ok()),
        Some(Stored { plain, .. }) if !sealer.is_on() => plain,
        Some(_) => None,
    };
    match secrets {
        Some(secrets) => {
            user.id_token = secrets.id_token;
            user.refresh_token = secrets.refresh_token;
            user.tokens = secrets.tokens;
        }
        None => {
            tracing::warn!("the session's tokens do not open with the configured keys; signed out");
            record.user = None;
        }
    }
    Ok(())
}

/// Stores the record (without the tokens, which stay as they are in the store) and writes it to
/// the store now, to expire as `expiring` says. Writing now, rather than leaving it to the session layer at the end of the
/// request, turns a failing store into our 503 page instead of the layer's bare 500 (and the
/// layer does not write again after a 5xx).
pub(crate) async fn store(
    session: &Session,
    record: &Record,
    expiring: Expiring<'_>,
) -> Result<(), Error> {
    session.set_expiry(Some(expiring.of(record)));
    session.insert(KEY, record).await?;
    session.save().await?;
    Ok(())
}

/// Stores a record loaded [with its tokens](load_with_tokens), tokens included (or removed, when
/// nobody is signed in any more).
pub(crate) async fn store_with_tokens(
    session: &Session,
    record: &Record,
    sealer: &Sealer,
    expiring: Expiring<'_>,
) -> Result<(), Error> {
    session.set_expiry(Some(expiring.of(record)));
    match &record.user {
        // The record says which key sealed the tokens stored beside it.
        Some(user) if user.sealed_by.as_deref() != Some(sealer.sealing_key()) => {
            let mut named = record.clone();
            if let Some(user) = named.user.as_mut() {
                user.sealed_by = Some(sealer.sealing_key().to_owned());
            }
            session.insert(KEY, named).await?;
        }
        _ => session.insert(KEY, record).await?,
    }
    match &record.user {
        Some(user) => {
            let secrets = Secrets {
                v: VERSION,
                id_token: user.id_token.clone(),
                refresh_token: user.refresh_token.clone(),
                tokens: user.tokens.clone(),
            };
            let stored = if sealer.is_on() {
                let plain = serde_json::to_vec(&secrets).unwrap_or_default();
                Stored {
                    v: VERSION,
                    sealed: sealer.seal(&plain, &seal_context(user)),
                    plain: None,
                }
            } else {
                Stored {
                    v: VERSION,
                    sealed: None,
                    plain: Some(secrets),
                }
            };
            session.insert(SECRETS_KEY, stored).await?;
        }
        None => {
            session.remove_value(SECRETS_KEY).await?;
        }
    }
    session.save().await?;
    Ok(())
}

#[cfg(test)]
mod tests;
