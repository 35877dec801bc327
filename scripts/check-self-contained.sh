#!/usr/bin/env bash
# Fails when a tracked file outside the documentation reads ../shared (issue 13).
#
# ../shared is the developers' reference (SPEC.md, STYLE.md, the protocol samples), not a build
# input: a clone must build and pass its tests, benches and fuzz seeding without it. The samples
# those need are copied into tests/data/ (tests/data/README.md says from where). Markdown files and
# comment lines (starting with //, #, * or /*) may cite ../shared as the reference; any other line
# of a tracked file may not name it.
set -euo pipefail
cd "$(dirname "$0")/.."

pattern='\.\./shared|shared/protocol|MSIM_SHARED|"shared", *"protocol"'
if git grep -n -I -E "$pattern" -- ':!*.md' ':!scripts/check-self-contained.sh' \
    | grep -v -E '^[^:]+:[0-9]+:[[:space:]]*(//|#|\*|/\*)'; then
    echo "error: the lines above read ../shared; copy what they need into tests/data/ instead" >&2
    exit 1
fi
echo "self-contained: no build, test, bench or fuzz input outside the repository"
