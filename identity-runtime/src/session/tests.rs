use std::time::Duration;

use serde_json::json;
use tower_sessions::{MemoryStore, Session};

use super::*;

const POLICY: SessionPolicy = SessionPolicy {
    idle_timeout: Duration::from_secs(100),
    lifetime: Duration::from_secs(1000),
    login_timeout: Duration::from_secs(60),
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
    store_with_tokens(&session, &record, &Sealer::default(), POLICY.at(0))
        .await
        .unwrap();

    let plain = load(&session).await.unwrap();
    let plain_user = plain.user.as_ref().unwrap();
    assert_eq!(plain_user.claim_str("sub"), "u");
    assert!(plain_user.id_token.is_empty(), "the tokens stay apart");
    let full = load_with_tokens(&session, &Sealer::default())
        .await
        .unwrap();
    assert_eq!(full.user.unwrap().refresh_token.as_deref(), Some("refresh"));
}

#[tokio::test]
async fn storing_without_tokens_leaves_them_as_they_are() {
    let session = session();
    let mut record = Record::default();
    let mut signed_in = user(5);
    signed_in.refresh_token = Some("refresh".into());
    record.user = Some(signed_in);
    store_with_tokens(&session, &record, &Sealer::default(), POLICY.at(0))
        .await
        .unwrap();
    let mut plain = load(&session).await.unwrap();
    plain.user.as_mut().unwrap().seen = 50;
    store(&session, &plain, POLICY.at(0)).await.unwrap();
    let full = load_with_tokens(&session, &Sealer::default())
        .await
        .unwrap();
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
    store_with_tokens(&session, &record, &Sealer::default(), POLICY.at(0))
        .await
        .unwrap();
    record.user = None;
    store_with_tokens(&session, &record, &Sealer::default(), POLICY.at(0))
        .await
        .unwrap();
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

const KEY_A: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const KEY_B: &str = "HxwdHhscGRgXFhUUExIREA8ODQwLCgkIBwYFBAMCAQA=";

fn signed_in_with_tokens() -> Record {
    let mut signed_in = user(5);
    signed_in.refresh_token = Some("the-refresh-token".into());
    Record {
        user: Some(signed_in),
        ..Record::default()
    }
}

#[tokio::test]
async fn sealed_tokens_are_not_in_the_store_and_open_with_the_key() {
    let sealer = Sealer::from_base64([KEY_A]).unwrap();
    let session = session();
    store_with_tokens(&session, &signed_in_with_tokens(), &sealer, POLICY.at(0))
        .await
        .unwrap();
    let raw = session
        .get_value(SECRETS_KEY)
        .await
        .unwrap()
        .unwrap()
        .to_string();
    assert!(!raw.contains("the-refresh-token"), "{raw}");
    let full = load_with_tokens(&session, &sealer).await.unwrap();
    assert_eq!(
        full.user.unwrap().refresh_token.as_deref(),
        Some("the-refresh-token")
    );
    let rotated = Sealer::from_base64([KEY_B, KEY_A]).unwrap();
    assert!(
        load_with_tokens(&session, &rotated)
            .await
            .unwrap()
            .user
            .is_some()
    );
}

#[tokio::test]
async fn tokens_that_do_not_open_read_as_signed_out() {
    let sealer = Sealer::from_base64([KEY_A]).unwrap();
    let session = session();
    store_with_tokens(&session, &signed_in_with_tokens(), &sealer, POLICY.at(0))
        .await
        .unwrap();
    let other_key = Sealer::from_base64([KEY_B]).unwrap();
    assert!(
        load_with_tokens(&session, &other_key)
            .await
            .unwrap()
            .user
            .is_none()
    );
    assert!(
        load_with_tokens(&session, &Sealer::default())
            .await
            .unwrap()
            .user
            .is_none()
    );
    // Sealed for another sign-in (a blob copied from another session).
    let mut moved = load(&session).await.unwrap();
    moved.user.as_mut().unwrap().since = 6;
    store(&session, &moved, POLICY.at(0)).await.unwrap();
    assert!(
        load_with_tokens(&session, &sealer)
            .await
            .unwrap()
            .user
            .is_none()
    );
    // Plain tokens where a key is configured.
    let plain = self::session();
    store_with_tokens(
        &plain,
        &signed_in_with_tokens(),
        &Sealer::default(),
        POLICY.at(0),
    )
    .await
    .unwrap();
    assert!(
        load_with_tokens(&plain, &sealer)
            .await
            .unwrap()
            .user
            .is_none()
    );
}

#[test]
fn a_signed_in_record_expires_with_its_idle_timeout_and_never_after_its_lifetime() {
    let at = |expiry: tower_sessions::Expiry| match expiry {
        tower_sessions::Expiry::OnInactivity(left) => left.whole_seconds(),
        other => panic!("a signed-in record expires after the time left, not {other:?}"),
    };
    let mut record = Record {
        user: Some(user(10_000)),
        ..Record::default()
    };
    assert_eq!(
        at(POLICY.expiry(&record, 10_000)),
        100,
        "idle timeout after the sign-in"
    );
    assert_eq!(at(POLICY.expiry(&record, 10_040)), 60);
    record.user.as_mut().unwrap().seen = 10_950;
    assert_eq!(
        at(POLICY.expiry(&record, 10_950)),
        50,
        "capped at the lifetime"
    );
    assert_eq!(at(POLICY.expiry(&record, 12_000)), 0, "over");
    // Nobody signed in: a pending sign-in lives as long as the login timeout allows.
    assert!(matches!(
        POLICY.expiry(&Record::default(), 0),
        tower_sessions::Expiry::OnInactivity(d) if d == time::Duration::seconds(60)
    ));
}

#[tokio::test]
async fn a_record_names_the_key_that_sealed_its_tokens_and_reads_as_closed_without_it() {
    let key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    let other = "HxwdHhscGxoZGBcWFRQTEhEQDw4NDAsKCQgHBgUEAwI=";
    let sealer = Sealer::from_base64([key]).unwrap();
    let session = session();
    store_with_tokens(&session, &signed_in_with_tokens(), &sealer, POLICY.at(0))
        .await
        .unwrap();
    let user = load(&session).await.unwrap().user.unwrap();
    assert!(user.tokens_open_with(&sealer));
    assert!(
        user.tokens_open_with(&Sealer::from_base64([other, key]).unwrap()),
        "kept for decryption"
    );
    assert!(
        !user.tokens_open_with(&Sealer::from_base64([other]).unwrap()),
        "replaced"
    );
    assert!(!user.tokens_open_with(&Sealer::default()), "removed");
    // Stored as they are: closed once a key is required.
    let plain = self::session();
    store_with_tokens(
        &plain,
        &signed_in_with_tokens(),
        &Sealer::default(),
        POLICY.at(0),
    )
    .await
    .unwrap();
    let user = load(&plain).await.unwrap().user.unwrap();
    assert!(user.tokens_open_with(&Sealer::default()));
    assert!(!user.tokens_open_with(&sealer));
}
