//! Tokens encrypted at rest: an AEAD (XChaCha20-Poly1305) under the application's key, bound to
//! the record it belongs to, with older keys kept for decryption so keys can rotate without
//! signing everyone out.

use base64::Engine as _;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use sha2::Digest as _;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;
/// Bytes of a key's id in a sealed value: which key to try first.
const KEY_ID: usize = 4;
const NONCE: usize = 24;

/// A key of 32 bytes, as configured.
#[derive(Clone)]
struct Key {
    id: [u8; KEY_ID],
    /// `id` as text, as the session record names the key that sealed its tokens.
    name: String,
    cipher: XChaCha20Poly1305,
}

impl Key {
    fn new(bytes: &[u8; 32]) -> Self {
        let digest = sha2::Sha256::digest(bytes);
        let mut id = [0u8; KEY_ID];
        id.copy_from_slice(&digest[..KEY_ID]);
        Key {
            id,
            name: B64.encode(id),
            cipher: XChaCha20Poly1305::new(bytes.into()),
        }
    }
}

/// The keys tokens are sealed with: none (tokens stored as they are), or the current key and
/// older ones that still open what they sealed.
#[derive(Clone, Default)]
pub(crate) struct Sealer {
    /// The first seals; all open.
    keys: Vec<Key>,
}

/// Why a key setting is unusable.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct BadKey;

impl Sealer {
    /// Keys from their base64 forms (standard or URL-safe, padded or not), current first.
    pub(crate) fn from_base64<'a>(keys: impl IntoIterator<Item = &'a str>) -> Result<Self, BadKey> {
        let keys = keys
            .into_iter()
            .map(|text| {
                let text = text.trim().trim_end_matches('=');
                let bytes = B64
                    .decode(text.replace('+', "-").replace('/', "_"))
                    .map_err(|_| BadKey)?;
                let bytes: [u8; 32] = bytes.try_into().map_err(|_| BadKey)?;
                Ok(Key::new(&bytes))
            })
            .collect::<Result<Vec<_>, BadKey>>()?;
        Ok(Sealer { keys })
    }

    pub(crate) fn is_on(&self) -> bool {
        !self.keys.is_empty()
    }

    /// The name of the key that seals now (`""` when tokens are stored as they are): kept in
    /// the session record, so that a request can tell without any cryptography whether the
    /// record's tokens would open.
    pub(crate) fn sealing_key(&self) -> &str {
        self.keys.first().map(|key| key.name.as_str()).unwrap_or("")
    }

    /// Whether tokens stored under [`Sealer::sealing_key`]'s name `name` can be opened: by one
    /// of the keys, or, for `""`, stored as they are while no key is configured. A string
    /// comparison per configured key, so that every protected request can afford it.
    pub(crate) fn can_open(&self, name: &str) -> bool {
        if name.is_empty() {
            return !self.is_on();
        }
        self.keys.iter().any(|key| key.name == name)
    }

    /// Seals `plain`, bound to `context` (what it belongs to).
    pub(crate) fn seal(&self, plain: &[u8], context: &[u8]) -> Option<String> {
        let key = self.keys.first()?;
        let nonce = XChaCha20Poly1305::generate_nonce(&mut chacha20poly1305::aead::OsRng);
        let sealed = key
            .cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: plain,
                    aad: context,
                },
            )
            .ok()?;
        let mut out = Vec::with_capacity(KEY_ID + NONCE + sealed.len());
        out.extend_from_slice(&key.id);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Some(B64.encode(out))
    }

    /// Opens what [`Sealer::seal`] made with one of the keys for the same `context`; `None` for
    /// anything else (another key, another record, tampered).
    pub(crate) fn open(&self, sealed: &str, context: &[u8]) -> Option<Vec<u8>> {
        let bytes = B64.decode(sealed).ok()?;
        if bytes.len() < KEY_ID + NONCE {
            return None;
        }
        let (id, rest) = bytes.split_at(KEY_ID);
        let (nonce, ciphertext) = rest.split_at(NONCE);
        let nonce = XNonce::from_slice(nonce);
        self.keys.iter().filter(|key| key.id == id).find_map(|key| {
            key.cipher
                .decrypt(
                    nonce,
                    Payload {
                        msg: ciphertext,
                        aad: context,
                    },
                )
                .ok()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    const B: &str = "HxwdHhscGRgXFhUUExIREA8ODQwLCgkIBwYFBAMCAQA=";

    #[test]
    fn what_is_sealed_opens_for_the_same_record_only() {
        let sealer = Sealer::from_base64([A]).unwrap();
        let sealed = sealer.seal(b"tokens", b"record 1").unwrap();
        assert!(!sealed.contains("tokens"));
        assert_eq!(sealer.open(&sealed, b"record 1").unwrap(), b"tokens");
        assert!(
            sealer.open(&sealed, b"record 2").is_none(),
            "moved to another record"
        );
        let mut tampered = sealed.into_bytes();
        let last = tampered.len() - 2;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        assert!(
            sealer
                .open(std::str::from_utf8(&tampered).unwrap(), b"record 1")
                .is_none()
        );
    }

    #[test]
    fn keys_rotate_without_losing_what_the_old_key_sealed() {
        let old = Sealer::from_base64([A]).unwrap();
        let sealed = old.seal(b"tokens", b"r").unwrap();
        let rotated = Sealer::from_base64([B, A]).unwrap();
        assert_eq!(rotated.open(&sealed, b"r").unwrap(), b"tokens");
        let resealed = rotated.seal(b"tokens", b"r").unwrap();
        assert!(
            old.open(&resealed, b"r").is_none(),
            "sealed with the new key"
        );
        assert!(
            Sealer::from_base64([B])
                .unwrap()
                .open(&sealed, b"r")
                .is_none()
        );
    }

    #[test]
    fn keys_must_be_32_bytes_of_base64() {
        assert!(Sealer::from_base64(["c2hvcnQ="]).is_err());
        assert!(Sealer::from_base64(["not base64!"]).is_err());
        let url_safe = A.replace('+', "-").replace('/', "_");
        assert!(Sealer::from_base64([url_safe.as_str()]).is_ok());
        assert!(!Sealer::default().is_on());
        assert!(Sealer::default().seal(b"x", b"r").is_none());
    }
}
