//! What a stream of distinct large bearer tokens costs a web API in memory: 20,000 valid
//! tokens of about 12 KB each (1,100 short `groups` values, as the largest Entra tokens carry),
//! each sent once to a `#[authorization_required]` route, with the cache of verified tokens at
//! its default bound (32 MiB), at a small bound and off. The resident memory of the process is
//! read from `/proc/self/statm` before and after each run.
//!
//! ```text
//! cargo bench --bench token_memory
//! TOKENS=5000 cargo bench --bench token_memory   # fewer tokens
//! ```
//!
//! Each configuration runs in a process of its own (the benchmark starts itself again), so no
//! run starts from what the allocator kept of another; "off" shows what the requests
//! themselves leave behind. The tokens are signed before the first measurement and requests go
//! through the router in the process (`oneshot`), so no connection or load generator adds to
//! the figures.
//!
//! Under `cargo test --all-targets` (no `--bench` argument) it only says how to run it.

use axum_identity_testkit as support;

use axum::body::Body;
use axum::http::Request;
use axum::routing::get;
use axum::{Json, Router};
use axum_identity::{ApiAuth, ApiContext, authorization_required};
use serde_json::{Value, json};
use support::bearer::{self, Sign, now};
use support::hostile::{Hostile, Scenario, kid};
use support::load::{self, machine};
use tower::ServiceExt as _;

#[authorization_required(scopes = ["api.read"])]
async fn resource(context: ApiContext) -> Json<Value> {
    Json(json!({"sub": context.claims.subject()}))
}

/// The resident set of this process, in MiB.
fn rss_mib() -> f64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: f64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0.0);
    pages * 4096.0 / (1024.0 * 1024.0)
}

/// The configurations measured: (name, cache size in bytes; `None` is the default).
const CASES: [(&str, Option<u64>); 3] = [
    ("default (32 MiB)", None),
    ("8 MiB", Some(8 << 20)),
    ("off", Some(0)),
];

fn main() {
    // A child process measures one configuration, so no run starts from what the allocator
    // kept of another.
    if let Ok(case) = std::env::var("TOKEN_MEMORY_CASE") {
        let case: usize = case.parse().expect("a case number");
        return measure(CASES[case].1);
    }
    if load::start("token_memory").is_none() {
        return;
    }
    let count = count();
    println!();
    println!(
        "axum-identity web API memory: {count} distinct valid tokens of about 12 KB (1,100 groups) each, sent once each, one process per row, {}",
        machine()
    );
    println!();
    println!(
        "| verified-token cache | RSS with the tokens signed (MiB) | RSS after the requests (MiB) | growth (MiB) |"
    );
    println!("|---|---:|---:|---:|");
    for (case, (name, _)) in CASES.iter().enumerate() {
        let output = std::process::Command::new(std::env::current_exe().expect("this program"))
            .arg("--bench")
            .env("TOKEN_MEMORY_CASE", case.to_string())
            .stderr(std::process::Stdio::inherit())
            .output()
            .expect("the measuring process starts");
        assert!(output.status.success(), "the run of {name} failed");
        let figures = String::from_utf8_lossy(&output.stdout);
        println!("| {name} | {} |", figures.trim());
    }
}

fn count() -> usize {
    std::env::var("TOKENS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(20_000)
}

/// Sends every token once to an API whose cache holds `size` bytes (`None`: the default), and
/// prints the process's memory before and after as the rest of a table row.
fn measure(size: Option<u64>) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let count = count();
    runtime.block_on(async move {
        let hostile = Hostile::start("unused", Scenario::default()).await;
        let groups: Vec<String> = (0..1100).map(|i| format!("g{i:04}")).collect();
        let now = now();
        let tokens: Vec<String> = (0..count)
            .map(|i| {
                bearer::sign(
                    &json!({"kid": kid(0), "typ": "at+jwt"}),
                    &json!({
                        "iss": hostile.issuer, "sub": format!("user{i}"), "aud": "api://bench-api",
                        "scope": "api.read", "iat": now, "exp": now + 3600, "groups": groups,
                    }),
                    &Sign::Rsa(0),
                )
            })
            .collect();
        let mut builder = ApiAuth::builder()
            .client_id("bench-api")
            .oidc_authority(&hostile.issuer);
        if let Some(bytes) = size {
            builder = builder.token_cache_size(bytes);
        }
        let api = builder.build().unwrap();
        let app = Router::new()
            .route("/resource", get(resource))
            .layer(api.layer());
        let before = rss_mib();
        for token in &tokens {
            let request = Request::get("/resource")
                .header("authorization", format!("Bearer {token}"))
                .body(Body::empty())
                .unwrap();
            let response = app.clone().oneshot(request).await.unwrap();
            assert_eq!(response.status(), 200);
        }
        let after = rss_mib();
        println!("{before:.0} | {after:.0} | {:.0}", after - before);
    });
}
