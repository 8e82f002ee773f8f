use base64::Engine as _;
use openidconnect::core::{CoreJsonWebKeySet, CoreJwsSigningAlgorithm, CoreRsaPrivateSigningKey};
use openidconnect::{JsonWebKeyId, PrivateSigningKey};
use serde_json::json;

use super::*;

const RS256: CoreJwsSigningAlgorithm = CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256;

fn key(pem: &str, kid: &str) -> CoreRsaPrivateSigningKey {
    CoreRsaPrivateSigningKey::from_pem(pem, Some(JsonWebKeyId::new(kid.into()))).unwrap()
}

fn key0() -> CoreRsaPrivateSigningKey {
    key(include_str!("test-key-0.pem"), "k0")
}

fn key1() -> CoreRsaPrivateSigningKey {
    key(include_str!("test-key-1.pem"), "k1")
}

fn encode(value: &serde_json::Value) -> String {
    B64.encode(serde_json::to_vec(value).unwrap())
}

fn sign(signer: &CoreRsaPrivateSigningKey, header: serde_json::Value) -> String {
    let message = format!("{}.{}", encode(&header), encode(&json!({"sub": "u"})));
    let signature = signer.sign(&RS256, message.as_bytes()).unwrap();
    format!("{message}.{}", B64.encode(signature))
}

fn jwks(keys: &[&CoreRsaPrivateSigningKey]) -> CoreJsonWebKeySet {
    CoreJsonWebKeySet::new(keys.iter().map(|k| k.as_verification_key()).collect())
}

#[test]
fn a_token_signed_with_the_named_key_verifies() {
    let token = sign(&key0(), json!({"alg": "RS256", "kid": "k0"}));
    let claims = verify(&jwks(&[&key0(), &key1()]), &[RS256], &token).unwrap();
    assert_eq!(claims["sub"], "u");
    assert_eq!(payload(&token).unwrap()["sub"], "u");
}

#[test]
fn without_a_kid_the_only_key_is_used_and_several_are_ambiguous() {
    let token = sign(&key0(), json!({"alg": "RS256"}));
    assert!(verify(&jwks(&[&key0()]), &[RS256], &token).is_ok());
    assert!(matches!(
        verify(&jwks(&[&key0(), &key1()]), &[RS256], &token),
        Err(Unverified::Invalid(_))
    ));
}

#[test]
fn an_unknown_kid_asks_for_fresh_keys() {
    let token = sign(&key0(), json!({"alg": "RS256", "kid": "k9"}));
    assert_eq!(
        verify(&jwks(&[&key0()]), &[RS256], &token),
        Err(Unverified::NoKey)
    );
}

#[test]
fn a_signature_by_another_key_under_the_same_kid_fails() {
    let forged = sign(&key1(), json!({"alg": "RS256", "kid": "k0"}));
    assert_eq!(
        verify(&jwks(&[&key0()]), &[RS256], &forged),
        Err(Unverified::BadSignature)
    );
}

#[test]
fn disallowed_algorithms_and_critical_headers_are_refused() {
    let none = format!(
        "{}.{}.",
        encode(&json!({"alg": "none"})),
        encode(&json!({"sub": "u"}))
    );
    assert!(matches!(
        verify(&jwks(&[&key0()]), &[RS256], &none),
        Err(Unverified::Invalid(_))
    ));
    let hs = sign(&key0(), json!({"alg": "HS256", "kid": "k0"}));
    assert!(matches!(
        verify(&jwks(&[&key0()]), &[RS256], &hs),
        Err(Unverified::Invalid(_))
    ));
    let crit = sign(
        &key0(),
        json!({"alg": "RS256", "kid": "k0", "crit": ["exp"]}),
    );
    assert!(matches!(
        verify(&jwks(&[&key0()]), &[RS256], &crit),
        Err(Unverified::Invalid(_))
    ));
}

#[test]
fn malformed_tokens_are_refused() {
    for token in ["", "a.b", "a.b.c.d", "!!.??.**"] {
        assert!(
            matches!(
                verify(&jwks(&[&key0()]), &[RS256], token),
                Err(Unverified::Invalid(_))
            ),
            "{token}"
        );
    }
    assert!(payload("nodots").is_err());
}

#[test]
fn ps256_verifies_under_an_rsa_key_and_is_refused_when_not_allowed() {
    let ps256 = CoreJwsSigningAlgorithm::RsaSsaPssSha256;
    let message = format!(
        "{}.{}",
        encode(&json!({"alg": "PS256", "kid": "k0"})),
        encode(&json!({"sub": "u"}))
    );
    let signature = key0().sign(&ps256, message.as_bytes()).unwrap();
    let token = format!("{message}.{}", B64.encode(signature));
    assert_eq!(
        verify(&jwks(&[&key0()]), &[RS256, ps256.clone()], &token).unwrap()["sub"],
        "u"
    );
    assert!(matches!(
        verify(&jwks(&[&key0()]), &[RS256], &token),
        Err(Unverified::Invalid(_))
    ));
}

/// RFC 7515 Appendix A.3: a JWS signed with ES256, and its P-256 key.
#[test]
fn es256_verifies_with_the_rfc_7515_example() {
    let es256 = CoreJwsSigningAlgorithm::EcdsaP256Sha256;
    let jwks: CoreJsonWebKeySet = serde_json::from_value(json!({"keys": [{
        "kty": "EC",
        "crv": "P-256",
        "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
        "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
    }]}))
    .unwrap();
    let token = "eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q";
    assert_eq!(
        verify(&jwks, std::slice::from_ref(&es256), token).unwrap()["iss"],
        "joe"
    );
    // One character in the middle of the signature changed.
    let at = token.len() - 40;
    let swapped = if &token[at..=at] == "A" { "B" } else { "A" };
    let mut tampered = token.to_owned();
    tampered.replace_range(at..=at, swapped);
    assert_eq!(
        verify(&jwks, &[es256], &tampered),
        Err(Unverified::BadSignature)
    );
}
