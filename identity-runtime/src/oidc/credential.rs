//! How this application proves who it is at the token endpoint: a secret, a signed client
//! assertion (RFC 7523 `private_key_jwt`, with a certificate's key or a plain key), a client
//! assertion another system writes to a file (federated credentials, workload identity), a
//! managed identity's token as that assertion (`managed_identity.rs`), or nothing (a public
//! client).

use std::path::PathBuf;
use std::sync::Arc;

use base64::Engine as _;
use openidconnect::CsrfToken;
use openidconnect::core::CoreJwsSigningAlgorithm;
use serde_json::json;
use sha2::Digest as _;

use crate::core::error::{ConfigError, Error, Setting};
use crate::oidc::managed_identity::ManagedIdentity;

mod material;

use material::{Key, pem_blocks, pem_body, read_certificate, read_key};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The `client_assertion_type` of RFC 7523 §2.2.
pub(crate) const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// How long a signed client assertion is valid: long enough for a slow token request, short
/// enough that a leaked one is soon useless.
const ASSERTION_LIFETIME: i64 = 300;

/// The application's credential at the token endpoint.
#[derive(Clone, Default)]
pub(crate) enum Credential {
    /// A public client: only its `client_id` (the Device Code flow, PKCE).
    #[default]
    None,
    /// `client_secret_basic` or `client_secret_post`.
    Secret(String),
    /// A client assertion signed per request with this key.
    Key(Arc<SigningKey>),
    /// A client assertion read from this file on each use, so that a rotated file is picked up.
    AssertionFile(PathBuf),
    /// A client assertion asked of a managed identity (a token for
    /// `api://AzureADTokenExchange`), cached by it until shortly before it expires.
    ManagedIdentity(ManagedIdentity),
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credential::None => f.write_str("None"),
            Credential::Secret(_) => f.write_str("Secret(..)"),
            Credential::Key(key) => write!(f, "Key(kid: {:?})", key.kid),
            Credential::AssertionFile(path) => write!(f, "AssertionFile({})", path.display()),
            Credential::ManagedIdentity(identity) => write!(f, "ManagedIdentity({identity:?})"),
        }
    }
}

/// Where the client's key (and certificate) come from.
pub(crate) enum KeySource {
    Pem(Vec<u8>),
    File(PathBuf),
}

/// Refuses a key file that users other than its owner and group can read (`o+r`): it holds a
/// private key. With `allowed`, only a warning (some platforms mount secrets `0644`).
fn check_key_file_mode(path: &std::path::Path, allowed: bool) -> Result<(), ConfigError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        // A file that cannot be read is reported by the read that follows.
        let Ok(metadata) = std::fs::metadata(path) else {
            return Ok(());
        };
        let mode = metadata.permissions().mode() & 0o777;
        if mode & 0o004 != 0 {
            if !allowed {
                return Err(ConfigError::invalid(
                    Setting::ClientCertificate,
                    format!(
                        "{} holds a private key and every user of this machine can read it \
                         (mode {mode:o}): `chmod 600` it (or 640 for a group), or, where the \
                         platform mounts secrets readable by all, allow it with \
                         `allow_readable_key_file(true)`",
                        path.display()
                    ),
                ));
            }
            tracing::warn!(
                file = %path.display(),
                mode = %format!("{mode:o}"),
                "the client's private key file is readable by every user of this machine"
            );
        }
    }
    #[cfg(not(unix))]
    let _ = (path, allowed);
    Ok(())
}

