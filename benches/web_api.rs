//! What protecting a web API costs per request: a `#[authorization_required(scopes = [..])]`
//! route against the same app's unprotected route, with a repeated bearer token (served from
//! the cache of verified tokens) and with a first-seen one (its signature verified), beside a
//! peer: a route protected the way jwt-authorizer protects one (`jsonwebtoken` verifying every
//! request against the same key set). Then the cost of one verification, in microseconds.
//!
//! ```text
//! cargo bench --bench web_api                       # 3 s per point
//! BENCH_SECS=10 cargo bench --bench web_api         # longer points
//! ```
//!
//! A small key server on loopback publishes the discovery document and the key set (an RSA
//! 2048-bit fixture key and a P-256 key made at start); the library fetches them once, and so
//! does the peer, which keeps one `DecodingKey` per key as jwt-authorizer's key store does.
//! "First-seen" is measured on an `ApiAuth` whose token cache is off (`token_cache_size(0)`),
//! so every request pays what a token seen for the first time pays: the hash, the signature
//! verification and the claim checks. Every request carries the same RS256 token, the
//! unprotected route's too, and every route answers the same small JSON. Keep-alive HTTP/1.1
//! connections (one reqwest client each) drive the app as fast as they can; the load generator
//! shares the process and the cores with the app. The routes take turns in slices; the
//! "vs unprotected" column is the median of the slice-by-slice ratios with their range, and a
//! connection count is measured again while a ratio spreads by more than 15 points.
//!
//! The verification costs are measured in-process without sockets: ring alone on the token's
//! signing input (the physical floor), the peer's `jsonwebtoken::decode`, the library's
//! first-seen route minus its repeated-token route (through the router, `tower::ServiceExt`:
//! the same extractor and handler, the verification the only difference), and
//! openidconnect's own JWK verifier (on the `rsa` and `p256` crates), which the library used
//! before.
//!
//! Under `cargo test --all-targets` (no `--bench` argument) it only says how to run it.

use axum_identity_testkit as support;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, Request, StatusCode};
use axum::routing::get;
use axum::{Json, Router};
use axum_identity::{ApiAuth, ApiContext, authorization_required};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use reqwest::header::{AUTHORIZATION, HeaderValue};
use ring::signature::{self, EcdsaKeyPair, KeyPair as _};
use serde_json::{Value, json};
use support::bearer::{self, Sign, now};
use support::load::{self, CONNECTIONS, Point, Target, load_average, machine, ms};
use tower::ServiceExt as _;

async fn open() -> Json<Value> {
    Json(json!({"sub": "anonymous"}))
}

#[authorization_required(scopes = ["api.read"])]
async fn resource(context: ApiContext) -> Json<Value> {
    Json(json!({"sub": context.claims.subject()}))
}

/// The peer: every request's token verified by `jsonwebtoken` under the key its `kid` names,
/// then the scope checked, as jwt-authorizer's layer does.
struct Peer {
    keys: HashMap<String, (DecodingKey, Algorithm)>,
    validation: Validation,
}

impl Peer {
    /// The peer's key store: one `DecodingKey` per JWK, made once.
    fn new(jwks: &Value, issuer: &str) -> Peer {
        let set: jsonwebtoken::jwk::JwkSet = serde_json::from_value(jwks.clone()).unwrap();
        let keys = set
            .keys
            .iter()
            .map(|jwk| {
                let alg = match jwk.algorithm {
                    jsonwebtoken::jwk::AlgorithmParameters::EllipticCurve(_) => Algorithm::ES256,
                    _ => Algorithm::RS256,
                };
                let kid = jwk.common.key_id.clone().unwrap();
                (kid, (DecodingKey::from_jwk(jwk).unwrap(), alg))
            })
            .collect();
        let mut validation = Validation::new(Algorithm::RS256);
        validation.algorithms = vec![Algorithm::RS256, Algorithm::ES256];
        validation.set_audience(&["api://bench-api"]);
        validation.set_issuer(&[issuer]);
        Peer { keys, validation }
    }

