//! The key material of a client credential, read from PEM: the private key (RSA or P-256,
//! signing with ring) and its certificate (read with `x509-cert`). Formats are read with
//! RustCrypto's parsers or ring's own; no private-key operation happens outside ring.

use base64::Engine as _;
use openidconnect::core::CoreJwsSigningAlgorithm as Alg;
use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, KeyPair as _, RsaKeyPair};

/// The key itself, which decides the `alg`. Both sign with ring.
pub(super) enum Key {
    /// RS256 (RSASSA-PKCS1-v1_5 with SHA-256), what every provider accepts, or PS256 for a
    /// provider that accepts only that.
    Rsa(RsaKeyPair),
    /// ES256 (P-256), signatures in JWS's fixed-size `r || s`.
    Es256(EcdsaKeyPair),
}

impl Key {
    /// The algorithm to sign with, given what the provider says it accepts (its
    /// `token_endpoint_auth_signing_alg_values_supported`; empty when it says nothing): RS256
    /// for an RSA key unless the provider lists PS256 and not RS256.
    pub(super) fn alg(&self, accepted: &[Alg]) -> Alg {
        match self {
            Key::Rsa(_)
                if !accepted.contains(&Alg::RsaSsaPkcs1V15Sha256)
                    && accepted.contains(&Alg::RsaSsaPssSha256) =>
            {
                Alg::RsaSsaPssSha256
            }
            Key::Rsa(_) => Alg::RsaSsaPkcs1V15Sha256,
            Key::Es256(_) => Alg::EcdsaP256Sha256,
        }
    }

    /// The public key as a certificate's `subjectPublicKey` holds it: the DER `RSAPublicKey`
    /// (RFC 8017 A.1.1) or the uncompressed point (RFC 5480 §2.2).
    pub(super) fn public(&self) -> &[u8] {
        match self {
            Key::Rsa(key) => key.public_key().as_ref(),
            Key::Es256(key) => key.public_key().as_ref(),
        }
    }

    /// `alg`'s signature of `input` (an `alg` that `Key::alg` chose for this key).
    pub(super) fn sign(
        &self,
        alg: &Alg,
        input: &[u8],
    ) -> Result<Vec<u8>, ring::error::Unspecified> {
        let rng = SystemRandom::new();
        match self {
            Key::Rsa(key) => {
                let padding: &'static dyn signature::RsaEncoding = match alg {
                    Alg::RsaSsaPssSha256 => &signature::RSA_PSS_SHA256,
                    _ => &signature::RSA_PKCS1_SHA256,
                };
                let mut signature = vec![0; key.public().modulus_len()];
                key.sign(padding, &rng, input, &mut signature)?;
                Ok(signature)
            }
            Key::Es256(key) => Ok(key.sign(&rng, input)?.as_ref().to_vec()),
        }
    }
}

/// Reads the DER of a PEM block labelled `label`: an RSA key (PKCS#8 or PKCS#1) or a P-256 key
/// (PKCS#8 or SEC1). `None` for a block that is no private key.
pub(super) fn read_key(label: &str, der: &[u8]) -> Option<Result<Key, String>> {
    let p256 = &signature::ECDSA_P256_SHA256_FIXED_SIGNING;
    let rng = SystemRandom::new();
    Some(match label {
        "PRIVATE KEY" => match RsaKeyPair::from_pkcs8(der) {
            Ok(key) => Ok(Key::Rsa(key)),
            Err(rsa_error) => match EcdsaKeyPair::from_pkcs8(p256, der, &rng) {
                Ok(key) => Ok(Key::Es256(key)),
                Err(ec_error) => Err(format!(
                    "the private key is neither an RSA nor a P-256 key (as RSA: {rsa_error}; \
                     as P-256: {ec_error}); those are supported"
                )),
            },
        },
        "RSA PRIVATE KEY" => RsaKeyPair::from_der(der)
            .map(Key::Rsa)
            .map_err(|e| format!("the RSA private key is unreadable ({e})")),
        "EC PRIVATE KEY" => read_sec1(der).map(Key::Es256),
        "ENCRYPTED PRIVATE KEY" => Err(
            "the private key is encrypted; export it without a password (`openssl pkcs8 -nocrypt`)"
                .into(),
        ),
        _ => return None,
    })
}

