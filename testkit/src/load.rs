//! The load generator of the benchmarks (`benches/protected.rs`, `benches/web_api.rs`):
//! keep-alive HTTP/1.1 connections, one reqwest client each, every one sending requests as fast
//! as it can for a fixed time, the pages under test taking turns in short slices so that load
//! from elsewhere on the machine hits them alike.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use reqwest::header::{HeaderName, HeaderValue};

/// The connection counts every benchmark measures.
pub const CONNECTIONS: [usize; 3] = [1, 10, 50];

/// Each point's time is cut into this many slices, taken in turn with the other pages'.
pub const SLICES: u32 = 6;

/// A page under load: its URL, the header that authenticates the requests (a session cookie,
/// a bearer token), and text its body must contain for a request to count as answered.
#[derive(Clone, Debug)]
pub struct Target {
    pub name: &'static str,
    pub url: String,
    pub header: (HeaderName, HeaderValue),
    pub expect: &'static str,
}

/// What one page did at one connection count.
#[derive(Clone, Debug)]
pub struct Point {
    pub name: &'static str,
    pub connections: usize,
    pub requests: usize,
    pub errors: usize,
    pub rps: f64,
    pub p50: Duration,
    pub p99: Duration,
    /// Requests per second in each slice, in the order they ran: the spread of the point.
    pub slices: Vec<f64>,
}

/// At most this many rounds for one connection count in [`measure_stable`].
pub const MAX_ROUNDS: u32 = 4;

/// A point is stable when its ratio to the baseline varies by at most this many percentage
/// points between slices.
pub const STABLE_SPREAD: f64 = 15.0;

/// `point`'s requests per second as a percentage of `baseline`'s, slice by slice (each slice of
/// a target ran right after the baseline's, so both saw the same machine): the median, the
/// lowest and the highest.
pub fn ratio(point: &Point, baseline: &Point) -> (f64, f64, f64) {
    let mut ratios: Vec<f64> = point
        .slices
        .iter()
        .zip(&baseline.slices)
        .map(|(rps, base)| 100.0 * rps / base)
        .collect();
    if ratios.is_empty() {
        return (f64::NAN, f64::NAN, f64::NAN);
    }
    ratios.sort_by(f64::total_cmp);
    let median = if ratios.len().is_multiple_of(2) {
        (ratios[ratios.len() / 2 - 1] + ratios[ratios.len() / 2]) / 2.0
    } else {
        ratios[ratios.len() / 2]
    };
    (median, ratios[0], ratios[ratios.len() - 1])
}

/// [`measure`], again (up to [`MAX_ROUNDS`] rounds) while some target's ratio to the target
/// named `baseline` spreads by more than [`STABLE_SPREAD`] points across slices: a busy
/// machine shows as spread, and a point is reported only once it is stable or the rounds run
/// out. Returns the last round's points and how many rounds ran.
pub async fn measure_stable(
    targets: &[Target],
    connections: usize,
    per_point: Duration,
    baseline: &str,
) -> (Vec<Point>, u32) {
    let mut round = 0;
    loop {
        round += 1;
        let points = measure(targets, connections, per_point).await;
        let base = points.iter().find(|p| p.name == baseline).cloned();
        let stable = base.is_none_or(|base| {
            points.iter().all(|point| {
                let (_, low, high) = ratio(point, &base);
                high - low <= STABLE_SPREAD
            })
        });
        if stable || round >= MAX_ROUNDS {
            return (points, round);
        }
    }
}

/// `connections` keep-alive clients for `target`, each checked with one request before any
/// clock starts.
pub async fn connect(target: &Target, connections: usize) -> Vec<reqwest::Client> {
    let mut clients = Vec::new();
    for _ in 0..connections {
        let client = reqwest::Client::builder()
            .http1_only()
            .pool_max_idle_per_host(1)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("a client");
        let response = client
            .get(&target.url)
            .header(target.header.0.clone(), target.header.1.clone())
            .send()
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", target.url));
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        assert!(
            status == StatusCode::OK && body.contains(target.expect),
            "{}: {status} {body}",
            target.url
        );
        clients.push(client);
    }
    clients
}

