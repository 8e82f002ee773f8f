//! Request parameters and scope sets: what comes in on a URL or a form, checked before use.

use std::collections::HashMap;

use crate::core::error::Error;

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

/// Checks a scope list from a URL: RFC 6749 scope tokens, not too many, no duplicates.
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

/// The scopes that need an access token: those of an API, without the sign-in's own.
pub(crate) fn api_scopes<'a>(scopes: &[&'a str]) -> Vec<&'a str> {
    scopes
        .iter()
        .copied()
        .filter(|s| !OIDC_SCOPES.contains(s))
        .collect()
}

/// Whether a setting's scope is a single RFC 6749 scope token.
pub(crate) fn is_single_scope(scope: &str) -> bool {
    !scope.is_empty() && !scope.contains(char::is_whitespace)
}

/// The `prompt` parameter of the sign-in request (OpenID Connect Core §3.1.2.1).
///
/// ```
/// use axum_identity_runtime::{Auth, Prompt};
///
/// let auth = Auth::builder()
///     .client_id("id")
///     .redirect_uri("http://localhost:5000/redirect")
///     .oidc_authority("http://127.0.0.1:3000")
///     .prompt(Prompt::SelectAccount)
///     .build()?;
/// # Ok::<(), axum_identity_runtime::ConfigError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Prompt {
    /// Let the user pick one of several signed-in accounts.
    SelectAccount,
    /// Ask for credentials even when the provider has a session.
    Login,
    /// Ask for consent even when it was given before.
    Consent,
    /// Show nothing; fail when interaction would be needed.
    None,
}

impl Prompt {
    /// The value of a `prompt` parameter; `None` for anything but the four values.
    pub(crate) fn parse(value: &str) -> Option<Prompt> {
        [
            Prompt::SelectAccount,
            Prompt::Login,
            Prompt::Consent,
            Prompt::None,
        ]
        .into_iter()
        .find(|p| p.as_str() == value)
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Prompt::SelectAccount => "select_account",
            Prompt::Login => "login",
            Prompt::Consent => "consent",
            Prompt::None => "none",
        }
    }
}

/// How the application authenticates to the provider's token endpoint (OpenID Connect Core
/// §9): [`AuthBuilder::token_endpoint_auth_method`](crate::AuthBuilder::token_endpoint_auth_method),
/// or `TOKEN_ENDPOINT_AUTH_METHOD`. Without it the library picks from discovery:
/// `client_secret_basic` unless the provider lists only `client_secret_post`, and
/// `private_key_jwt` with a certificate. Set it when the client is registered for one method
/// and the provider lists several.
///
/// ```
/// use axum_identity_runtime::TokenEndpointAuthMethod;
///
/// let method: TokenEndpointAuthMethod = "client_secret_post".parse()?;
/// assert_eq!(method, TokenEndpointAuthMethod::ClientSecretPost);
/// assert_eq!(method.as_str(), "client_secret_post");
/// # Ok::<(), String>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TokenEndpointAuthMethod {
    /// The client id and secret in an HTTP Basic `Authorization` header.
    ClientSecretBasic,
    /// The client id and secret in the request body.
    ClientSecretPost,
    /// A client assertion signed with the client's key (`CLIENT_CERTIFICATE`, RFC 7523).
    PrivateKeyJwt,
}

impl TokenEndpointAuthMethod {
    /// The registered name, as in a client's `token_endpoint_auth_method`.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenEndpointAuthMethod::ClientSecretBasic => "client_secret_basic",
            TokenEndpointAuthMethod::ClientSecretPost => "client_secret_post",
            TokenEndpointAuthMethod::PrivateKeyJwt => "private_key_jwt",
        }
    }
}

impl std::str::FromStr for TokenEndpointAuthMethod {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, String> {
        match value.trim() {
            "client_secret_basic" => Ok(TokenEndpointAuthMethod::ClientSecretBasic),
            "client_secret_post" => Ok(TokenEndpointAuthMethod::ClientSecretPost),
            "private_key_jwt" => Ok(TokenEndpointAuthMethod::PrivateKeyJwt),
            other => Err(format!(
                "`{other}` is not one of client_secret_basic, client_secret_post, private_key_jwt"
            )),
        }
    }
}

/// Splits a list setting on commas: each item is an exact value (it may not be empty).
pub(crate) fn comma_list(raw: &str) -> Vec<String> {
    raw.split(',').map(|item| item.trim().to_owned()).collect()
}

/// Form-encodes a value for a query string.
pub(crate) fn encode(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
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

    #[test]
    fn too_many_scopes_are_refused() {
        let many: Vec<String> = (0..33).map(|i| format!("s{i}")).collect();
        assert!(parse_scopes(Some(&many.join(" "))).is_err());
        assert_eq!(parse_scopes(Some(&many[..32].join(" "))).unwrap().len(), 32);
    }

    #[test]
    fn api_scopes_leave_the_sign_in_scopes_out() {
        assert_eq!(
            api_scopes(&[
                "openid",
                "User.Read",
                "offline_access",
                "email",
                "profile",
                "b"
            ]),
            vec!["User.Read", "b"]
        );
        assert!(api_scopes(&["openid"]).is_empty());
    }

    #[test]
    fn comma_lists_keep_each_value_exact() {
        assert_eq!(
            comma_list("api://orders, https://api.example/a b ,x"),
            vec!["api://orders", "https://api.example/a b", "x"]
        );
        assert_eq!(comma_list("a,,b"), vec!["a", "", "b"]);
    }

    #[test]
    fn single_scopes() {
        assert!(is_single_scope("User.Read"));
        assert!(!is_single_scope(""));
        assert!(!is_single_scope("a b"));
    }

    #[test]
    fn encoding_escapes_what_a_query_needs() {
        assert_eq!(encode("/a?b=c&d"), "%2Fa%3Fb%3Dc%26d");
        assert_eq!(encode("a b"), "a+b");
    }
}
