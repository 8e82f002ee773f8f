//! The claims of a verified token read the same way for whoever holds them: [`ClaimSet`], the
//! core behind the web app's `User` (an ID token's claims) and the web API's `ApiClaims` (an
//! access token's). Both public types are thin wrappers that add only what is theirs (a name to
//! greet with; the calling client, scopes and expiry).
//!
//! It lives in `core`, beside the rules of scopes, roles and groups it reads with (`grants`),
//! because the two wrappers sit on different floors and `core` is the one both reach; it needs
//! nothing but the claims. It is not `store::claims`: that is how a session keeps claims (a JSON
//! string and its parse cache), and an API's claims never touch a session.

use std::any::{Any, TypeId};
use std::sync::{Arc, LazyLock, Weak};

use serde::de::DeserializeOwned;
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

    /// The claims as a `T`, deserialized once per parsed claim set and type: the session's
    /// claims are parsed once per distinct session string (and a web API's once per token), so
    /// a handler reading `claims_as::<T>()` on every request deserializes nothing after the
    /// first.
    pub(crate) fn typed<T>(&self) -> Result<Arc<T>, ClaimsError>
    where
        T: DeserializeOwned + Send + Sync + 'static,
    {
        let key = (TypeId::of::<T>(), Arc::as_ptr(&self.0) as usize);
        if let Some(entry) = TYPED.get(&key)
            && let Some(of) = entry.of.upgrade()
            && Arc::ptr_eq(&of, &self.0)
            && let Ok(value) = entry.value.downcast::<T>()
        {
            return Ok(value);
        }
        let value = Arc::new(T::deserialize(&*self.0).map_err(|source| ClaimsError {
            type_name: std::any::type_name::<T>(),
            source: Arc::new(source),
        })?);
        TYPED.insert(
            key,
            Typed {
                of: Arc::downgrade(&self.0),
                weight: weight_of(&self.0),
                value: value.clone(),
            },
        );
        Ok(value)
    }
}

/// Claims that do not fit the type a handler asked for (`claims_as::<T>()`): a missing claim, or
/// one of another type. Which claim and why is in the message.
///
/// ```
/// use axum_identity_runtime::User;
/// use serde::Deserialize;
/// use serde_json::json;
///
/// #[derive(Deserialize)]
/// struct Staff {
///     employee_id: String,
/// }
///
/// let user = User::from_claims(json!({"sub": "1"}).as_object().unwrap().clone());
/// let error = user.claims_as::<Staff>().unwrap_err();
/// assert!(error.to_string().contains("missing field `employee_id`"), "{error}");
/// ```
#[derive(Debug, Clone, thiserror::Error)]
#[error("the claims do not fit `{type_name}`: {source}")]
pub struct ClaimsError {
    type_name: &'static str,
    #[source]
    source: Arc<serde_json::Error>,
}

impl ClaimsError {
    /// The Rust type the claims were read as.
    pub fn type_name(&self) -> &'static str {
        self.type_name
    }
}

/// A typed copy of a claim set. The key is the claim set's address; the entry holds a weak
/// reference to it, which keeps that address from being reused while the entry lives, so an
/// entry whose claims are gone can only miss, never answer for other claims.
#[derive(Clone)]
struct Typed {
    of: Weak<Map<String, Value>>,
    weight: u64,
    value: Arc<dyn Any + Send + Sync>,
}

#[derive(Clone)]
struct ByWeight;

impl quick_cache::Weighter<(TypeId, usize), Typed> for ByWeight {
    fn weight(&self, _: &(TypeId, usize), typed: &Typed) -> u64 {
        typed.weight
    }
}

/// The bytes of typed claims kept, for the process: a typed copy is about the size of the
/// claims it was read from (which is what an entry is weighed as).
const TYPED_MAX_BYTES: u64 = 16 << 20;

static TYPED: LazyLock<quick_cache::sync::Cache<(TypeId, usize), Typed, ByWeight>> =
    LazyLock::new(|| quick_cache::sync::Cache::with_weighter(1024, TYPED_MAX_BYTES, ByWeight));

/// About the bytes claims hold once parsed (their strings and map slots), for weighing what is
/// kept of them.
pub(crate) fn weight_of(claims: &Map<String, Value>) -> u64 {
    const SLOT: u64 = 24 + 32 + 16;
    claims
        .iter()
        .map(|(key, value)| SLOT + key.len() as u64 + value_weight(value))
        .sum()
}

fn value_weight(value: &Value) -> u64 {
    match value {
        Value::Null | Value::Bool(_) | Value::Number(_) => 0,
        // An allocation takes at least 32 bytes with its header (glibc's smallest chunk).
        Value::String(s) => (s.len() as u64).max(24) + 8,
        Value::Array(items) => items.iter().map(|item| 32 + value_weight(item)).sum(),
        Value::Object(map) => 48 + weight_of(map),
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

    #[derive(Debug, serde::Deserialize)]
    struct Typed {
        sub: String,
        #[serde(default)]
        roles: Vec<String>,
    }

    #[test]
    fn typed_claims_are_read_once_per_claim_set_and_type() {
        let claims = set(json!({"sub": "s", "roles": ["r"]}));
        let first = claims.typed::<Typed>().unwrap();
        assert_eq!(
            (first.sub.as_str(), first.roles.as_slice()),
            ("s", &["r".to_owned()][..])
        );
        let again = claims.clone().typed::<Typed>().unwrap();
        assert!(
            Arc::ptr_eq(&first, &again),
            "the second read is the first one's value"
        );
        // Equal claims parsed apart are another set: read on their own.
        let other = set(json!({"sub": "t"}));
        assert_eq!(other.typed::<Typed>().unwrap().sub, "t");
        let error = set(json!({"roles": 1})).typed::<Typed>().unwrap_err();
        assert!(error.to_string().contains("Typed"), "{error}");
        assert!(error.type_name().ends_with("Typed"));
    }

    #[test]
    fn a_dropped_claim_set_never_answers_for_another() {
        for i in 0..200 {
            let claims = set(json!({"sub": format!("user{i}")}));
            assert_eq!(claims.typed::<Typed>().unwrap().sub, format!("user{i}"));
        }
    }

    #[test]
    fn debug_shows_the_claims_as_a_map() {
        let claims = set(json!({"sub": "s"}));
        assert_eq!(format!("{claims:?}"), format!("{:?}", claims.claims()));
    }
}
