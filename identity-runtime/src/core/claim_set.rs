//! The claims of a verified token read the same way for whoever holds them: [`ClaimSet`], the
//! core behind the web app's `User` (an ID token's claims) and the web API's `ApiClaims` (an
//! access token's). Both public types are thin wrappers that add only what is theirs (a name to
//! greet with; the calling client, scopes and expiry).
//!
//! It lives in `core`, beside the rules of scopes, roles and groups it reads with (`grants`),
//! because the two wrappers sit on different floors and `core` is the one both reach; it needs
//! nothing but the claims. It is not `store::claims`: that is how a session keeps claims (a JSON
//! string and its parse cache), and an API's claims never touch a session.

use std::sync::Arc;

use serde_json::{Map, Value};

use crate::core::grants::{self, GroupsOverage};

/// Verified claims, shared: cloning them is one reference count, so a protected request hands
/// its handler the claims the cache holds without copying a claim.
#[derive(Clone, Default)]
pub(crate) struct ClaimSet(Arc<Map<String, Value>>);

impl std::fmt::Debug for ClaimSet {
    // The map alone, as the public types printed their claims before they shared this core.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl From<Map<String, Value>> for ClaimSet {
    fn from(claims: Map<String, Value>) -> Self {
        ClaimSet(Arc::new(claims))
    }
}

impl From<Arc<Map<String, Value>>> for ClaimSet {
    fn from(claims: Arc<Map<String, Value>>) -> Self {
        ClaimSet(claims)
    }
}

impl ClaimSet {
    /// A claim that is a string; `None` when it is absent or of another type.
    pub(crate) fn str_claim(&self, name: &str) -> Option<&str> {
        self.0.get(name).and_then(Value::as_str)
    }

    /// `sub`, empty when absent (a verified token always has one).
    pub(crate) fn subject(&self) -> &str {
        self.str_claim("sub").unwrap_or_default()
    }

    /// `oid`: Entra's object id.
    pub(crate) fn object_id(&self) -> Option<&str> {
        self.str_claim("oid")
    }

    /// `tid`: Entra's tenant id.
    pub(crate) fn tenant_id(&self) -> Option<&str> {
        self.str_claim("tid")
    }

    /// Any claim by name.
    pub(crate) fn claim(&self, name: &str) -> Option<&Value> {
        self.0.get(name)
    }

    /// Every claim.
    pub(crate) fn claims(&self) -> &Map<String, Value> {
        &self.0
    }

    /// The app roles (`roles`).
    pub(crate) fn roles(&self) -> Vec<&str> {
        grants::roles(&self.0)
    }

    /// The groups, or the overage when the provider left them out.
    pub(crate) fn groups(&self) -> Result<Vec<&str>, GroupsOverage> {
        grants::groups(&self.0)
    }

    /// The delegated scopes (`scp` or `scope`).
    pub(crate) fn scopes(&self) -> Vec<&str> {
        grants::scopes(&self.0)
    }

    /// The shared claims themselves.
    pub(crate) fn shared(&self) -> &Arc<Map<String, Value>> {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Claims as a provider's JSON writes them.
    fn set(value: Value) -> ClaimSet {
        let Value::Object(claims) = value else {
            panic!("claims are a JSON object")
        };
        claims.into()
    }

    #[test]
    fn accessors_read_string_claims_only() {
        let claims = set(json!({"sub": "s", "oid": "o", "tid": 7, "roles": ["r"], "scp": "a b"}));
        assert_eq!(claims.subject(), "s");
        assert_eq!(claims.object_id(), Some("o"));
        assert_eq!(claims.tenant_id(), None, "a number is no tenant id");
        assert_eq!(claims.claim("tid"), Some(&json!(7)));
        assert_eq!(claims.roles(), ["r"]);
        assert_eq!(claims.scopes(), ["a", "b"]);
        assert!(claims.groups().unwrap().is_empty());
        assert_eq!(set(json!({})).subject(), "");
    }

    #[test]
    fn debug_shows_the_claims_as_a_map() {
        let claims = set(json!({"sub": "s"}));
        assert_eq!(format!("{claims:?}"), format!("{:?}", claims.claims()));
    }
}
