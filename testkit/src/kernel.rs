//! The kernel of the providers inside the test process ([`hostile`](crate::hostile),
//! [`microsoft`](crate::microsoft)): their signing keys, JWS and JWKS, the JSON answers, and
//! the authorization-code grant (codes issued at the authorization endpoint, redeemed once at
//! the token endpoint with PKCE S256 and the same redirect URI). Each provider is a
//! configuration around it: its documents, its host names, its token responses.
//!
//! The signing keys are committed test fixtures (`testkit/fixtures/rsa-N.pem`).

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use rsa::pkcs8::{DecodePrivateKey, EncodePublicKey, LineEnding};
use rsa::traits::PublicKeyParts;
use rsa::{Pkcs1v15Sign, RsaPrivateKey};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

// ---------------------------------------------------------------------------------------------
// Keys, JWS, JWKS

/// How many fixture keys there are (`rsa-0.pem` ..).
pub const KEYS: usize = 3;

/// The committed fixture keys, compiled in.
const FIXTURE_KEYS: [&str; KEYS] = [
    include_str!("../fixtures/rsa-0.pem"),
    include_str!("../fixtures/rsa-1.pem"),
    include_str!("../fixtures/rsa-2.pem"),
];

/// The fixture keys, parsed once per test process.
pub fn keys() -> &'static [RsaPrivateKey] {
    static KEYS_CELL: OnceLock<Vec<RsaPrivateKey>> = OnceLock::new();
    KEYS_CELL.get_or_init(|| {
        FIXTURE_KEYS
            .iter()
            .enumerate()
            .map(|(i, pem)| {
                RsaPrivateKey::from_pkcs8_pem(pem)
                    .unwrap_or_else(|e| panic!("fixtures/rsa-{i}.pem: {e}"))
            })
            .collect()
    })
}

/// The public half of fixture key `i` as SPKI PEM: what an attacker knows, and what an
/// "HS256 with the public key" forgery uses as its MAC key.
pub fn public_key_pem(i: usize) -> String {
    keys()[i]
        .to_public_key()
        .to_public_key_pem(LineEnding::LF)
        .expect("encodable public key")
}

/// How a JWS is signed.
#[derive(Clone, Debug)]
pub enum Signing {
    /// RS256 with fixture key `i`.
    Rsa(usize),
    /// RS256 with fixture key `i`, then one bit of the signature flipped.
    CorruptRsa(usize),
    /// `alg: none`, empty signature.
    None,
    /// HS256 with these bytes as the MAC key (the client secret, a public key ...).
    Hs256(Vec<u8>),
}

impl Signing {
    /// The `alg` of the JWS header.
    pub fn alg(&self) -> &'static str {
        match self {
            Signing::Rsa(_) | Signing::CorruptRsa(_) => "RS256",
            Signing::None => "none",
            Signing::Hs256(_) => "HS256",
        }
    }
}

/// A compact JWS of `header` and `claims` (both as given: the caller sets `alg`, `kid`).
pub fn sign(header: &Map<String, Value>, claims: &Map<String, Value>, signing: &Signing) -> String {
    let input = format!(
        "{}.{}",
        b64(&serde_json::to_vec(header).unwrap()),
        b64(&serde_json::to_vec(claims).unwrap())
    );
    let signature = match signing {
        Signing::Rsa(i) => rsa_sign(*i, input.as_bytes()),
        Signing::CorruptRsa(i) => {
            let mut signature = rsa_sign(*i, input.as_bytes());
            let middle = signature.len() / 2;
            signature[middle] ^= 0x01;
            signature
        }
        Signing::None => Vec::new(),
        Signing::Hs256(key) => {
            let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
            mac.update(input.as_bytes());
            mac.finalize().into_bytes().to_vec()
        }
    };
    format!("{input}.{}", b64(&signature))
}

fn rsa_sign(key: usize, input: &[u8]) -> Vec<u8> {
    keys()[key]
        .sign(Pkcs1v15Sign::new::<Sha256>(), &Sha256::digest(input))
        .expect("RSA signing")
}

/// The JWK of fixture key `i` (`kty`, `use`, `n`, `e`), for the provider to add its own
/// fields to (`kid`, `alg`, `x5t` ...).
pub fn jwk(i: usize) -> Map<String, Value> {
    let public = keys()[i].to_public_key();
    json!({
        "kty": "RSA",
        "use": "sig",
        "n": b64(&public.n().to_bytes_be()),
        "e": b64(&public.e().to_bytes_be()),
    })
    .as_object()
    .unwrap()
    .clone()
}

// ---------------------------------------------------------------------------------------------
// JSON

pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Top-level merge: `null` removes, anything else replaces.
pub fn merge(target: &mut Map<String, Value>, patch: &Value) {
    if let Value::Object(patch) = patch {
        for (name, value) in patch {
            if value.is_null() {
                target.remove(name);
            } else {
                target.insert(name.clone(), value.clone());
            }
        }
    }
}

/// `body` as JSON, not to be stored.
pub fn json_response(status: StatusCode, body: Value) -> Response {
    (
        status,
        [(header::CACHE_CONTROL, "no-store")],
        axum::Json(body),
    )
        .into_response()
}

/// An OAuth error answer (`error`, `error_description`).
pub fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    json_response(
        status,
        json!({"error": error, "error_description": description}),
    )
}

/// An `application/x-www-form-urlencoded` body or query, decoded.
pub fn parse_form(input: &[u8]) -> HashMap<String, String> {
    url::form_urlencoded::parse(input).into_owned().collect()
}

// ---------------------------------------------------------------------------------------------
// The authorization-code grant

/// A request to the token endpoint as it arrived.
#[derive(Clone, Debug)]
pub struct TokenRequest {
    /// The `Authorization` header, verbatim.
    pub authorization: Option<String>,
    /// The form body, decoded.
    pub form: HashMap<String, String>,
}

impl TokenRequest {
    pub fn new(headers: &HeaderMap, body: &[u8]) -> TokenRequest {
        TokenRequest {
            authorization: headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            form: parse_form(body),
        }
    }

    /// The client id and secret of `client_secret_basic`: the header's base64 decoded, split at
    /// the first `:`, and each half form-url-decoded (RFC 6749 §2.3.1). `None` when there is
    /// no Basic header or it does not decode.
    pub fn basic_credentials(&self) -> Option<(String, String)> {
        let encoded = self.authorization.as_deref()?.strip_prefix("Basic ")?;
        let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
        let (id, secret) = decoded.split_once(':')?;
        Some((form_url_decode(id)?, form_url_decode(secret)?))
    }

    /// The client's credentials, from the Basic header or else the form (`client_secret_post`).
    pub fn credentials(&self) -> Option<(String, String)> {
        self.basic_credentials().or_else(|| {
            Some((
                self.form.get("client_id")?.clone(),
                self.form.get("client_secret")?.clone(),
            ))
        })
    }
}

/// `application/x-www-form-urlencoded` decoding of one value: `+` is a space, `%XX` a byte.
/// `None` for a malformed escape or bytes that are not UTF-8.
pub fn form_url_decode(input: &str) -> Option<String> {
    let bytes = input.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = input.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// Why a code was not redeemed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Never issued, or redeemed already.
    UnknownCode,
    /// No S256 challenge, or the verifier does not match it.
    Pkce,
    /// Not the `redirect_uri` of the authorization request.
    RedirectUri,
}

/// What a code was issued for: the parameters of its authorization request.
pub trait Grant: Clone {
    fn params(&self) -> &HashMap<String, String>;
}

/// Codes issued and not yet redeemed, each for its authorization request.
pub struct Codes<G> {
    pending: Mutex<HashMap<String, G>>,
}

impl<G> Default for Codes<G> {
    fn default() -> Self {
        Codes {
            pending: Mutex::new(HashMap::new()),
        }
    }
}

impl<G: Grant> Codes<G> {
    pub fn issue(&self, code: String, grant: G) {
        self.pending.lock().unwrap().insert(code, grant);
    }

    /// Redeems the code of the token request `form` once, as a real provider does: the grant
    /// it was issued for, if its PKCE verifier and redirect URI match.
    pub fn redeem(&self, form: &HashMap<String, String>) -> Result<G, Refusal> {
        let code = form.get("code").map(String::as_str).unwrap_or_default();
        let grant = self
            .pending
            .lock()
            .unwrap()
            .remove(code)
            .ok_or(Refusal::UnknownCode)?;
        let params = grant.params();
        let pkce = params.get("code_challenge_method").map(String::as_str) == Some("S256")
            && matches!(
                (params.get("code_challenge"), form.get("code_verifier")),
                (Some(challenge), Some(verifier)) if &pkce_s256(verifier) == challenge
            );
        if !pkce {
            return Err(Refusal::Pkce);
        }
        if form.get("redirect_uri") != params.get("redirect_uri") {
            return Err(Refusal::RedirectUri);
        }
        Ok(grant)
    }
}

/// The S256 code challenge of `verifier`.
pub fn pkce_s256(verifier: &str) -> String {
    b64(&Sha256::digest(verifier.as_bytes()))
}
