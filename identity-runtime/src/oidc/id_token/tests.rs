use serde_json::{Map, Value, json};

use super::*;

fn object(value: Value) -> Map<String, Value> {
    value.as_object().unwrap().clone()
}

fn exact() -> IssuerRule {
    IssuerRule::Exact("https://idp".into())
}

#[test]
fn claims_from_the_right_issuer_for_this_client_pass() {
    let claims = object(json!({"iss": "https://idp", "sub": "u", "azp": "client"}));
    assert!(check_claims(&exact(), "client", claims).is_ok());
}

#[test]
fn another_issuer_another_party_or_no_subject_is_refused() {
    for claims in [
        json!({"iss": "https://evil", "sub": "u"}),
        json!({"iss": "https://idp", "sub": "u", "azp": "other"}),
        json!({"iss": "https://idp"}),
        json!({"iss": "https://idp", "sub": ""}),
    ] {
        assert!(
            matches!(
                check_claims(&exact(), "client", object(claims.clone())),
                Err(Error::InvalidToken(_))
            ),
            "{claims}"
        );
    }
}

#[test]
fn the_tenant_template_takes_the_tokens_own_tenant() {
    let rule =
        IssuerRule::TenantTemplate("https://login.microsoftonline.com/{tenantid}/v2.0".into());
    let good = json!({"iss": "https://login.microsoftonline.com/t1/v2.0", "tid": "t1", "sub": "u"});
    assert!(check_claims(&rule, "client", object(good)).is_ok());
    let mixed =
        json!({"iss": "https://login.microsoftonline.com/t1/v2.0", "tid": "t2", "sub": "u"});
    assert!(check_claims(&rule, "client", object(mixed)).is_err());
}

#[test]
fn a_thin_id_token_needs_userinfo() {
    assert!(needs_userinfo(&object(json!({"sub": "u"}))));
    for claim in ["name", "preferred_username", "email"] {
        assert!(
            !needs_userinfo(&object(json!({"sub": "u", claim: "x"}))),
            "{claim}"
        );
    }
}

#[test]
fn userinfo_adds_claims_and_never_overrides_the_id_token() {
    let mut claims = object(json!({"sub": "u", "name": "From the ID token"}));
    merge(
        &mut claims,
        object(json!({"sub": "u", "name": "Other", "email": "a@b"})),
    )
    .unwrap();
    assert_eq!(claims["name"], "From the ID token");
    assert_eq!(claims["email"], "a@b");
}

#[test]
fn userinfo_about_another_subject_is_refused() {
    let mut claims = object(json!({"sub": "u"}));
    assert!(merge(&mut claims, object(json!({"sub": "v", "name": "x"}))).is_err());
    assert!(merge(&mut claims, object(json!({"name": "no sub"}))).is_err());
    assert!(!claims.contains_key("name"));
}

#[test]
fn nonces_are_compared_at_sign_in_only() {
    let nonce = Nonce::new("n".into());
    assert!(NonceCheck::check(&nonce, Some(&Nonce::new("n".into()))).is_ok());
    assert!(NonceCheck::check(&nonce, Some(&Nonce::new("m".into()))).is_err());
    assert!(NonceCheck::check(&nonce, None).is_err());
    assert!(NoNonce.check(None).is_ok());
}

#[test]
fn not_before_and_issued_at_allow_the_leeway_and_no_more() {
    let time = TimeRules {
        now: 1000,
        leeway: 60,
    };
    assert!(
        time.check(&object(json!({"nbf": 1060, "iat": 1060})))
            .is_ok()
    );
    assert!(time.check(&object(json!({"nbf": 1061}))).is_err());
    assert!(time.check(&object(json!({"iat": 1061}))).is_err());
    assert!(time.check(&object(json!({}))).is_ok());
}
