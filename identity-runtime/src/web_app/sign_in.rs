//! The per-request sign-in check behind every web-app extractor: the session record read once,
//! the clock read once, then the checks that need no cryptography (current, the sealing key
//! still configured, not ended by back-channel logout), activity recorded coarsely, and the
//! scopes' token from the cache or one refresh.

use axum::extract::OriginalUri;
use axum::http::request::Parts;
use tower_sessions::Session;

use crate::core::error::Error;
use crate::core::params::{api_scopes, encode};
use crate::services::tokens::Failure;
use crate::store::session::{self, Record};
use crate::web_app::auth::Auth;
use crate::web_app::context::{Context, Origin, User};
use crate::web_app::rejection::{LoginRejection, sign_in_needed};
use crate::web_app::step_up::Needs;

/// The context of a signed-in request, `None` for a signed-out one; a rejection for failures.
pub(crate) async fn current_context(
    parts: &Parts,
    scopes: &[&str],
    needs: Needs,
) -> Result<Option<Context>, LoginRejection> {
    // Borrowed, not cloned: a protected hit copies nothing it does not hand to the handler.
    let auth = parts
        .extensions
        .get::<Auth>()
        .ok_or(LoginRejection::Failed {
            error: Error::Setup(
                "no `Auth` on the request: add `.layer(auth.layer(store))` to the router",
            ),
            auth: None,
        })?;
    let fail = |error: Error| LoginRejection::Failed {
        error,
        auth: Some(auth.clone()),
    };
    let session = parts.extensions.get::<Session>().ok_or_else(|| {
        fail(Error::Setup(
            "no session on the request: add `.layer(auth.layer(store))` to the router",
        ))
    })?;
    let mut record: Record = session::load(session).await.map_err(fail)?;
    let Some(user) = record.user.as_mut() else {
        return Ok(None);
    };
    // With several providers, the user's own: its token endpoint, its rules. (A provider the
    // application no longer has signs the user out.) With one, `auth` itself, not a copy.
    let Some(auth) = auth.for_provider(user.provider.as_deref()) else {
        return Ok(None);
    };
    let auth = &*auth;
    // Signing in again (a step-up, a grant gone) goes back to the user's own provider.
    let again = |needs: Needs| {
        let mut rejection = sign_in_needed(parts, scopes, needs);
        if let (None, Some(name), LoginRejection::SignInRequired { login_url, .. }) =
            (needs.provider, auth.provider_key(), &mut rejection)
        {
            let separator = if login_url.contains('?') { '&' } else { '?' };
            login_url.push_str(&format!("{separator}provider={}", encode(&name)));
        }
        rejection
    };
    let now = auth.clock().now();
    let settings = auth.settings();
    if !user.is_current(now, &settings.session) {
        return Ok(None);
    }
    // Tokens sealed under a key no longer configured (or stored plain where a key is now
    // required) sign the user out on every kind of request, not only those that read them.
    if !user.tokens_open_with(auth.sealer()) {
        tracing::warn!("the session's tokens do not open with the configured keys; signed out");
        return Ok(None);
    }
    if let (true, Some(store)) = (settings.backchannel, auth.store()) {
        let signed_out = auth
            .markers()
            .signed_out_at(store, user.claim_str("iss"), user.claim_str("sub"))
            .await
            .map_err(fail)?;
        if signed_out.is_some_and(|at| user.since <= at) {
            return Ok(None);
        }
    }
    // A page for another provider's users: 403, not a sign-in that would land here again.
    if let Some(required) = needs.provider
        && required != auth.provider_name()
    {
        return Err(LoginRejection::Failed {
            error: Error::OtherProvider(required.to_owned()),
            auth: Some(auth.clone()),
        });
    }
    // A page that requires a recent (or a stronger) authentication than this session's sends
    // the user through sign-in again, asking the provider for it.
    if !needs.is_none() && !needs.met_by(user, now) {
        return Err(again(needs));
    }
    let dirty = user.touch(now, &settings.session);
    // Microsoft's authorities: the OpenID scopes need no access token. Elsewhere the scopes a
    // handler asks for are the scopes its token is asked, cached and refreshed for.
    let api_scopes = if auth.provider().authority().is_microsoft() {
        api_scopes(scopes)
    } else {
        scopes.to_vec()
    };
    let links = settings.links.clone();
    // The page, for a claims challenge the handler may raise (`Context::challenge`): as the
    // browser named it, like the return path of a sign-in.
    let page = parts
        .extensions
        .get::<OriginalUri>()
        .map(|o| &o.0)
        .unwrap_or(&parts.uri)
        .clone();
    // The record is ours: move the claims into the context instead of copying them.
    let context = |record: &mut Record| Context {
        user: match record.user.take() {
            Some(user) => User {
                claims: user.claims.shared().into(),
                data: user.data.shared().into(),
            },
            None => User::from_claims(Default::default()),
        },
        access_token: String::new(),
        token_type: String::new(),
        expires_in: 0,
        scopes: Vec::new(),
        links,
        page: Some(page),
        origin: Some(Origin {
            tokens: auth.session_tokens(),
            session: session.clone(),
        }),
    };
    if api_scopes.is_empty() {
        if dirty {
            session::store(session, &record, settings.session.at(now))
                .await
                .map_err(fail)?;
        }
        return Ok(Some(context(&mut record)));
    }
    // Tokens are needed now: read them (they live apart from the claims).
    session::attach_tokens(session, &mut record, auth.sealer())
        .await
        .map_err(fail)?;
    match auth
        .tokens()
        .acquire(auth.upstream(), session, &mut record, &api_scopes)
        .await
    {
        Ok(acquired) => {
            if acquired.changed || dirty {
                session::store_with_tokens(
                    session,
                    &record,
                    auth.sealer(),
                    settings.session.at(now),
                )
                .await
                .map_err(fail)?;
            }
            let expires_in = (acquired.token.expires_at - now).max(0) as u64;
            let mut context = context(&mut record);
            context.expires_in = expires_in;
            context.access_token = acquired.token.access_token;
            context.token_type = acquired.token.token_type;
            context.scopes = acquired.token.scopes;
            Ok(Some(context))
        }
        Err(Failure::SignIn) => Err(again(needs)),
        Err(Failure::Declined(missing)) => Err(LoginRejection::ScopesNotGranted {
            scopes: missing,
            auth: auth.clone(),
        }),
        Err(Failure::Error(error)) => Err(fail(error)),
    }
}
