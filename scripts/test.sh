#!/usr/bin/env bash
# Runs every test of the workspace on a fresh machine: installs what the tests need (the
# oidc-provider npm packages from the committed lockfile), checks the services they use, then
# runs the test suites. Usage: bash scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."

need() {
  command -v "$1" >/dev/null 2>&1 || { echo "error: '$1' is required ($2)" >&2; exit 1; }
}
need cargo "the Rust toolchain"
need node "Node.js runs the real OpenID provider the tests sign in with"
need npm "npm installs that provider from tests/provider/package-lock.json"

echo "== installing the test OpenID provider (npm ci, from the lockfile)"
npm ci --prefix tests/provider --no-audit --no-fund --loglevel=error

echo "== installing the second test OpenID provider (django-oauth-toolkit, pinned by tests/provider-django/requirements.txt)"
need python3 "Python 3 runs the second OpenID provider of the tests (django-oauth-toolkit)"
django_dir=tests/provider-django
if ! cmp -s "$django_dir/requirements.txt" "$django_dir/.venv/installed-requirements.txt"; then
  if ! python3 -m venv "$django_dir/.venv" >/dev/null 2>&1; then
    # Debian's python3 has venv (and ensurepip) in a package of its own.
    if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ]; then
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
      python3 -m venv "$django_dir/.venv"
    else
      echo "error: 'python3 -m venv' failed; install Debian's python3-venv" >&2
      exit 1
    fi
  fi
  "$django_dir/.venv/bin/pip" install --quiet --disable-pip-version-check --no-deps --require-hashes \
    -r "$django_dir/requirements.txt"
  cp "$django_dir/requirements.txt" "$django_dir/.venv/installed-requirements.txt"
fi

echo "== installing the browser for tests/browser.rs (Debian's chromium and chromium-driver)"
if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "error: /usr/bin/chromium or /usr/bin/chromedriver is missing and there is no apt-get to install them" >&2
    echo "       (install Debian's packages 'chromium' and 'chromium-driver')" >&2
    exit 1
  fi
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    need sudo "installing chromium and chromium-driver as a non-root user"
    sudo="sudo"
  fi
  apt_log="$(mktemp)"
  if ! { $sudo apt-get update -qq \
      && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium chromium-driver; } \
      >"$apt_log" 2>&1; then
    cat "$apt_log" >&2
    echo "error: 'apt-get install chromium chromium-driver' failed (output above); the browser tests need them" >&2
    exit 1
  fi
  rm -f "$apt_log"
  for tool in /usr/bin/chromium /usr/bin/chromedriver; do
    [ -x "$tool" ] || { echo "error: $tool is still missing after installing chromium and chromium-driver" >&2; exit 1; }
  done
fi

echo "== installing OpenSSL's development files for the native-tls feature (Debian's libssl-dev)"
# `--all-features` includes `native-tls`, which builds against the system's OpenSSL.
if ! pkg-config --exists openssl 2>/dev/null; then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "error: OpenSSL's development files are missing and there is no apt-get to install them" >&2
    echo "       (install Debian's packages 'libssl-dev' and 'pkg-config')" >&2
    exit 1
  fi
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    need sudo "installing libssl-dev as a non-root user"
    sudo="sudo"
  fi
  apt_log="$(mktemp)"
  if ! { $sudo apt-get update -qq \
      && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq libssl-dev pkg-config; } \
      >"$apt_log" 2>&1; then
    cat "$apt_log" >&2
    echo "error: 'apt-get install libssl-dev pkg-config' failed (output above); the native-tls feature needs them" >&2
    exit 1
  fi
  rm -f "$apt_log"
fi

echo "== checking the services the tests use"
# Redis and PostgreSQL on loopback: the session-store, two-instance and refresh-lock tests use
# real servers. Say which is missing instead of failing somewhere in the middle.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
port_open 6379 || { echo "error: Redis is not listening on 127.0.0.1:6379 (install and start redis-server)" >&2; exit 1; }
port_open 5432 || { echo "error: PostgreSQL is not listening on 127.0.0.1:5432 (install and start it, with trust authentication for local connections, or set DATABASE_URL)" >&2; exit 1; }

echo "== running the tests"
# The integration tests mostly wait on sockets (the provider, the app, Redis, PostgreSQL): four
# at a time keep two cores busy (the suite takes a quarter less time than with one per core).
export RUST_TEST_THREADS="${RUST_TEST_THREADS:-4}"
# Every feature, so the Redis and PostgreSQL refresh locks are tested too.
# One cargo run builds everything before it runs anything (both cores busy to the end): the
# libraries, the test targets and the examples (as the programs users run, which
# tests/quickstart.rs starts), then runs the unit, integration and documentation tests.
status=0
mkdir -p target/tmp
cargo test --workspace --all-features --no-fail-fast 2>&1 | tee target/tmp/test.log || status=$?

echo "== checking the packages: each published crate's own tests, run from its .crate file"
bash scripts/package.sh || status=1

echo "== checking formatting, lints and documentation"
cargo fmt --all --check || status=1
cargo clippy --workspace --all-targets --all-features --quiet -- -D warnings || status=1
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --all-features --quiet \
  -p axum-identity -p axum-identity-runtime -p axum-identity-macros || status=1

# Every fuzz target for a bounded time (FUZZ_SECONDS each, default 20); the unit tests already
# ran each target on 200,000 generated inputs.
bash scripts/fuzz.sh || status=1

if [ "$status" -ne 0 ]; then
  echo "error: some of the checks above failed" >&2
fi
# The tests' tally, summed over every test binary and the doctests, as the last line.
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
     END { printf "tests: %d passed, %d failed\n", p, f }' target/tmp/test.log
exit "$status"
