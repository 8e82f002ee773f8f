//! Signing out: only when the user asked (not a cross-site navigation, a prefetch or a `HEAD`),
//! then the session ends here, the refresh token is revoked, and the provider's session ends
//! (RP-initiated logout).

use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use sha2::Digest as _;
use tower_sessions::Session;

use crate::core::error::{Error, Flow};
use crate::core::params::{encode, parse_params};
use crate::core::response::redirect;
use crate::oidc::client;
use crate::store::session;
use crate::web_app::auth::Auth;
use crate::web_app::pages::{SignOutPage, page};
use crate::web_app::rejection::is_prefetch;

/// What a request to the logout path asks for.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Intent {
    /// The user asked: sign out.
    SignOut,
    /// Someone else may have asked (another site, a prefetch): ask the user.
    Confirm,
}

/// Fetch Metadata says who started a navigation: `same-origin` (a link of this app) and `none`
/// (the user typed it, or a bookmark) are the user; anything else, or no header (an old
/// browser), is confirmed first. `HEAD` and prefetches never sign out. A `POST` carries the
/// confirmation page's token, or comes from this origin.
pub(crate) fn intent(
    method: &Method,
    headers: &HeaderMap,
    body: &[u8],
    token: &str,
    origin: Option<&str>,
) -> Intent {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if *method == Method::HEAD || is_prefetch(headers) {
        return Intent::Confirm;
    }
    let from_user = matches!(header("sec-fetch-site"), Some("same-origin" | "none"));
    if *method == Method::GET {
        return if from_user {
            Intent::SignOut
        } else {
            Intent::Confirm
        };
    }
    let same_origin = origin.is_some_and(|origin| header("origin") == Some(origin));
    let confirmed = parse_params(body)
        .ok()
        .and_then(|params| params.get("csrf").cloned())
        .is_some_and(|sent| {
            !token.is_empty() && constant_time_eq(sent.as_bytes(), token.as_bytes())
        });
    if from_user || same_origin || confirmed {
        Intent::SignOut
    } else {
        Intent::Confirm
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The confirmation page's token: bound to the session, so another site cannot know it.
pub(crate) fn csrf_token(session: &Session) -> String {
    match session.id() {
        Some(id) => {
            let digest = sha2::Sha256::digest(format!("axum-identity logout\n{id}").as_bytes());
            digest.iter().take(16).map(|b| format!("{b:02x}")).collect()
        }
        None => String::new(),
    }
}

/// `GET|POST <logout_path>`.
pub(crate) async fn request(
    auth: &Auth,
    session: &Session,
    method: &Method,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, Error> {
    let token = csrf_token(session);
    let origin = auth
        .client()
        .redirect_uri()
        .map(|u| u.origin().ascii_serialization());
    match intent(method, headers, body, &token, origin.as_deref()) {
        Intent::SignOut => logout(auth, session).await,
        Intent::Confirm => {
            let html = auth.pages().sign_out(&SignOutPage {
                app_name: &auth.settings().app_name,
                action: auth.logout_path(),
                csrf: &token,
            });
            Ok(page(StatusCode::OK, html))
        }
    }
}

/// Signs out: ends the session server-side, then lets the provider end its own.
#[tracing::instrument(name = "logout", level = "debug", skip_all, fields(flow = "logout"))]
pub(crate) async fn logout(auth: &Auth, session: &Session) -> Result<Response, Error> {
    let post_logout = &auth.settings().post_logout;
    let record = match session::load_with_tokens(session, auth.sealer()).await {
        Ok(record) => record,
        Err(Error::SessionStore(cause)) => return Ok(store_down(auth, cause)),
        Err(other) => return Err(other),
    };
    // Deletes the record from the store and expires the cookie: replaying the old cookie
    // finds nothing.
    if let Err(Error::SessionStore(cause)) = session.flush().await.map_err(Error::from) {
        return Ok(store_down(auth, cause));
    }
    let Some(user) = record.user else {
        return Ok(redirect(post_logout));
    };
    // The user's own provider revokes the token and ends its session (with several providers;
    // one the application no longer has is left alone).
    let Some(auth) = auth.for_provider(user.provider.as_deref()) else {
        return Ok(redirect(post_logout));
    };
    let auth = &*auth;
    if let Some(refresh_token) = user.refresh_token.clone() {
        revoke(auth.clone(), refresh_token);
    }
    // With the Device Code flow the provider's session lives on another device: ending it
    // from this browser is neither possible nor wanted.
    let Some(destination) = auth.post_logout_redirect_uri() else {
        return Ok(redirect(post_logout));
    };
    // A provider that cannot be reached right now must not keep the user signed in here.
    let end_session = match auth.provider().metadata().await {
        Ok(meta) => meta.extra.end_session_endpoint.clone(),
        Err(error) => {
            tracing::warn!(error = %error.chain(), "provider unavailable at logout; signed out locally only");
            None
        }
    };
    let target = match end_session {
        Some(endpoint) => {
            end_session_url(&endpoint, &destination, auth.client().id(), &user.id_token)
        }
        None => post_logout.clone(),
    };
    Ok(redirect(&target))
}

/// The session could not be ended: say so plainly (never the signed-out page while the session
/// lives on in the store), and expire the cookie so this browser at least is signed out.
fn store_down(auth: &Auth, cause: crate::core::error::BoxError) -> Response {
    let mut response = auth.render_error(&Error::SignOutIncomplete(cause));
    let mut cookie = format!(
        "{}=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax",
        auth.cookie_name()
    );
    if auth.requires_secure_cookies() {
        cookie.push_str("; Secure");
    }
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// RFC 7009: the refresh token dies with the session, in the background so that a slow
/// provider does not hold up the sign-out; a failure keeps nobody signed in here.
fn revoke(auth: Auth, refresh_token: String) {
    tokio::spawn(async move {
        let result = async {
            let meta = auth.provider().metadata().await?;
            let Some(endpoint) = meta.extra.revocation_endpoint.clone() else {
                return Ok(false);
            };
            let form = vec![
                ("token".to_owned(), refresh_token),
                ("token_type_hint".to_owned(), "refresh_token".to_owned()),
            ];
            let (status, body, summary) = auth
                .client()
                .post_form(auth.provider(), &meta, &endpoint, form, Flow::Revocation)
                .await?;
            if status.is_success() {
                return Ok(true);
            }
            #[derive(serde::Deserialize)]
            struct Answer {
                error: String,
                error_description: Option<String>,
            }
            let error = match serde_json::from_slice::<Answer>(&body) {
                Ok(answer) => client::error_answer(
                    &answer.error,
                    answer.error_description.as_deref(),
                    Flow::Revocation,
                ),
                Err(_) => Error::token_endpoint(format!(
                    "{}: the revocation endpoint's answer is unreadable",
                    Flow::Revocation
                )),
            };
            Err(client::with_answer(error, Some(&summary)))
        }
        .await;
        match result {
            Ok(true) => tracing::debug!("refresh token revoked"),
            Ok(false) => {}
            Err(error) => {
                tracing::warn!(error = %error.chain(), "revoking the refresh token failed")
            }
        }
    });
}

/// OpenID Connect RP-Initiated Logout 1.0 §2: the provider honours `post_logout_redirect_uri`
/// only with `id_token_hint` or `client_id`, so both are sent.
fn end_session_url(endpoint: &str, destination: &str, client_id: &str, id_token: &str) -> String {
    let separator = if endpoint.contains('?') { '&' } else { '?' };
    format!(
        "{endpoint}{separator}post_logout_redirect_uri={}&client_id={}&id_token_hint={}",
        encode(destination),
        encode(client_id),
        encode(id_token)
    )
}

#[cfg(test)]
mod tests;
