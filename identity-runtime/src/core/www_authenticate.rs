//! Reading the `WWW-Authenticate` answer of an API the application called: its `Bearer`
//! challenge's parameters (RFC 9110 §11.2), the `error` it names (RFC 6750 §3) and the claims
//! challenge Entra ID adds (`error="insufficient_claims"`, `claims="<base64 JSON>"`).
//!
//! In `core` because two floors read it: the downstream-API client (`services`) decides from it
//! whether to refresh a token or pass a challenge on, and the web app (`Context::challenge`)
//! turns a claims challenge into a sign-in.

use base64::Engine as _;
use serde_json::Value;

/// The largest claims challenge taken, in bytes of its base64 text.
const MAX_CHALLENGE_BYTES: usize = 4096;

/// The parameters of a `Bearer` challenge, `None` for another scheme or bytes that are no text.
pub(crate) fn bearer_params(header: &[u8]) -> Option<Vec<(String, String)>> {
    let header = std::str::from_utf8(header).ok()?;
    let rest = header.trim().strip_prefix("Bearer")?;
    // `Bearer` alone, or followed by its parameters: not `BearerX`.
    if !(rest.is_empty() || rest.starts_with([' ', '\t'])) {
        return None;
    }
    Some(auth_params(rest))
}

/// The `error` of a `Bearer` challenge (`invalid_token`, `insufficient_claims`...).
pub(crate) fn bearer_error(header: &[u8]) -> Option<String> {
    let params = bearer_params(header)?;
    param(&params, "error").map(str::to_owned)
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// The claims request (a JSON object, as text) of a `WWW-Authenticate` value that is a claims
/// challenge.
pub(crate) fn claims_of(header: &[u8]) -> Option<String> {
    let params = bearer_params(header)?;
    if param(&params, "error") != Some("insufficient_claims") {
        return None;
    }
    let encoded = param(&params, "claims").filter(|c| c.len() <= MAX_CHALLENGE_BYTES)?;
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

    #[test]
    fn the_error_of_a_bearer_challenge_only() {
        assert_eq!(
            bearer_error(br#"Bearer realm="api", error="invalid_token""#).as_deref(),
            Some("invalid_token")
        );
        assert_eq!(bearer_error(b"Bearer"), None);
        assert_eq!(bearer_error(br#"Basic error="invalid_token""#), None);
        assert_eq!(bearer_error(br#"BearerX error="invalid_token""#), None);
        assert_eq!(bearer_error(&[0xff, 0xfe]), None);
    }

    #[test]
    fn a_claims_challenge_is_decoded_from_either_base64() {
        let json = r#"{"access_token":{"nbf":{"essential":true}}}"#;
        for encoded in [
            base64::engine::general_purpose::STANDARD.encode(json),
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json),
        ] {
            let header = format!(r#"Bearer error="insufficient_claims", claims="{encoded}""#);
            let claims: Value =
                serde_json::from_str(&claims_of(header.as_bytes()).unwrap()).unwrap();
            assert_eq!(claims, serde_json::from_str::<Value>(json).unwrap());
        }
        let long = "A".repeat(MAX_CHALLENGE_BYTES + 4);
        let header = format!(r#"Bearer error="insufficient_claims", claims="{long}""#);
        assert_eq!(claims_of(header.as_bytes()), None, "too long");
    }
}
