#!/usr/bin/env bash
# Runs every fuzz target in fuzz/fuzz_targets with libFuzzer for a bounded time each
# (FUZZ_SECONDS, default 20). Installs cargo-fuzz (pinned) under target/tools when missing.
# cargo-fuzz needs unstable compiler flags; RUSTC_BOOTSTRAP=1 lets the stable toolchain pass
# them. No sanitizer (`-s none`): the crates have no unsafe code (`unsafe_code = "forbid"`), so
# what the fuzzer hunts is a panic, and the build is minutes shorter.
# Usage: bash scripts/fuzz.sh [target ...]
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_FUZZ_VERSION=0.13.2
seconds="${FUZZ_SECONDS:-20}"
tools="$PWD/target/tools"
if [ "$("$tools/bin/cargo-fuzz" --version 2>/dev/null)" != "cargo-fuzz $CARGO_FUZZ_VERSION" ]; then
  echo "== installing cargo-fuzz $CARGO_FUZZ_VERSION under target/tools"
  cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked --root "$tools" --quiet
fi

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for file in fuzz/fuzz_targets/*.rs; do
    targets+=("$(basename "$file" .rs)")
  done
fi

log_dir="$PWD/target/tmp"
mkdir -p "$log_dir"
cd fuzz
export RUSTC_BOOTSTRAP=1
"$tools/bin/cargo-fuzz" build -s none
for target in "${targets[@]}"; do
  echo "== fuzzing $target for ${seconds} s"
  # The corpus and any crashing input stay under fuzz/ (ignored by git); a crash fails the run
  # and the log's end names the input.
  log="$log_dir/fuzz-$target.log"
  if ! "$tools/bin/cargo-fuzz" run -s none "$target" -- -max_total_time="$seconds" >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    echo "error: fuzz target $target failed (the end of its log is above; all of it: $log)" >&2
    exit 1
  fi
  grep -E "^Done [0-9]+ runs" "$log" || tail -n 3 "$log"
done
