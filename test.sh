#!/usr/bin/env bash
# The project's test command (README "Tests"; CI runs it via .ci/run).
# Builds everything (which regenerates include/msim.h through build.rs), fails if the committed
# header is stale, then runs every test of the workspace (Rust unit/integration tests and the C
# programs under tests/c/, compiled and run by tests/*.rs).
set -euo pipefail
cd "$(dirname "$0")"

echo "==> the repository is self-contained (scripts/check-self-contained.sh)"
scripts/check-self-contained.sh

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

echo "==> cargo doc: no warnings"
RUSTDOCFLAGS=-Dwarnings cargo doc --no-deps --workspace

echo "==> cargo test --workspace"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# Every test binary runs even when one fails (--no-fail-fast), so one CI run reports every
# failure; the exit status is decided at the end.
status=0
cargo test --workspace --no-fail-fast 2>&1 | tee "$log" || status=1

echo "==> secrets in the release profile (users ship release builds; an optimised build once kept a password copy that debug did not)"
cargo test --release --test secrets 2>&1 | tee -a "$log" || status=1

echo "==> GMainContext dispatch (cargo feature glib)"
if pkg-config --exists glib-2.0 2>/dev/null; then
    cargo test --features glib --test client_glib 2>&1 | tee -a "$log" || status=1
else
    echo "SKIPPED: the glib feature test needs libglib2.0-dev (apt-get install -y libglib2.0-dev)" | tee -a "$log"
fi

echo "==> fuzzing, a bounded run of every target (fuzz/README.md says how to run for hours)"
fuzz/run.sh "${MSIM_FUZZ_SECONDS:-20}" 2>&1 | tee -a "$log" || status=1

# One closing line for the whole run, summed over every test binary.
passed=$(grep -Eo '^test result: [a-zA-Z]+\. [0-9]+ passed' "$log" | awk '{s+=$4} END {print s+0}')
fuzz_passed=$(grep -Eo '^fuzz: [0-9]+ passed' "$log" | awk '{s+=$2} END {print s+0}')
passed=$((passed + fuzz_passed))
failed=$(grep -Eo '[0-9]+ failed' "$log" | awk '{s+=$1} END {print s+0}')
echo
echo "summary: ${passed} passed, ${failed} failed"
if [ "$status" -ne 0 ] || [ "$failed" -ne 0 ]; then
    echo "test.sh: FAILED (a step above failed; search this log for 'FAILED', 'panicked' or 'error')" >&2
    exit 1
fi
