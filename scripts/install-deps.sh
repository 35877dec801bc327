#!/usr/bin/env bash
# Installs what the libpurple tests need (tests/purple_harness.rs, examples-c/purple): Debian's
# libpurple-dev and libglib2.0-dev. Idempotent: does nothing when `pkg-config --exists purple`
# already succeeds. Only root installs (apt-get); anyone else gets a loud note, and those tests
# then skip with "SKIPPED: libpurple-dev not installed".
set -euo pipefail

PACKAGES="libpurple-dev libglib2.0-dev pkg-config"

if command -v pkg-config >/dev/null 2>&1 && pkg-config --exists purple glib-2.0; then
    echo "install-deps: libpurple $(pkg-config --modversion purple) present"
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: ************************************************************" >&2
    echo "install-deps: libpurple-dev is missing and we are not root: the libpurple" >&2
    echo "install-deps: tests will be SKIPPED. Install it with:" >&2
    echo "install-deps:     sudo apt-get install -y ${PACKAGES}" >&2
    echo "install-deps: ************************************************************" >&2
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-deps: no apt-get here; install ${PACKAGES} (or your system's equivalents) by hand" >&2
    exit 0
fi
echo "install-deps: apt-get install ${PACKAGES}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq ${PACKAGES}
if pkg-config --exists purple glib-2.0; then
    echo "install-deps: libpurple $(pkg-config --modversion purple) installed"
else
    echo "install-deps: installed ${PACKAGES}, but pkg-config still cannot find purple/glib-2.0" >&2
fi
