//! The claims that say what a user or an application may do — delegated scopes, app roles and
//! groups — as Entra ID and RFC 9068 write them, read the same way for ID and access tokens.

use serde_json::{Map, Value};

/// The delegated scopes of an access token: Entra's `scp` or RFC 9068's `scope`, both a
/// space-separated string (an array is accepted too).
pub(crate) fn scopes(claims: &Map<String, Value>) -> Vec<&str> {
    claims
        .get("scp")
        .or_else(|| claims.get("scope"))
        .map(words)
        .unwrap_or_default()
}

/// The app roles: Entra's `roles`, an array of strings.
pub(crate) fn roles(claims: &Map<String, Value>) -> Vec<&str> {
    claims.get("roles").map(words).unwrap_or_default()
}

fn words(value: &Value) -> Vec<&str> {
    match value {
        Value::String(s) => s.split(' ').filter(|s| !s.is_empty()).collect(),
        Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// What of `needed` is not in `have`, in the order of `needed`.
pub(crate) fn missing(have: &[&str], needed: &[&str]) -> Vec<String> {
    needed
        .iter()
        .filter(|n| !have.contains(n))
        .map(|n| (*n).to_owned())
        .collect()
}

/// The groups of the `groups` claim, or the overage error when the provider left them out.
pub(crate) fn groups(claims: &Map<String, Value>) -> Result<Vec<&str>, GroupsOverage> {
    if let Some(groups) = claims.get("groups") {
        return Ok(words(groups));
    }
    let named = claims
        .get("_claim_names")
        .and_then(Value::as_object)
        .and_then(|names| names.get("groups"))
        .and_then(Value::as_str);
    if let Some(source) = named {
        let endpoint = claims
            .get("_claim_sources")
            .and_then(|s| s.get(source))
            .and_then(|s| s.get("endpoint"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        return Err(GroupsOverage { endpoint });
    }
    // The implicit flow's overage indicator.
    if claims.get("hasgroups").and_then(Value::as_bool) == Some(true) {
        return Err(GroupsOverage { endpoint: None });
    }
    Ok(Vec::new())
}

/// The user is in more groups than fit in a token (Entra ID: over 200 in a JWT, over 150 in a
/// SAML token, 6 in the implicit flow), so the provider sent an overage indicator
/// (`_claim_names`/`_claim_sources`, or `hasgroups`) instead of the `groups` claim.
///
/// The token then says nothing about the user's groups — not "no groups" — so reading them
/// fails with this error instead of answering with an empty list. Ways out: ask Microsoft
/// Graph (`POST /users/{oid}/getMemberGroups`, or `/me/memberOf` with a delegated token), give
/// the app registration "Groups assigned to the application" so fewer groups are emitted, or
/// use app roles (`roles`) instead of groups.
///
/// ```
/// use axum_identity_runtime::User;
/// use serde_json::json;
///
/// let user = User::from_claims(json!({
///     "sub": "1",
///     "_claim_names": {"groups": "src1"},
///     "_claim_sources": {"src1": {"endpoint": "https://graph.microsoft.com/v1.0/users/1/getMemberObjects"}},
/// }).as_object().unwrap().clone());
/// let overage = user.groups().unwrap_err();
/// assert!(overage.to_string().contains("more groups"));
/// assert_eq!(overage.endpoint(), Some("https://graph.microsoft.com/v1.0/users/1/getMemberObjects"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupsOverage {
    endpoint: Option<String>,
}

impl GroupsOverage {
    /// Where the provider says the groups can be read (`_claim_sources`), if it says.
    pub fn endpoint(&self) -> Option<&str> {
        self.endpoint.as_deref()
    }
}

impl std::fmt::Display for GroupsOverage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(
            "the user is in more groups than fit in the token, so the token lists none of them \
             (groups overage): read them from Microsoft Graph, or use app roles",
        )
    }
}

impl std::error::Error for GroupsOverage {}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn scopes_come_from_scp_or_scope() {
        assert_eq!(
            scopes(&map(json!({"scp": "a  b"}))),
            ["a", "b"],
            "Entra's scp"
        );
        assert_eq!(scopes(&map(json!({"scope": "c d"}))), ["c", "d"]);
        assert_eq!(scopes(&map(json!({"scp": ["e"]}))), ["e"]);
        assert!(scopes(&map(json!({"scp": 1}))).is_empty());
        assert_eq!(missing(&["a", "b"], &["b", "c", "d"]), ["c", "d"]);
    }

    #[test]
    fn roles_are_an_array() {
        assert_eq!(
            roles(&map(json!({"roles": ["Admin", 1, "x"]}))),
            ["Admin", "x"]
        );
        assert!(roles(&map(json!({}))).is_empty());
    }

    #[test]
    fn an_overage_is_an_error_never_no_groups() {
        assert_eq!(groups(&map(json!({"groups": ["g1"]}))).unwrap(), ["g1"]);
        assert!(groups(&map(json!({}))).unwrap().is_empty());
        let overage = map(
            json!({"_claim_names": {"groups": "src1"}, "_claim_sources": {"src1": {"endpoint": "https://graph"}}}),
        );
        assert_eq!(
            groups(&overage).unwrap_err().endpoint(),
            Some("https://graph")
        );
        let unnamed_source = map(json!({"_claim_names": {"groups": "src9"}}));
        assert_eq!(groups(&unnamed_source).unwrap_err().endpoint(), None);
        assert!(groups(&map(json!({"hasgroups": true}))).is_err());
    }
}