/// A SEC1 `EC PRIVATE KEY` (RFC 5915), read with the `sec1` crate (format only) and handed to
/// ring with its public key, which ring checks against the private one.
fn read_sec1(der: &[u8]) -> Result<EcdsaKeyPair, String> {
    use sec1::der::Decode as _;
    let key = sec1::EcPrivateKey::from_der(der)
        .map_err(|e| format!("the EC private key is unreadable ({e})"))?;
    if key
        .parameters
        .and_then(|p| p.named_curve())
        .is_some_and(|curve| curve != P256_OID)
    {
        return Err("the EC private key is not a P-256 key; P-256 is supported".into());
    }
    let public = key
        .public_key
        .ok_or("the EC private key has no public key in it; export it again with `openssl ec`")?;
    EcdsaKeyPair::from_private_key_and_public_key(
        &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
        key.private_key,
        public,
        &SystemRandom::new(),
    )
    .map_err(|e| format!("the EC private key is not a P-256 key ({e}); P-256 is supported"))
}

/// `prime256v1` (RFC 5480 §2.1.1.1).
const P256_OID: sec1::der::asn1::ObjectIdentifier =
    sec1::der::asn1::ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");

/// What a certificate says about the key and itself.
pub(super) struct Certificate {
    /// The DER of the whole certificate, which the thumbprints hash.
    pub(super) der: Vec<u8>,
    /// Its `subjectPublicKey`.
    pub(super) public_key: Vec<u8>,
    /// `notBefore` and `notAfter`, Unix seconds.
    pub(super) valid: (u64, u64),
    /// `notAfter` as the certificate writes it, for the warning.
    pub(super) not_after: String,
}

/// Reads a certificate with `x509-cert`.
pub(super) fn read_certificate(der: Vec<u8>) -> Result<Certificate, String> {
    use x509_cert::der::Decode as _;
    let certificate = x509_cert::Certificate::from_der(&der)
        .map_err(|e| format!("the certificate is unreadable ({e})"))?;
    let tbs = certificate.tbs_certificate;
    let public_key = tbs
        .subject_public_key_info
        .subject_public_key
        .raw_bytes()
        .to_vec();
    let validity = tbs.validity;
    Ok(Certificate {
        der,
        public_key,
        valid: (
            validity.not_before.to_unix_duration().as_secs(),
            validity.not_after.to_unix_duration().as_secs(),
        ),
        not_after: validity.not_after.to_string(),
    })
}

impl Certificate {
    /// Why the provider will refuse this certificate at `now`, if it will: expired or not yet
    /// valid. A warning only: the provider decides, and its clock may differ from ours.
    pub(super) fn validity_problem(&self, now: u64) -> Option<String> {
        let (not_before, not_after) = self.valid;
        if now > not_after {
            Some(format!(
                "the client certificate expired (notAfter {}): the provider will refuse its \
                 client assertions; configure a renewed certificate",
                self.not_after
            ))
        } else if now < not_before {
            Some(format!(
                "the client certificate is not valid yet (notAfter {}, notBefore is later than \
                 now): the provider may refuse its client assertions",
                self.not_after
            ))
        } else {
            None
        }
    }
}

/// The PEM blocks of `text`: each label and the whole block, armor included.
pub(super) fn pem_blocks(text: &str) -> Vec<(&str, &str)> {
    let mut blocks = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("-----BEGIN ") {
        let after = &rest[start + "-----BEGIN ".len()..];
        let Some(label_end) = after.find("-----") else {
            break;
        };
        let label = &after[..label_end];
        let end_marker = format!("-----END {label}-----");
        let Some(end) = rest[start..].find(&end_marker) else {
            break;
        };
        let end = start + end + end_marker.len();
        blocks.push((label, &rest[start..end]));
        rest = &rest[end..];
    }
    blocks
}

/// The bytes inside a PEM block.
pub(super) fn pem_body(block: &str) -> Result<Vec<u8>, base64::DecodeError> {
    let body: String = block
        .lines()
        .filter(|line| !line.starts_with("-----"))
        .flat_map(|line| line.trim().chars())
        .collect();
    base64::engine::general_purpose::STANDARD.decode(body)
}
