//! The sign-in itself: starting it, completing it at the callback, and signing out.

use std::collections::HashMap;
use std::sync::Arc;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine as _;
use openidconnect::core::{CoreAuthenticationFlow, CoreIdToken, CoreTokenResponse};
use openidconnect::{
    AuthorizationCode, ClaimsVerificationError, CsrfToken, Nonce, NonceVerifier,
    OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, RequestTokenError, Scope,
    SignatureVerificationError, TokenResponse,
};
use serde_json::{Map, Value};
use tower_sessions::Session;

use crate::Error;
use crate::config::{Auth, encode};
use crate::provider::Metadata;
use crate::provider::Provider;
use crate::record::{self, CachedToken, Flow, PendingLogin, SignedIn};
use crate::return_path::safe_return_path;

/// Scopes that belong to the sign-in itself rather than to an API.
pub(crate) const OIDC_SCOPES: [&str; 4] = ["openid", "profile", "email", "offline_access"];
/// Most scopes one sign-in may ask for.
const MAX_SCOPES: usize = 32;

/// Query or form parameters, with a duplicated name refused: a real provider never sends
/// one, and "first wins" versus "last wins" disagreements between layers are an attack
/// surface (HTTP parameter pollution).
pub(crate) fn parse_params(input: &[u8]) -> Result<HashMap<String, String>, Error> {
    let mut params = HashMap::new();
    for (name, value) in form_urlencoded::parse(input) {
        if params
            .insert(name.to_string(), value.into_owned())
            .is_some()
        {
            return Err(Error::DuplicateParameter(name.into_owned()));
        }
    }
    Ok(params)
}

/// Checks a scope list from a URL: RFC 6749 scope tokens, not too many.
pub(crate) fn parse_scopes(raw: Option<&str>) -> Result<Vec<String>, Error> {
    let mut scopes: Vec<String> = Vec::new();
    for scope in raw.unwrap_or_default().split(' ').filter(|s| !s.is_empty()) {
        let valid = scope
            .bytes()
            .all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b));
        if !valid {
            return Err(Error::Malformed(format!("`{scope}` is not a valid scope")));
        }
        if !scopes.iter().any(|s| s == scope) {
            scopes.push(scope.to_owned());
        }
    }
    if scopes.len() > MAX_SCOPES {
        return Err(Error::Malformed("too many scopes".into()));
    }
    Ok(scopes)
}

/// Starts a sign-in: remembers a pending login in the session (creating the session if this
/// is the visitor's first request that needs one) and sends the browser to the provider.
pub(crate) async fn start_login(
    auth: &Auth,
    session: &Session,
    next: &str,
    scopes: Vec<String>,
    flow: Flow,
) -> Result<Response, Error> {
    let inner = &auth.inner;
    let meta = provider_for(auth, flow)?.metadata().await?;
    let client = meta.client(
        &inner.client_id,
        inner.client_secret.as_deref(),
        inner.redirect_uri.as_ref(),
    )?;
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
    if let Some(prompt) = inner.prompt {
        request = request.add_extra_param("prompt", prompt.as_str());
    }
    // `authorize_url` adds `openid` itself.
    for scope in sign_in_scopes(auth, &meta, &scopes) {
        if scope != "openid" {
            request = request.add_scope(Scope::new(scope.to_owned()));
        }
    }
    let (url, _, _) = request.url();

    let mut record = record::load(session).await?;
    let now = record::now();
    let timeout = inner.login_timeout.as_secs() as i64;
    record.pending.retain(|p| now - p.created <= timeout);
    if record.pending.len() >= record::MAX_PENDING {
        record.pending.remove(0);
    }
    record.pending.push(PendingLogin {
        state: state.secret().clone(),
        nonce: nonce.secret().clone(),
        verifier: verifier.secret().clone(),
        scopes,
        next: safe_return_path(next),
        created: now,
        flow,
    });
    record::store(session, &record).await?;
    Ok(no_store(Redirect::to(url.as_str()).into_response()))
}

/// The scopes of a sign-in, without duplicates: `openid profile`, `offline_access` where it
/// can be had, the configured scopes, then the ones a handler asked for.
pub(crate) fn sign_in_scopes<'a>(
    auth: &'a Auth,
    meta: &Metadata,
    asked: &'a [String],
) -> Vec<&'a str> {
    let inner = &auth.inner;
    let mut scopes: Vec<&str> = vec!["openid", "profile"];
    if meta.supports_scope("offline_access") || inner.authority.is_microsoft() {
        scopes.push("offline_access");
    }
    for scope in inner.scopes.iter().chain(asked) {
        if !scopes.contains(&scope.as_str()) {
            scopes.push(scope);
        }
    }
    scopes
}