/// Drives `target` with every client at once, each as fast as it can, for `duration`:
/// the latencies, the failed requests and the time taken.
pub async fn drive(
    clients: &[reqwest::Client],
    target: &Target,
    duration: Duration,
) -> (Vec<Duration>, usize, Duration) {
    let start = Instant::now();
    let deadline = start + duration;
    let mut tasks = tokio::task::JoinSet::new();
    for client in clients {
        let (client, target) = (client.clone(), target.clone());
        tasks.spawn(async move {
            let expect = target.expect.as_bytes();
            let mut latencies: Vec<Duration> = Vec::with_capacity(1 << 14);
            let mut errors = 0;
            while Instant::now() < deadline {
                let sent = Instant::now();
                let request = client
                    .get(&target.url)
                    .header(target.header.0.clone(), target.header.1.clone());
                let ok = match request.send().await {
                    Ok(response) => {
                        let status = response.status();
                        matches!(response.bytes().await, Ok(body) if status == StatusCode::OK
                            && (expect.is_empty() || body.windows(expect.len()).any(|w| w == expect)))
                    }
                    Err(_) => false,
                };
                latencies.push(sent.elapsed());
                errors += usize::from(!ok);
            }
            (latencies, errors)
        });
    }
    let mut latencies = Vec::new();
    let mut errors = 0;
    while let Some(result) = tasks.join_next().await {
        let (l, e) = result.expect("a load task");
        latencies.extend(l);
        errors += e;
    }
    (latencies, errors, start.elapsed())
}

/// One point per target at `connections`: the targets take turns in [`SLICES`] slices
/// (A B C A B C ...) of `per_point` in all.
pub async fn measure(targets: &[Target], connections: usize, per_point: Duration) -> Vec<Point> {
    let mut clients = Vec::new();
    for target in targets {
        clients.push(connect(target, connections).await);
    }
    let slice = per_point / SLICES;
    let mut totals: Vec<(Vec<Duration>, usize, Duration, Vec<f64>)> =
        vec![(Vec::new(), 0, Duration::ZERO, Vec::new()); targets.len()];
    for _ in 0..SLICES {
        for (i, target) in targets.iter().enumerate() {
            let (latencies, errors, elapsed) = drive(&clients[i], target, slice).await;
            totals[i]
                .3
                .push(latencies.len() as f64 / elapsed.as_secs_f64());
            totals[i].0.extend(latencies);
            totals[i].1 += errors;
            totals[i].2 += elapsed;
        }
    }
    targets
        .iter()
        .zip(totals)
        .map(|(target, (mut latencies, errors, elapsed, slices))| {
            latencies.sort_unstable();
            let pct = |p: f64| {
                latencies
                    [((latencies.len() as f64 * p).ceil() as usize).clamp(1, latencies.len()) - 1]
            };
            Point {
                name: target.name,
                connections,
                requests: latencies.len(),
                errors,
                rps: latencies.len() as f64 / elapsed.as_secs_f64(),
                p50: pct(0.50),
                p99: pct(0.99),
                slices,
            }
        })
        .collect()
}

/// The time per point (`BENCH_SECS`, default 3 s) and a multi-threaded runtime when benchmark
/// `name` runs under `cargo bench`; under `cargo test` (no `--bench` argument) it says how to
/// run it, and `None`.
pub fn start(name: &str) -> Option<(Duration, tokio::runtime::Runtime)> {
    if !std::env::args().any(|a| a == "--bench") {
        println!(
            "benches/{name}.rs is a measurement, not a test: run `cargo bench --bench {name}`"
        );
        return None;
    }
    let secs = Duration::from_secs_f64(
        std::env::var("BENCH_SECS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(3.0),
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    Some((secs, runtime))
}

/// How many CPUs ran the benchmark and in which build: "2 CPU(s), optimized build".
pub fn machine() -> String {
    format!(
        "{} CPU(s), {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        if cfg!(debug_assertions) {
            "DEBUG build (not a measurement: use `cargo bench`)"
        } else {
            "optimized build"
        }
    )
}

/// The machine's load average (1, 5, 15 minutes): other work skews the figures, so a report
/// says how busy the machine was.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

/// Milliseconds with two decimals.
pub fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}
