//! A signed-in user's claims as the session keeps them: one JSON string in the record, and in
//! memory one shared, parsed copy per distinct string.
//!
//! A protected request reads the claims from the store on every request. Kept as a JSON object
//! inside the record, each read deep-copies and re-parses a map of a dozen or more values; kept
//! as a string, the store copies one buffer, and the parsed map comes from a small
//! content-addressed cache (an equal string is the same claims, so a hit needs no trust).

use std::any::{Any, TypeId};
use std::sync::{Arc, LazyLock, Weak};

use serde::de::DeserializeOwned;
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::{Map, Value};

/// The bytes of claims kept parsed (the string and its parsed map, as [`weigh`] counts them),
/// for every `Auth` of the process: thousands of signed-in users with ordinary claims, or
/// hundreds with a thousand groups each. Past it the claims used least go first; a miss costs
/// only a parse.
const MAX_BYTES: u64 = 32 << 20;

/// Weighs an entry: the JSON string and its parsed map.
#[derive(Clone)]
struct ByBytes;

impl quick_cache::Weighter<Box<str>, Arc<Map<String, Value>>> for ByBytes {
    fn weight(&self, json: &Box<str>, claims: &Arc<Map<String, Value>>) -> u64 {
        json.len() as u64 + weigh(claims)
    }
}

// quick_cache rather than moka here: this lookup is on every protected request, and its
// reads cost a hash and a probe with no eviction bookkeeping to queue (measured with
// `cargo bench --bench protected`); the entries need no expiry of their own.
type Cache = quick_cache::sync::Cache<Box<str>, Arc<Map<String, Value>>, ByBytes>;

static PARSED: LazyLock<Cache> = LazyLock::new(|| Cache::with_weighter(4096, MAX_BYTES, ByBytes));

/// Claims, shared: cloning them is one reference count.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Claims(Arc<Map<String, Value>>);

impl Claims {
    pub(crate) fn new(claims: Map<String, Value>) -> Self {
        Claims(Arc::new(claims))
    }

    pub(crate) fn get(&self, name: &str) -> Option<&Value> {
        self.0.get(name)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub(crate) fn map(&self) -> &Map<String, Value> {
        &self.0
    }

    pub(crate) fn shared(&self) -> Arc<Map<String, Value>> {
        self.0.clone()
    }

    /// The claims parsed from `json`, from the cache when the same string was seen before.
    fn parse(json: String) -> Result<Self, serde_json::Error> {
        if let Some(found) = PARSED.get(json.as_str()) {
            return Ok(Claims(found));
        }
        let parsed = Arc::new(serde_json::from_str::<Map<String, Value>>(&json)?);
        PARSED.insert(json.into_boxed_str(), parsed.clone());
        Ok(Claims(parsed))
    }
}

impl From<Map<String, Value>> for Claims {
    fn from(claims: Map<String, Value>) -> Self {
        Claims::new(claims)
    }
}

impl Serialize for Claims {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let json = serde_json::to_string(&*self.0).map_err(serde::ser::Error::custom)?;
        serializer.serialize_str(&json)
    }
}

impl<'de> Deserialize<'de> for Claims {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Text;

        impl<'de> Visitor<'de> for Text {
            type Value = Claims;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("claims as a JSON string")
            }

            fn visit_string<E: de::Error>(self, json: String) -> Result<Claims, E> {
                Claims::parse(json).map_err(E::custom)
            }

            fn visit_str<E: de::Error>(self, json: &str) -> Result<Claims, E> {
                Claims::parse(json.to_owned()).map_err(E::custom)
            }
        }

        deserializer.deserialize_string(Text)
    }
}

/// About the bytes parsed claims hold in memory: each string's bytes (at least an
/// allocation's 32), a map node slot per entry (the key `String` and the `Value`), 32 bytes per
/// array item. A 12 KB token with 1,100 short `groups` values parses to about 70 KB, which
/// this follows within a small factor.
pub(crate) fn weigh(claims: &Map<String, Value>) -> u64 {
    const SLOT: u64 = 24 + 32 + 16;
    claims
        .iter()
        .map(|(key, value)| SLOT + key.len() as u64 + weigh_value(value))
        .sum()
}

fn weigh_value(value: &Value) -> u64 {
    match value {
        Value::Null | Value::Bool(_) | Value::Number(_) => 0,
        // An allocation takes at least 32 bytes with its header (glibc's smallest chunk).
        Value::String(s) => (s.len() as u64).max(24) + 8,
        Value::Array(items) => items.iter().map(|item| 32 + weigh_value(item)).sum(),
        Value::Object(map) => 48 + weigh(map),
    }
}

