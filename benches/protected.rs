//! What signing users in costs per request: the `#[login_required]` page against the same
//! app's unprotected page that reads the session, a scoped page served from the token cache,
//! provider calls, and session bytes — with the memory store and with Redis.
//!
//! ```text
//! cargo bench --bench protected                       # 3 s per point
//! BENCH_SECS=10 cargo bench --bench protected         # longer points
//! ```
//!
//! It starts the real test provider (`tests/provider`, Node) and the app on loopback, signs in
//! once through the real login pages, then drives the pages with keep-alive HTTP/1.1
//! connections (one reqwest client per connection), each as fast as it can for a fixed time.
//! The load generator runs in the same process and on the same cores as the app, so the
//! figures are what one machine does as client and server at once. The pages take turns in
//! slices; "vs unprotected" is the median of the slice-by-slice ratios with their range, and a
//! connection count is measured again (up to 4 rounds) while a ratio spreads by more than 15
//! points, so a busy moment of the machine shows instead of passing for a figure.
//!
//! Needs Redis on 127.0.0.1:6379 (`REDIS_URL` to change); fails saying so when it is missing.
//! Under `cargo test --all-targets` (no `--bench` argument) it only says how to run it.

use axum_identity_testkit as support;

use std::time::Duration;

use axum::Router;
use axum::response::Html;
use axum::routing::get;
use axum_identity::{Context, escape_html, login_required};
use reqwest::StatusCode;
use reqwest::header::{COOKIE, HeaderValue};
use serde_json::{Value, json};
use support::app::{TestApp, launch};
use support::browser::Browser;
use support::load::{self, CONNECTIONS, Target, load_average, machine, ms};
use support::stores;
use tower_sessions::session::Id;
use tower_sessions::{MemoryStore, Session, SessionStore};

#[login_required]
async fn protected(context: Context) -> Html<String> {
    Html(format!(
        "<p>Hello {}</p>",
        escape_html(context.user.display_name())
    ))
}

#[login_required(scopes = ["api.read"])]
async fn read(context: Context) -> Html<String> {
    Html(format!("<p>Token {} chars</p>", context.access_token.len()))
}

#[login_required(scopes = ["api.write"])]
async fn write(context: Context) -> Html<String> {
    Html(format!("<p>Token {} chars</p>", context.access_token.len()))
}

#[login_required(scopes = ["api.admin"])]
async fn admin(context: Context) -> Html<String> {
    Html(format!("<p>Token {} chars</p>", context.access_token.len()))
}

/// The baseline: no `axum-identity` extractor, one read of the tower-sessions session.
async fn session_page(session: Session) -> Html<String> {
    let x = session.get::<String>("x").await.ok().flatten();
    Html(format!(
        "<p>Hello {}</p>",
        escape_html(x.as_deref().unwrap_or("anonymous"))
    ))
}

fn routes() -> Router {
    Router::new()
        .route("/protected", get(protected))
        .route("/session", get(session_page))
        .route("/read", get(read))
        .route("/write", get(write))
        .route("/admin", get(admin))
}

/// The provider's configuration: the API scopes, consent given without asking.
fn bench_provider() -> Value {
    json!({"extraScopes": ["api.read", "api.write", "api.admin"], "autoConsent": true})
}

/// A load point of one store's page.
struct Point {
    store: &'static str,
    page: &'static str,
    connections: usize,
    requests: usize,
    errors: usize,
    rps: f64,
    p50: Duration,
    p99: Duration,
    /// The ratio to the unprotected page at the same connection count: median of the
    /// slice-by-slice ratios, lowest, highest (percent).
    ratio: (f64, f64, f64),
    /// How many rounds it took for the ratios to be stable.
    rounds: u32,
}

