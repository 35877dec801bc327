#!/usr/bin/env bash
# Prints a pkg-config file for libmsim (README "Building against libmsim").
#
#   scripts/msim-pc.sh > target/release/msim.pc        # the build tree: include/ and target/release
#   PKG_CONFIG_PATH=target/release pkg-config --cflags --libs msim
#
#   scripts/msim-pc.sh --prefix /usr/local             # an installation: PREFIX/include, PREFIX/lib
#   scripts/msim-pc.sh --libdir DIR                    # the build tree with another library directory
#
# For the build tree, Libs carries an rpath to the library directory, so programs run without
# LD_LIBRARY_PATH; an installed library is found the usual way and gets none.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$root/Cargo.toml" | head -n 1)

prefix="" libdir="$root/target/release"
while [ $# -gt 0 ]; do
    case "$1" in
        --prefix) prefix=${2:?--prefix needs a directory}; shift 2 ;;
        --libdir) libdir=${2:?--libdir needs a directory}; shift 2 ;;
        *) echo "usage: $0 [--prefix DIR | --libdir DIR]" >&2; exit 2 ;;
    esac
done

if [ -n "$prefix" ]; then
    cat <<PC
prefix=$prefix
includedir=\${prefix}/include
libdir=\${prefix}/lib

Name: msim
Description: MySpaceIM (MSIM) protocol library
Version: $version
Cflags: -I\${includedir}
Libs: -L\${libdir} -lmsim
PC
else
    cat <<PC
includedir=$root/include
libdir=$libdir

Name: msim
Description: MySpaceIM (MSIM) protocol library (build tree)
Version: $version
Cflags: -I\${includedir}
Libs: -L\${libdir} -lmsim -Wl,-rpath,\${libdir}
PC
fi
