use std::time::Duration;

use serde_json::json;
use tower_sessions::{MemoryStore, Session};

use super::*;

const POLICY: SessionPolicy = SessionPolicy {
    idle_timeout: Duration::from_secs(100),
    lifetime: Duration::from_secs(1000),
};

fn user(since: i64) -> SignedIn {
    SignedIn::new(
        json!({"sub": "u", "iss": "i"}).as_object().unwrap().clone(),
        since,
    )
}

fn session() -> Session {
    Session::new(None, std::sync::Arc::new(MemoryStore::default()), None)
}

#[test]
fn a_session_is_current_within_its_idle_timeout_and_lifetime() {
    let user = user(1000);
    assert!(user.is_current(1000, &POLICY));
    assert!(user.is_current(1100, &POLICY), "exactly the idle timeout");
    assert!(!user.is_current(1101, &POLICY), "idle past the timeout");
}

#[test]
fn activity_extends_the_idle_timeout_but_not_the_lifetime() {
    let mut user = user(1000);
    for now in (1050..=2000).step_by(50) {
        user.touch(now, &POLICY);
        assert_eq!(user.is_current(now, &POLICY), now <= 2000, "at {now}");
    }
    user.touch(2001, &POLICY);
    assert!(
        !user.is_current(2001, &POLICY),
        "the absolute lifetime ends it"
    );
}

#[test]
fn activity_is_recorded_at_most_every_tenth_of_the_idle_timeout() {
    let mut user = user(1000);
    assert!(!user.touch(1010, &POLICY), "within a tenth: no store write");
    assert!(user.touch(1011, &POLICY));
    assert_eq!(user.seen, 1011);
    assert!(!user.touch(1020, &POLICY));
}

#[test]
fn claims_are_read_as_strings() {
    let user = user(0);
    assert_eq!(user.claim_str("sub"), "u");
    assert_eq!(user.claim_str("missing"), "");
}

#[tokio::test]
async fn a_record_round_trips_without_and_with_its_tokens() {
    let session = session();
    let mut record = Record::default();
    let mut signed_in = user(5);
    signed_in.id_token = "id.token.sig".into();
    signed_in.refresh_token = Some("refresh".into());
    record.user = Some(signed_in);
    store_with_tokens(&session, &record).await.unwrap();

    let plain = load(&session).await.unwrap();
    let plain_user = plain.user.as_ref().unwrap();
    assert_eq!(plain_user.claim_str("sub"), "u");
    assert!(plain_user.id_token.is_empty(), "the tokens stay apart");
    let full = load_with_tokens(&session).await.unwrap();
    assert_eq!(full.user.unwrap().refresh_token.as_deref(), Some("refresh"));
}

#[tokio::test]
async fn storing_without_tokens_leaves_them_as_they_are() {
    let session = session();
    let mut record = Record::default();
    let mut signed_in = user(5);
    signed_in.refresh_token = Some("refresh".into());
    record.user = Some(signed_in);
    store_with_tokens(&session, &record).await.unwrap();
    let mut plain = load(&session).await.unwrap();
    plain.user.as_mut().unwrap().seen = 50;
    store(&session, &plain).await.unwrap();
    let full = load_with_tokens(&session).await.unwrap();
    let user = full.user.unwrap();
    assert_eq!(user.seen, 50);
    assert_eq!(user.refresh_token.as_deref(), Some("refresh"));
}

#[tokio::test]
async fn signing_out_removes_the_tokens() {
    let session = session();
    let mut record = Record {
        user: Some(user(5)),
        ..Record::default()
    };
    store_with_tokens(&session, &record).await.unwrap();
    record.user = None;
    store_with_tokens(&session, &record).await.unwrap();
    assert!(session.get_value(SECRETS_KEY).await.unwrap().is_none());
}

#[tokio::test]
async fn a_foreign_version_or_shape_reads_as_signed_out() {
    let session = session();
    session
        .insert(
            KEY,
            json!({"v": VERSION + 1, "user": {"claims": {}, "since": 1}}),
        )
        .await
        .unwrap();
    assert!(load(&session).await.unwrap().user.is_none());
    session.insert(KEY, json!("not a record")).await.unwrap();
    assert!(load(&session).await.unwrap().user.is_none());
}
