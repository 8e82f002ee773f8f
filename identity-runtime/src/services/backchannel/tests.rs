use serde_json::{Value, json};
use tower_sessions::MemoryStore;

use super::*;

const NOW: i64 = 1_700_000_000;

fn claims(edit: Value) -> Map<String, Value> {
    let mut claims = json!({
        "iss": "https://idp", "aud": "client", "iat": NOW, "jti": "j1", "sub": "u",
        "events": {EVENT: {}},
    })
    .as_object()
    .unwrap()
    .clone();
    for (name, value) in edit.as_object().unwrap() {
        if value.is_null() {
            claims.remove(name);
        } else {
            claims.insert(name.clone(), value.clone());
        }
    }
    claims
}

fn refused(edit: Value) -> bool {
    matches!(
        check_claims(&claims(edit), "client", NOW),
        Err(Error::InvalidToken(_))
    )
}

#[test]
fn a_valid_logout_token_names_its_user() {
    let claims = claims(json!({}));
    assert_eq!(
        check_claims(&claims, "client", NOW).unwrap(),
        Logout {
            iss: "https://idp",
            sub: "u",
            jti: "j1"
        }
    );
    assert!(!refused(json!({"aud": ["client"]})));
    assert!(!refused(json!({"exp": NOW + 60})));
    assert!(!refused(json!({"iat": NOW + 60})), "within the leeway");
}

#[test]
fn the_audience_must_be_this_client_alone() {
    assert!(refused(json!({"aud": "other"})));
    assert!(refused(json!({"aud": ["client", "other"]})));
    assert!(refused(json!({"aud": null})));
}

#[test]
fn time_claims_are_checked() {
    assert!(refused(json!({"iat": null})));
    assert!(refused(json!({"iat": NOW + 61})), "from the future");
    assert!(refused(json!({"iat": NOW - MAX_AGE - 1})), "too old");
    assert!(refused(json!({"exp": NOW - 1})), "expired");
}

#[test]
fn the_event_is_required_and_a_nonce_forbidden() {
    assert!(refused(json!({"events": null})));
    assert!(refused(json!({"events": {EVENT: "not an object"}})));
    assert!(refused(json!({"events": {"other": {}}})));
    assert!(
        refused(json!({"nonce": "n"})),
        "an ID token is no logout token"
    );
}

#[test]
fn sub_and_jti_are_required() {
    assert!(refused(json!({"sub": null, "sid": "s"})));
    assert!(refused(json!({"sub": ""})));
    assert!(refused(json!({"jti": null})));
    assert!(refused(json!({"jti": ""})));
}

#[tokio::test]
async fn a_marker_is_seen_by_every_lookup_through_the_store() {
    let store = MemoryStore::default();
    let markers = LogoutMarkers::new(b"secret");
    assert_eq!(markers.signed_out_at(&store, "i", "u").await.unwrap(), None);
    markers
        .mark(&store, "i", "u", NOW, Duration::from_secs(3600))
        .await
        .unwrap();
    assert_eq!(
        markers.signed_out_at(&store, "i", "u").await.unwrap(),
        Some(NOW)
    );
    // Another instance, with its own cache, reads the marker from the shared store.
    let other = LogoutMarkers::new(b"secret");
    assert_eq!(
        other.signed_out_at(&store, "i", "u").await.unwrap(),
        Some(NOW)
    );
    assert_eq!(
        other.signed_out_at(&store, "i", "other").await.unwrap(),
        None
    );
}

#[test]
fn marker_ids_need_the_key() {
    let ours = LogoutMarkers::new(b"secret");
    let guess = LogoutMarkers::new(b"");
    assert_ne!(ours.marker_id("i", "u"), guess.marker_id("i", "u"));
    assert_eq!(
        ours.marker_id("i", "u"),
        LogoutMarkers::new(b"secret").marker_id("i", "u")
    );
    assert_ne!(ours.marker_id("i", "u"), ours.marker_id("i", "v"));
}
