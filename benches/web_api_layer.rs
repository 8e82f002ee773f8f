//! What `ApiAuth`'s tower layer costs per request next to the axum path: the same scope check
//! on a repeated bearer token, once as `#[authorization_required(scopes = [..])]` behind
//! `api.layer()` (the extractor verifies), once as a plain handler behind
//! `api.bearer_layer().scopes([..])` (the layer verifies and puts the context in the
//! extensions), against the same app's unprotected route.
//!
//! ```text
//! cargo bench --bench web_api_layer                  # 3 s per point
//! BENCH_SECS=10 cargo bench --bench web_api_layer    # longer points
//! ```
//!
//! Set up as `benches/web_api.rs`: the hostile provider's keys on loopback (fetched once), an
//! RS256 token signed here, keep-alive HTTP/1.1 connections driving the app as fast as they can
//! from the same process. Under `cargo test --all-targets` it only says how to run it.
//!
//! Measured on 2 shared CPUs (load average about 5 from other work, `BENCH_SECS=3`): the tower
//! layer served 93–102% of the extractor path's requests per second at 1, 10 and 50
//! connections (33k/23k/18k against 34k/25k/18k), both at 78–91% of the unprotected route.

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
async fn extractor(context: ApiContext) -> Json<Value> {
    Json(json!({"sub": context.claims.subject()}))
}

/// Behind the layer, which required the scope already.
async fn layered(context: ApiContext) -> Json<Value> {
    Json(json!({"sub": context.claims.subject()}))
}

fn main() {
    let Some((secs, runtime)) = load::start("web_api_layer") else {
        return;
    };
    let load_before = load_average();
    runtime.block_on(async move {
        let hostile = Hostile::start("unused", Scenario::default()).await;
        let api = ApiAuth::builder()
            .client_id("bench-api")
            .oidc_authority(&hostile.issuer)
            .build()
            .unwrap();
        let app = Router::new()
            .route("/open", get(open))
            .merge(
                Router::new()
                    .route("/extractor", get(extractor))
                    .layer(api.layer()),
            )
            .merge(
                Router::new()
                    .route("/layer", get(layered))
                    .layer(api.bearer_layer().scopes(["api.read"])),
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
            ("axum extractor", "/extractor"),
            ("tower layer", "/layer"),
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
                    "{:<15} {connections:>3} conns: {:>8.0} req/s  p99 {:?}  ({} errors)",
                    point.name, point.rps, point.p99, point.errors
                );
                points.push(point);
            }
        }
        report(&points, secs, token.len());
        println!(
            "Load average (1, 5, 15 min) before: {load_before}; after: {}.",
            load_average()
        );
    });
}

fn report(points: &[Point], secs: Duration, token_len: usize) {
    println!();
    println!(
        "axum-identity web API, tower layer against the axum extractor: {:.1} s per point, {}, a {token_len}-byte RS256 token (repeated), app and load generator in one process on loopback",
        secs.as_secs_f64(),
        machine(),
    );
    println!();
    println!(
        "| route | connections | requests/s | p50 ms | p99 ms | vs unprotected | vs extractor | errors |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    let rps = |name: &str, connections: usize| {
        points
            .iter()
            .find(|p| p.name == name && p.connections == connections)
            .map_or(f64::NAN, |p| p.rps)
    };
    for point in points {
        println!(
            "| {} | {} | {:.0} | {} | {} | {:.0}% | {:.0}% | {} |",
            point.name,
            point.connections,
            point.rps,
            ms(point.p50),
            ms(point.p99),
            100.0 * point.rps / rps("unprotected", point.connections),
            100.0 * point.rps / rps("axum extractor", point.connections),
            point.errors,
        );
    }
}
