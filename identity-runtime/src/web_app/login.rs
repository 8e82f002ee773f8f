//! The sign-in itself: starting it, and completing it at the callback.

use std::collections::HashMap;

use axum::response::Response;
use openidconnect::core::CoreAuthenticationFlow;
use openidconnect::{
    AuthorizationCode, CsrfToken, Nonce, PkceCodeChallenge, PkceCodeVerifier, Scope,
};
use serde_json::Value;
use tower_sessions::Session;

use crate::core::error::{ConfigError, Error, Flow};
use crate::core::params::Prompt;
use crate::core::response::redirect;
use crate::oidc::authority::is_loopback;
use crate::oidc::client::{refusal_fix, token_error};
use crate::oidc::id_token;
use crate::oidc::provider::Metadata;
use crate::store::session::{self, MAX_PENDING, PendingLogin, UserFlow};
use crate::web_app::admission::SignInMethod;
use crate::web_app::auth::Auth;
use crate::web_app::complete::{Completed, complete_sign_in};
use crate::web_app::sign_in_params::SignInParams;
use crate::web_app::step_up;

/// Starts a sign-in: remembers a pending login in the session (creating the session if this
/// is the visitor's first request that needs one) and sends the browser to the provider.
#[tracing::instrument(name = "login", level = "debug", skip_all, fields(flow = "start", ?scopes, ?user_flow))]
pub(crate) async fn start(
    auth: &Auth,
    session: &Session,
    next: &str,
    scopes: Vec<String>,
    user_flow: UserFlow,
    mut params: SignInParams,
) -> Result<Response, Error> {
    let meta = auth.provider_for(user_flow)?.metadata().await?;
    params.keep_locales(
        meta.provider
            .ui_locales_supported()
            .map(|l| {
                // openidconnect's `LanguageTag`s, as the strings they are.
                l.iter()
                    .map(|tag| tag.as_str().to_owned())
                    .collect::<Vec<_>>()
            })
            .as_deref(),
    );
    let client = auth.client().oidc(&meta)?;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let state = CsrfToken::new_random_len(32);
    let nonce = Nonce::new_random_len(32);

    let mut request = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            {
                let state = state.clone();
                move || state
            },
            {
                let nonce = nonce.clone();
                move || nonce
            },
        )
        .set_pkce_challenge(challenge);
    // The request's own `prompt` wins over the configured one.
    let prompt = params.prompt.or(auth.settings().prompt);
    if let Some(prompt) = prompt {
        request = request.add_extra_param("prompt", prompt.as_str());
    }
    for (name, value) in [
        ("login_hint", params.login_hint.take()),
        ("domain_hint", params.domain_hint.take()),
        ("ui_locales", params.ui_locales.take()),
    ] {
        if let Some(value) = value {
            request = request.add_extra_param(name, value);
        }
    }
    if let Some(step_up) = &params.step_up {
        if let Some(max_age) = step_up.max_age {
            request = request.add_extra_param("max_age", max_age.to_string());
        }
        if let Some(acr) = &step_up.acr {
            request = request.add_extra_param("acr_values", acr.clone());
        }
    }
    if let Some(claims) = auth.client().claims_param(params.claims.as_deref()) {
        request = request.add_extra_param("claims", claims);
    }
    for (name, value) in auth.client().resource_params() {
        request = request.add_extra_param(name, value);
    }
    // `authorize_url` adds `openid` itself.
    for scope in sign_in_scopes(auth, &meta, &scopes) {
        if scope != "openid" {
            request = request.add_scope(Scope::new(scope.to_owned()));
        }
    }
    let (url, _, _) = request.url();

    let mut record = session::load(session).await?;
    let now = auth.clock().now();
    let timeout = auth.settings().session.login_timeout.as_secs() as i64;
    record.pending.retain(|p| now - p.created <= timeout);
    if record.pending.len() >= MAX_PENDING {
        record.pending.remove(0);
    }
    record.pending.push(PendingLogin {
        state: state.secret().clone(),
        nonce: nonce.secret().clone(),
        verifier: verifier.secret().clone(),
        scopes,
        next: auth.return_path(next),
        created: now,
        flow: user_flow,
        step_up: params.step_up,
        silent: prompt == Some(Prompt::None),
        provider: auth.provider_key(),
    });
    session::store(session, &record, auth.expiring()).await?;
    Ok(redirect(url.as_str()))
}