/// The provider of a user flow: B2C's edit-profile and password-reset flows are authorities of
/// their own.
pub(crate) fn provider_for(auth: &Auth, flow: Flow) -> Result<&Provider, Error> {
    let b2c = &auth.inner.b2c;
    match flow {
        Flow::SignIn => Ok(&auth.inner.provider),
        Flow::EditProfile => b2c.edit_profile.as_ref().ok_or(Error::Malformed(
            "no edit-profile user flow is configured".into(),
        )),
        Flow::ResetPassword => b2c.reset_password.as_ref().ok_or(Error::Malformed(
            "no password-reset user flow is configured".into(),
        )),
    }
}

/// Completes a sign-in at the redirect URI.
pub(crate) async fn callback(
    auth: &Auth,
    session: &Session,
    params: HashMap<String, String>,
) -> Result<Response, Error> {
    let inner = &auth.inner;
    let Some(state) = params.get("state") else {
        // Without state nothing ties this response to a sign-in of this browser; a provider
        // error without state is shown, but nothing else is done.
        if let Some(error) = params.get("error") {
            return Err(provider_error(error, params.get("error_description")));
        }
        return Err(Error::MissingParameter("state"));
    };
    let mut record = record::load_full(session).await?;
    let Some(position) = record.pending.iter().position(|p| &p.state == state) else {
        // A double click or the back button replays a callback whose sign-in already
        // completed: a signed-in user simply goes back to the app.
        if record.user.is_some() {
            return Ok(no_store(Redirect::to("/").into_response()));
        }
        return Err(Error::UnknownState);
    };
    // Single use: the pending sign-in is gone from the store before the code is redeemed, so
    // a replayed or concurrent callback can never redeem it again.
    let pending = record.pending.remove(position);
    record::store(session, &record).await?;

    if record::now() - pending.created > inner.login_timeout.as_secs() as i64 {
        return Err(Error::Expired);
    }
    let provider = provider_for(auth, pending.flow)?;
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
        if description.contains("AADB2C90118") && inner.b2c.reset_password.is_some() {
            return start_login(
                auth,
                session,
                &pending.next,
                pending.scopes,
                Flow::ResetPassword,
            )
            .await;
        }
        // AADB2C90091: the user cancelled an edit-profile or reset flow; nothing changes.
        if description.contains("AADB2C90091")
            && pending.flow != Flow::SignIn
            && record.user.is_some()
        {
            return Ok(no_store(Redirect::to(&pending.next).into_response()));
        }
        return Err(provider_error(error, params.get("error_description")));
    }
    let code = params
        .get("code")
        .filter(|c| !c.is_empty())
        .ok_or(Error::MissingParameter("code"))?;

    let client = meta.client(
        &inner.client_id,
        inner.client_secret.as_deref(),
        inner.redirect_uri.as_ref(),
    )?;
    let response = client
        .exchange_code(AuthorizationCode::new(code.clone()))
        .set_pkce_verifier(PkceCodeVerifier::new(pending.verifier.clone()))
        .request_async(&inner.provider.oauth)
        .await
        .map_err(token_error)?;
    let id_token = response
        .id_token()
        .ok_or_else(|| Error::InvalidToken("the provider sent no ID token".into()))?;
    let nonce = Nonce::new(pending.nonce.clone());
    let (meta, mut claims) = verify_id_token(auth, provider, meta, id_token, &nonce).await?;
    if needs_userinfo(&claims) {
        merge_userinfo(auth, &meta, response.access_token().secret(), &mut claims).await?;
    }

    if pending.flow == Flow::EditProfile {
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
        user.claims = claims;
        record::store(session, &record).await?;
        return Ok(no_store(Redirect::to(&pending.next).into_response()));
    }
    complete_sign_in(
        auth,
        session,
        record,
        &response,
        claims,
        &pending.scopes,
        &pending.next,
    )
    .await
}

