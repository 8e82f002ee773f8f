//! Signing out: the session ends here first, then the provider's (RP-initiated logout).

use axum::response::Response;
use tower_sessions::Session;

use crate::auth::Auth;
use crate::error::Error;
use crate::login::redirect;
use crate::params::encode;
use crate::session;

/// Signs out: ends the session server-side, then lets the provider end its own.
#[tracing::instrument(name = "logout", level = "debug", skip_all, fields(flow = "logout"))]
pub(crate) async fn logout(auth: &Auth, session: &Session) -> Result<Response, Error> {
    let post_logout = &auth.settings().post_logout;
    let record = session::load_with_tokens(session).await?;
    // Deletes the record from the store and expires the cookie: replaying the old cookie
    // finds nothing.
    session.flush().await?;
    // With the Device Code flow the provider's session lives on another device: ending it
    // from this browser is neither possible nor wanted.
    let (Some(user), Some(destination)) = (record.user, auth.post_logout_redirect_uri()) else {
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
mod tests {
    use super::*;

    #[test]
    fn the_end_session_url_carries_every_parameter_encoded() {
        assert_eq!(
            end_session_url("https://idp/logout", "http://app/done?a=b", "c d", "x.y.z"),
            "https://idp/logout?post_logout_redirect_uri=http%3A%2F%2Fapp%2Fdone%3Fa%3Db&client_id=c+d&id_token_hint=x.y.z"
        );
        assert!(
            end_session_url("https://idp/logout?p=1", "/", "c", "t")
                .starts_with("https://idp/logout?p=1&post")
        );
    }
}
