use base64::Engine as _;
use openidconnect::core::{CoreJsonWebKeySet, CoreJwsSigningAlgorithm, CoreRsaPrivateSigningKey};
use openidconnect::{JsonWebKeyId, PrivateSigningKey};
use serde_json::json;

use super::*;
use crate::oidc::keys::KeySet;

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

fn jwks(keys: &[&CoreRsaPrivateSigningKey]) -> KeySet {
    KeySet::new(&CoreJsonWebKeySet::new(
        keys.iter().map(|k| k.as_verification_key()).collect(),
    ))
}

fn key_set(value: serde_json::Value) -> KeySet {
    KeySet::new(&serde_json::from_value(value).unwrap())
}

/// The public JWK of `key0()` with `extra` fields.
fn jwk0(extra: serde_json::Value) -> serde_json::Value {
    let mut jwk = serde_json::to_value(key0().as_verification_key()).unwrap();
    for (name, value) in extra.as_object().unwrap() {
        jwk[name] = value.clone();
    }
    jwk
}

fn sign_with(
    signer: &CoreRsaPrivateSigningKey,
    alg: &CoreJwsSigningAlgorithm,
    header: serde_json::Value,
) -> String {
    let message = format!("{}.{}", encode(&header), encode(&json!({"sub": "u"})));
    let signature = signer.sign(alg, message.as_bytes()).unwrap();
    format!("{message}.{}", B64.encode(signature))
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
    let jwks = key_set(json!({"keys": [{
        "kty": "EC",
        "crv": "P-256",
        "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
        "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
    }]}));
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

#[test]
fn every_rsa_algorithm_verifies_under_its_own_name_only() {
    use CoreJwsSigningAlgorithm::*;
    let all = [
        RsaSsaPkcs1V15Sha256,
        RsaSsaPkcs1V15Sha384,
        RsaSsaPkcs1V15Sha512,
        RsaSsaPssSha256,
        RsaSsaPssSha384,
        RsaSsaPssSha512,
    ];
    for alg in &all {
        let name = serde_json::to_value(alg).unwrap();
        let token = sign_with(&key0(), alg, json!({"alg": name, "kid": "k0"}));
        assert_eq!(
            verify(&jwks(&[&key0()]), &all, &token).unwrap()["sub"],
            "u",
            "{name}"
        );
        // The same signature presented as another algorithm of the family does not verify.
        for other in all.iter().filter(|other| *other != alg) {
            let other_name = serde_json::to_value(other).unwrap();
            let (_, rest) = token.split_once('.').unwrap();
            let relabelled = format!(
                "{}.{rest}",
                encode(&json!({"alg": other_name, "kid": "k0"}))
            );
            assert_eq!(
                verify(&jwks(&[&key0()]), &all, &relabelled),
                Err(Unverified::BadSignature),
                "{name} as {other_name}"
            );
        }
    }
}

/// ES384 and EdDSA with keys ring makes, published as JWKs.
#[test]
fn es384_and_eddsa_verify_under_their_keys() {
    use ring::signature::{ECDSA_P384_SHA384_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair};
    let rng = ring::rand::SystemRandom::new();
    let message = format!(
        "{}.{}",
        encode(&json!({"alg": "ES384", "kid": "ec"})),
        encode(&json!({"sub": "u"}))
    );
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P384_SHA384_FIXED_SIGNING, &rng).unwrap();
    let ec =
        EcdsaKeyPair::from_pkcs8(&ECDSA_P384_SHA384_FIXED_SIGNING, pkcs8.as_ref(), &rng).unwrap();
    let point = ec.public_key().as_ref();
    let es384 = format!(
        "{message}.{}",
        B64.encode(ec.sign(&rng, message.as_bytes()).unwrap())
    );
    let eddsa_message = format!(
        "{}.{}",
        encode(&json!({"alg": "EdDSA", "kid": "ed"})),
        encode(&json!({"sub": "u"}))
    );
    let ed =
        Ed25519KeyPair::from_pkcs8(Ed25519KeyPair::generate_pkcs8(&rng).unwrap().as_ref()).unwrap();
    let eddsa = format!(
        "{eddsa_message}.{}",
        B64.encode(ed.sign(eddsa_message.as_bytes()))
    );
    let keys = key_set(json!({"keys": [
        {"kty": "EC", "crv": "P-384", "kid": "ec",
         "x": B64.encode(&point[1..49]), "y": B64.encode(&point[49..])},
        {"kty": "OKP", "crv": "Ed25519", "kid": "ed", "x": B64.encode(ed.public_key().as_ref())},
    ]}));
    let allowed = [
        CoreJwsSigningAlgorithm::EcdsaP384Sha384,
        CoreJwsSigningAlgorithm::EdDsa,
    ];
    assert_eq!(verify(&keys, &allowed, &es384).unwrap()["sub"], "u");
    assert_eq!(verify(&keys, &allowed, &eddsa).unwrap()["sub"], "u");
    // An ES384 token naming the Ed25519 key: the key decides the algorithm, not the token.
    let (_, rest) = es384.split_once('.').unwrap();
    let confused = format!("{}.{rest}", encode(&json!({"alg": "ES384", "kid": "ed"})));
    assert_eq!(
        verify(&keys, &allowed, &confused),
        Err(Unverified::BadSignature)
    );
}

#[test]
fn a_key_restricted_to_another_alg_or_to_encryption_is_not_used() {
    let ps256 = CoreJwsSigningAlgorithm::RsaSsaPssSha256;
    let token = sign_with(&key0(), &ps256, json!({"alg": "PS256", "kid": "k0"}));
    let allowed = [RS256, ps256.clone()];
    let restricted = key_set(json!({"keys": [jwk0(json!({"alg": "RS256"}))]}));
    assert_eq!(
        verify(&restricted, &allowed, &token),
        Err(Unverified::BadSignature)
    );
    let for_encryption = key_set(json!({"keys": [jwk0(json!({"use": "enc"}))]}));
    assert_eq!(
        verify(&for_encryption, &allowed, &token),
        Err(Unverified::NoKey)
    );
    let for_signatures = key_set(json!({"keys": [jwk0(json!({"use": "sig", "alg": "PS256"}))]}));
    assert!(verify(&for_signatures, &allowed, &token).is_ok());
}

/// HS256 MACed with the bytes of the published key (the classic key confusion), even when a
/// caller's list were to allow HS256: refused before any key is looked at.
#[test]
fn hmac_is_refused_even_when_allowed() {
    let hs = sign(&key0(), json!({"alg": "HS256", "kid": "k0"}));
    assert_eq!(
        verify(
            &jwks(&[&key0()]),
            &[CoreJwsSigningAlgorithm::HmacSha256],
            &hs
        ),
        Err(Unverified::Invalid("its algorithm is not allowed"))
    );
}

#[test]
fn unusable_keys_are_left_out_of_the_set() {
    let keys = key_set(json!({"keys": [
        {"kty": "oct", "kid": "k0", "k": "c2VjcmV0"},
        {"kty": "EC", "crv": "P-256", "kid": "k0", "x": "AA", "y": "AA"},
        {"kty": "EC", "crv": "secp256k1", "kid": "k0", "x": "AA", "y": "AA"},
        jwk0(json!({})),
    ]}));
    let token = sign(&key0(), json!({"alg": "RS256", "kid": "k0"}));
    assert_eq!(verify(&keys, &[RS256], &token).unwrap()["sub"], "u");
}
