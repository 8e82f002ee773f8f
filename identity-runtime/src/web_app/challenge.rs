//! Claims challenges in the web app (Conditional Access, continuous access evaluation): an API
//! the handler called answers `401` with `WWW-Authenticate: Bearer error="insufficient_claims",
//! claims="<base64 JSON>"`, and the user signs in again with those claims and comes back to the
//! page with a token that satisfies them.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine as _;
use serde_json::Value;

use crate::core::params::encode;
use crate::core::response::NO_STORE;
use crate::core::return_path::under_root;
use crate::web_app::context::Context;

/// The largest claims challenge taken, in bytes of its base64 text.
const MAX_CHALLENGE_BYTES: usize = 4096;

/// A claims challenge turned into a sign-in: returned from a handler (with `?`), it sends the
/// browser through sign-in with the challenge's claims, back to the page it came from, where
/// the handler runs again with a new token. Made by [`Context::challenge`].
///
/// ```
/// use axum::http::HeaderValue;
/// use axum::response::IntoResponse;
/// use axum_identity_runtime::{Context, User};
///
/// let context = Context::new(User::from_claims(Default::default()));
/// let header = HeaderValue::from_static(
///     r#"Bearer realm="", error="insufficient_claims", claims="eyJhY2Nlc3NfdG9rZW4iOnsibmJmIjp7ImVzc2VudGlhbCI6dHJ1ZSwgInZhbHVlIjoiMTcwMDAwMDAwMCJ9fX0=""#,
/// );
/// let challenge = context.challenge(&header).unwrap_err();
/// let response = challenge.into_response();
/// assert_eq!(response.status(), 303);
/// assert!(response.headers()["location"].to_str()?.starts_with("/login?"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct ClaimsChallenge {
    login_url: String,
}

impl ClaimsChallenge {
    /// The login URL the browser is sent to.
    pub fn login_url(&self) -> &str {
        &self.login_url
    }
}

impl std::fmt::Display for ClaimsChallenge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the API asked for more claims: the user signs in again")
    }
}

impl std::error::Error for ClaimsChallenge {}

impl IntoResponse for ClaimsChallenge {
    fn into_response(self) -> Response {
        (
            StatusCode::SEE_OTHER,
            NO_STORE,
            Redirect::to(&self.login_url),
        )
            .into_response()
    }
}

impl Context {
    /// Reads an API's `WWW-Authenticate` answer: a claims challenge
    /// (`error="insufficient_claims"` with `claims`) becomes a [`ClaimsChallenge`] to return,
    /// which signs the user in again with those claims and the handler's scopes and comes back
    /// to this page; anything else is `Ok(())`, for the handler to deal with.
    ///
    /// ```no_run
    /// use axum::response::{IntoResponse, Response};
    /// use axum_identity_runtime::Context;
    ///
    /// // With `#[login_required(scopes = ["User.Read"])]` on it.
    /// async fn profile(context: Context) -> Response {
    ///     let answer = reqwest::Client::new()
    ///         .get("https://graph.microsoft.com/v1.0/me")
    ///         .bearer_auth(&context.access_token)
    ///         .send()
    ///         .await;
    ///     match answer {
    ///         Ok(answer) if answer.status() == 401 => {
    ///             if let Some(header) = answer.headers().get("www-authenticate")
    ///                 && let Err(challenge) = context.challenge(header)
    ///             {
    ///                 return challenge.into_response();
    ///             }
    ///             "Graph refused the token".into_response()
    ///         }
    ///         Ok(answer) => answer.text().await.unwrap_or_default().into_response(),
    ///         Err(_) => "Graph is unreachable".into_response(),
    ///     }
    /// }
    /// ```
    pub fn challenge(&self, www_authenticate: impl AsRef<[u8]>) -> Result<(), ClaimsChallenge> {
        let Some(claims) = claims_of(www_authenticate.as_ref()) else {
            return Ok(());
        };
        let links = &self.links;
        let next = self
            .page
            .as_ref()
            .and_then(|uri| uri.path_and_query())
            .map(|pq| under_root(&links.root, pq.as_str()))
            .unwrap_or_else(|| format!("{}/", links.root));
        let mut login_url = format!("{}?next={}", links.login, encode(&next));
        if !self.scopes.is_empty() {
            login_url.push_str("&scope=");
            login_url.push_str(&encode(&self.scopes.join(" ")));
        }
        login_url.push_str("&claims=");
        login_url.push_str(&encode(&claims));
        Err(ClaimsChallenge { login_url })
    }
}