/// One point per page at `connections`, through the test kit's load generator, with the
/// session cookie of `sid`, measured again while a ratio to the first page (the baseline)
/// spreads too much.
async fn measure_pages(
    store: &'static str,
    app: &TestApp,
    sid: &str,
    pages: &[(&'static str, &'static str, &'static str)],
    connections: usize,
    per_point: Duration,
) -> Vec<Point> {
    let cookie = HeaderValue::from_str(&format!("identity.sid={sid}")).unwrap();
    let targets: Vec<Target> = pages
        .iter()
        .map(|(name, path, expect)| Target {
            name,
            url: app.url(path),
            header: (COOKIE, cookie.clone()),
            expect,
        })
        .collect();
    let (points, rounds) = load::measure_stable(&targets, connections, per_point, pages[0].0).await;
    let baseline = points[0].clone();
    points
        .into_iter()
        .map(|point| Point {
            ratio: load::ratio(&point, &baseline),
            rounds,
            store,
            page: point.name,
            connections: point.connections,
            requests: point.requests,
            errors: point.errors,
            rps: point.rps,
            p50: point.p50,
            p99: point.p99,
        })
        .collect()
}

/// Every request the provider counted, whatever the endpoint.
fn total_calls(stats: &Value) -> u64 {
    match stats {
        Value::Number(n) => n.as_u64().unwrap_or(0),
        Value::Object(map) => map.values().map(total_calls).sum(),
        _ => 0,
    }
}

struct StoreRun {
    points: Vec<Point>,
    cold_login_calls: u64,
    warm_login_calls: u64,
    protected_hits: usize,
    calls_during_hits: u64,
}

/// Signs `login` in at `path` and returns the session cookie and the provider calls it took.
async fn sign_in(app: &TestApp, browser: &Browser, path: &str, login: &str) -> (String, u64) {
    app.provider().reset_stats().await;
    let mut page = browser.get(app.url(path)).await;
    if page.url.as_str().starts_with(&app.provider().issuer) {
        // Not signed in at the provider yet (later scope sets are approved without a page).
        page = browser.sign_in(page, login).await;
    }
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(page.url.as_str(), app.url(path), "{}", page.body);
    let calls = total_calls(&app.provider().stats().await);
    (
        browser
            .cookie(&app.base, "identity.sid")
            .expect("a session cookie"),
        calls,
    )
}

async fn run_store<S>(name: &'static str, store: S, secs: Duration) -> StoreRun
where
    S: SessionStore + Clone,
{
    let app = launch(routes())
        .provider_config(bench_provider())
        .store(store)
        .start()
        .await;
    // The first sign-in after start also fetches discovery and JWKS; later ones do not.
    let (_, cold_login_calls) = sign_in(&app, &Browser::new(), "/protected", "warmup").await;
    let browser = Browser::new();
    let (_, warm_login_calls) = sign_in(&app, &browser, "/protected", "alice").await;
    // One API token in the cache for the scoped page (incremental consent, auto-approved).
    let (sid, _) = sign_in(&app, &browser, "/read", "alice").await;

    app.provider().reset_stats().await;
    let pages = [
        ("unprotected, reads session", "/session", "Hello anonymous"),
        ("`#[login_required]`", "/protected", "Hello Alice"),
        ("scoped, cached token", "/read", "Token "),
    ];
    let mut points = Vec::new();
    for connections in CONNECTIONS {
        for point in measure_pages(name, &app, &sid, &pages, connections, secs).await {
            eprintln!(
                "{name:>6} {:<28} {connections:>3} conns: {:>8.0} req/s  p99 {:?}  ({} errors)",
                point.page, point.rps, point.p99, point.errors
            );
            points.push(point);
        }
    }
    let protected_hits = points
        .iter()
        .filter(|p| !p.page.starts_with("unprotected"))
        .map(|p| p.requests)
        .sum();
    let calls_during_hits = total_calls(&app.provider().stats().await);
    StoreRun {
        points,
        cold_login_calls,
        warm_login_calls,
        protected_hits,
        calls_during_hits,
    }
}

/// Sizes of one signed-in user's session in Redis as API tokens accumulate.
async fn session_sizes() -> Vec<(String, usize, u64, usize, String)> {
    let (store, pool) = stores::redis_store().await;
    let app = launch(routes())
        .provider_config(bench_provider())
        .store(store.clone())
        .start()
        .await;
    let browser = Browser::new();
    let mut sizes = Vec::new();
    for (step, path) in [
        ("signed in, no API scope", "/protected"),
        ("+ api.read", "/read"),
        ("+ api.write", "/write"),
        ("+ api.admin", "/admin"),
    ] {
        let (sid, _) = sign_in(&app, &browser, path, "alice").await;
        let msgpack = stores::redis_strlen(&pool, &sid).await;
        let id: Id = sid.parse().unwrap();
        let record = store.load(&id).await.unwrap().expect("the record");
        // The claims live under `axum_identity`, the tokens under `axum_identity.tokens`.
        let user = &record.data["axum_identity"]["user"];
        let secrets = &record.data["axum_identity.tokens"];
        let json_bytes = serde_json::to_vec(&record.data).unwrap().len();
        let tokens = secrets["tokens"].as_array().map_or(0, Vec::len);
        let part = |v: &Value| serde_json::to_vec(v).unwrap().len();
        let breakdown = format!(
            "claims {} B ({} claims), id_token {} B, refresh_token {} B, tokens {} B, other {} B",
            part(&user["claims"]),
            // Kept as one JSON string in the record.
            user["claims"]
                .as_str()
                .and_then(|json| serde_json::from_str::<serde_json::Map<String, Value>>(json).ok())
                .map_or(0, |m| m.len()),
            part(&secrets["id_token"]),
            part(&secrets["refresh_token"]),
            part(&secrets["tokens"]),
            json_bytes
                - part(&user["claims"])
                - part(&secrets["id_token"])
                - part(&secrets["refresh_token"])
                - part(&secrets["tokens"]),
        );
        sizes.push((step.to_owned(), tokens, msgpack, json_bytes, breakdown));
    }
    sizes
}

fn main() {
    let Some((secs, runtime)) = load::start("protected") else {
        return;
    };
    let load_before = load_average();
    runtime.block_on(async move {
        let mut runs = Vec::new();
        runs.push(run_store("memory", MemoryStore::default(), secs).await);
        let (redis, _pool) = stores::redis_store().await;
        runs.push(run_store("redis", redis, secs).await);
        let sizes = session_sizes().await;
        report(&runs, &sizes, secs);
        println!(
            "Load average (1, 5, 15 min) before: {load_before}; after: {}.",
            load_average()
        );
    });
}

fn report(runs: &[StoreRun], sizes: &[(String, usize, u64, usize, String)], secs: Duration) {
    println!();
    println!(
        "axum-identity benchmark: {:.1} s per point, {}, app and load generator in one process on loopback",
        secs.as_secs_f64(),
        machine(),
    );
    println!();
    println!(
        "| store | page | connections | requests/s | p50 ms | p99 ms | vs unprotected (range) | rounds | errors |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|");
    for run in runs {
        for point in &run.points {
            let (median, low, high) = point.ratio;
            println!(
                "| {} | {} | {} | {:.0} | {} | {} | {median:.0}% ({low:.0}–{high:.0}%) | {} | {} |",
                point.store,
                point.page,
                point.connections,
                point.rps,
                ms(point.p50),
                ms(point.p99),
                point.rounds,
                point.errors,
            );
        }
    }
    println!();
    println!(
        "| store | provider calls, first login after start | per later login | per 1,000 protected hits |"
    );
    println!("|---|---:|---:|---:|");
    for run in runs {
        println!(
            "| {} | {} | {} | {:.3} ({} calls in {} hits) |",
            run.points[0].store,
            run.cold_login_calls,
            run.warm_login_calls,
            1000.0 * run.calls_during_hits as f64 / run.protected_hits.max(1) as f64,
            run.calls_during_hits,
            run.protected_hits,
        );
    }
    println!();
    println!(
        "| session of one signed-in user (Redis) | access tokens cached | bytes in Redis (MessagePack) | bytes as JSON | JSON breakdown |"
    );
    println!("|---|---:|---:|---:|---|");
    for (step, tokens, msgpack, json, breakdown) in sizes {
        println!("| {step} | {tokens} | {msgpack} | {json} | {breakdown} |");
    }
    let total: usize = runs
        .iter()
        .flat_map(|r| &r.points)
        .map(|p| p.requests)
        .sum();
    println!();
    println!("{total} requests measured.");
}
