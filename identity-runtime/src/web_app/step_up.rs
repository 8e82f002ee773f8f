//! Step-up: pages that require a recent authentication (`max_age`) or a given authentication
//! context class (`acr`), checked on every request from the session alone, and once on the new
//! ID token at the callback, so that a provider that ignores the request gets a 403 page
//! instead of a sign-in loop.

use serde_json::{Map, Value};

use crate::core::error::Error;
use crate::store::session::{SignedIn, StepUp};

/// How long after a re-authentication a page with `max_age = 0` (or another `max_age` under
/// it) is still served: the redirect back from the provider has to reach it. Short, so that
/// "authenticate again on every visit" means every visit.
pub(crate) const GRACE_SECONDS: i64 = 3;

/// What a handler requires of the sign-in beyond scopes and roles, from
/// `#[login_required(max_age = .., acr = "..", provider = "..")]`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Needs {
    pub(crate) max_age: Option<u64>,
    pub(crate) acr: Option<&'static str>,
    /// The provider the user must have signed in with.
    pub(crate) provider: Option<&'static str>,
}

impl Needs {
    /// Whether it asks nothing of the authentication itself (no step-up).
    pub(crate) fn is_none(&self) -> bool {
        self.max_age.is_none() && self.acr.is_none()
    }

    /// Whether the signed-in user's authentication satisfies it at `now` (this server's clock).
    pub(crate) fn met_by(&self, user: &SignedIn, now: i64) -> bool {
        let recent = self.max_age.is_none_or(|max_age| {
            user.authenticated.is_some_and(|at| {
                now - at <= (max_age.min(i64::MAX as u64) as i64).max(GRACE_SECONDS)
            })
        });
        let acr = self
            .acr
            .is_none_or(|acr| user.claims.get("acr").and_then(Value::as_str) == Some(acr));
        recent && acr
    }
}

/// Checks a new ID token's claims against what the sign-in asked for, and returns when the user
/// authenticated in this server's time (`auth_time`, moved into the window the provider
/// answered in: a provider clock ahead or behind within `leeway` does not make a fresh
/// authentication look old, or a page loop).
pub(crate) fn check_new_token(
    asked: Option<&StepUp>,
    claims: &Map<String, Value>,
    now: i64,
    leeway: i64,
) -> Result<Option<i64>, Error> {
    let auth_time = claims.get("auth_time").and_then(Value::as_i64);
    let Some(asked) = asked else {
        return Ok(auth_time.map(|at| at.min(now)));
    };
    if let Some(acr) = &asked.acr
        && claims.get("acr").and_then(Value::as_str) != Some(acr.as_str())
    {
        return Err(Error::StepUpNotMet(format!(
            "this page requires a sign-in of the kind `{acr}`, and the identity provider \
             signed you in another way."
        )));
    }
    let Some(max_age) = asked.max_age else {
        return Ok(auth_time.map(|at| at.min(now)));
    };
    let max_age = max_age.min(i64::MAX as u64 / 2) as i64;
    match auth_time {
        Some(at) if now - at <= max_age + leeway => Ok(Some(now - (now - at).clamp(0, max_age))),
        _ => Err(Error::StepUpNotMet(
            "this page requires a recent sign-in, and the identity provider did not ask you to \
             sign in again."
                .into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::store::claims::Claims;

    fn user(authenticated: Option<i64>, claims: Value) -> SignedIn {
        let mut user = SignedIn::new(claims.as_object().unwrap().clone(), 0);
        user.claims = Claims::new(claims.as_object().unwrap().clone());
        user.authenticated = authenticated;
        user
    }

    #[test]
    fn a_recent_enough_authentication_serves_the_page() {
        let max_age = |s| Needs {
            max_age: Some(s),
            ..Needs::default()
        };
        let signed_in = user(Some(1_000), json!({}));
        assert!(max_age(300).met_by(&signed_in, 1_300));
        assert!(!max_age(300).met_by(&signed_in, 1_301));
        // 0: only right after the re-authentication it asked for.
        assert!(max_age(0).met_by(&signed_in, 1_000 + GRACE_SECONDS));
        assert!(!max_age(0).met_by(&signed_in, 1_001 + GRACE_SECONDS));
        // Unknown: the provider never said when the user authenticated.
        assert!(!max_age(3600).met_by(&user(None, json!({})), 1_000));
        assert!(Needs::default().met_by(&user(None, json!({})), 1_000));
    }

    #[test]
    fn the_acr_must_be_the_one_asked_for() {
        let mfa = Needs {
            acr: Some("mfa"),
            ..Needs::default()
        };
        assert!(mfa.met_by(&user(None, json!({"acr": "mfa"})), 0));
        assert!(!mfa.met_by(&user(None, json!({"acr": "pwd"})), 0));
        assert!(!mfa.met_by(&user(None, json!({})), 0));
    }

    #[test]
    fn a_new_token_that_ignores_the_request_is_refused_not_looped() {
        let asked = StepUp {
            max_age: Some(60),
            acr: None,
        };
        let fresh = json!({"auth_time": 995});
        assert_eq!(
            check_new_token(Some(&asked), fresh.as_object().unwrap(), 1_000, 30).unwrap(),
            Some(995)
        );
        // A provider clock 20 s behind: still fresh, moved into the window.
        let behind = json!({"auth_time": 920});
        assert_eq!(
            check_new_token(Some(&asked), behind.as_object().unwrap(), 1_000, 30).unwrap(),
            Some(940)
        );
        for stale in [json!({"auth_time": 100}), json!({})] {
            let refused =
                check_new_token(Some(&asked), stale.as_object().unwrap(), 1_000, 30).unwrap_err();
            assert_eq!(refused.status(), 403);
        }
        let acr = StepUp {
            max_age: None,
            acr: Some("mfa".into()),
        };
        assert!(
            check_new_token(Some(&acr), json!({"acr": "pwd"}).as_object().unwrap(), 0, 0).is_err()
        );
        assert!(
            check_new_token(Some(&acr), json!({"acr": "mfa"}).as_object().unwrap(), 0, 0).is_ok()
        );
        // Without a step-up: `auth_time` as it is, never in the future.
        assert_eq!(
            check_new_token(
                None,
                json!({"auth_time": 2_000}).as_object().unwrap(),
                1_000,
                0
            )
            .unwrap(),
            Some(1_000)
        );
    }
}