impl Credential {
    /// The one credential the settings name; two of them are refused, saying which to drop.
    ///
    /// A key file that other users of the machine can read is refused unless
    /// `allow_readable_key` (a private key is a secret), and accepted then with a warning.
    pub(crate) fn from_settings(
        secret: Option<String>,
        certificate: Option<KeySource>,
        kid: Option<String>,
        assertion_file: Option<PathBuf>,
        managed_identity: Option<ManagedIdentity>,
        allow_readable_key: bool,
    ) -> Result<Credential, ConfigError> {
        let conflict = |first, second| ConfigError::Conflict {
            first,
            second,
            reason: "a client authenticates with one credential: drop the one you are not using",
        };
        match (&secret, &certificate, &assertion_file) {
            (Some(_), Some(_), _) => {
                return Err(conflict(Setting::ClientSecret, Setting::ClientCertificate));
            }
            (Some(_), _, Some(_)) => {
                return Err(conflict(
                    Setting::ClientSecret,
                    Setting::ClientAssertionFile,
                ));
            }
            (_, Some(_), Some(_)) => {
                return Err(conflict(
                    Setting::ClientCertificate,
                    Setting::ClientAssertionFile,
                ));
            }
            _ => {}
        }
        if managed_identity.is_some() {
            let other = [
                (secret.is_some(), Setting::ClientSecret),
                (certificate.is_some(), Setting::ClientCertificate),
                (assertion_file.is_some(), Setting::ClientAssertionFile),
            ]
            .into_iter()
            .find_map(|(set, setting)| set.then_some(setting));
            if let Some(other) = other {
                return Err(conflict(other, Setting::ClientAssertionManagedIdentity));
            }
        }
        if let Some(identity) = managed_identity {
            return Ok(Credential::ManagedIdentity(identity));
        }
        if let Some(secret) = secret {
            return Ok(Credential::Secret(secret));
        }
        if let Some(path) = assertion_file {
            return Ok(Credential::AssertionFile(path));
        }
        let Some(source) = certificate else {
            return Ok(Credential::None);
        };
        let (pem, name) = match source {
            KeySource::Pem(pem) => (pem, "the client certificate PEM".to_owned()),
            KeySource::File(path) => {
                check_key_file_mode(&path, allow_readable_key)?;
                let pem = std::fs::read(&path).map_err(|e| {
                    ConfigError::invalid(
                        Setting::ClientCertificate,
                        format!("{} cannot be read: {e}", path.display()),
                    )
                })?;
                (pem, path.display().to_string())
            }
        };
        let key = SigningKey::from_pem(&pem, kid, &name)?;
        Ok(Credential::Key(Arc::new(key)))
    }

    /// The secret, when the credential is one.
    pub(crate) fn secret(&self) -> Option<&str> {
        match self {
            Credential::Secret(secret) => Some(secret),
            _ => None,
        }
    }

    /// The `client_assertion` for a request to `audience` (the token endpoint), when the
    /// credential is an assertion; `accepted`: the signing algorithms the provider lists for
    /// client authentication (empty when it lists none).
    pub(crate) async fn assertion(
        &self,
        client_id: &str,
        audience: &str,
        accepted: &[CoreJwsSigningAlgorithm],
    ) -> Result<Option<String>, Error> {
        match self {
            Credential::None | Credential::Secret(_) => Ok(None),
            Credential::Key(key) => key
                .assertion(client_id, audience, now(), accepted)
                .map(Some),
            Credential::AssertionFile(path) => read_assertion(path, now()).map(Some),
            Credential::ManagedIdentity(identity) => identity.assertion().await.map(Some),
        }
    }
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey(kid: {:?})", self.kid)
    }
}

/// A private key that signs client assertions, and what its header says about it.
pub(crate) struct SigningKey {
    key: Key,
    /// The header's `kid`: the certificate's SHA-256 thumbprint, or the configured key id.
    pub(crate) kid: String,
    /// `x5t` (SHA-1, what Entra ID looks the certificate up by) and `x5t#S256`.
    thumbprints: Option<(String, String)>,
}

