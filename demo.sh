#!/usr/bin/env bash
# The demo (README's first command): builds libmsim and msim-server, starts the server with its
# demo accounts on a free loopback port, and runs examples-c/demo.c — a C program using the
# session API — in which alice and bob sign on, chat, type, zap and change status. Needs cargo and
# a C compiler; uses no network except 127.0.0.1. The server is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")"

echo "==> cargo build --release -p msim -p msim-server"
cargo build --release -p msim -p msim-server

lib="$PWD/target/release"
out="$lib/c-examples"
mkdir -p "$out"
cc=("${CC:-cc}" -std=c99 -Wall -Iinclude examples-c/demo.c -L"$lib" -lmsim -Wl,-rpath,"$lib" -o "$out/demo")
echo "==> ${cc[*]}"
"${cc[@]}"

log="$out/msim-server.log"
# Port 0: the kernel picks a free port; the server prints the address it got.
"$lib/msim-server" --demo --db :memory: --listen 127.0.0.1:0 >"$log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true' EXIT

addr=""
for _ in $(seq 100); do
    addr=$(sed -n 's/^msim-server listening on \(127\.0\.0\.1:[0-9]*\).*/\1/p' "$log")
    [ -n "$addr" ] && break
    if ! kill -0 "$server" 2>/dev/null; then
        cat "$log" >&2
        echo "demo: msim-server did not start" >&2
        exit 1
    fi
    sleep 0.1
done
if [ -z "$addr" ]; then
    cat "$log" >&2
    echo "demo: msim-server did not report its address" >&2
    exit 1
fi
echo "==> msim-server --demo on $addr (log: ${log#"$PWD"/})"
echo

if ! "$out/demo" "${addr%:*}" "${addr##*:}"; then
    echo "demo: failed; the server's log:" >&2
    cat "$log" >&2
    exit 1
fi
