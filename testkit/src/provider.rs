//! Starts the real OpenID provider used by the tests and the quickstart example.
//!
//! The provider is `tests/provider/server.mjs`, a small Node program around the npm package
//! `oidc-provider` (OpenID Certified), pinned by `tests/provider/package-lock.json`. Testing the
//! library against a certified provider catches what a hand-written fake would agree with us on.
//!
//! ```ignore
//! let provider = TestProvider::start(json!({
//!     "clients": [TestProvider::web_client("app", "secret", &["http://127.0.0.1:3000/callback"], &[])],
//! }))
//! .await?;
//! // provider.issuer == "http://127.0.0.1:<ephemeral port>"
//! ```
//!
//! The configuration is the JSON object documented at the top of `server.mjs` (every field
//! optional): `port`, `clients`, `accessTokenTtl`, `idTokenTtl`, `refreshTokenTtl`,
//! `conformIdTokenClaims`, `extraScopes`, `deviceFlow`, `autoConsent`, `tokensExpireWithSession`,
//! `rotateRefreshTokens`, `verbose`.
//!

use std::io;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, ChildStdin, Command};

/// How long the provider may take to print its ready line.
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// How long `npm ci` may take.
const INSTALL_TIMEOUT: Duration = Duration::from_secs(300);
/// How much of the provider's stderr is kept for error messages.
const STDERR_KEPT: usize = 64 * 1024;

/// A running provider. Dropping it kills the Node process (and the process also exits by itself
/// when the test process dies, because its stdin closes).
pub struct TestProvider {
    /// `http://127.0.0.1:<port>`, without a trailing slash, exactly as in the ID tokens' `iss`.
    pub issuer: String,
    child: Child,
    stdin: Option<ChildStdin>,
    stderr: Arc<Mutex<String>>,
    http: reqwest::Client,
}

impl TestProvider {
    /// Starts a provider with `config` (see the module docs; `json!({})` gives the defaults:
    /// clients `test-client`/`test-secret` with redirect URI `http://127.0.0.1:3000/callback`,
    /// and the public device-flow client `test-device`).
    ///
    /// Installs the Node packages first if needed (once, even across concurrent test binaries).
    pub async fn start(config: Value) -> io::Result<TestProvider> {
        let dir = provider_dir();
        check_tool("node", &dir).await?;
        ensure_installed(&dir).await?;

        let mut child = Command::new("node")
            .arg("server.mjs")
            .current_dir(&dir)
            .env("PROVIDER_CONFIG", config.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| missing_or(e, "node", "could not start the test OpenID provider"))?;

        let stdin = child.stdin.take();
        let stderr = Arc::new(Mutex::new(String::new()));
        tokio::spawn(forward_stderr(
            child.stderr.take().expect("stderr is piped"),
            stderr.clone(),
        ));
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout is piped")).lines();
        let ready = ready_issuer(&mut stdout, READY_TIMEOUT, "test-provider").await;

        let issuer = match ready {
            Ok(Ok(Some(issuer))) => issuer,
            outcome => {
                let why = match outcome {
                    Err(_) => format!("it printed no ready line within {READY_TIMEOUT:?}"),
                    Ok(Err(e)) => format!("reading its stdout failed: {e}"),
                    _ => "it closed stdout without printing its ready line".to_owned(),
                };
                let _ = child.start_kill();
                let status = tokio::time::timeout(Duration::from_secs(5), child.wait()).await;
                // Give the stderr forwarder a moment to catch the last lines.
                tokio::time::sleep(Duration::from_millis(100)).await;
                let status = match status {
                    Ok(Ok(status)) => status.to_string(),
                    _ => "exit status unknown".to_owned(),
                };
                let captured = stderr.lock().unwrap().clone();
                return Err(io::Error::other(format!(
                    "the test OpenID provider ({}) did not start: {why}; {status}; \
                     its stderr:\n{captured}",
                    dir.join("server.mjs").display()
                )));
            }
        };

        // Keep draining stdout so the child never blocks on a full pipe.
        tokio::spawn(async move {
            while let Ok(Some(line)) = stdout.next_line().await {
                eprintln!("[test-provider stdout] {line}");
            }
        });

        Ok(TestProvider {
            issuer,
            child,
            stdin,
            stderr,
            http: reqwest::Client::new(),
        })
    }

