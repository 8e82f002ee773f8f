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

echo "== running the tests"
cargo test --workspace --all-targets
cargo test --workspace --doc
