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
//! Each run has its own `ApiAuth` (its own cache) and the runs go one after the other in one
//! process, so a later run starts from what the allocator kept of the earlier ones; the
//! cache's own count of the bytes it holds is printed too. The tokens are signed before the
//! first measurement and requests go through the router in the process (`oneshot`), so no
//! connection or load generator adds to the figures.
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

fn main() {
    let Some((_, runtime)) = load::start("token_memory") else {
        return;
    };
    let count: usize = std::env::var("TOKENS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(20_000);
    runtime.block_on(async move {
        let hostile = Hostile::start("unused", Scenario::default()).await;
        let groups: Vec<String> = (0..1100).map(|i| format!("g{i:04}")).collect();
        let now = now();
        eprintln!("signing {count} tokens...");
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
        let before_all = rss_mib();
        println!();
        println!(
            "axum-identity web API memory: {count} distinct valid tokens of {} bytes each, sent once each, {}",
            tokens[0].len(),
            machine()
        );
        println!();
        println!("| verified-token cache | RSS before (MiB) | RSS after (MiB) | growth (MiB) |");
        println!("|---|---:|---:|---:|");
        for (name, size) in [
            ("default (32 MiB)", None),
            ("8 MiB", Some(8u64 << 20)),
            ("off", Some(0)),
        ] {
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
            println!(
                "| {name} | {before:.0} | {after:.0} | {:.0} |",
                after - before
            );
        }
        println!();
        println!(
            "The process held {before_all:.0} MiB with the tokens signed, before any request; \
             {:.0} MiB at the end.",
            rss_mib()
        );
    });
}
