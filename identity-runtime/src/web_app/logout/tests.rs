use axum::http::{HeaderMap, HeaderValue, Method};

use super::*;

const ORIGIN: Option<&str> = Some("https://app.example");

fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.append(*name, HeaderValue::from_static(value));
    }
    map
}

fn get(pairs: &[(&'static str, &'static str)]) -> Intent {
    intent(&Method::GET, &headers(pairs), b"", "t0k3n", ORIGIN)
}

fn post(pairs: &[(&'static str, &'static str)], body: &[u8]) -> Intent {
    intent(&Method::POST, &headers(pairs), body, "t0k3n", ORIGIN)
}

#[test]
fn a_link_of_the_app_or_a_typed_url_signs_out_at_once() {
    assert_eq!(get(&[("sec-fetch-site", "same-origin")]), Intent::SignOut);
    assert_eq!(get(&[("sec-fetch-site", "none")]), Intent::SignOut);
}

#[test]
fn another_site_an_old_browser_a_prefetch_or_head_is_asked_first() {
    assert_eq!(get(&[("sec-fetch-site", "cross-site")]), Intent::Confirm);
    assert_eq!(get(&[("sec-fetch-site", "same-site")]), Intent::Confirm);
    assert_eq!(get(&[]), Intent::Confirm);
    assert_eq!(
        get(&[
            ("sec-fetch-site", "same-origin"),
            ("sec-purpose", "prefetch")
        ]),
        Intent::Confirm
    );
    assert_eq!(
        get(&[("sec-fetch-site", "none"), ("purpose", "prefetch")]),
        Intent::Confirm
    );
    let head = intent(
        &Method::HEAD,
        &headers(&[("sec-fetch-site", "same-origin")]),
        b"",
        "t",
        ORIGIN,
    );
    assert_eq!(head, Intent::Confirm);
}

#[test]
fn a_post_needs_the_token_or_this_origin() {
    assert_eq!(post(&[], b"csrf=t0k3n"), Intent::SignOut);
    assert_eq!(
        post(&[("origin", "https://app.example")], b""),
        Intent::SignOut
    );
    assert_eq!(
        post(&[("sec-fetch-site", "same-origin")], b""),
        Intent::SignOut
    );
    assert_eq!(post(&[], b"csrf=guess"), Intent::Confirm);
    assert_eq!(
        post(&[("origin", "https://evil.example")], b"csrf="),
        Intent::Confirm
    );
    assert_eq!(
        post(&[("sec-fetch-site", "cross-site")], b""),
        Intent::Confirm
    );
    let no_session = intent(&Method::POST, &headers(&[]), b"csrf=", "", ORIGIN);
    assert_eq!(no_session, Intent::Confirm, "an empty token never matches");
}

#[test]
fn the_token_is_bound_to_the_session() {
    let store = std::sync::Arc::new(tower_sessions::MemoryStore::default());
    let a = Session::new(Some(tower_sessions::session::Id(1)), store.clone(), None);
    let b = Session::new(Some(tower_sessions::session::Id(2)), store.clone(), None);
    assert_ne!(csrf_token(&a), csrf_token(&b));
    assert_eq!(csrf_token(&a).len(), 32);
    assert_eq!(csrf_token(&Session::new(None, store, None)), "");
}

#[test]
fn the_end_session_url_carries_every_parameter_encoded() {
    assert_eq!(
        end_session_url("https://idp/logout", "http://app/done?a=b", "c d", "x.y.z"),
        "https://idp/logout?post_logout_redirect_uri=http%3A%2F%2Fapp%2Fdone%3Fa%3Db&client_id=c+d&id_token_hint=x.y.z"
    );
    assert!(
        end_session_url("https://idp/logout?p=1", "/", "c", "t")
            .starts_with("https://idp/logout?p=1&post")
    );
}