/// The claims as a `T`, deserialized once per parsed claim set and type: the session's
/// claims are parsed once per distinct session string (and a web API's once per token), so
/// a handler reading `claims_as::<T>()` on every request deserializes nothing after the
/// first.
pub(crate) fn typed<T>(claims: &Arc<Map<String, Value>>) -> Result<Arc<T>, ClaimsError>
where
    T: DeserializeOwned + Send + Sync + 'static,
{
    let key = (TypeId::of::<T>(), Arc::as_ptr(claims) as usize);
    if let Some(entry) = TYPED.get(&key)
        && let Some(of) = entry.of.upgrade()
        && Arc::ptr_eq(&of, claims)
        && let Ok(value) = entry.value.downcast::<T>()
    {
        return Ok(value);
    }
    let value = Arc::new(T::deserialize(&**claims).map_err(|source| ClaimsError {
        type_name: std::any::type_name::<T>(),
        source: Arc::new(source),
    })?);
    TYPED.insert(
        key,
        Typed {
            of: Arc::downgrade(claims),
            weight: weigh(claims),
            value: value.clone(),
        },
    );
    Ok(value)
}

/// Claims that do not fit the type a handler asked for (`claims_as::<T>()`): a missing claim, or
/// one of another type. Which claim and why is in the message.
///
/// ```
/// use axum_identity_runtime::User;
/// use serde::Deserialize;
/// use serde_json::json;
///
/// #[derive(Debug, Deserialize)]
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn claims(value: Value) -> Claims {
        Claims::new(value.as_object().unwrap().clone())
    }

    #[test]
    fn claims_are_stored_as_one_string_and_read_back_equal() {
        let original = claims(json!({"sub": "u", "name": "Ada", "groups": ["a", "b"]}));
        let stored = serde_json::to_value(&original).unwrap();
        assert!(stored.is_string());
        let read: Claims = serde_json::from_value(stored).unwrap();
        assert_eq!(read, original);
    }

    #[test]
    fn the_same_string_is_parsed_once_and_shared() {
        let stored = serde_json::to_value(claims(json!({"sub": "shared-once"}))).unwrap();
        let a: Claims = serde_json::from_value(stored.clone()).unwrap();
        let b: Claims = serde_json::from_value(stored).unwrap();
        assert!(Arc::ptr_eq(&a.0, &b.0));
    }

    #[test]
    fn different_claims_never_share_an_entry() {
        let a: Claims = serde_json::from_value(json!(r#"{"sub":"a"}"#)).unwrap();
        let b: Claims = serde_json::from_value(json!(r#"{"sub":"b"}"#)).unwrap();
        assert_eq!(a.get("sub"), Some(&json!("a")));
        assert_eq!(b.get("sub"), Some(&json!("b")));
    }

    #[test]
    fn the_parsed_claims_stay_within_their_byte_bound() {
        let groups: Vec<String> = (0..1100).map(|i| format!("g{i:05}")).collect();
        for i in 0..2_000 {
            let json = serde_json::to_string(&json!({"sub": format!("big{i}"), "groups": groups}))
                .unwrap();
            let _: Claims = serde_json::from_value(Value::String(json)).unwrap();
        }
        assert!(PARSED.weight() <= MAX_BYTES, "{} bytes", PARSED.weight());
    }

    #[test]
    fn anything_but_a_json_object_string_is_refused() {
        assert!(serde_json::from_value::<Claims>(json!({"sub": "u"})).is_err());
        assert!(serde_json::from_value::<Claims>(json!("[1, 2]")).is_err());
        assert!(serde_json::from_value::<Claims>(json!("not json")).is_err());
    }

    fn set_of(value: Value) -> Arc<Map<String, Value>> {
        Arc::new(value.as_object().unwrap().clone())
    }

    #[derive(Debug, serde::Deserialize)]
    struct Typed {
        sub: String,
        #[serde(default)]
        roles: Vec<String>,
    }

    #[test]
    fn typed_claims_are_read_once_per_claim_set_and_type() {
        let claims = set_of(json!({"sub": "s", "roles": ["r"]}));
        let first = typed::<Typed>(&claims).unwrap();
        assert_eq!(
            (first.sub.as_str(), first.roles.as_slice()),
            ("s", &["r".to_owned()][..])
        );
        let again = typed::<Typed>(&claims.clone()).unwrap();
        assert!(
            Arc::ptr_eq(&first, &again),
            "the second read is the first one's value"
        );
        // Equal claims parsed apart are another set: read on their own.
        let other = set_of(json!({"sub": "t"}));
        assert_eq!(typed::<Typed>(&other).unwrap().sub, "t");
        let error = typed::<Typed>(&set_of(json!({"roles": 1}))).unwrap_err();
        assert!(error.to_string().contains("Typed"), "{error}");
        assert!(error.type_name().ends_with("Typed"));
    }

    #[test]
    fn a_dropped_claim_set_never_answers_for_another() {
        for i in 0..200 {
            let claims = set_of(json!({"sub": format!("user{i}")}));
            assert_eq!(typed::<Typed>(&claims).unwrap().sub, format!("user{i}"));
        }
    }
}