/// The claims request (a JSON object, as text) of a `WWW-Authenticate` value that is a claims
/// challenge.
fn claims_of(header: &[u8]) -> Option<String> {
    let header = std::str::from_utf8(header).ok()?;
    let params = auth_params(header.trim().strip_prefix("Bearer")?);
    let value = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    if value("error") != Some("insufficient_claims") {
        return None;
    }
    let encoded = value("claims").filter(|c| c.len() <= MAX_CHALLENGE_BYTES)?;
    // Entra sends standard base64 with padding; accept the URL-safe form too.
    let bytes = [
        base64::engine::general_purpose::STANDARD,
        base64::engine::general_purpose::URL_SAFE,
    ]
    .iter()
    .find_map(|engine| engine.decode(encoded).ok())
    .or_else(|| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(encoded.trim_end_matches('='))
            .ok()
    })?;
    let claims: Value = serde_json::from_slice(&bytes).ok()?;
    claims.is_object().then(|| claims.to_string())
}

/// The `name=value` parameters of a challenge (RFC 9110 §11.2), quoted or not.
fn auth_params(text: &str) -> Vec<(String, String)> {
    let mut params = Vec::new();
    let mut rest = text.trim_start();
    while !rest.is_empty() {
        let Some(eq) = rest.find('=') else { break };
        let name = rest[..eq].trim().trim_start_matches(',').trim().to_owned();
        rest = rest[eq + 1..].trim_start();
        let value = if let Some(quoted) = rest.strip_prefix('"') {
            let mut value = String::new();
            let mut chars = quoted.char_indices();
            let mut end = quoted.len();
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => {
                        if let Some((_, escaped)) = chars.next() {
                            value.push(escaped);
                        }
                    }
                    '"' => {
                        end = i + 1;
                        break;
                    }
                    c => value.push(c),
                }
            }
            rest = &quoted[end.min(quoted.len())..];
            value
        } else {
            let end = rest.find(',').unwrap_or(rest.len());
            let value = rest[..end].trim().to_owned();
            rest = &rest[end..];
            value
        };
        params.push((name, value));
        rest = rest.trim_start().trim_start_matches(',').trim_start();
    }
    params
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::web_app::context::User;

    fn header(claims_json: &str) -> String {
        format!(
            r#"Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", error="insufficient_claims", claims="{}""#,
            base64::engine::general_purpose::STANDARD.encode(claims_json)
        )
    }

    #[test]
    fn a_claims_challenge_becomes_a_sign_in_back_to_the_page() {
        let mut context = Context::with_token(
            User::from_claims(Default::default()),
            "t",
            "Bearer",
            60,
            vec!["User.Read".into()],
        );
        context.page = Some("/reports?year=2026".parse().unwrap());
        let json = r#"{"access_token":{"nbf":{"essential":true,"value":"1700000000"}}}"#;
        let challenge = context.challenge(header(json)).unwrap_err();
        let url = challenge.login_url();
        let query: std::collections::HashMap<String, String> =
            form_urlencoded::parse(url.split_once('?').unwrap().1.as_bytes())
                .into_owned()
                .collect();
        assert_eq!(query["next"], "/reports?year=2026");
        assert_eq!(query["scope"], "User.Read");
        assert_eq!(
            serde_json::from_str::<Value>(&query["claims"]).unwrap(),
            serde_json::from_str::<Value>(json).unwrap()
        );
    }

    #[test]
    fn anything_else_is_left_to_the_handler() {
        let context = Context::new(User::from_claims(Default::default()));
        for other in [
            r#"Bearer error="invalid_token""#.to_owned(),
            r#"Bearer error="insufficient_claims""#.to_owned(),
            r#"Bearer error="insufficient_claims", claims="not base64!""#.to_owned(),
            header("[1, 2]"),
            format!(
                r#"Basic realm="x", error="insufficient_claims", claims="{}""#,
                "e30="
            ),
            String::new(),
        ] {
            assert!(context.challenge(&other).is_ok(), "{other}");
        }
        assert!(context.challenge([0xff, 0xfe]).is_ok());
    }

    #[test]
    fn parameters_are_read_quoted_or_not() {
        let params = auth_params(r#" realm="a \"b\", c", error=insufficient_claims ,x="""#);
        assert_eq!(
            params,
            [
                ("realm".to_owned(), r#"a "b", c"#.to_owned()),
                ("error".to_owned(), "insufficient_claims".to_owned()),
                ("x".to_owned(), String::new()),
            ]
        );
    }
}
