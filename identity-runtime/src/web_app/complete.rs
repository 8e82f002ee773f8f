//! Completing a sign-in, whichever flow it came through (the callback or Device Code): the
//! user admitted (allow-lists, the application's hook) and stored under a new session id.

use axum::response::Response;
use openidconnect::core::CoreTokenResponse;
use openidconnect::{OAuth2TokenResponse, TokenResponse};
use serde_json::{Map, Value};
use tower_sessions::Session;
use url::Url;

use crate::core::error::Error;
use crate::core::grants;
use crate::core::response::redirect;
use crate::oidc::client::{cached_token, granted_scopes};
use crate::services::graph::{self, is_graph_user_read};
use crate::services::tokens;
use crate::store::session::{self, Record, SignedIn};
use crate::web_app::admission::{SignInEvent, SignInMethod};
use crate::web_app::auth::Auth;
use crate::web_app::context::User;

/// A sign-in the provider completed and the library verified.
pub(crate) struct Completed<'a> {
    pub(crate) response: &'a CoreTokenResponse,
    pub(crate) claims: Map<String, Value>,
    /// The scopes the handler asked for.
    pub(crate) asked: &'a [String],
    pub(crate) next: &'a str,
    pub(crate) method: SignInMethod,
    /// When the user authenticated (see `step_up::check_new_token`).
    pub(crate) authenticated: Option<i64>,
}

/// Admits a freshly signed-in user (the allow-lists and the application's hook) and stores them
/// (after the callback or a Device Code sign-in) under a new session id, then sends the browser
/// on to `next` (303). A user who is not admitted is not stored: the session holds no
/// signed-in user for them, and the sign-in in progress is over.
pub(crate) async fn complete_sign_in(
    auth: &Auth,
    session: &Session,
    mut record: Record,
    completed: Completed<'_>,
) -> Result<Response, Error> {
    let Completed {
        response,
        mut claims,
        asked,
        next,
        method,
        authenticated,
    } = completed;
    let now = auth.clock().now();
    let keep_oidc = !auth.provider().authority().is_microsoft();
    let granted = granted_scopes(response, asked, &auth.settings().scopes, keep_oidc);
    if let Some(graph) = &auth.settings().graph
        && grants::groups(&claims).is_err()
    {
        let token = response.access_token().secret();
        resolve_group_overage(auth, graph, token, &granted, &mut claims).await;
    }
    let event = SignInEvent {
        user: User::from_claims(claims.clone()),
        access_token: Some(response.access_token().secret().clone()).filter(|t| !t.is_empty()),
        scopes: granted.clone(),
        method,
        provider: auth.provider_name().to_owned(),
    };
    let data = match auth.admission().admit(event).await {
        Ok(data) => data,
        Err(refused) => {
            // The Device Code sign-in in progress is over too: its code is redeemed.
            if record.device.take().is_some() {
                session::store(session, &record, auth.expiring()).await?;
            }
            tracing::info!(reason = %refused.chain(), "sign-in not admitted");
            return Err(refused);
        }
    };
    let declined: Vec<String> = asked
        .iter()
        .filter(|s| !granted.contains(s))
        .cloned()
        .collect();
    let provider = auth.provider_key();
    let mut signed_in = match record.user.take() {
        // An incremental-consent sign-in of the same user (at the same provider: `sub` is
        // unique per provider only) keeps the tokens already cached.
        Some(previous)
            if previous.claims.get("sub") == claims.get("sub") && previous.provider == provider =>
        {
            previous
        }
        _ => SignedIn::new(Map::new(), now),
    };
    signed_in.claims = claims.into();
    signed_in.data = data.into();
    signed_in.authenticated = authenticated;
    signed_in.provider = provider;
    // The user just authenticated: the session's lifetime (and any back-channel logout before
    // this moment) counts from now.
    signed_in.since = now;
    signed_in.seen = now;
    signed_in.id_token = response
        .id_token()
        .map(|t| t.to_string())
        .unwrap_or_default();
    if let Some(refresh) = response.refresh_token() {
        signed_in.refresh_token = Some(refresh.secret().clone());
    }
    signed_in.declined.retain(|s| !granted.contains(s));
    signed_in.declined.extend(declined);
    if let Some(token) = cached_token(response, granted, now) {
        tokens::keep(&mut signed_in, token, now);
    }
    record.user = Some(signed_in);
    record.device = None;
    // A new session id at the moment of sign-in defeats session fixation: whatever id an
    // attacker planted before is dead from now on. The record and the cookie now expire with
    // the signed-in session (idle timeout, at most the absolute lifetime).
    session.cycle_id().await?;
    session::store_with_tokens(session, &record, auth.sealer(), auth.expiring()).await?;
    tracing::info!("signed in");
    Ok(redirect(next))
}

/// Reads the groups of an overage from Microsoft Graph with the sign-in's token (for Graph's
/// `User.Read`) and keeps them in the claims as `groups`, as a token with fewer groups would
/// have carried them: once per sign-in, so every later request of the session reads them with
/// no network call. A failure leaves the claims as they are, so `groups()` goes on reporting
/// the overage, never an empty list; the sign-in itself goes on.
async fn resolve_group_overage(
    auth: &Auth,
    graph: &Url,
    token: &str,
    granted: &[String],
    claims: &mut Map<String, Value>,
) {
    if token.is_empty() || !granted.iter().any(|s| is_graph_user_read(s, graph)) {
        tracing::warn!(
            ?granted,
            "the groups overage is not resolved: the sign-in's access token is not for Microsoft Graph's `User.Read`, so `groups()` reports the overage"
        );
        return;
    }
    match graph::member_objects(auth.provider().http(), graph, token).await {
        Ok(groups) => {
            tracing::info!(
                groups = groups.len(),
                "the groups overage was resolved through Microsoft Graph"
            );
            claims.insert(
                "groups".into(),
                Value::Array(groups.into_iter().map(Value::String).collect()),
            );
        }
        Err(error) => tracing::warn!(
            error = %crate::core::error::escape_controls(&error.to_string()),
            "the groups overage could not be resolved through Microsoft Graph, so `groups()` reports the overage"
        ),
    }
}
