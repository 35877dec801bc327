#!/usr/bin/env bash
# Prints a pkg-config file for libmsim.
#
#   scripts/msim-pc.sh > target/release/msim.pc        # the build tree: include/ and target/release
#   PKG_CONFIG_PATH=target/release pkg-config --cflags --libs msim
#   scripts/msim-pc.sh --libdir DIR                    # the build tree with another library directory
#
#   scripts/msim-pc.sh --prefix PREFIX [--libdir DIR] [--includedir DIR]
#                                                      # an installation, as `make install` writes it
#
# An installation has cargo-c's layout: PREFIX/include/msim/msim.h (Cflags -I${includedir}/msim,
# so both `#include "msim.h"` and `#include <msim/msim.h>` work) and the library in libdir
# (default PREFIX/lib). Libs.private lists what the static libmsim.a needs besides itself
# (`pkg-config --static`): Rust's standard library's system libraries, asked of rustc.
#
# For the build tree, Libs carries an rpath to the library directory, so programs run without
# LD_LIBRARY_PATH; an installed library is found the usual way and gets none.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$root/Cargo.toml" | head -n 1)
description=$(sed -n 's/^description = "\(.*\)"/\1/p' "$root/Cargo.toml" | head -n 1)

prefix="" libdir="" includedir=""
while [ $# -gt 0 ]; do
    case "$1" in
        --prefix) prefix=${2:?--prefix needs a directory}; shift 2 ;;
        --libdir) libdir=${2:?--libdir needs a directory}; shift 2 ;;
        --includedir) includedir=${2:?--includedir needs a directory}; shift 2 ;;
        *) echo "usage: $0 [--libdir DIR] | --prefix DIR [--libdir DIR] [--includedir DIR]" >&2; exit 2 ;;
    esac
done

# A directory under PREFIX is written relative to ${prefix}, as pkg-config files usually are, so
# that `pkg-config --define-variable=prefix=…` relocates it.
under_prefix() {
    case "$1" in
        "$prefix") echo '${prefix}' ;;
        "$prefix"/*) echo "\${prefix}${1#"$prefix"}" ;;
        *) echo "$1" ;;
    esac
}

if [ -n "$prefix" ]; then
    # What a static link needs beyond libmsim.a, e.g. "-lgcc_s -lutil -lrt -lpthread -lm -ldl -lc".
    # Into a scratch directory, never `-o /dev/null`: rustc writes a temporary file and renames it
    # onto its output, which as root replaces the /dev/null device with a regular file.
    probe=$(mktemp -d)
    private=$(cd "$probe" && "${RUSTC:-rustc}" --crate-type staticlib --crate-name msim_pc_probe \
        --print native-static-libs -o "$probe/probe.a" - </dev/null 2>&1 | sed -n 's/.*native-static-libs: //p' || true)
    rm -rf "$probe"
    cat <<PC
prefix=$prefix
exec_prefix=\${prefix}
libdir=$(under_prefix "${libdir:-$prefix/lib}")
includedir=$(under_prefix "${includedir:-$prefix/include}")

Name: msim
Description: $description
Version: $version
Libs: -L\${libdir} -lmsim
Libs.private: ${private:--lgcc_s -lutil -lrt -lpthread -lm -ldl -lc}
Cflags: -I\${includedir}/msim
PC
else
    cat <<PC
includedir=$root/include
libdir=${libdir:-$root/target/release}

Name: msim
Description: $description (build tree)
Version: $version
Cflags: -I\${includedir}
Libs: -L\${libdir} -lmsim -Wl,-rpath,\${libdir}
PC
fi