/// Stores a freshly signed-in user (after the callback or a Device Code sign-in) under a new
/// session id, and sends the browser on to `next`.
pub(crate) async fn complete_sign_in(
    auth: &Auth,
    session: &Session,
    mut record: record::Record,
    response: &CoreTokenResponse,
    claims: Map<String, Value>,
    asked: &[String],
    next: &str,
) -> Result<Response, Error> {
    let inner = &auth.inner;
    let now = record::now();
    let granted = granted_scopes(response, asked, &inner.scopes);
    let declined: Vec<String> = asked
        .iter()
        .filter(|s| !granted.contains(s))
        .cloned()
        .collect();
    let id_token = response
        .id_token()
        .map(|t| t.to_string())
        .unwrap_or_default();
    let mut signed_in = match record.user.take() {
        // An incremental-consent sign-in of the same user keeps the tokens already cached.
        Some(previous) if previous.claims.get("sub") == claims.get("sub") => previous,
        _ => SignedIn {
            claims: Map::new(),
            id_token: String::new(),
            since: now,
            seen: now,
            refresh_token: None,
            tokens: Vec::new(),
            declined: Vec::new(),
        },
    };
    signed_in.claims = claims;
    // The user just authenticated: the session's lifetime (and any back-channel logout before
    // this moment) counts from now.
    signed_in.since = now;
    signed_in.seen = now;
    signed_in.id_token = id_token;
    if let Some(refresh) = response.refresh_token() {
        signed_in.refresh_token = Some(refresh.secret().clone());
    }
    signed_in.declined.retain(|s| !granted.contains(s));
    signed_in.declined.extend(declined);
    store_token(&mut signed_in, response, granted, now);
    record.user = Some(signed_in);
    record.device = None;
    // A new session id at the moment of sign-in defeats session fixation: whatever id an
    // attacker planted before is dead from now on.
    session.cycle_id().await?;
    record::store(session, &record).await?;
    let mut response = Redirect::to(next).into_response();
    *response.status_mut() = StatusCode::SEE_OTHER;
    Ok(no_store(response))
}

/// The scopes the token response granted, OpenID scopes left out and sorted. RFC 6749 §5.1:
/// no `scope` in the response means "what was asked".
pub(crate) fn granted_scopes(
    response: &CoreTokenResponse,
    asked: &[String],
    configured: &[String],
) -> Vec<String> {
    let mut granted: Vec<String> = match response.scopes() {
        Some(scopes) => scopes.iter().map(|s| s.to_string()).collect(),
        None => asked.iter().chain(configured).cloned().collect(),
    };
    granted.retain(|s| !OIDC_SCOPES.contains(&s.as_str()));
    granted.sort();
    granted.dedup();
    granted
}

/// Puts the access token of a token response into the cache, replacing one for the same scopes.
pub(crate) fn store_token(
    user: &mut SignedIn,
    response: &CoreTokenResponse,
    scopes: Vec<String>,
    now: i64,
) {
    // B2C answers a sign-in without API scopes with an ID token only (see `BoundedClient`), and
    // a token for no API scope serves no handler: neither is worth session bytes.
    if response.access_token().secret().is_empty() || scopes.is_empty() {
        return;
    }
    let lifetime = response
        .expires_in()
        .map(|d| d.as_secs() as i64)
        .unwrap_or(3600);
    user.tokens
        .retain(|t| t.scopes != scopes && t.expires_at > now);
    user.tokens.push(CachedToken {
        scopes,
        access_token: response.access_token().secret().clone(),
        token_type: token_type_name(response),
        expires_at: now + lifetime,
        obtained_at: now,
    });
}

fn token_type_name(response: &CoreTokenResponse) -> String {
    match response.token_type() {
        openidconnect::core::CoreTokenType::Bearer => "Bearer".to_owned(),
        other => serde_json::to_value(other)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_else(|| "Bearer".into()),
    }
}

/// Verifies an ID token (signature, iss, aud, azp, exp, iat, nonce) and returns its raw claims.
/// An unknown signing key makes one (rate-limited) attempt with freshly fetched keys.
pub(crate) async fn verify_id_token(
    auth: &Auth,
    provider: &Provider,
    meta: Arc<Metadata>,
    id_token: &CoreIdToken,
    nonce: &impl NonceCheck,
) -> Result<(Arc<Metadata>, Map<String, Value>), Error> {
    match verify_with(auth, &meta, id_token, nonce) {
        Err(ClaimsVerificationError::SignatureVerification(
            SignatureVerificationError::NoMatchingKey,
        )) => match provider.refetch_keys(&meta).await? {
            Some(fresh) => {
                verify_with(auth, &fresh, id_token, nonce).map_err(rejected)?;
                let claims = checked_claims(&fresh, &auth.inner.client_id, id_token)?;
                Ok((fresh, claims))
            }
            None => Err(Error::InvalidToken(
                "the ID token is signed with an unknown key".into(),
            )),
        },
        Err(e) => Err(rejected(e)),
        Ok(()) => {
            let claims = checked_claims(&meta, &auth.inner.client_id, id_token)?;
            Ok((meta, claims))
        }
    }
}

