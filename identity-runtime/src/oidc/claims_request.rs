//! The `claims` request parameter (OpenID Connect Core §5.5): what a claims challenge asks for,
//! merged with the client capabilities an application announces (`xms_cc`, as MSAL sends
//! them), so that one request carries both.

use serde_json::{Value, json};

/// The `claims` parameter for `challenge` (a claims request as JSON text, from a claims
/// challenge) and `capabilities`; `None` when there is neither. A challenge that is not a JSON
/// object is left out.
pub(crate) fn claims_request(challenge: Option<&str>, capabilities: &[String]) -> Option<String> {
    let mut claims = challenge
        .and_then(|c| serde_json::from_str::<Value>(c).ok())
        .and_then(|c| match c {
            Value::Object(map) => Some(map),
            _ => None,
        })
        .unwrap_or_default();
    if !capabilities.is_empty() {
        let access_token = claims.entry("access_token").or_insert_with(|| json!({}));
        if !access_token.is_object() {
            *access_token = json!({});
        }
        if let Some(access_token) = access_token.as_object_mut() {
            access_token.insert("xms_cc".into(), json!({ "values": capabilities }));
        }
    }
    (!claims.is_empty()).then(|| Value::Object(claims).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: Option<String>) -> Value {
        serde_json::from_str(&text.expect("a claims request")).unwrap()
    }

    #[test]
    fn capabilities_and_a_challenge_go_in_one_request() {
        assert_eq!(claims_request(None, &[]), None);
        assert_eq!(
            parsed(claims_request(None, &["cp1".into()])),
            json!({"access_token": {"xms_cc": {"values": ["cp1"]}}})
        );
        let challenge = r#"{"access_token":{"nbf":{"essential":true,"value":"1700000000"}}}"#;
        assert_eq!(
            parsed(claims_request(Some(challenge), &["cp1".into()])),
            json!({"access_token": {
                "nbf": {"essential": true, "value": "1700000000"},
                "xms_cc": {"values": ["cp1"]},
            }})
        );
        assert_eq!(
            parsed(claims_request(Some(challenge), &[])),
            parsed(Some(challenge.into()))
        );
        assert_eq!(claims_request(Some("[1]"), &[]), None);
        assert_eq!(
            parsed(claims_request(
                Some(r#"{"access_token": 1}"#),
                &["cp1".into()]
            )),
            json!({"access_token": {"xms_cc": {"values": ["cp1"]}}})
        );
    }
}