    /// `issuer` + `path` (path starts with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.issuer, path)
    }

    /// The discovery document's URL.
    pub fn discovery_url(&self) -> String {
        self.url("/.well-known/openid-configuration")
    }

    /// The provider's port.
    pub fn port(&self) -> u16 {
        self.issuer
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("issuer has a port")
    }

    /// Everything the provider has written to stderr so far (it is also forwarded to the test's
    /// stderr as it comes).
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Request counts since start or the last [`reset_stats`](Self::reset_stats), e.g.
    /// `{"token":{"authorization_code":1,"refresh_token":0,...},"discovery":1,"jwks":1,
    /// "userinfo":0,"authorization":1,"end_session":0,"device_authorization":0,...}`.
    /// Lets tests prove what the library did or did not ask the provider (caching, refreshing).
    pub async fn stats(&self) -> Value {
        let response = self
            .http
            .get(self.url("/__stats"))
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET /__stats on the test provider failed: {e}"));
        assert!(
            response.status().is_success(),
            "GET /__stats: {}",
            response.status()
        );
        response.json().await.expect("/__stats returns JSON")
    }

    /// Zeroes the request counts.
    pub async fn reset_stats(&self) {
        self.post_hook("/__reset_stats").await;
    }

    /// Revokes every grant and token (refresh, access, codes) of subject `sub`, as when a user
    /// withdraws consent or an admin disables the account: a later refresh fails with
    /// `invalid_grant`. The provider's browser session is left alone.
    pub async fn revoke_all(&self, sub: &str) -> Value {
        let mut url = url::Url::parse(&self.url("/__revoke_all")).expect("valid URL");
        url.query_pairs_mut().append_pair("sub", sub);
        self.post_hook(url.as_str()).await
    }

    async fn post_hook(&self, path_or_url: &str) -> Value {
        let url = if path_or_url.starts_with('/') {
            self.url(path_or_url)
        } else {
            path_or_url.to_owned()
        };
        let response = self
            .http
            .post(&url)
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST {url} on the test provider failed: {e}"));
        assert!(
            response.status().is_success(),
            "POST {url}: {}",
            response.status()
        );
        response.json().await.expect("test hook returns JSON")
    }

    /// Stops the provider: closes its stdin (it exits by itself) and waits a little, then kills it.
    pub async fn stop(mut self) {
        drop(self.stdin.take());
        if tokio::time::timeout(Duration::from_secs(5), self.child.wait())
            .await
            .is_err()
        {
            let _ = self.child.kill().await;
        }
    }

    /// Metadata for a confidential web client (`client_secret_basic`, code flow, may refresh).
    pub fn web_client(
        client_id: &str,
        client_secret: &str,
        redirect_uris: &[&str],
        post_logout_redirect_uris: &[&str],
    ) -> Value {
        json!({
            "client_id": client_id,
            "client_secret": client_secret,
            "redirect_uris": redirect_uris,
            "post_logout_redirect_uris": post_logout_redirect_uris,
            "token_endpoint_auth_method": "client_secret_basic",
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
        })
    }

    /// Metadata for a public client using the device authorization flow (oidc-provider wants
    /// `token_endpoint_auth_method: none` there).
    pub fn device_client(client_id: &str) -> Value {
        json!({
            "client_id": client_id,
            "token_endpoint_auth_method": "none",
            "grant_types": ["urn:ietf:params:oauth:grant-type:device_code", "refresh_token"],
            "response_types": [],
        })
    }
}

/// Requests made to the token endpoint with `grant` (`"authorization_code"`, `"refresh_token"`,
/// `"urn:ietf:params:oauth:grant-type:device_code"`) according to a [`TestProvider::stats`] value.
pub fn token_requests(stats: &Value, grant: &str) -> u64 {
    stats["token"][grant].as_u64().unwrap_or(0)
}

