//! The tests' second OpenID provider: django-oauth-toolkit (`tests/provider-django/server.py`),
//! an implementation independent of [`provider`](crate::provider)'s oidc-provider, pinned by
//! `tests/provider-django/requirements.txt` and installed into `tests/provider-django/.venv`
//! (by `scripts/test.sh`, or here on first use).
//!
//! Its habits differ from oidc-provider's where real providers differ: revocation and
//! introspection only in its RFC 8414 metadata, opaque access tokens, thin ID tokens, one grant
//! type per client, each client held to the one authentication method it is registered for.
//!
//! ```ignore
//! let provider = DjangoProvider::start(json!({
//!     "clients": [DjangoProvider::web_client("app", "secret", "client_secret_post", &slot)],
//!     "scopes": ["api.read"],
//! }))
//! .await?;
//! ```

use std::io;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};

use crate::app::Slot;

/// How long the provider may take to print its ready line (it migrates its database first).
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// A running django-oauth-toolkit provider on 127.0.0.1. Dropping it kills the process (which
/// also exits by itself when its stdin closes).
pub struct DjangoProvider {
    /// `http://127.0.0.1:<port>`, as in its tokens' `iss`.
    pub issuer: String,
    _child: Child,
    _stdin: Option<ChildStdin>,
}

impl DjangoProvider {
    /// Starts a provider with `config` (the JSON object documented in `server.py`).
    pub async fn start(config: Value) -> io::Result<DjangoProvider> {
        let dir = django_dir();
        ensure_installed(&dir).await?;
        let mut child = Command::new(dir.join(".venv/bin/python"))
            .arg("server.py")
            .current_dir(&dir)
            .env("PROVIDER_CONFIG", config.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()?;
        let stdin = child.stdin.take();
        let mut stderr = BufReader::new(child.stderr.take().expect("stderr is piped")).lines();
        tokio::spawn(async move {
            while let Ok(Some(line)) = stderr.next_line().await {
                eprintln!("[django-provider] {line}");
            }
        });
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout is piped")).lines();
        let ready =
            crate::provider::ready_issuer(&mut stdout, READY_TIMEOUT, "django-provider").await;
        let issuer = match ready {
            Ok(Ok(Some(issuer))) => issuer,
            other => {
                let _ = child.start_kill();
                return Err(io::Error::other(format!(
                    "the Django test provider ({}) did not start: {other:?} (its stderr is above)",
                    dir.join("server.py").display()
                )));
            }
        };
        tokio::spawn(async move {
            while let Ok(Some(line)) = stdout.next_line().await {
                eprintln!("[django-provider stdout] {line}");
            }
        });
        Ok(DjangoProvider {
            issuer,
            _child: child,
            _stdin: stdin,
        })
    }

    /// `issuer` + `path` (path starts with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.issuer, path)
    }

    /// A confidential web client of `slot` (its redirect and post-logout URIs), code flow with
    /// refresh, that may authenticate only with `auth_method`.
    pub fn web_client(id: &str, secret: &str, auth_method: &str, slot: &Slot) -> Value {
        json!({
            "client_id": id,
            "client_secret": secret,
            "redirect_uris": [slot.redirect_uri()],
            "post_logout_redirect_uris": [slot.post_logout_uri()],
            "auth_method": auth_method,
        })
    }

    /// A public client of `slot` (no secret: PKCE alone protects its code).
    pub fn public_client(id: &str, slot: &Slot) -> Value {
        json!({
            "client_id": id,
            "public": true,
            "redirect_uris": [slot.redirect_uri()],
            "post_logout_redirect_uris": [slot.post_logout_uri()],
        })
    }

    /// A confidential client for the client-credentials grant (a daemon, or a web API that
    /// introspects tokens with its credentials).
    pub fn service_client(id: &str, secret: &str) -> Value {
        json!({
            "client_id": id,
            "client_secret": secret,
            "grant": "client-credentials",
            "auth_method": "client_secret_basic",
        })
    }

    /// Asks the provider about `token` (RFC 7662) as the confidential client `id`.
    pub async fn introspect(&self, id: &str, secret: &str, token: &str) -> Value {
        reqwest::Client::new()
            .post(self.url("/introspect/"))
            .basic_auth(id, Some(secret))
            .form(&[("token", token)])
            .send()
            .await
            .expect("introspection answers")
            .json()
            .await
            .expect("introspection answers JSON")
    }
}

/// `tests/provider-django` of the repository.
pub fn django_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the testkit lives inside the repository")
        .join("tests")
        .join("provider-django")
}

/// One install per test binary; `scripts/test.sh` installs it before the tests run.
static INSTALLED: tokio::sync::OnceCell<Result<(), String>> = tokio::sync::OnceCell::const_new();

/// Installs the pinned packages into `.venv` unless the installed ones are those of the current
/// `requirements.txt` (a copy of it is kept in `.venv` as the marker).
async fn ensure_installed(dir: &Path) -> io::Result<()> {
    INSTALLED
        .get_or_init(|| async { install(dir).await.map_err(|e| e.to_string()) })
        .await
        .clone()
        .map_err(io::Error::other)
}

async fn install(dir: &Path) -> io::Result<()> {
    let requirements = std::fs::read(dir.join("requirements.txt"))?;
    let marker = dir.join(".venv/installed-requirements.txt");
    if std::fs::read(&marker).ok().as_deref() == Some(&requirements[..]) {
        return Ok(());
    }
    let run = |program: PathBuf, args: &'static [&'static str]| {
        let dir = dir.to_owned();
        async move {
            let output = Command::new(&program)
                .args(args)
                .current_dir(&dir)
                .output()
                .await
                .map_err(|e| io::Error::other(format!("{}: {e}", program.display())))?;
            if output.status.success() {
                Ok(())
            } else {
                Err(io::Error::other(format!(
                    "`{} {}` failed in {} (on Debian, `apt-get install python3-venv`): {}",
                    program.display(),
                    args.join(" "),
                    dir.display(),
                    String::from_utf8_lossy(&output.stderr)
                )))
            }
        }
    };
    run("python3".into(), &["-m", "venv", ".venv"]).await?;
    run(
        dir.join(".venv/bin/pip"),
        &[
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-deps",
            "--require-hashes",
            "-r",
            "requirements.txt",
        ],
    )
    .await?;
    std::fs::write(marker, requirements)
}
