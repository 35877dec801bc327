#!/usr/bin/env bash
# Bounded fuzzing run for CI: every target for SECONDS_PER_TARGET seconds (default 20).
#
#   fuzz/run.sh [SECONDS_PER_TARGET]
#
# Installs cargo-fuzz if missing, seeds the corpora (fuzz/seed.py), builds all targets once, runs
# each one, and prints one line per target with the executions reached. Exits non-zero if any
# target crashes, fails an invariant, times out on one input or runs out of memory; the input is
# left in fuzz/artifacts/<target>/ and the libFuzzer log in fuzz/logs/<target>.log.
#
# Environment:
#   FUZZ_TARGETS    space-separated targets to run (default: all of `cargo fuzz list`)
#   FUZZ_SANITIZER  cargo-fuzz sanitizer (default: none; `address` is ~10x slower and protocol/ has
#                   no unsafe code, see README.md)
#   FUZZ_JOBS       libFuzzer -fork=N workers per target (default: 1, no fork)
#
# cargo-fuzz needs nightly-only rustc flags; on the stable toolchain RUSTC_BOOTSTRAP=1 allows them.
set -euo pipefail

SECS="${1:-20}"
case "$SECS" in '' | *[!0-9]*) echo "usage: $0 [SECONDS_PER_TARGET]" >&2; exit 2 ;; esac
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$HERE"
export RUSTC_BOOTSTRAP=1
SAN="${FUZZ_SANITIZER:-none}"
JOBS="${FUZZ_JOBS:-1}"

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz: installing cargo-fuzz" >&2
    cargo install cargo-fuzz --locked >&2
fi

python3 "$HERE/seed.py"

TARGETS="${FUZZ_TARGETS:-$(cargo fuzz list)}"
echo "fuzz: building ($SAN sanitizer)" >&2
cargo fuzz build --sanitizer "$SAN" >&2

mkdir -p "$HERE/logs"
failed=0
total=0
for t in $TARGETS; do
    log="$HERE/logs/$t.log"
    mkdir -p "$HERE/corpus/$t"
    args=(-max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1)
    if [ "$JOBS" -gt 1 ]; then args+=(-fork="$JOBS" -ignore_crashes=0); fi
    set +e
    cargo fuzz run --sanitizer "$SAN" "$t" "$HERE/corpus/$t" -- "${args[@]}" >"$log" 2>&1
    rc=$?
    set -e
    # libFuzzer ends with `#N DONE ...` and, with -print_final_stats, `stat::number_of_executed_units: N`.
    execs="$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$log" | tail -n1)"
    [ -n "$execs" ] || execs="$(sed -n 's/^#\([0-9]*\)[[:space:]]*DONE.*/\1/p' "$log" | tail -n1)"
    # -fork mode prints neither; its progress lines are `#N: cov: …`.
    [ -n "$execs" ] || execs="$(sed -n 's/^#\([0-9]*\): cov:.*/\1/p' "$log" | tail -n1)"
    [ -n "$execs" ] || execs=0
    total=$((total + 1))
    if [ "$rc" -eq 0 ]; then
        printf 'fuzz %-16s ok      %10s execs in %ss (%s/s)\n' "$t" "$execs" "$SECS" "$((execs / (SECS > 0 ? SECS : 1)))"
    else
        failed=$((failed + 1))
        printf 'fuzz %-16s FAILED  %10s execs (exit %s); log: %s\n' "$t" "$execs" "$rc" "$log"
        grep -E -A1 "panicked at|^Failing input" "$log" | grep -v "^--$" | head -n 8 | sed "s|^|    |"
        grep -E "ERROR: libFuzzer|Test unit written" "$log" | head -n 4 | sed 's/^/    /'
    fi
done
echo "fuzz: $((total - failed)) passed, $failed failed"
[ "$failed" -eq 0 ]
