//! What protecting a web API costs per request: a `#[authorization_required(scopes = [..])]`
//! route against the same app's unprotected route, with a repeated bearer token (served from
//! the cache of verified tokens) and with a first-seen one (its RS256 signature verified).
//!
//! ```text
//! cargo bench --bench web_api                       # 3 s per point
//! BENCH_SECS=10 cargo bench --bench web_api         # longer points
//! ```
//!
//! The keys come from the hostile provider of the tests (discovery and JWKS on loopback, fetched
//! once); tokens are RS256 with a 2048-bit fixture key, signed here. "First-seen" is measured on
//! an `ApiAuth` whose token cache is off (`token_cache_size(0)`), so every request pays
//! what a token seen for the first time pays: the hash, the signature verification and the
//! claim checks. Every request carries the same `Authorization` header, the unprotected route's
//! too, and every route answers the same small JSON. Keep-alive HTTP/1.1 connections (one
//! reqwest client each) drive the app as fast as they can; the load generator shares the
//! process and the cores with the app.
//!
//! Under `cargo test --all-targets` (no `--bench` argument) it only says how to run it.

use axum_identity_testkit as support;

use std::time::Duration;

use axum::routing::get;
use axum::{Json, Router};
use axum_identity::{ApiAuth, ApiContext, authorization_required};
use reqwest::header::{AUTHORIZATION, HeaderValue};
use serde_json::{Value, json};
use support::bearer::{self, Sign, now};
use support::hostile::{Hostile, Scenario, kid};
use support::load::{self, CONNECTIONS, Point, Target, load_average, machine, ms};

async fn open() -> Json<Value> {
    Json(json!({"sub": "anonymous"}))
}

#[authorization_required(scopes = ["api.read"])]
async fn resource(context: ApiContext) -> Json<Value> {
    Json(json!({"sub": context.claims.subject()}))
}

fn main() {
    let Some((secs, runtime)) = load::start("web_api") else {
        return;
    };
    let load_before = load_average();
    runtime.block_on(async move {
        let hostile = Hostile::start("unused", Scenario::default()).await;
        let api = |cache_size: Option<u64>| {
            let mut builder = ApiAuth::builder()
                .client_id("bench-api")
                .oidc_authority(&hostile.issuer);
            if let Some(bytes) = cache_size {
                builder = builder.token_cache_size(bytes);
            }
            builder.build().unwrap()
        };
        let cached = api(None);
        let uncached = api(Some(0));
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
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

        let now = now();
        let token = bearer::sign(
            &json!({"kid": kid(0), "typ": "at+jwt"}),
            &json!({
                "iss": hostile.issuer, "sub": "alice", "aud": "api://bench-api",
                "client_id": "web-app", "scope": "api.read", "iat": now, "exp": now + 3600,
                "jti": "bench",
            }),
            &Sign::Rsa(0),
        );
        let auth = HeaderValue::from_str(&format!("Bearer {token}")).unwrap();
        let routes = [
            ("unprotected", "/open"),
            ("repeated token", "/cached"),
            ("first-seen token", "/uncached"),
        ];
        let targets: Vec<Target> = routes
            .iter()
            .map(|(name, path)| Target {
                name,
                url: format!("{base}{path}"),
                header: (AUTHORIZATION, auth.clone()),
                expect: "",
            })
            .collect();
        let mut points = Vec::new();
        for connections in CONNECTIONS {
            for point in load::measure(&targets, connections, secs).await {
                eprintln!(
                    "{:<18} {connections:>3} conns: {:>8.0} req/s  p99 {:?}  ({} errors)",
                    point.name, point.rps, point.p99, point.errors
                );
                points.push(point);
            }
        }
        report(&points, secs, hostile.jwks_fetches(), token.len());
        println!(
            "Load average (1, 5, 15 min) before: {load_before}; after: {}.",
            load_average()
        );
    });
}

fn report(points: &[Point], secs: Duration, jwks_fetches: usize, token_len: usize) {
    println!();
    println!(
        "axum-identity web API benchmark: {:.1} s per point, {}, a {token_len}-byte RS256 token, app and load generator in one process on loopback",
        secs.as_secs_f64(),
        machine(),
    );
    println!();
    println!("| route | connections | requests/s | p50 ms | p99 ms | vs unprotected | errors |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for point in points {
        let baseline = points
            .iter()
            .find(|p| p.name == "unprotected" && p.connections == point.connections)
            .map_or(f64::NAN, |p| p.rps);
        println!(
            "| {} | {} | {:.0} | {} | {} | {:.0}% | {} |",
            point.name,
            point.connections,
            point.rps,
            ms(point.p50),
            ms(point.p99),
            100.0 * point.rps / baseline,
            point.errors,
        );
    }
    let total: usize = points.iter().map(|p| p.requests).sum();
    println!();
    println!("{total} requests measured; the provider's keys were fetched {jwks_fetches} time(s).");
}