    fn verify(&self, token: &str) -> Option<Value> {
        let header = jsonwebtoken::decode_header(token).ok()?;
        let (key, alg) = self.keys.get(header.kid.as_deref()?)?;
        let mut validation = self.validation.clone();
        validation.algorithms = vec![*alg];
        let data = jsonwebtoken::decode::<Value>(token, key, &validation).ok()?;
        let scopes = data.claims.get("scope")?.as_str()?;
        scopes
            .split(' ')
            .any(|s| s == "api.read")
            .then_some(data.claims)
    }
}

async fn peer_route(
    State(peer): State<Arc<Peer>>,
    headers: HeaderMap,
) -> Result<Json<Value>, StatusCode> {
    let token = headers
        .get(AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.strip_prefix("Bearer "))
        .ok_or(StatusCode::UNAUTHORIZED)?;
    let claims = peer.verify(token).ok_or(StatusCode::UNAUTHORIZED)?;
    Ok(Json(json!({"sub": claims["sub"]})))
}

/// The key server: discovery and the key set on loopback, counting key-set fetches.
async fn key_server(jwks: Value, fetches: Arc<AtomicUsize>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}", listener.local_addr().unwrap());
    let discovery = json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{issuer}/token"),
        "jwks_uri": format!("{issuer}/jwks"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256", "ES256"],
    });
    let app = Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(move || async move { Json(discovery) }),
        )
        .route(
            "/jwks",
            get(move || async move {
                fetches.fetch_add(1, Ordering::Relaxed);
                Json(jwks)
            }),
        );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    issuer
}

/// An ES256 compact JWS of `claims` by `key`.
fn sign_es256(key: &EcdsaKeyPair, kid: &str, claims: &Value) -> String {
    let header = json!({"alg": "ES256", "kid": kid, "typ": "at+jwt"});
    let input = format!(
        "{}.{}",
        B64.encode(header.to_string()),
        B64.encode(claims.to_string())
    );
    let rng = ring::rand::SystemRandom::new();
    let signature = key.sign(&rng, input.as_bytes()).unwrap();
    format!("{input}.{}", B64.encode(signature))
}

/// Microseconds per call of `f`, the median of 5 runs of `n` calls.
fn micros(n: u32, mut f: impl FnMut() -> bool) -> f64 {
    let mut runs: Vec<f64> = (0..5)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..n {
                assert!(f());
            }
            start.elapsed().as_secs_f64() * 1e6 / f64::from(n)
        })
        .collect();
    runs.sort_by(f64::total_cmp);
    runs[2]
}

/// Microseconds per request of `path` through `app` in-process, the median of 5 runs.
async fn micros_route(app: &Router, path: &str, auth: &HeaderValue, n: u32) -> f64 {
    let mut runs = Vec::new();
    for _ in 0..5 {
        let start = Instant::now();
        for _ in 0..n {
            let request = Request::get(path)
                .header(AUTHORIZATION, auth.clone())
                .body(Body::empty())
                .unwrap();
            let response = app.clone().oneshot(request).await.unwrap();
            assert_eq!(response.status(), StatusCode::OK, "{path}");
        }
        runs.push(start.elapsed().as_secs_f64() * 1e6 / f64::from(n));
    }
    runs.sort_by(f64::total_cmp);
    runs[2]
}

/// The signing input and the signature of a compact JWS.
fn split(token: &str) -> (&str, Vec<u8>) {
    let (input, signature) = token.rsplit_once('.').unwrap();
    (input, B64.decode(signature).unwrap())
}

