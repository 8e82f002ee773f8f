//! Sign-in on the session stores axum users deploy with: a SQLite file (the embedded default,
//! surviving a restart), Redis and PostgreSQL, against real servers on loopback; and
//! records the library cannot use (corrupt, from another version) read as "signed out".
//!
//! Redis and PostgreSQL must be running (see `support::stores`): a missing server fails these
//! tests with a message saying which one and how to start it.

use axum_identity_testkit as support;

use axum::Router;
use axum::routing::get;
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::app::{self, Slot, launch, public, welcome};
use support::browser::Browser;
use support::provider::{requests, token_requests};
use support::stores;
use tower_sessions::SessionStore;
use tower_sessions::session::Id;

fn routes() -> Router {
    Router::new()
        .route("/", get(welcome))
        .route("/public", get(public))
}

/// Provider requests of any kind in a `/__stats` value.
fn provider_calls(stats: &Value) -> u64 {
    [
        "discovery",
        "jwks",
        "userinfo",
        "authorization",
        "end_session",
    ]
    .iter()
    .map(|e| requests(stats, e))
    .sum::<u64>()
        + token_requests(stats, "authorization_code")
        + token_requests(stats, "refresh_token")
}

/// Signs `login` in through the protected page of `base` and checks the page then works.
async fn sign_in(browser: &Browser, base: &str, login: &str) -> String {
    let page = browser.get(format!("{base}/")).await;
    let page = browser.sign_in(page, login).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(page.url.as_str(), format!("{base}/"));
    let name = format!("{}{}", login[..1].to_uppercase(), &login[1..]);
    assert!(
        page.body.contains(&format!("Welcome {name}")),
        "{}",
        page.body
    );
    browser
        .cookie(base, "identity.sid")
        .expect("a session cookie after sign-in")
}

/// A client without cookies or redirects, to replay a chosen `identity.sid`.
fn bare_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn get_with_sid(url: &str, sid: &str) -> reqwest::Response {
    bare_client()
        .get(url)
        .header("cookie", format!("identity.sid={sid}"))
        .send()
        .await
        .unwrap()
}

/// The protected page with this session id is a redirect into sign-in (a browser page load),
/// and the page that accepts both signed-in and anonymous users sees an anonymous one.
async fn assert_signed_out(base: &str, sid: &str, what: &str) {
    let response = get_with_sid(&format!("{base}/"), sid).await;
    let status = response.status();
    let location = response
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_owned());
    let body = response.text().await.unwrap();
    assert_eq!(
        status,
        StatusCode::SEE_OTHER,
        "{what}: the protected page answered {status}: {body}"
    );
    let location = location.unwrap_or_default();
    assert!(
        location.starts_with("/login"),
        "{what}: redirected to {location}"
    );
    let response = get_with_sid(&format!("{base}/public"), sid).await;
    let status = response.status();
    assert_eq!(status, StatusCode::OK, "{what}: /public answered {status}");
    assert_eq!(response.text().await.unwrap(), "anonymous", "{what}");
}

#[tokio::test]
async fn sqlite_file_store_signs_in_and_the_session_survives_a_restart() {
    let dir = stores::TempDir::new();
    let file = dir.path().join("sessions.sqlite3");
    let slot = Slot::bind();
    let provider = app::provider_for(&[&slot], json!({})).await;

    let (store, pool) = stores::sqlite_store(&file).await;
    let instance = launch(routes())
        .issuer(&provider.issuer)
        .on(&slot)
        .store(store)
        .start()
        .await;
    let browser = Browser::new();
    let sid = sign_in(&browser, &slot.base, "alice").await;
    assert!(
        std::fs::metadata(&file).unwrap().len() > 0,
        "sessions are in the file"
    );

    // Restart: the first instance stops, its browser connections close and its pool is shut,
    // then a new process-like instance opens the same file on the same address.
    drop(instance);
    drop(browser);
    pool.close().await;
    let (store, _pool) = stores::sqlite_store(&file).await;
    let _instance = launch(routes())
        .issuer(&provider.issuer)
        .on(&slot)
        .store(store)
        .start()
        .await;

    // The same browser cookie, on a fresh connection.
    let browser = Browser::new();
    let url = url::Url::parse(&slot.base).unwrap();
    browser
        .jar
        .add_cookie_str(&format!("identity.sid={sid}; Path=/; HttpOnly"), &url);
    provider.reset_stats().await;
    let page = browser.get(slot.url("/")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body.contains("Welcome Alice"),
        "signed out by the restart: {}",
        page.body
    );
    assert_eq!(
        browser.get(slot.url("/public")).await.body,
        "signed in as alice"
    );
    let stats = provider.stats().await;
    assert_eq!(
        provider_calls(&stats),
        0,
        "the restarted app asked the provider: {stats}"
    );
}