/// Keeps the cause of a signature failure ("disallowed algorithm", "no matching key"), which the
/// error's own message drops, so logs can tell the cases apart.
fn rejected(error: ClaimsVerificationError) -> Error {
    match &error {
        ClaimsVerificationError::SignatureVerification(cause) => {
            Error::InvalidToken(format!("{error}: {cause}"))
        }
        _ => Error::InvalidToken(error.to_string()),
    }
}

/// How a flow checks the nonce: the sign-in compares it, a refresh has none to compare.
pub(crate) trait NonceCheck {
    fn check(&self, nonce: Option<&Nonce>) -> Result<(), String>;
}

impl NonceCheck for Nonce {
    fn check(&self, nonce: Option<&Nonce>) -> Result<(), String> {
        self.verify(nonce)
    }
}

/// Refreshed ID tokens carry no nonce (OpenID Connect Core §12.2).
pub(crate) struct NoNonce;

impl NonceCheck for NoNonce {
    fn check(&self, _: Option<&Nonce>) -> Result<(), String> {
        Ok(())
    }
}

fn verify_with(
    auth: &Auth,
    meta: &Metadata,
    id_token: &CoreIdToken,
    nonce: &impl NonceCheck,
) -> Result<(), ClaimsVerificationError> {
    let inner = &auth.inner;
    let client = meta
        .client(
            &inner.client_id,
            inner.client_secret.as_deref(),
            inner.redirect_uri.as_ref(),
        )
        .map_err(|e| ClaimsVerificationError::Other(e.to_string()))?;
    let verifier = client
        .id_token_verifier()
        .set_allowed_algs(meta.allowed_algs())
        .require_issuer_match(meta.issuer_rule.exact().is_some());
    id_token
        .claims(&verifier, |n: Option<&Nonce>| nonce.check(n))
        .map(|_| ())
}

fn checked_claims(
    meta: &Metadata,
    client_id: &str,
    id_token: &CoreIdToken,
) -> Result<Map<String, Value>, Error> {
    let claims = raw_claims(&id_token.to_string())?;
    meta.issuer_rule
        .check(&claims)
        .map_err(Error::InvalidToken)?;
    // OpenID Connect Core §3.1.3.7 step 5; the openidconnect crate leaves `azp` unchecked.
    if let Some(azp) = claims
        .get("azp")
        .filter(|azp| azp.as_str() != Some(client_id))
    {
        return Err(Error::InvalidToken(format!(
            "the ID token was issued to another party (azp {azp})"
        )));
    }
    match claims.get("sub").and_then(Value::as_str) {
        Some(sub) if !sub.is_empty() => Ok(claims),
        _ => Err(Error::InvalidToken("the ID token has no `sub`".into())),
    }
}

/// The payload of an already verified compact JWT, as raw JSON.
fn raw_claims(jwt: &str) -> Result<Map<String, Value>, Error> {
    let payload = jwt
        .split('.')
        .nth(1)
        .ok_or_else(|| Error::InvalidToken("malformed JWT".into()))?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .map_err(|e| Error::InvalidToken(format!("malformed JWT payload: {e}")))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| Error::InvalidToken(format!("malformed JWT payload: {e}")))
}

/// A code-flow ID token may carry only `sub` (OpenID Connect Core §5.4); the profile then
/// comes from userinfo.
pub(crate) fn needs_userinfo(claims: &Map<String, Value>) -> bool {
    !["name", "preferred_username", "email"]
        .iter()
        .any(|c| claims.contains_key(*c))
}

pub(crate) async fn merge_userinfo(
    auth: &Auth,
    meta: &Metadata,
    access_token: &str,
    claims: &mut Map<String, Value>,
) -> Result<(), Error> {
    let Some(url) = meta.provider.userinfo_endpoint() else {
        return Ok(());
    };
    let response = auth
        .inner
        .provider
        .http
        .get(url.as_str())
        .bearer_auth(access_token)
        .header(header::ACCEPT, "application/json")
        .send()
        .await;
    let info: Map<String, Value> = match response {
        Ok(r) if r.status().is_success() => {
            match crate::provider::read_limited(r, crate::provider::MAX_RESPONSE_BYTES)
                .await
                .and_then(|body| serde_json::from_slice(&body).map_err(|e| e.to_string()))
            {
                Ok(info) => info,
                Err(e) => {
                    tracing::warn!(error = %e, "userinfo is not a JSON object; using the ID token's claims only");
                    return Ok(());
                }
            }
        }
        Ok(r) => {
            tracing::warn!(status = %r.status(), "userinfo failed; using the ID token's claims only");
            return Ok(());
        }
        Err(e) => {
            tracing::warn!(error = %e, "userinfo unreachable; using the ID token's claims only");
            return Ok(());
        }
    };
    // OpenID Connect Core §5.3.2: a userinfo `sub` that differs means the answer is not about
    // this user and must not be used.
    if info.get("sub") != claims.get("sub") {
        return Err(Error::InvalidToken(
            "the userinfo response is about another subject".into(),
        ));
    }
    for (name, value) in info {
        claims.entry(name).or_insert(value);
    }
    Ok(())
}

