//! A signed-in user's claims as the session keeps them: one JSON string in the record, and in
//! memory one shared, parsed copy per distinct string.
//!
//! A protected request reads the claims from the store on every request. Kept as a JSON object
//! inside the record, each read deep-copies and re-parses a map of a dozen or more values; kept
//! as a string, the store copies one buffer, and the parsed map comes from a small
//! content-addressed cache (an equal string is the same claims, so a hit needs no trust).

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, LazyLock, Mutex};

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::{Map, Value};

/// Distinct claim sets kept parsed; past this the cache starts afresh (a miss only costs a parse).
const MAX_ENTRIES: usize = 10_000;

type Cache = Mutex<HashMap<u64, Vec<(Box<str>, Arc<Map<String, Value>>)>>>;

static PARSED: LazyLock<Cache> = LazyLock::new(Cache::default);

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

    pub(crate) fn map(&self) -> &Map<String, Value> {
        &self.0
    }

    pub(crate) fn shared(&self) -> Arc<Map<String, Value>> {
        self.0.clone()
    }

    /// The claims parsed from `json`, from the cache when the same string was seen before.
    fn parse(json: String) -> Result<Self, serde_json::Error> {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        json.hash(&mut hasher);
        let hash = hasher.finish();
        if let Some(found) = PARSED
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&hash)
            .and_then(|entries| entries.iter().find(|(text, _)| **text == *json))
        {
            return Ok(Claims(found.1.clone()));
        }
        let parsed = Arc::new(serde_json::from_str::<Map<String, Value>>(&json)?);
        let mut cache = PARSED.lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() >= MAX_ENTRIES {
            cache.clear();
        }
        cache
            .entry(hash)
            .or_default()
            .push((json.into_boxed_str(), parsed.clone()));
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
    fn anything_but_a_json_object_string_is_refused() {
        assert!(serde_json::from_value::<Claims>(json!({"sub": "u"})).is_err());
        assert!(serde_json::from_value::<Claims>(json!("[1, 2]")).is_err());
        assert!(serde_json::from_value::<Claims>(json!("not json")).is_err());
    }
}