impl SigningKey {
    /// Reads a PEM holding a private key (RSA or P-256) and, unless `kid` names a
    /// registered key, the certificate for it. `source` names where the PEM came from, for
    /// errors.
    pub(crate) fn from_pem(
        pem: &[u8],
        kid: Option<String>,
        source: &str,
    ) -> Result<SigningKey, ConfigError> {
        let invalid = |reason: String| {
            ConfigError::invalid(Setting::ClientCertificate, format!("{source}: {reason}"))
        };
        let text = std::str::from_utf8(pem)
            .map_err(|_| invalid("not a PEM file (it is not text)".into()))?;
        let blocks = pem_blocks(text);
        if blocks.is_empty() {
            return Err(invalid(
                "no PEM block in it (expected `-----BEGIN PRIVATE KEY-----` and `-----BEGIN CERTIFICATE-----`)".into(),
            ));
        }
        let key = blocks
            .iter()
            .find_map(|(label, block)| {
                let der = match pem_body(block) {
                    Ok(der) => der,
                    Err(e) => return Some(Err(format!("the {label} block is not base64: {e}"))),
                };
                read_key(label, &der)
            })
            .ok_or_else(|| invalid("it holds no private key".into()))?
            .map_err(invalid)?;
        let certificate = blocks
            .iter()
            .find(|(label, _)| *label == "CERTIFICATE")
            .map(|(_, block)| {
                pem_body(block)
                    .map_err(|e| format!("the certificate is not valid base64: {e}"))
                    .and_then(read_certificate)
            })
            .transpose()
            .map_err(invalid)?;
        let (kid, thumbprints) = match (certificate, kid) {
            (Some(certificate), kid) => {
                if certificate.public_key != key.public() {
                    return Err(invalid(
                        "the certificate is not the one of this private key".into(),
                    ));
                }
                if let Some(problem) = certificate.validity_problem(now().max(0) as u64) {
                    tracing::warn!(source, not_after = %certificate.not_after, "{problem}");
                }
                let sha256 = B64.encode(sha2::Sha256::digest(&certificate.der));
                let sha1 = B64.encode(sha1::Sha1::digest(&certificate.der));
                (kid.unwrap_or_else(|| sha256.clone()), Some((sha1, sha256)))
            }
            (None, Some(kid)) => (kid, None),
            (None, None) => {
                return Err(ConfigError::missing(
                    Setting::ClientKeyId,
                    Some(
                        "the client key has no certificate, so the provider knows it by its `kid`",
                    ),
                ));
            }
        };
        Ok(SigningKey {
            key,
            kid,
            thumbprints,
        })
    }

    /// A client assertion (RFC 7523 §3) for `audience`, valid from `now` for a few minutes,
    /// signed with an algorithm of `accepted` when the key has one (see `Key::alg`).
    pub(crate) fn assertion(
        &self,
        client_id: &str,
        audience: &str,
        now: i64,
        accepted: &[CoreJwsSigningAlgorithm],
    ) -> Result<String, Error> {
        let alg = self.key.alg(accepted);
        let mut header = json!({ "alg": alg, "typ": "JWT", "kid": self.kid });
        if let Some((sha1, sha256)) = &self.thumbprints {
            header["x5t"] = json!(sha1);
            header["x5t#S256"] = json!(sha256);
        }
        let claims = json!({
            "iss": client_id,
            "sub": client_id,
            "aud": audience,
            "jti": CsrfToken::new_random().secret(),
            "iat": now,
            "nbf": now,
            "exp": now + ASSERTION_LIFETIME,
        });
        let input = format!(
            "{}.{}",
            B64.encode(header.to_string()),
            B64.encode(claims.to_string())
        );
        let signature = self.key.sign(&alg, input.as_bytes()).map_err(|e| {
            Error::Config(ConfigError::invalid(
                Setting::ClientCertificate,
                format!("the client assertion could not be signed: {e}"),
            ))
        })?;
        Ok(format!("{input}.{}", B64.encode(signature)))
    }
}

/// Reads the client assertion in `path` (Kubernetes and Azure rotate it there), refusing one
/// that is empty or has expired, so the error names the file rather than the provider's
/// refusal.
fn read_assertion(path: &std::path::Path, now: i64) -> Result<String, Error> {
    let bad = |reason: String| {
        Error::Config(ConfigError::invalid(
            Setting::ClientAssertionFile,
            format!("{}: {reason}", path.display()),
        ))
    };
    let text = std::fs::read_to_string(path).map_err(|e| bad(format!("cannot be read: {e}")))?;
    let assertion = text.trim();
    if assertion.is_empty() {
        return Err(bad("is empty".into()));
    }
    let exp = assertion
        .split('.')
        .nth(1)
        .and_then(|payload| B64.decode(payload.trim_end_matches('=')).ok())
        .and_then(|payload| serde_json::from_slice::<serde_json::Value>(&payload).ok())
        .and_then(|claims| claims.get("exp").and_then(serde_json::Value::as_i64));
    if let Some(exp) = exp
        && exp <= now
    {
        return Err(bad(format!(
            "the client assertion in it expired {} seconds ago; whatever writes the file has stopped renewing it",
            now - exp
        )));
    }
    Ok(assertion.to_owned())
}

#[cfg(test)]
mod tests;