/// Where `GET <login_path>` should go first when the browser asked for it on another loopback
/// name than the redirect URI's, on the same port (`http://localhost:5000/login` with a
/// redirect URI on `http://127.0.0.1:5000`): the same login URL on the redirect URI's origin.
/// Cookies belong to a host name, so a sign-in started on one name would come back to the
/// other without its cookie. `host` is the request's `Host` (or HTTP/2 authority).
///
/// Only loopback names, the same port, and no proxy in between (`Forwarded`,
/// `X-Forwarded-Host`): a proxy may rewrite `Host`, and a hop could loop. The target is the
/// configured redirect URI's origin and the login path, fixed values: never an open redirect.
pub(crate) fn on_redirect_origin(
    auth: &Auth,
    host: Option<&str>,
    proxied: bool,
    query: Option<&str>,
) -> Option<String> {
    let redirect_uri = auth.client().redirect_uri()?;
    let host = host.filter(|h| !h.contains(['/', '@', '?', '#', '\\']))?;
    if proxied || !is_loopback(redirect_uri) {
        return None;
    }
    let asked = url::Url::parse(&format!("{}://{host}/", redirect_uri.scheme())).ok()?;
    if !is_loopback(&asked)
        || asked.port_or_known_default() != redirect_uri.port_or_known_default()
        || asked.host() == redirect_uri.host()
    {
        return None;
    }
    let mut target = format!(
        "{}{}",
        redirect_uri.origin().ascii_serialization(),
        auth.login_path()
    );
    if let Some(query) = query.filter(|q| !q.is_empty()) {
        target.push('?');
        target.push_str(query);
    }
    Some(target)
}

/// The scopes of a sign-in, without duplicates: `openid profile`, `offline_access` where it
/// can be had, the configured scopes, then the ones a handler asked for.
pub(crate) fn sign_in_scopes<'a>(
    auth: &'a Auth,
    meta: &Metadata,
    asked: &'a [String],
) -> Vec<&'a str> {
    let mut scopes: Vec<&str> = vec!["openid", "profile"];
    if meta.supports_scope("offline_access") || auth.provider().authority().is_microsoft() {
        scopes.push("offline_access");
    }
    for scope in auth.settings().scopes.iter().chain(asked) {
        if !scopes.contains(&scope.as_str()) {
            scopes.push(scope);
        }
    }
    scopes
}