/// Requests made to `endpoint` (`"discovery"`, `"jwks"`, `"userinfo"`, `"authorization"`,
/// `"end_session"`, `"device_authorization"`, `"introspection"`, `"revocation"`) according to a
/// [`TestProvider::stats`] value.
pub fn requests(stats: &Value, endpoint: &str) -> u64 {
    stats[endpoint].as_u64().unwrap_or(0)
}

/// `tests/provider` of the repository (the parent of this crate's directory), for the tests and
/// the examples alike.
pub fn provider_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the testkit lives inside the repository")
        .join("tests")
        .join("provider")
}

async fn forward_stderr(stderr: impl AsyncRead + Unpin, kept: Arc<Mutex<String>>) {
    let mut lines = BufReader::new(stderr).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        eprintln!("[test-provider] {line}");
        let mut kept = kept.lock().unwrap();
        if kept.len() < STDERR_KEPT {
            kept.push_str(&line);
            kept.push('\n');
        }
    }
}

/// Turns "not found" from spawning `tool` into an error that says what to install.
fn missing_or(error: io::Error, tool: &str, context: &str) -> io::Error {
    if error.kind() == io::ErrorKind::NotFound {
        io::Error::new(
            io::ErrorKind::NotFound,
            format!(
                "`{tool}` was not found on PATH. The tests' OpenID provider ({}) needs Node.js 20 \
                 or later with npm: install them (e.g. `apt-get install nodejs npm`), then run \
                 the tests again",
                provider_dir().display()
            ),
        )
    } else {
        io::Error::new(error.kind(), format!("{context}: {error}"))
    }
}

async fn check_tool(tool: &str, dir: &Path) -> io::Result<()> {
    let output = Command::new(tool)
        .arg("--version")
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .await
        .map_err(|e| missing_or(e, tool, &format!("could not run `{tool} --version`")))?;
    if !output.status.success() {
        return Err(io::Error::other(format!(
            "`{tool} --version` failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        )));
    }
    Ok(())
}

// ------------------------------------------------------------------------------------------------
// Installing the Node packages.
//
// `node_modules` is not committed. It is (re)installed with `npm ci` unless it was installed from
// the current package-lock.json (see `is_installed`). Inside one test binary a OnceCell makes the
// tests wait for one install; across binaries (cargo runs several at once) a lock directory,
// created atomically, makes the others wait for the one installing.

static INSTALLED: tokio::sync::OnceCell<Result<(), String>> = tokio::sync::OnceCell::const_new();

/// The issuer a provider process announces on its standard output as a JSON line
/// `{"issuer": ...}` once it listens; other lines are passed on to the test's output under
/// `label`. `Ok(None)` when the process closed its output first, `Err(_)` on the timeout.
pub(crate) async fn ready_issuer(
    stdout: &mut tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
    timeout: Duration,
    label: &str,
) -> Result<io::Result<Option<String>>, tokio::time::error::Elapsed> {
    tokio::time::timeout(timeout, async {
        while let Some(line) = stdout.next_line().await? {
            if let Ok(Value::Object(ready)) = serde_json::from_str::<Value>(&line)
                && let Some(Value::String(issuer)) = ready.get("issuer")
            {
                return Ok(Some(issuer.clone()));
            }
            eprintln!("[{label} stdout] {line}");
        }
        Ok(None)
    })
    .await
}

const MARKER: &str = "node_modules/.axum-identity-installed";
const LOCK_DIR: &str = ".install-lock";

async fn ensure_installed(dir: &Path) -> io::Result<()> {
    INSTALLED
        .get_or_init(|| async { install(dir).await.map_err(|e| e.to_string()) })
        .await
        .clone()
        .map_err(io::Error::other)
}

fn lockfile_hash(dir: &Path) -> io::Result<String> {
    let lock = std::fs::read(dir.join("package-lock.json")).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!(
                "cannot read {}: {e}",
                dir.join("package-lock.json").display()
            ),
        )
    })?;
    // FNV-1a: enough to notice that the lockfile changed.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in lock {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    Ok(format!("{hash:016x}"))
}

