#!/usr/bin/env bash
# Packages the three published crates as crates.io would receive them and runs each packaged
# crate's own unit and documentation tests from its `.crate` file: a file missing from a
# package's `include` list (a test fixture, a guide the docs include, a snapshot) fails here,
# not after publishing. Offline; the packaged crates find each other through `[patch]`, as
# they will find each other on crates.io. Usage: bash scripts/package.sh
set -euo pipefail
cd "$(dirname "$0")/.."

crates=(axum-identity-macros axum-identity-runtime axum-identity)
version="$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)"
out="$PWD/target/package"

echo "== packaging ${crates[*]} $version"
# `--no-verify`: the tests below build each package from its unpacked `.crate`, which is what
# verifying would do, and more. `--allow-dirty`: this checks contents, it publishes nothing.
cargo package --quiet --no-verify --allow-dirty $(printf -- '-p %s ' "${crates[@]}")

patches=()
for crate in "${crates[@]}"; do
  dir="$out/$crate-$version"
  rm -rf "$dir"
  # `--touch`: the files' times are now, not the archive's, so that Cargo rebuilds a crate it
  # built from an earlier package at this path.
  tar -xzf "$out/$crate-$version.crate" -C "$out" --touch
  # Its own workspace: otherwise Cargo takes the repository's for this crate's.
  printf '\n[workspace]\n' >>"$dir/Cargo.toml"
  patches+=(--config "patch.crates-io.$crate.path=\"$dir\"")
  echo "-- $crate: $(tar -tzf "$out/$crate-$version.crate" | wc -l) files"
done

# The repository's profile (its dependencies without debug information), so the dependencies
# the test suite already built are reused instead of built again.
profile=(--config 'profile.dev.debug="line-tables-only"' --config 'profile.dev.package."*".debug=false')

status=0
run() {
  local crate="$1"
  shift
  echo "== $crate (packaged): cargo test $*"
  (cd "$out/$crate-$version" && cargo test --offline --quiet "${patches[@]}" "${profile[@]}" "$@") || {
    echo "error: the packaged $crate failed: cargo test $*" >&2
    status=1
  }
}
run axum-identity-macros --lib
# The macros' doctests use them the way users do, through the facade; the facade depends on
# the macros, so the packaged macros cannot list it (packaging one would wait for the other)
# and Cargo drops that path-only dev-dependency. Here it is given back, as the packaged
# facade, to check the packaged macros' documentation against it; the repository's lockfile
# pins what the facade brings.
macros="$out/axum-identity-macros-$version"
printf '\n[dev-dependencies.axum-identity]\nversion = "=%s"\n' "$version" >>"$macros/Cargo.toml"
cp Cargo.lock "$macros/Cargo.lock"
run axum-identity-macros --doc
# Every feature: the refresh locks' tests use Redis and PostgreSQL on loopback, as in the
# repository. The one test left out checks that ARCHITECTURE.md, a file of the repository and
# not of the crate, describes every folder.
run axum-identity-runtime --all-features --lib -- --skip import_rules::architecture_md_describes_every_folder
run axum-identity-runtime --all-features --doc
run axum-identity --all-features --lib
run axum-identity --all-features --doc

if [ "$status" -ne 0 ]; then
  echo "error: a packaged crate's tests failed (above)" >&2
fi
exit "$status"