#[tokio::test]
async fn redis_store_signs_in_and_logout_deletes_the_record() {
    let (store, pool) = stores::redis_store().await;
    let app = launch(routes()).store(store).start().await;
    let browser = Browser::new();
    let sid = sign_in(&browser, &app.base, "bob").await;
    let bytes = stores::redis_strlen(&pool, &sid).await;
    assert!(bytes > 0, "no record under the session id in Redis");
    println!("Redis record of a signed-in user: {bytes} bytes");
    // A signed-in request reads the session and writes nothing (the record would carry a new
    // expiry date if it were saved).
    let before = stores::redis_raw(&pool, &sid).await;
    for _ in 0..3 {
        assert!(browser.get(app.url("/")).await.body.contains("Welcome Bob"));
    }
    assert_eq!(
        stores::redis_raw(&pool, &sid).await,
        before,
        "a protected request rewrote the session"
    );

    let page = browser.get(app.url("/logout")).await;
    let page = browser.confirm_logout(page).await;
    assert!(page.body.contains("signed out"), "{}", page.body);
    assert_eq!(
        stores::redis_raw(&pool, &sid).await,
        None,
        "logout left the record in Redis"
    );
    assert_signed_out(&app.base, &sid, "after logout").await;
}

#[tokio::test]
async fn postgres_store_signs_in() {
    let (store, pool, schema) = stores::postgres_store().await;
    let outcome = tokio::spawn({
        let pool = pool.clone();
        let schema = schema.clone();
        async move {
            let app = launch(routes()).store(store).start().await;
            let browser = Browser::new();
            let sid = sign_in(&browser, &app.base, "carol").await;
            let row: Option<(i32,)> = tower_sessions_sqlx_store::sqlx::query_as(&format!(
                r#"select length(data) from "{schema}"."session" where id = $1"#
            ))
            .bind(&sid)
            .fetch_optional(&pool)
            .await
            .unwrap();
            let (bytes,) = row.expect("a row for the session in PostgreSQL");
            println!("PostgreSQL record of a signed-in user: {bytes} bytes");
            for _ in 0..3 {
                assert!(
                    browser
                        .get(app.url("/"))
                        .await
                        .body
                        .contains("Welcome Carol")
                );
            }
            assert_eq!(
                browser.get(app.url("/public")).await.body,
                "signed in as carol"
            );
        }
    })
    .await;
    stores::drop_postgres_schema(&pool, &schema).await;
    if let Err(error) = outcome {
        std::panic::resume_unwind(error.into_panic());
    }
}

/// Records the library cannot use, as found in the store by a new release or after a bad
/// write: each reads as "signed out" (a redirect into sign-in), never as an error page, and a
/// fresh sign-in from there works.
#[tokio::test]
async fn corrupt_and_foreign_version_records_read_as_signed_out() {
    let (store, pool) = stores::redis_store().await;
    let app = launch(routes()).store(store.clone()).start().await;

    // A real signed-in record, then the same record claiming another version.
    let browser = Browser::new();
    let sid = sign_in(&browser, &app.base, "dave").await;
    let id: Id = sid.parse().expect("the cookie holds a session id");
    let mut record = store
        .load(&id)
        .await
        .unwrap()
        .expect("the signed-in record");
    let ours = record
        .data
        .get("axum_identity")
        .cloned()
        .expect("the library's key in the session");
    assert!(ours["v"].is_u64(), "the record carries its version: {ours}");
    let mut cases: Vec<(String, String)> = Vec::new();
    for version in [0, ours["v"].as_u64().unwrap() + 1, 999] {
        let mut other = ours.clone();
        other["v"] = json!(version);
        record.id = Id::default();
        record.data.insert("axum_identity".into(), other);
        store.create(&mut record).await.unwrap();
        cases.push((
            format!("a signed-in record of version {version}"),
            record.id.to_string(),
        ));
    }
    let mut unversioned = ours.clone();
    unversioned.as_object_mut().unwrap().remove("v");
    cases.push((
        "a signed-in record without a version".into(),
        stores::plant_record(&store, json!({"axum_identity": unversioned})).await,
    ));

    // Garbage under the library's key, in a record the store itself can read.
    for (what, value) in [
        (
            "a string of broken JSON",
            json!("{\"v\":1,\"user\":{\"claims\":"),
        ),
        ("a number", json!(42)),
        (
            "the right version with a user of the wrong shape",
            json!({"v": ours["v"], "user": "alice"}),
        ),
        (
            "the right version with claims of the wrong shape",
            json!({"v": ours["v"], "user": {"claims": [1, 2], "id_token": 7}}),
        ),
        ("an array", json!([ours.clone()])),
    ] {
        cases.push((
            format!("garbage: {what}"),
            stores::plant_record(&store, json!({"axum_identity": value})).await,
        ));
    }

    for (what, sid) in &cases {
        assert_signed_out(&app.base, sid, what).await;
    }

    // From such a record, signing in works and replaces it.
    let (what, bad_sid) = &cases[1];
    let browser = Browser::new();
    let url = url::Url::parse(&app.base).unwrap();
    browser
        .jar
        .add_cookie_str(&format!("identity.sid={bad_sid}; Path=/"), &url);
    let new_sid = sign_in(&browser, &app.base, "erin").await;
    assert_ne!(
        &new_sid, bad_sid,
        "{what}: the session id was not rotated at sign-in"
    );
    drop(pool);
}

