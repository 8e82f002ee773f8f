//! The `WWW-Authenticate: Bearer` challenge of the web API's answers: who asks ([`Realm`]: the
//! `realm`, and with a resource URI the RFC 9728 `resource_metadata` URL) and the parameters of
//! RFC 6750 §3 (`error`, `error_description`, `scope`).

use std::sync::Arc;

use crate::core::response::{Quoting, quoted};

/// What every bearer challenge of an API names: its `realm` and, when the API has a
/// [resource URI](crate::ApiAuthBuilder::resource), where its protected-resource metadata is
/// (`resource_metadata`, RFC 9728 §5.1), so that a client that gets a `401` can find out which
/// authorization server issues tokens for it. Cheap to clone (one shared allocation).
///
/// ```
/// use axum_identity_runtime::Realm;
///
/// let realm = Realm::from("orders-api");
/// assert_eq!(realm.name(), "orders-api");
/// assert_eq!(realm.resource_metadata(), None);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Realm(Arc<RealmParts>);

#[derive(Debug, PartialEq, Eq)]
struct RealmParts {
    name: Box<str>,
    resource_metadata: Option<Box<str>>,
}

impl Realm {
    /// A realm `name` whose challenges point at the metadata document at `resource_metadata`
    /// (an absolute URL), when there is one.
    pub fn new(name: &str, resource_metadata: Option<&str>) -> Self {
        // RFC 6750's parameter values allow no escape: a quote or backslash would end the
        // value early, so neither is kept.
        let name = name.replace(['"', '\\'], "");
        Realm(Arc::new(RealmParts {
            name: name.into(),
            resource_metadata: resource_metadata.map(Into::into),
        }))
    }

    /// The `realm` parameter.
    pub fn name(&self) -> &str {
        &self.0.name
    }

    /// The `resource_metadata` parameter: the URL of the API's protected-resource metadata.
    pub fn resource_metadata(&self) -> Option<&str> {
        self.0.resource_metadata.as_deref()
    }

    /// The challenge: `Bearer realm="…"`, then `resource_metadata="…"` when there is one, then
    /// `error`, `error_description` and `scope` when given.
    pub(crate) fn challenge(
        &self,
        error: Option<&str>,
        description: &str,
        scope: Option<&str>,
    ) -> String {
        let mut challenge = format!("Bearer realm={}", quoted(self.name(), Quoting::Bearer));
        if let Some(url) = self.resource_metadata() {
            challenge.push_str(", resource_metadata=");
            challenge.push_str(&quoted(url, Quoting::Bearer));
        }
        if let Some(error) = error {
            challenge.push_str(&format!(
                ", error=\"{error}\", error_description={}",
                quoted(description, Quoting::Bearer)
            ));
        }
        if let Some(scope) = scope {
            challenge.push_str(&format!(", scope={}", quoted(scope, Quoting::Bearer)));
        }
        challenge
    }
}

impl From<&str> for Realm {
    fn from(name: &str) -> Self {
        Realm::new(name, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_resource_metadata_comes_right_after_the_realm() {
        let realm = Realm::new(
            "api",
            Some("https://api.example/.well-known/oauth-protected-resource/mcp"),
        );
        assert_eq!(
            realm.challenge(None, "a bearer access token is required", None),
            "Bearer realm=\"api\", resource_metadata=\"https://api.example/.well-known/oauth-protected-resource/mcp\""
        );
        assert_eq!(
            realm.challenge(Some("insufficient_scope"), "lacks it", Some("a b")),
            "Bearer realm=\"api\", resource_metadata=\"https://api.example/.well-known/oauth-protected-resource/mcp\", \
             error=\"insufficient_scope\", error_description=\"lacks it\", scope=\"a b\""
        );
    }

    #[test]
    fn a_realm_cannot_break_out_of_its_quotes() {
        assert_eq!(Realm::from("a\"b\\c").name(), "abc");
        assert_eq!(
            Realm::from("a\"b").challenge(None, "", None),
            "Bearer realm=\"ab\""
        );
    }
}