/// Installed by us for this lockfile (our marker), or by npm itself after the lockfile last
/// changed (`npm ci` in scripts or by hand writes `node_modules/.package-lock.json` at the end).
fn is_installed(dir: &Path, hash: &str) -> bool {
    if !dir
        .join("node_modules/oidc-provider/package.json")
        .is_file()
    {
        return false;
    }
    if std::fs::read_to_string(dir.join(MARKER)).is_ok_and(|m| m.trim() == hash) {
        return true;
    }
    let modified = |path: &str| {
        std::fs::metadata(dir.join(path))
            .and_then(|m| m.modified())
            .ok()
    };
    match (
        modified("node_modules/.package-lock.json"),
        modified("package-lock.json"),
    ) {
        (Some(installed), Some(locked)) => installed >= locked,
        _ => false,
    }
}

/// Removes the lock directory when dropped (also when the install panics or fails).
struct InstallLock(PathBuf);

impl Drop for InstallLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A lock left by a process that died: its pid is gone, or it is very old.
fn lock_is_stale(lock: &Path) -> bool {
    let age = std::fs::metadata(lock)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| SystemTime::now().duration_since(t).ok())
        .unwrap_or_default();
    if age > INSTALL_TIMEOUT + Duration::from_secs(60) {
        return true;
    }
    match std::fs::read_to_string(lock.join("pid")) {
        Ok(pid) => {
            let pid = pid.trim();
            !pid.is_empty() && Path::new("/proc").is_dir() && !Path::new("/proc").join(pid).exists()
        }
        // The owner writes its pid right after creating the directory.
        Err(_) => age > Duration::from_secs(30),
    }
}

async fn install(dir: &Path) -> io::Result<()> {
    let hash = lockfile_hash(dir)?;
    if is_installed(dir, &hash) {
        return Ok(());
    }

    let lock_path = dir.join(LOCK_DIR);
    let started = std::time::Instant::now();
    let _lock = loop {
        match std::fs::create_dir(&lock_path) {
            Ok(()) => {
                let lock = InstallLock(lock_path.clone());
                std::fs::write(lock_path.join("pid"), std::process::id().to_string())?;
                break lock;
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                if is_installed(dir, &hash) {
                    return Ok(());
                }
                if lock_is_stale(&lock_path) {
                    eprintln!(
                        "[test-provider] removing stale install lock {}",
                        lock_path.display()
                    );
                    let _ = std::fs::remove_dir_all(&lock_path);
                    continue;
                }
                if started.elapsed() > INSTALL_TIMEOUT {
                    return Err(io::Error::other(format!(
                        "timed out waiting for another process to install the test provider's \
                         packages (lock {})",
                        lock_path.display()
                    )));
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => {
                return Err(io::Error::new(
                    e.kind(),
                    format!("cannot create {}: {e}", lock_path.display()),
                ));
            }
        }
    };

    // Another process may have finished installing while we waited for the lock.
    if is_installed(dir, &hash) {
        return Ok(());
    }

    check_tool("npm", dir).await?;
    eprintln!(
        "[test-provider] installing Node packages: npm ci in {}",
        dir.display()
    );
    let child = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| missing_or(e, "npm", "could not run npm ci"))?;
    let output = tokio::time::timeout(INSTALL_TIMEOUT, child.wait_with_output())
        .await
        .map_err(|_| {
            io::Error::other(format!(
                "npm ci in {} took longer than {INSTALL_TIMEOUT:?}",
                dir.display()
            ))
        })??;
    if !output.status.success() {
        return Err(io::Error::other(format!(
            "npm ci in {} failed ({}):\n{}{}",
            dir.display(),
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )));
    }
    std::fs::write(dir.join(MARKER), &hash)?;
    Ok(())
}