/// Bytes in the store that the store itself cannot decode (not MessagePack, a truncated write,
/// a record from another tower-sessions encoding): the user is signed out, not shown a 5xx, and
/// the entry is dropped (tower-sessions reports `session_store::Error::Decode`; the runtime
/// flushes that session and goes on with an empty record).
#[tokio::test]
async fn an_undecodable_store_entry_reads_as_signed_out() {
    let (store, pool) = stores::redis_store().await;
    let app = launch(routes()).store(store.clone()).start().await;
    let browser = Browser::new();
    let sid = sign_in(&browser, &app.base, "frank").await;
    let raw = stores::redis_raw(&pool, &sid)
        .await
        .expect("the record in Redis");
    let mut cases = vec![
        (
            "JSON where MessagePack is expected",
            br#"{"axum_identity":{"v":1}}"#.to_vec(),
        ),
        ("a truncated record", raw[..raw.len() / 2].to_vec()),
    ];
    cases.push(("garbage bytes", vec![0xc1, 0xff, 0x00, 0x13]));
    for (what, bytes) in cases {
        let id = Id::default().to_string();
        stores::redis_overwrite(&pool, &id, &bytes).await;
        // Signing in from there works (the user is not locked out until the cookie expires).
        let browser = Browser::new();
        let url = url::Url::parse(&app.base).unwrap();
        browser
            .jar
            .add_cookie_str(&format!("identity.sid={id}; Path=/"), &url);
        let page = browser.get(app.url("/")).await;
        assert!(
            page.url.as_str().starts_with(&app.provider().issuer),
            "{what}: no way into sign-in: {} {} {}",
            page.url,
            page.status,
            page.body
                .lines()
                .find(|l| l.contains("<title>"))
                .unwrap_or_default()
        );
        let id = Id::default().to_string();
        stores::redis_overwrite(&pool, &id, &bytes).await;
        assert_signed_out(&app.base, &id, what).await;
    }
}

/// A missing server fails the test naming what is missing (never a silent skip).
#[tokio::test]
async fn a_missing_service_is_named() {
    // Port 9 (discard) on loopback: nothing is expected to listen there.
    for (url, expected) in [
        (
            "redis://127.0.0.1:9",
            "MISSING SERVICE: Redis is not reachable at redis://127.0.0.1:9",
        ),
        (
            "postgres://postgres@127.0.0.1:9/test",
            "MISSING SERVICE: PostgreSQL is not reachable at postgres://postgres@127.0.0.1:9/test",
        ),
    ] {
        let url = url.to_owned();
        let outcome = tokio::spawn(async move {
            if url.starts_with("redis") {
                drop(stores::redis_pool_at(&url, 1).await);
            } else {
                drop(stores::postgres_pool_at(&url).await);
            }
        })
        .await;
        let panic = outcome
            .expect_err("connecting to a closed port must fail")
            .into_panic();
        let text = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        assert!(text.contains(expected), "{text}");
    }
}
