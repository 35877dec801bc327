#!/usr/bin/env bash
# The project's test command (README "Tests"; CI runs it via .ci/run).
# Builds everything (which regenerates include/msim.h through build.rs), fails if the committed
# header is stale, then runs every test of the workspace (Rust unit/integration tests and the C
# programs under tests/c/, compiled and run by tests/*.rs).
set -euo pipefail
cd "$(dirname "$0")"

echo "==> scripts/install-deps.sh (Debian packages some tests need)"
scripts/install-deps.sh

echo "==> cargo build --workspace --all-targets"
cargo build --workspace --all-targets

echo "==> include/msim.h is up to date"
if ! git diff --exit-code -- include/msim.h; then
    echo >&2
    echo "error: include/msim.h changed when it was regenerated from src/ffi/ (diff above)." >&2
    echo "       The committed header is stale: build, review the diff, and commit include/msim.h." >&2
    exit 1
fi

echo "==> cargo test --workspace"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
cargo test --workspace 2>&1 | tee "$log"

# One closing line for the whole run, summed over every test binary.
passed=$(grep -Eo '^test result: [a-zA-Z]+\. [0-9]+ passed' "$log" | awk '{s+=$4} END {print s+0}')
failed=$(grep -Eo '[0-9]+ failed' "$log" | awk '{s+=$1} END {print s+0}')
echo
echo "summary: ${passed} passed, ${failed} failed"
