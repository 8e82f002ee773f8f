//! Client credentials for the tests: a fixture RSA key with a self-signed certificate made on
//! the spot (nothing committed but the keys), and the JWKS a provider registers for it.

use std::sync::OnceLock;

use base64::Engine as _;
use serde_json::{Value, json};
use sha2::Digest as _;

use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::pkcs8::DecodePrivateKey;
use rsa::traits::PublicKeyParts;

use crate::kernel::{b64, jwk};

/// Fixture key `i` (PKCS#8 PEM).
pub fn key_pem(i: usize) -> &'static str {
    [
        include_str!("../fixtures/rsa-0.pem"),
        include_str!("../fixtures/rsa-1.pem"),
        include_str!("../fixtures/rsa-2.pem"),
    ][i]
}

/// A self-signed certificate (PEM, DER) for fixture key `i`, valid from yesterday for a year;
/// the same one for the whole process.
pub fn certificate(i: usize) -> (String, Vec<u8>) {
    static MADE: [OnceLock<(String, Vec<u8>)>; 3] =
        [OnceLock::new(), OnceLock::new(), OnceLock::new()];
    MADE[i].get_or_init(|| make_certificate(i)).clone()
}

fn make_certificate(i: usize) -> (String, Vec<u8>) {
    let key = rcgen::KeyPair::from_pem(key_pem(i)).expect("rcgen reads the fixture key");
    let mut params =
        rcgen::CertificateParams::new(vec!["test-app.example".to_owned()]).expect("params");
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::days(1);
    params.not_after = now + time::Duration::days(365);
    let cert = params.self_signed(&key).expect("a self-signed certificate");
    (cert.pem(), cert.der().to_vec())
}

/// The PEM an application is configured with: the private key of fixture `key` and the
/// certificate of fixture `cert` (the same one, unless a test wants a mismatch).
pub fn certificate_pem(key: usize, cert: usize) -> String {
    format!("{}\n{}", key_pem(key), certificate(cert).0)
}

/// The certificate's SHA-256 thumbprint, base64url: the `kid` and `x5t#S256` of an assertion.
pub fn thumbprint(der: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(der))
}

/// The certificate's SHA-1 thumbprint, base64url: the `x5t` Entra ID looks certificates up by.
pub fn sha1_thumbprint(der: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha1::Sha1::digest(der))
}

/// Part `i` of a compact JWS (0: header, 1: claims), decoded.
pub fn jwt_part(jwt: &str, i: usize) -> Value {
    let part = jwt.split('.').nth(i).expect("a compact JWS");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .expect("base64url");
    serde_json::from_slice(&bytes).expect("JSON")
}

/// Standard base64 with padding (how a claims challenge travels in `WWW-Authenticate`).
pub fn base64_standard(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The claims of a JWT, read without verifying it (what a test checks of an access token the
/// app received: its `aud`, its scopes). Panics on anything that is not a JWT.
pub fn jwt_claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("a JWT has a payload");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("the payload is base64url");
    serde_json::from_slice(&bytes).expect("the payload is JSON")
}

/// A client's registered JWKS: the public key of fixture `i` under `kid`.
pub fn jwks(i: usize, kid: &str) -> Value {
    let mut key = jwk(i);
    key.insert("kid".into(), json!(kid));
    key.insert("alg".into(), json!("RS256"));
    json!({ "keys": [key] })
}

/// Client metadata for the real provider: `private_key_jwt` with this JWKS, the code flow,
/// refresh and client credentials. Merged over the launcher's web client.
pub fn private_key_jwt_client(jwks: Value) -> Value {
    json!({
        "token_endpoint_auth_method": "private_key_jwt",
        "token_endpoint_auth_signing_alg": "RS256",
        "jwks": jwks,
        "grant_types": ["authorization_code", "refresh_token", "client_credentials"],
    })
}

/// The JWKS to register for a client configured with `pem` (an RSA private key and its
/// certificate, as `CLIENT_CERTIFICATE` holds them): its public key under the certificate's
/// SHA-256 thumbprint, the `kid` the library puts in its assertions.
pub fn jwks_of_pem(pem: &str) -> Result<Value, String> {
    let block = |label: &str| {
        let begin = format!("-----BEGIN {label}-----");
        let end = format!("-----END {label}-----");
        let start = pem.find(&begin)?;
        let stop = pem[start..].find(&end)? + start + end.len();
        Some(&pem[start..stop])
    };
    let key = match (block("PRIVATE KEY"), block("RSA PRIVATE KEY")) {
        (Some(key), _) => rsa::RsaPrivateKey::from_pkcs8_pem(key).map_err(|e| e.to_string())?,
        (None, Some(key)) => rsa::RsaPrivateKey::from_pkcs1_pem(key).map_err(|e| e.to_string())?,
        (None, None) => return Err("no RSA private key in the PEM".into()),
    };
    let cert = block("CERTIFICATE").ok_or("no certificate in the PEM")?;
    let body: String = cert
        .lines()
        .filter(|line| !line.starts_with("-----"))
        .collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(body.trim())
        .map_err(|e| e.to_string())?;
    let public = key.to_public_key();
    Ok(json!({ "keys": [{
        "kty": "RSA",
        "use": "sig",
        "alg": "RS256",
        "kid": thumbprint(&der),
        "n": b64(&public.n().to_bytes_be()),
        "e": b64(&public.e().to_bytes_be()),
    }] }))
}

/// A P-256 key with a self-signed certificate (the PEM an application is configured with) and
/// the JWKS a provider registers for it; the same for the whole process.
pub fn ec_credential() -> (String, Value) {
    static MADE: OnceLock<(String, Value)> = OnceLock::new();
    MADE.get_or_init(|| {
        let key =
            rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("a P-256 key");
        let mut params =
            rcgen::CertificateParams::new(vec!["test-app.example".to_owned()]).expect("params");
        let now = time::OffsetDateTime::now_utc();
        params.not_before = now - time::Duration::days(1);
        params.not_after = now + time::Duration::days(365);
        let cert = params.self_signed(&key).expect("a self-signed certificate");
        // The uncompressed point: 0x04, then x and y.
        let point = key.public_key_raw();
        let jwks = json!({ "keys": [{
            "kty": "EC",
            "crv": "P-256",
            "use": "sig",
            "alg": "ES256",
            "kid": thumbprint(cert.der()),
            "x": b64(&point[1..33]),
            "y": b64(&point[33..65]),
        }] });
        (format!("{}\n{}", key.serialize_pem(), cert.pem()), jwks)
    })
    .clone()
}
