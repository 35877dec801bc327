#!/usr/bin/env bash
# Installs the Debian packages the test suite uses beyond the Rust toolchain and gcc. Called by
# test.sh. Idempotent: only missing packages are installed. Only root installs (apt-get); anyone
# else gets a loud note, and the tests that need a missing package skip with
# "SKIPPED: ... apt-get install -y <package>".
#
# One package per line, with the tests that need it. Add yours to the list.
set -euo pipefail

PACKAGES=(
    valgrind # tests/c_sanitizers.rs: every tests/c/*.c program under valgrind
    libasan8 # tests/c_sanitizers.rs: gcc's AddressSanitizer runtime (-fsanitize=address)
    pkg-config # the libpurple and glib tests find their libraries with it
    libpurple-dev # tests/purple_harness.rs, examples-c/purple: the libpurple 2.x prpl adapter
    libglib2.0-dev # the same, and `cargo test --features glib` (GMainContext dispatch)
    # tests/debian_packages.rs: dpkg-buildpackage and debian/control's Build-Depends
    debhelper # dh, debhelper-compat 13 (pulls in dpkg-dev)
    build-essential # dpkg-checkbuilddeps wants it for every package build
    libsqlite3-dev # msim-server links the system SQLite (rusqlite without "bundled")
    pidgin # tests/real_clients.rs: Debian's Pidgin with prpl-msim under Xvfb
    finch # tests/real_clients.rs: Debian's Finch with prpl-msim under tmux
    xvfb # tests/real_clients.rs: the X server Pidgin runs on (xvfb-run)
    xauth # xvfb-run needs it
    tmux # tests/real_clients.rs (Finch's terminal), examples-c/purple/finch-demo.sh
    imagemagick # tests/real_clients.rs: the Pidgin screenshot (import)
    x11-apps # tests/real_clients.rs: xwd, the screenshot's fallback
    microsocks # tests/client_proxy.rs; tests/real_clients.rs (Finch through the account's SOCKS5 proxy)
    tinyproxy # tests/client_proxy.rs (HTTP CONNECT)
    bitlbee-libpurple # tests/bitlbee.rs: BitlBee (IRC gateway on libpurple) running prpl-msim
)

missing=()
for p in "${PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done
if [ ${#missing[@]} -eq 0 ]; then
    echo "install-deps: all present (${PACKAGES[*]})"
    exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "install-deps: ************************************************************" >&2
    echo "install-deps: missing ${missing[*]}; not root (or no apt-get), so the tests" >&2
    echo "install-deps: that need them will be SKIPPED. Install with:" >&2
    echo "install-deps:     sudo apt-get install -y ${missing[*]}" >&2
    echo "install-deps: ************************************************************" >&2
    exit 0
fi
echo "install-deps: apt-get install -y ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq || echo "install-deps: apt-get update failed; trying the install anyway" >&2
# --no-install-recommends: the GUI clients recommend spell-checking dictionaries whose set-up
# scripts are slow and not needed here.
apt-get install -y -qq --no-install-recommends "${missing[@]}" || echo "install-deps: installing ${missing[*]} failed; those tests will skip" >&2
