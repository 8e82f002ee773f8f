//! What the tests, the examples and the benchmark of axum-identity share.
//!
//! - [`provider`]: the real OpenID provider (oidc-provider on Node) the tests and the
//!   zero-configuration examples sign in with; [`django`]: a second, independent one
//!   (django-oauth-toolkit on Python).
//! - [`hostile`] and [`microsoft`]: providers inside the test process that answer like a
//!   provider but let a test decide what they send; two configurations of one [`kernel`].
//! - [`bearer`]: access tokens the test signs itself, for web APIs; [`microsoft::entra`]
//!   publishes the keys they are checked against, shaped like Entra ID's.
//! - [`browser`]: a scripted browser (cookies, redirects one by one, HTML forms).
//! - [`example`]: the examples' executables, for the tests that run them.
//! - [`app`]: an application under test on a loopback port, under a path prefix if need be
//!   (nested, or behind the stripping reverse proxy of [`proxy`]).
//! - [`credentials`]: certificates and JWKS for clients that sign their assertions.
//! - [`stores`]: real session stores (SQLite, Redis, PostgreSQL).
//! - [`redirects`]: generated open-redirect cases and the check that a return path stays local.
//! - [`assert`](mod@assert): how a sign-in ended (signed in, rejected), said once for every suite.
//! - [`logs`]: what the runtime logged, such as the reason behind an error page's reference.
//! - [`load`]: the benchmarks' load generator.
//! - [`managed_identity`]: Azure's managed-identity endpoints (App Service and IMDS shapes),
//!   on loopback.
//! - [`graph`]: a stand-in for Microsoft Graph's `getMemberObjects` (the groups of an overage).

pub mod app;
pub mod assert;
pub mod bearer;
pub mod browser;
pub mod credentials;
pub mod django;
pub mod example;
pub mod graph;
pub mod hostile;
pub mod kernel;
pub mod load;
pub mod logs;
pub mod managed_identity;
pub mod microsoft;
pub mod provider;
pub mod proxy;
pub mod redirects;
pub mod stores;

/// A directory for the files a test writes (keys, sessions, a browser profile), created if need
/// be: under the repository's `target/tmp`, so that nothing is written or read outside the
/// repository.
pub fn scratch_dir(name: &str) -> std::path::PathBuf {
    let dir =
        std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../target/tmp")).join(name);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
    // Without the `..`: Chromium does not take a profile path that has one.
    dir.canonicalize().unwrap_or(dir)
}

/// Sends a request and reads its answer as JSON, whatever the status, panicking with the reason
/// when either fails: the steps every suite takes to read a provider's or an API's JSON answer.
pub trait JsonAnswer {
    /// The answer's JSON.
    fn json_answer(self) -> impl std::future::Future<Output = serde_json::Value> + Send;
}

impl JsonAnswer for reqwest::RequestBuilder {
    async fn json_answer(self) -> serde_json::Value {
        let response = self
            .send()
            .await
            .unwrap_or_else(|e| panic!("sending the request: {e}"));
        response
            .json()
            .await
            .unwrap_or_else(|e| panic!("reading the JSON answer: {e}"))
    }
}
