//! The provider's signing keys in the form ring verifies with: decoded once per key-set fetch
//! (base64url, curve and size checks), so a token's verification is the signature alone.
//!
//! Only public keys for signatures are kept: a key marked `use: enc`, an HMAC (`oct`) key and
//! a key of an unknown type are dropped when the set is read, so no token can name them. Which
//! algorithm a key serves is decided by the key (its type and curve, and its `alg` when it
//! states one), never by the token alone: an RS256 token cannot be checked under an EC key or
//! an HMAC "key" made of public bytes.

use base64::Engine as _;
use openidconnect::core::{CoreJsonWebKeySet, CoreJwsSigningAlgorithm as Alg};
use ring::signature::{self, RsaParameters, RsaPublicKeyComponents, VerificationAlgorithm};
use serde::Deserialize;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The provider's verification keys, read once from its JWKS.
#[derive(Debug, Default)]
pub(crate) struct KeySet {
    keys: Vec<PublicKey>,
}

/// One verification key: its `kid`, the `alg` it is restricted to, and its material.
#[derive(Debug)]
pub(crate) struct PublicKey {
    kid: Option<String>,
    /// The JWK's `alg`, when it names one: the only algorithm the key may verify.
    alg: Option<String>,
    material: Material,
}

/// The decoded key, ready for ring.
#[derive(Debug)]
enum Material {
    /// Big-endian modulus and exponent, without leading zeros.
    Rsa { n: Vec<u8>, e: Vec<u8> },
    /// An uncompressed SEC1 point (`04 || x || y`) on this curve.
    Ec { curve: Curve, point: Vec<u8> },
    /// A 32-byte Ed25519 public key.
    Ed25519(Vec<u8>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Curve {
    P256,
    P384,
}

/// The fields of a JWK (RFC 7517 §4, RFC 7518 §6) that verification reads.
#[derive(Deserialize)]
struct Jwk {
    kty: String,
    #[serde(rename = "use")]
    use_: Option<String>,
    kid: Option<String>,
    alg: Option<String>,
    crv: Option<String>,
    n: Option<String>,
    e: Option<String>,
    x: Option<String>,
    y: Option<String>,
}

/// How an allowed algorithm verifies: its name in JWS headers and JWKs, and ring's algorithm.
enum Verifier {
    Rsa(&'static RsaParameters),
    Ec(Curve, &'static dyn VerificationAlgorithm),
    Ed25519,
}

/// The name and verifier of `alg`; `None` for the algorithms this library never accepts (`none`
/// and the HMAC family, whose "key" would be a secret we do not have or public bytes).
fn verifier(alg: &Alg) -> Option<(&'static str, Verifier)> {
    Some(match alg {
        // ring refuses RSA keys under 2048 bits, as NIST SP 800-131A does since 2013.
        Alg::RsaSsaPkcs1V15Sha256 => (
            "RS256",
            Verifier::Rsa(&signature::RSA_PKCS1_2048_8192_SHA256),
        ),
        Alg::RsaSsaPkcs1V15Sha384 => (
            "RS384",
            Verifier::Rsa(&signature::RSA_PKCS1_2048_8192_SHA384),
        ),
        Alg::RsaSsaPkcs1V15Sha512 => (
            "RS512",
            Verifier::Rsa(&signature::RSA_PKCS1_2048_8192_SHA512),
        ),
        Alg::RsaSsaPssSha256 => ("PS256", Verifier::Rsa(&signature::RSA_PSS_2048_8192_SHA256)),
        Alg::RsaSsaPssSha384 => ("PS384", Verifier::Rsa(&signature::RSA_PSS_2048_8192_SHA384)),
        Alg::RsaSsaPssSha512 => ("PS512", Verifier::Rsa(&signature::RSA_PSS_2048_8192_SHA512)),
        // JWS signatures are the fixed-size `r || s` (RFC 7518 §3.4), not ASN.1.
        Alg::EcdsaP256Sha256 => (
            "ES256",
            Verifier::Ec(Curve::P256, &signature::ECDSA_P256_SHA256_FIXED),
        ),
        Alg::EcdsaP384Sha384 => (
            "ES384",
            Verifier::Ec(Curve::P384, &signature::ECDSA_P384_SHA384_FIXED),
        ),
        Alg::EdDsa => ("EdDSA", Verifier::Ed25519),
        _ => return None,
    })
}

impl KeySet {
    /// The signature keys of `jwks`; keys this library cannot verify with are left out (and
    /// said so at debug level), as openidconnect leaves out the keys it cannot read.
    pub(crate) fn new(jwks: &CoreJsonWebKeySet) -> KeySet {
        let keys = jwks
            .keys()
            .iter()
            .filter_map(|key| {
                let read = serde_json::to_value(key)
                    .ok()
                    .and_then(|value| serde_json::from_value::<Jwk>(value).ok())
                    .ok_or("unreadable")
                    .and_then(PublicKey::from_jwk);
                match read {
                    Ok(key) => Some(key),
                    Err(why) => {
                        tracing::debug!(why, "a key of the provider's key set is not used");
                        None
                    }
                }
            })
            .collect();
        KeySet { keys }
    }

    /// The keys a token's `kid` names; without a `kid`, every key.
    pub(crate) fn named<'a>(&'a self, kid: Option<&'a str>) -> impl Iterator<Item = &'a PublicKey> {
        self.keys
            .iter()
            .filter(move |key| kid.is_none_or(|kid| key.kid.as_deref() == Some(kid)))
    }
}

fn decode(field: Option<&str>, name: &'static str) -> Result<Vec<u8>, &'static str> {
    let text = field.ok_or(name)?;
    B64.decode(text.trim_end_matches('=')).map_err(|_| name)
}

impl PublicKey {
    fn from_jwk(jwk: Jwk) -> Result<PublicKey, &'static str> {
        if jwk.use_.as_deref().is_some_and(|use_| use_ != "sig") {
            return Err("it is not for signatures");
        }
        let material = match jwk.kty.as_str() {
            "RSA" => {
                let n = decode(jwk.n.as_deref(), "its `n` is missing or not base64url")?;
                let e = decode(jwk.e.as_deref(), "its `e` is missing or not base64url")?;
                let trim = |bytes: Vec<u8>| -> Vec<u8> {
                    let first = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
                    bytes[first..].to_vec()
                };
                Material::Rsa {
                    n: trim(n),
                    e: trim(e),
                }
            }
            "EC" => {
                let (curve, size) = match jwk.crv.as_deref() {
                    Some("P-256") => (Curve::P256, 32),
                    Some("P-384") => (Curve::P384, 48),
                    _ => return Err("its curve is not P-256 or P-384"),
                };
                let x = decode(jwk.x.as_deref(), "its `x` is missing or not base64url")?;
                let y = decode(jwk.y.as_deref(), "its `y` is missing or not base64url")?;
                if x.len() != size || y.len() != size {
                    return Err("its coordinates are not of its curve's size");
                }
                let mut point = Vec::with_capacity(1 + 2 * size);
                point.push(0x04);
                point.extend_from_slice(&x);
                point.extend_from_slice(&y);
                Material::Ec { curve, point }
            }
            "OKP" if jwk.crv.as_deref() == Some("Ed25519") => {
                let x = decode(jwk.x.as_deref(), "its `x` is missing or not base64url")?;
                if x.len() != signature::ED25519_PUBLIC_KEY_LEN {
                    return Err("its `x` is not an Ed25519 key");
                }
                Material::Ed25519(x)
            }
            _ => return Err("its type is not RSA, EC or Ed25519"),
        };
        Ok(PublicKey {
            kid: jwk.kid,
            alg: jwk.alg,
            material,
        })
    }

    /// Whether `signature` is `alg`'s signature of `message` under this key. An algorithm the
    /// key does not serve (another type or curve, another `alg` than the key's) is a failure,
    /// whatever the signature.
    pub(crate) fn verify(&self, alg: &Alg, message: &[u8], signature: &[u8]) -> bool {
        let Some((name, verifier)) = verifier(alg) else {
            return false;
        };
        if self.alg.as_deref().is_some_and(|alg| alg != name) {
            return false;
        }
        match (verifier, &self.material) {
            (Verifier::Rsa(params), Material::Rsa { n, e }) => RsaPublicKeyComponents { n, e }
                .verify(params, message, signature)
                .is_ok(),
            (Verifier::Ec(wanted, algorithm), Material::Ec { curve, point })
                if wanted == *curve =>
            {
                signature::UnparsedPublicKey::new(algorithm, point)
                    .verify(message, signature)
                    .is_ok()
            }
            (Verifier::Ed25519, Material::Ed25519(key)) => {
                signature::UnparsedPublicKey::new(&signature::ED25519, key)
                    .verify(message, signature)
                    .is_ok()
            }
            _ => false,
        }
    }
}

/// Whether this library can verify `alg` at all (the asymmetric JWS algorithms).
pub(crate) fn supported(alg: &Alg) -> bool {
    verifier(alg).is_some()
}
