use super::*;

use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::signature::Verifier as _;

const KEY: &str = include_str!("../jws/test-key-0.pem");
const OTHER_KEY: &str = include_str!("../jws/test-key-1.pem");

fn decode(part: &str) -> serde_json::Value {
    serde_json::from_slice(&B64.decode(part).unwrap()).unwrap()
}

#[test]
fn a_plain_key_signs_an_rs256_assertion_with_its_configured_kid() {
    let key = SigningKey::from_pem(KEY.as_bytes(), Some("key-1".into()), "test").unwrap();
    let jwt = key
        .assertion("my-app", "https://idp.example/token", 1_000)
        .unwrap();
    let parts: Vec<&str> = jwt.split('.').collect();
    let header = decode(parts[0]);
    assert_eq!(header["alg"], "RS256");
    assert_eq!(header["kid"], "key-1");
    assert!(header.get("x5t").is_none(), "no certificate, no thumbprint");
    let claims = decode(parts[1]);
    assert_eq!(claims["iss"], "my-app");
    assert_eq!(claims["sub"], "my-app");
    assert_eq!(claims["aud"], "https://idp.example/token");
    assert_eq!(claims["exp"], 1_300);
    let other = key
        .assertion("my-app", "https://idp.example/token", 1_000)
        .unwrap();
    assert_ne!(
        claims["jti"],
        decode(other.split('.').nth(1).unwrap())["jti"]
    );

    let public = rsa::RsaPrivateKey::from_pkcs1_pem(KEY)
        .unwrap()
        .to_public_key();
    let signature = Signature::try_from(B64.decode(parts[2]).unwrap().as_slice()).unwrap();
    VerifyingKey::<sha2::Sha256>::new(public)
        .verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &signature)
        .expect("the assertion verifies with the public key");
}

#[test]
fn a_key_without_certificate_or_kid_is_refused_naming_the_setting() {
    let err = SigningKey::from_pem(KEY.as_bytes(), None, "key.pem").unwrap_err();
    assert!(err.to_string().contains("CLIENT_KEY_ID"), "{err}");
}

#[test]
fn unreadable_pem_files_are_refused_naming_the_file() {
    for (pem, says) in [
        ("not a pem", "no PEM block"),
        (
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
            "no private key",
        ),
        (
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
            "neither an RSA nor a P-256 key",
        ),
        (
            "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n",
            "encrypted",
        ),
    ] {
        let err = SigningKey::from_pem(pem.as_bytes(), Some("k".into()), "secrets/app-key.pem")
            .err()
            .unwrap_or_else(|| panic!("{pem} is refused"));
        let text = err.to_string();
        assert!(text.contains("secrets/app-key.pem"), "{text}");
        assert!(text.contains("CLIENT_CERTIFICATE"), "{text}");
        assert!(text.contains(says), "{text}");
    }
}

#[test]
fn the_pem_blocks_are_found_in_any_order() {
    let text = format!("junk\n{OTHER_KEY}\n{KEY}");
    let blocks = pem_blocks(&text);
    assert_eq!(blocks.len(), 2);
    assert!(blocks.iter().all(|(label, _)| *label == "RSA PRIVATE KEY"));
}

#[test]
fn an_assertion_file_is_read_on_each_use_and_an_expired_one_is_refused() {
    // Under the repository's `target/tmp`: nothing is written or read outside the repository.
    let dir = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../target/tmp"))
        .join(format!("assertion-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("token");
    let jwt = |exp: i64| {
        format!(
            "{}.{}.sig",
            B64.encode(r#"{"alg":"RS256"}"#),
            B64.encode(format!(r#"{{"exp":{exp}}}"#))
        )
    };
    std::fs::write(&path, format!("{}\n", jwt(2_000))).unwrap();
    assert_eq!(read_assertion(&path, 1_000).unwrap(), jwt(2_000));
    std::fs::write(&path, jwt(3_000)).unwrap();
    assert_eq!(
        read_assertion(&path, 2_500).unwrap(),
        jwt(3_000),
        "the rotated file"
    );
    let err = read_assertion(&path, 3_010).unwrap_err().to_string();
    assert!(err.contains("expired 10 seconds ago"), "{err}");
    assert!(err.contains("AZURE_FEDERATED_TOKEN_FILE"), "{err}");
    std::fs::write(&path, "  \n").unwrap();
    assert!(
        read_assertion(&path, 0)
            .unwrap_err()
            .to_string()
            .contains("empty")
    );
    std::fs::remove_file(&path).unwrap();
    let err = read_assertion(&path, 0).unwrap_err().to_string();
    assert!(err.contains("cannot be read"), "{err}");
}