/// Completes a sign-in at the redirect URI.
#[tracing::instrument(
    name = "login",
    level = "debug",
    skip_all,
    fields(flow = "callback", sub)
)]
pub(crate) async fn callback(
    auth: &Auth,
    session: &Session,
    params: HashMap<String, String>,
) -> Result<Response, Error> {
    let Some(state) = params.get("state") else {
        // Without state nothing ties this response to a sign-in of this browser; a provider
        // error without state is shown, but nothing else is done.
        if let Some(error) = params.get("error") {
            return Err(provider_error(error, params.get("error_description")));
        }
        return Err(Error::MissingParameter("state"));
    };
    // Before loading: the id comes from the cookie, if the browser sent one.
    let had_cookie = session.id().is_some();
    let mut record = session::load_with_tokens(session, auth.sealer()).await?;
    let Some(position) = record.pending.iter().position(|p| &p.state == state) else {
        // A double click or the back button replays a callback whose sign-in already
        // completed: a signed-in user simply goes back to the app.
        if record.user.is_some() {
            return Ok(redirect(&auth.home()));
        }
        if let (false, Some(redirect_uri)) = (had_cookie, auth.client().redirect_uri()) {
            return Err(Error::NoSessionCookie {
                origin: redirect_uri.origin().ascii_serialization(),
            });
        }
        return Err(Error::UnknownState);
    };
    // Single use, even for concurrent requests of one callback URL (each of which read the
    // pending sign-in before any wrote its removal): the first claim wins, here or on any
    // instance sharing the lock, and only the winner redeems the code. A second redemption would
    // make the provider revoke the grant (RFC 6749 §4.1.2).
    let ttl = auth.settings().session.login_timeout;
    if !auth
        .once()
        .claim("state", state, auth.clock().now(), ttl)
        .await?
    {
        return Err(Error::UnknownState);
    }
    // And gone from the store before the code is redeemed, so a replay can never redeem it.
    let pending = record.pending.remove(position);
    session::store(session, &record, auth.expiring()).await?;
    // The sign-in completes at the provider it went to: its issuer, its token endpoint, its
    // keys, whatever the answer claims to come from.
    let Some(auth) = auth.for_provider(pending.provider.as_deref()) else {
        return Err(Error::UnknownState);
    };
    let auth = &*auth;

    if auth.clock().now() - pending.created > auth.settings().session.login_timeout.as_secs() as i64
    {
        return Err(Error::Expired);
    }
    let provider = auth.provider_for(pending.flow)?;
    let meta = provider.metadata().await?;
    // RFC 9207: the authorization response names its issuer, which defeats mix-up attacks.
    match params.get("iss") {
        Some(iss) if iss != &meta.issuer => {
            return Err(Error::InvalidToken(format!(
                "the response comes from the issuer `{iss}`, not `{}`",
                meta.issuer
            )));
        }
        None if meta.extra.authorization_response_iss_parameter_supported => {
            return Err(Error::MissingParameter("iss"));
        }
        _ => {}
    }
    if let Some(error) = params.get("error") {
        let description = params
            .get("error_description")
            .map(String::as_str)
            .unwrap_or_default();
        // B2C's "Forgot your password?" link ends the sign-in with AADB2C90118: send the user
        // through the password-reset flow, then back where they were going.
        if description.contains("AADB2C90118") && auth.has_reset_password_flow() {
            return start(
                auth,
                session,
                &pending.next,
                pending.scopes,
                UserFlow::ResetPassword,
                SignInParams::default(),
            )
            .await;
        }
        // AADB2C90091: the user cancelled an edit-profile or reset flow; nothing changes.
        if description.contains("AADB2C90091")
            && pending.flow != UserFlow::SignIn
            && record.user.is_some()
        {
            return Ok(redirect(&pending.next));
        }
        // `prompt=none` asked the provider not to show anything: "the user would have to
        // interact" means "not signed in there", and the browser goes back to its page signed
        // out (a protected page then starts an ordinary sign-in), not to an error page.
        if pending.silent
            && matches!(
                error.as_str(),
                "login_required"
                    | "interaction_required"
                    | "consent_required"
                    | "account_selection_required"
            )
        {
            tracing::info!(error = %clip(error), "silent sign-in: the provider needs the user");
            return Ok(redirect(&pending.next));
        }
        // The state matched a sign-in of this browser, so the answer is the provider's own: a
        // refusal that only a configuration change can fix is reported as one.
        if let Some(fix) = refusal_fix(error, Flow::SignIn) {
            let description = params.get("error_description").map(String::as_str);
            return Err(Error::Config(ConfigError::Refused {
                flow: Flow::SignIn,
                answer: format!("{}: {}", clip(error), clip(description.unwrap_or_default())),
                fix,
            }));
        }
        return Err(provider_error(error, params.get("error_description")));
    }
    let code = params
        .get("code")
        .filter(|c| !c.is_empty())
        .ok_or(Error::MissingParameter("code"))?;

    let client = auth.client().oidc(&meta)?;
    let mut request = client
        .exchange_code(AuthorizationCode::new(code.clone()))
        .set_pkce_verifier(PkceCodeVerifier::new(pending.verifier.clone()));
    for (name, value) in auth
        .client()
        .assertion_params(&meta)
        .await?
        .into_iter()
        .chain(auth.client().token_params())
    {
        request = request.add_extra_param(name, value);
    }
    let http = provider.oauth().recording();
    let response = request
        .request_async(&http)
        .await
        .map_err(|e| token_error(e, Flow::SignIn, http.answer()))?;
    let nonce = Nonce::new(pending.nonce.clone());
    let claims = id_token::claims_from(
        auth.client(),
        provider,
        meta,
        &response,
        &nonce,
        auth.time_rules(),
    )
    .await?;
    if let Some(sub) = claims.get("sub").and_then(Value::as_str) {
        tracing::Span::current().record("sub", sub);
    }
    // What the page that sent the user here requires of the authentication, on the new token:
    // a provider that ignored `max_age` or `acr_values` gets a 403 page, not another round.
    let authenticated = step_up::check_new_token(
        pending.step_up.as_ref(),
        &claims,
        auth.clock().now(),
        auth.settings().clock_skew.as_secs() as i64,
    )?;

    if pending.flow == UserFlow::EditProfile {
        // The edit-profile return trip refreshes the claims of the user who is signed in.
        let Some(user) = record
            .user
            .as_mut()
            .filter(|u| u.claims.get("sub") == claims.get("sub"))
        else {
            return Err(Error::InvalidToken(
                "the edited profile belongs to another user".into(),
            ));
        };
        user.claims = claims.into();
        session::store(session, &record, auth.expiring()).await?;
        return Ok(redirect(&pending.next));
    }
    complete_sign_in(
        auth,
        session,
        record,
        Completed {
            response: &response,
            claims,
            asked: &pending.scopes,
            next: &pending.next,
            method: SignInMethod::AuthorizationCode,
            authenticated,
        },
    )
    .await
}

/// Text from an unauthenticated request, clipped to what a page or a log line needs.
fn clip(text: &str) -> String {
    text.chars().take(300).collect()
}

/// The provider's error, clipped: it comes from an unauthenticated request.
pub(crate) fn provider_error(error: &str, description: Option<&String>) -> Error {
    Error::Provider {
        error: clip(error),
        description: description.map(|d| clip(d)).unwrap_or_default(),
    }
}