pub(crate) fn provider_error(error: &str, description: Option<&String>) -> Error {
    let clip = |s: &str| s.chars().take(300).collect::<String>();
    Error::Provider {
        error: clip(error),
        description: description.map(|d| clip(d)).unwrap_or_default(),
    }
}

pub(crate) fn token_error<E: std::error::Error + 'static>(
    error: RequestTokenError<
        E,
        openidconnect::StandardErrorResponse<openidconnect::core::CoreErrorResponseType>,
    >,
) -> Error {
    use openidconnect::core::CoreErrorResponseType as T;
    match error {
        RequestTokenError::ServerResponse(response) => {
            let detail = match response.error_description() {
                Some(d) => format!("{}: {d}", response.error()),
                None => response.error().to_string(),
            };
            match response.error() {
                T::InvalidGrant | T::InvalidScope => Error::InvalidGrant(detail),
                T::Extension(e)
                    if ["consent_required", "interaction_required", "login_required"]
                        .contains(&e.as_str()) =>
                {
                    Error::InvalidGrant(detail)
                }
                _ => Error::TokenEndpoint(detail),
            }
        }
        RequestTokenError::Request(e) => {
            Error::ProviderUnavailable(format!("token request failed: {e}"))
        }
        // openidconnect parses the ID token's claims while reading the response, so a token
        // without `sub` or `iat` surfaces here: that is a rejected token, not a broken provider.
        RequestTokenError::Parse(e, _)
            if e.path().to_string().contains("id_token")
                || e.inner().to_string().contains("payload JSON") =>
        {
            Error::InvalidToken(format!("the ID token is malformed: {e}"))
        }
        RequestTokenError::Parse(e, _) => {
            Error::TokenEndpoint(format!("unreadable token response: {e}"))
        }
        RequestTokenError::Other(e) => Error::TokenEndpoint(e),
    }
}

/// Signs out: ends the session server-side, then lets the provider end its own.
pub(crate) async fn logout(auth: &Auth, session: &Session) -> Result<Response, Error> {
    let inner = &auth.inner;
    let record = record::load_full(session).await?;
    // Deletes the record from the store and expires the cookie: replaying the old cookie
    // finds nothing.
    session.flush().await?;
    // With the Device Code flow the provider's session lives on another device: ending it
    // from this browser is neither possible nor wanted.
    let (Some(user), Some(destination)) = (record.user, absolute_url(auth, &inner.post_logout))
    else {
        return Ok(no_store(Redirect::to(&inner.post_logout).into_response()));
    };
    // A provider that cannot be reached right now must not keep the user signed in here.
    let end_session = match inner.provider.metadata().await {
        Ok(meta) => meta.extra.end_session_endpoint.clone(),
        Err(error) => {
            tracing::warn!(%error, "provider unavailable at logout; signed out locally only");
            None
        }
    };
    let target = match end_session {
        Some(endpoint) => {
            let separator = if endpoint.contains('?') { '&' } else { '?' };
            format!(
                "{endpoint}{separator}post_logout_redirect_uri={}&client_id={}&id_token_hint={}",
                encode(&destination),
                encode(&inner.client_id),
                encode(&user.id_token)
            )
        }
        None => inner.post_logout.clone(),
    };
    Ok(no_store(Redirect::to(&target).into_response()))
}

fn absolute_url(auth: &Auth, path: &str) -> Option<String> {
    let redirect = auth.inner.redirect_uri.as_ref()?;
    Some(format!(
        "{}{}",
        redirect.origin().ascii_serialization(),
        path
    ))
}

pub(crate) fn no_store(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicated_parameters_are_refused() {
        assert!(
            matches!(parse_params(b"code=a&state=b&code=c"), Err(Error::DuplicateParameter(n)) if n == "code")
        );
        assert_eq!(parse_params(b"code=a%20b&state=x").unwrap()["code"], "a b");
    }

    #[test]
    fn scopes_from_urls_are_validated() {
        assert_eq!(parse_scopes(Some("a b  a")).unwrap(), vec!["a", "b"]);
        assert!(parse_scopes(Some("a\"b")).is_err());
        assert!(parse_scopes(Some("a\\b")).is_err());
        assert!(parse_scopes(None).unwrap().is_empty());
    }
}