fn main() {
    let Some((secs, runtime)) = load::start("web_api") else {
        return;
    };
    let load_before = load_average();
    runtime.block_on(async move {
        let rng = ring::rand::SystemRandom::new();
        let es256 = &signature::ECDSA_P256_SHA256_FIXED_SIGNING;
        let ec_key = EcdsaKeyPair::from_pkcs8(
            es256,
            EcdsaKeyPair::generate_pkcs8(es256, &rng).unwrap().as_ref(),
            &rng,
        )
        .unwrap();
        let point = ec_key.public_key().as_ref();
        let rsa_jwk = bearer::jwk(0, "rsa-0");
        let ec_jwk = json!({
            "kty": "EC", "crv": "P-256", "use": "sig", "kid": "ec-0",
            "x": B64.encode(&point[1..33]), "y": B64.encode(&point[33..]),
        });
        let jwks = json!({"keys": [rsa_jwk, ec_jwk]});
        let fetches = Arc::new(AtomicUsize::new(0));
        let issuer = key_server(jwks.clone(), fetches.clone()).await;

        let api = |cache_size: Option<u64>| {
            let mut builder = ApiAuth::builder()
                .client_id("bench-api")
                .oidc_authority(&issuer);
            if let Some(bytes) = cache_size {
                builder = builder.token_cache_size(bytes);
            }
            builder.build().unwrap()
        };
        let cached = api(None);
        let uncached = api(Some(0));
        let peer = Arc::new(Peer::new(&jwks, &issuer));
        let app = Router::new()
            .route("/open", get(open))
            .merge(
                Router::new()
                    .route("/cached", get(resource))
                    .layer(cached.layer()),
            )
            .merge(
                Router::new()
                    .route("/uncached", get(resource))
                    .layer(uncached.layer()),
            )
            .merge(
                Router::new()
                    .route("/peer", get(peer_route))
                    .with_state(peer.clone()),
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let served = app.clone();
        tokio::spawn(async move { axum::serve(listener, served).await.unwrap() });

        let now = now();
        let claims = json!({
            "iss": issuer, "sub": "alice", "aud": "api://bench-api",
            "client_id": "web-app", "scope": "api.read", "iat": now, "exp": now + 3600,
            "jti": "bench",
        });
        let token = bearer::sign(
            &json!({"kid": "rsa-0", "typ": "at+jwt"}),
            &claims,
            &Sign::Rsa(0),
        );
        let ec_token = sign_es256(&ec_key, "ec-0", &claims);
        let auth = HeaderValue::from_str(&format!("Bearer {token}")).unwrap();
        let ec_auth = HeaderValue::from_str(&format!("Bearer {ec_token}")).unwrap();

        let costs = verification_costs(&app, &peer, &jwks, (&token, &auth), (&ec_token, &ec_auth)).await;

        let routes = [
            ("unprotected", "/open"),
            ("repeated token", "/cached"),
            ("first-seen token", "/uncached"),
            ("peer: jsonwebtoken", "/peer"),
        ];
        let targets: Vec<Target> = routes
            .iter()
            .map(|(name, path)| Target {
                name,
                url: format!("{base}{path}"),
                header: (AUTHORIZATION, auth.clone()),
                expect: "alice",
            })
            .map(|target| Target {
                // The unprotected route answers "anonymous".
                expect: if target.name == "unprotected" { "" } else { target.expect },
                ..target
            })
            .collect();
        let mut points = Vec::new();
        for connections in CONNECTIONS {
            let (measured, rounds) =
                load::measure_stable(&targets, connections, secs, "unprotected").await;
            for point in measured {
                eprintln!(
                    "{:<20} {connections:>3} conns: {:>8.0} req/s  p99 {:?}  ({} errors, {rounds} round(s))",
                    point.name, point.rps, point.p99, point.errors
                );
                points.push((point, rounds));
            }
        }
        report(&points, secs, fetches.load(Ordering::Relaxed), token.len());
        println!();
        println!(
            "Verification cost per token (in-process, no sockets, median of 5 runs; the library's is its first-seen route minus its repeated-token route):"
        );
        println!();
        println!(
            "| token | ring alone | axum-identity, first-seen | jsonwebtoken (peer) | openidconnect's verifier (`rsa`, `p256`) |"
        );
        println!("|---|---:|---:|---:|---:|");
        for (name, [ring_us, ours_us, peer_us, rsa_us]) in costs {
            println!(
                "| {name} | {ring_us:.1} µs | {ours_us:.1} µs | {peer_us:.1} µs | {rsa_us:.1} µs |"
            );
        }
        println!();
        println!(
            "Load average (1, 5, 15 min) before: {load_before}; after: {}.",
            load_average()
        );
    });
}

/// Per token kind, in microseconds: ring alone, the library's first-seen route minus its
/// repeated-token route, the peer's decode, and openidconnect's JWK verifier on the signature.
async fn verification_costs(
    app: &Router,
    peer: &Peer,
    jwks: &Value,
    rs256: (&str, &HeaderValue),
    es256: (&str, &HeaderValue),
) -> Vec<(&'static str, [f64; 4])> {
    use openidconnect::JsonWebKey as _;
    use openidconnect::core::{CoreJsonWebKey, CoreJwsSigningAlgorithm};
    const N: u32 = 2_000;
    let jwk = &jwks["keys"][0];
    let n = B64.decode(jwk["n"].as_str().unwrap()).unwrap();
    let e = B64.decode(jwk["e"].as_str().unwrap()).unwrap();
    let ec = &jwks["keys"][1];
    let mut point = vec![4u8];
    point.extend(B64.decode(ec["x"].as_str().unwrap()).unwrap());
    point.extend(B64.decode(ec["y"].as_str().unwrap()).unwrap());

    let (input, signature) = split(rs256.0);
    let ring_rs256 = micros(N, || {
        signature::RsaPublicKeyComponents { n: &n, e: &e }
            .verify(
                &signature::RSA_PKCS1_2048_8192_SHA256,
                input.as_bytes(),
                &signature,
            )
            .is_ok()
    });
    let (ec_input, ec_signature) = split(es256.0);
    let ring_es256 = micros(N, || {
        signature::UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, &point)
            .verify(ec_input.as_bytes(), &ec_signature)
            .is_ok()
    });
    let peer_rs256 = micros(N, || peer.verify(rs256.0).is_some());
    let peer_es256 = micros(N, || peer.verify(es256.0).is_some());
    // The repeated-token route runs the same extractor and handler with the verification
    // answered from the cache: what the first-seen route costs beyond it is the verification.
    let repeated = micros_route(app, "/cached", rs256.1, N).await;
    let ours_rs256 = micros_route(app, "/uncached", rs256.1, N).await - repeated;
    let ours_es256 = micros_route(app, "/uncached", es256.1, N).await - repeated;
    let rsa_jwk: CoreJsonWebKey = serde_json::from_value(jwk.clone()).unwrap();
    let rsa_rs256 = micros(N / 10, || {
        rsa_jwk
            .verify_signature(
                &CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
                input.as_bytes(),
                &signature,
            )
            .is_ok()
    });
    let ec_jwk: CoreJsonWebKey = serde_json::from_value(ec.clone()).unwrap();
    let rsa_es256 = micros(N / 10, || {
        ec_jwk
            .verify_signature(
                &CoreJwsSigningAlgorithm::EcdsaP256Sha256,
                ec_input.as_bytes(),
                &ec_signature,
            )
            .is_ok()
    });
    vec![
        (
            "RS256, 2048-bit key",
            [ring_rs256, ours_rs256, peer_rs256, rsa_rs256],
        ),
        (
            "ES256, P-256",
            [ring_es256, ours_es256, peer_es256, rsa_es256],
        ),
    ]
}

fn report(points: &[(Point, u32)], secs: Duration, jwks_fetches: usize, token_len: usize) {
    println!();
    println!(
        "axum-identity web API benchmark: {:.1} s per point, {}, a {token_len}-byte RS256 token, app and load generator in one process on loopback",
        secs.as_secs_f64(),
        machine(),
    );
    println!();
    println!(
        "| route | connections | requests/s | p50 ms | p99 ms | vs unprotected (range) | rounds | errors |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for (point, rounds) in points {
        let baseline = points
            .iter()
            .map(|(p, _)| p)
            .find(|p| p.name == "unprotected" && p.connections == point.connections)
            .expect("the unprotected route at every connection count");
        let (median, low, high) = load::ratio(point, baseline);
        println!(
            "| {} | {} | {:.0} | {} | {} | {median:.0}% ({low:.0}–{high:.0}%) | {rounds} | {} |",
            point.name,
            point.connections,
            point.rps,
            ms(point.p50),
            ms(point.p99),
            point.errors,
        );
    }
    let total: usize = points.iter().map(|(p, _)| p.requests).sum();
    println!();
    println!("{total} requests measured; the provider's keys were fetched {jwks_fetches} time(s).");
}
