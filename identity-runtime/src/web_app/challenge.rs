//! Claims challenges in the web app (Conditional Access, continuous access evaluation): an API
//! the handler called answers `401` with `WWW-Authenticate: Bearer error="insufficient_claims",
//! claims="<base64 JSON>"`, and the user signs in again with those claims and comes back to the
//! page with a token that satisfies them.

use crate::core::params::encode;
use crate::core::return_path::under_root;
use crate::core::www_authenticate::claims_of;
use crate::services::downstream_error::ClaimsChallenge;
use crate::web_app::context::Context;

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
        Err(self.sign_in_again(&self.scopes, Some(&claims)))
    }

    /// A sign-in for `scopes` (and `claims`, a claims request) that comes back to this page.
    pub(crate) fn sign_in_again<S: AsRef<str>>(
        &self,
        scopes: &[S],
        claims: Option<&str>,
    ) -> ClaimsChallenge {
        let links = &self.links;
        let next = self
            .page
            .as_ref()
            .and_then(|uri| uri.path_and_query())
            .map(|pq| under_root(&links.root, pq.as_str()))
            .unwrap_or_else(|| format!("{}/", links.root));
        let mut login_url = format!("{}?next={}", links.login, encode(&next));
        if !scopes.is_empty() {
            let scopes: Vec<&str> = scopes.iter().map(AsRef::as_ref).collect();
            login_url.push_str("&scope=");
            login_url.push_str(&encode(&scopes.join(" ")));
        }
        if let Some(claims) = claims {
            login_url.push_str("&claims=");
            login_url.push_str(&encode(claims));
        }
        ClaimsChallenge::new(login_url)
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use serde_json::Value;

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
}
