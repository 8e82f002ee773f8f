use super::*;

use ring::signature::UnparsedPublicKey;

const KEY: &str = include_str!("../jws/test-key-0.pem");
const OTHER_KEY: &str = include_str!("../jws/test-key-1.pem");
/// A self-signed certificate for `KEY`, valid until 2125.
const RSA_CERTIFICATE: &str = include_str!("rsa-cert.pem");
/// A P-256 key as SEC1 and as PKCS#8, and a self-signed certificate for it.
const EC_KEY: &str = include_str!("ec-key.pem");
const EC_KEY_PKCS8: &str = include_str!("ec-key-pkcs8.pem");
const EC_CERTIFICATE: &str = include_str!("ec-cert.pem");
/// A P-384 key (SEC1): not supported for assertions.
const P384_KEY: &str = include_str!("p384-key.pem");

/// Whether `jwt`'s signature verifies under the public key of `certificate`'s PEM.
fn verifies(
    jwt: &str,
    algorithm: &'static dyn ring::signature::VerificationAlgorithm,
    certificate: &str,
) -> bool {
    let blocks = pem_blocks(certificate);
    let certificate = read_certificate(pem_body(blocks[0].1).unwrap()).unwrap();
    let (input, signature) = jwt.rsplit_once('.').unwrap();
    UnparsedPublicKey::new(algorithm, &certificate.public_key)
        .verify(input.as_bytes(), &B64.decode(signature).unwrap())
        .is_ok()
}

fn decode(part: &str) -> serde_json::Value {
    serde_json::from_slice(&B64.decode(part).unwrap()).unwrap()
}

#[test]
fn a_plain_key_signs_an_rs256_assertion_with_its_configured_kid() {
    let key = SigningKey::from_pem(KEY.as_bytes(), Some("key-1".into()), "test").unwrap();
    let jwt = key
        .assertion("my-app", "https://idp.example/token", 1_000, &[])
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
        .assertion("my-app", "https://idp.example/token", 1_000, &[])
        .unwrap();
    assert_ne!(
        claims["jti"],
        decode(other.split('.').nth(1).unwrap())["jti"]
    );

    assert!(
        verifies(
            &jwt,
            &ring::signature::RSA_PKCS1_2048_8192_SHA256,
            RSA_CERTIFICATE
        ),
        "the assertion verifies with the public key"
    );
}

#[test]
fn a_certificate_key_signs_rs256_naming_the_certificate_by_its_thumbprints() {
    let pem = format!("{RSA_CERTIFICATE}\n{KEY}");
    let key = SigningKey::from_pem(pem.as_bytes(), None, "test").unwrap();
    let jwt = key
        .assertion("my-app", "https://idp.example/token", 1_000, &[])
        .unwrap();
    let header = decode(jwt.split('.').next().unwrap());
    let der = pem_body(pem_blocks(RSA_CERTIFICATE)[0].1).unwrap();
    assert_eq!(header["alg"], "RS256");
    assert_eq!(header["x5t"], B64.encode(sha1::Sha1::digest(&der)));
    assert_eq!(header["x5t#S256"], B64.encode(sha2::Sha256::digest(&der)));
    assert_eq!(header["kid"], header["x5t#S256"]);
    assert!(verifies(
        &jwt,
        &ring::signature::RSA_PKCS1_2048_8192_SHA256,
        RSA_CERTIFICATE
    ));
}

#[test]
fn p256_keys_sign_es256_as_sec1_and_as_pkcs8() {
    for key in [EC_KEY, EC_KEY_PKCS8] {
        let pem = format!("{key}\n{EC_CERTIFICATE}");
        let key = SigningKey::from_pem(pem.as_bytes(), None, "test").unwrap();
        let jwt = key
            .assertion("my-app", "https://idp.example/token", 1_000, &[])
            .unwrap();
        assert_eq!(decode(jwt.split('.').next().unwrap())["alg"], "ES256");
        assert!(verifies(
            &jwt,
            &ring::signature::ECDSA_P256_SHA256_FIXED,
            EC_CERTIFICATE
        ));
        assert!(!verifies(
            &jwt,
            &ring::signature::ECDSA_P256_SHA256_FIXED,
            RSA_CERTIFICATE
        ));
    }
}

#[test]
fn a_certificate_of_another_key_and_other_curves_are_refused() {
    for (pem, says) in [
        (
            format!("{KEY}\n{EC_CERTIFICATE}"),
            "not the one of this private key",
        ),
        (
            format!("{OTHER_KEY}\n{RSA_CERTIFICATE}"),
            "not the one of this private key",
        ),
        (
            format!("{EC_KEY}\n{RSA_CERTIFICATE}"),
            "not the one of this private key",
        ),
        (P384_KEY.to_owned(), "not a P-256 key"),
        (
            format!("{KEY}\n-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"),
            "the certificate is unreadable",
        ),
    ] {
        let err = SigningKey::from_pem(pem.as_bytes(), Some("k".into()), "app.pem")
            .err()
            .unwrap_or_else(|| panic!("{says}: refused"))
            .to_string();
        assert!(err.contains(says), "{err}");
        assert!(err.contains("CLIENT_CERTIFICATE"), "{err}");
    }
}

#[test]
fn an_expired_or_future_certificate_is_a_warning_naming_its_not_after() {
    let certificate =
        read_certificate(pem_body(pem_blocks(RSA_CERTIFICATE)[0].1).unwrap()).unwrap();
    let (not_before, not_after) = certificate.valid;
    assert!(not_before < not_after);
    assert_eq!(certificate.validity_problem(not_before + 1), None);
    let expired = certificate.validity_problem(not_after + 1).unwrap();
    assert!(expired.contains("expired"), "{expired}");
    assert!(expired.contains(&certificate.not_after), "{expired}");
    assert!(
        certificate.not_after.starts_with("21"),
        "{}",
        certificate.not_after
    );
    let early = certificate.validity_problem(not_before - 1).unwrap();
    assert!(early.contains("not valid yet"), "{early}");
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

#[test]
fn an_rsa_key_signs_ps256_for_a_provider_that_lists_only_that() {
    use CoreJwsSigningAlgorithm as Alg;
    let pem = format!("{RSA_CERTIFICATE}\n{KEY}");
    let key = SigningKey::from_pem(pem.as_bytes(), None, "test").unwrap();
    let audience = "https://idp.example/token";
    let pss_only = [Alg::RsaSsaPssSha256, Alg::EcdsaP256Sha256];
    let jwt = key.assertion("my-app", audience, 1_000, &pss_only).unwrap();
    assert_eq!(decode(jwt.split('.').next().unwrap())["alg"], "PS256");
    assert!(verifies(
        &jwt,
        &ring::signature::RSA_PSS_2048_8192_SHA256,
        RSA_CERTIFICATE
    ));
    assert!(!verifies(
        &jwt,
        &ring::signature::RSA_PKCS1_2048_8192_SHA256,
        RSA_CERTIFICATE
    ));
    let both = [Alg::RsaSsaPssSha256, Alg::RsaSsaPkcs1V15Sha256];
    let jwt = key.assertion("my-app", audience, 1_000, &both).unwrap();
    assert_eq!(decode(jwt.split('.').next().unwrap())["alg"], "RS256");
}
