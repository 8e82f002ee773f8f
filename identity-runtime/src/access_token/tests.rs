use serde_json::json;

use super::*;

const NOW: i64 = 1_800_000_000;

fn policy() -> Policy {
    Policy {
        audiences: vec!["api-id".into(), "api://api-id".into()],
        tenants: None,
        leeway: 30,
        require_at_jwt: false,
    }
}

fn rules() -> Vec<IssuerRule> {
    vec![IssuerRule::Exact("https://idp.example".into())]
}

fn claims(patch: Value) -> Map<String, Value> {
    let mut claims = json!({
        "iss": "https://idp.example", "sub": "u", "aud": "api-id", "exp": NOW + 600,
        "iat": NOW, "scope": "api.read",
    })
    .as_object()
    .unwrap()
    .clone();
    for (name, value) in patch.as_object().unwrap() {
        if value.is_null() {
            claims.remove(name);
        } else {
            claims.insert(name.clone(), value.clone());
        }
    }
    claims
}

fn reason(patch: Value) -> String {
    match check_claims(&rules(), &policy(), &claims(patch), NOW) {
        Ok(_) => "accepted".into(),
        Err(Rejected::Invalid(reason)) => reason.into_owned(),
        Err(Rejected::Unavailable(e)) => panic!("{e}"),
    }
}

#[test]
fn a_good_token_is_accepted_with_either_audience_form() {
    assert_eq!(reason(json!({})), "accepted");
    assert_eq!(reason(json!({"aud": "api://api-id"})), "accepted");
    assert_eq!(reason(json!({"aud": ["other", "api-id"]})), "accepted");
    assert_eq!(
        reason(json!({"exp": NOW + 10, "nbf": NOW + 20})),
        "accepted"
    );
}

#[test]
fn each_claim_rule_refuses() {
    assert!(reason(json!({"iss": "https://evil.example"})).contains("another issuer"));
    assert!(reason(json!({"aud": "other-api"})).contains("another audience"));
    assert!(reason(json!({"aud": ["a", "b"]})).contains("another audience"));
    assert!(reason(json!({"aud": null})).contains("another audience"));
    assert!(reason(json!({"exp": NOW - 31})).contains("expired"));
    assert_eq!(
        reason(json!({"exp": NOW - 29})),
        "accepted",
        "within the leeway"
    );
    assert!(reason(json!({"exp": null})).contains("no `exp`"));
    assert!(reason(json!({"exp": "soon"})).contains("not a number"));
    assert!(reason(json!({"nbf": NOW + 60})).contains("not valid yet"));
    assert!(reason(json!({"iat": NOW + 60})).contains("future"));
    assert!(reason(json!({"nonce": "n"})).contains("ID token"));
    assert!(
        reason(json!({"events": {"http://schemas.openid.net/event/backchannel-logout": {}}}))
            .contains("logout token")
    );
    assert!(reason(json!({"sub": ""})).contains("no `sub`"));
}

#[test]
fn the_tenant_allow_list_applies() {
    let policy = Policy {
        tenants: Some(vec!["t1".into()]),
        ..policy()
    };
    let check = |patch| check_claims(&rules(), &policy, &claims(patch), NOW).is_ok();
    assert!(check(json!({"tid": "t1"})));
    assert!(check(json!({"tid": "T1"})));
    assert!(!check(json!({"tid": "t2"})));
    assert!(!check(json!({})));
}

#[test]
fn the_header_type_must_be_an_access_tokens() {
    use base64::Engine as _;
    let b64 = |v: Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(serde_json::to_vec(&v).unwrap())
    };
    let token = |header: Value| format!("{}.{}.sig", b64(header), b64(json!({})));
    let check = |header: Value| check_header(&token(header), false).is_ok();
    assert!(check(json!({"alg": "RS256", "typ": "at+jwt"})));
    assert!(check(json!({"alg": "RS256", "typ": "application/at+JWT"})));
    assert!(check(json!({"alg": "RS256", "typ": "JWT"})));
    assert!(check(json!({"alg": "RS256"})));
    assert!(!check(json!({"alg": "RS256", "typ": "logout+jwt"})));
    assert!(check_header("garbage", false).is_err());
}

#[test]
fn with_at_jwt_required_only_an_access_tokens_type_passes() {
    use base64::Engine as _;
    let b64 = |v: Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(serde_json::to_vec(&v).unwrap())
    };
    let check = |header: Value| {
        check_header(&format!("{}.{}.sig", b64(header), b64(json!({}))), true).is_ok()
    };
    assert!(check(json!({"alg": "RS256", "typ": "at+jwt"})));
    assert!(check(json!({"alg": "RS256", "typ": "application/at+jwt"})));
    // An ID token (from a refresh, without a nonce) says `JWT` or nothing.
    assert!(!check(json!({"alg": "RS256", "typ": "JWT"})));
    assert!(!check(json!({"alg": "RS256"})));
    assert!(!check(json!({"alg": "RS256", "typ": "logout+jwt"})));
}
