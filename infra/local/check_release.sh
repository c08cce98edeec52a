#!/usr/bin/env bash
# Checks that built function binaries carry no test-only code: neither the processor's payload-
# marker fault injection (cargo feature `fault-injection`) nor the ports' in-memory fakes
# (feature `fakes`).
#
#   infra/local/check_release.sh BINARY...      exit 0: all clean; 1: test-only code found
#
# Two checks, because each catches what the other cannot see:
# - the dependency graph of the release functions (normal and build edges, as `cargo lambda
#   build --bin ...` and `sam build` resolve it) must not enable either feature;
# - each binary must not contain the fault-injection marker `hookline_fault`, the one string only
#   that code holds (a binary built with the feature, e.g. target/debug/processor after `cargo
#   build --workspace`, does: `make test` checks that as the control).
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
(($# > 0)) || { echo "usage: check_release.sh BINARY..." >&2; exit 2; }

found=0
features=$(cd "$root" && cargo tree --locked --offline -e normal,build,features \
    -p hookline-ingest -p hookline-processor -p hookline-reprocess -p hookline-example-http-forward \
    | grep -oE 'hookline-[a-z]+ feature "(fakes|fault-injection)"' | sort -u || true)
if [[ -n "$features" ]]; then
    echo "check_release: the release functions' dependency graph enables test-only features:" >&2
    echo "$features" | sed 's/^/check_release:   /' >&2
    found=1
fi
for binary in "$@"; do
    [[ -f "$binary" ]] || { echo "check_release: $binary does not exist" >&2; exit 2; }
    if grep -q -a -F hookline_fault "$binary"; then
        echo "check_release: $binary contains the fault-injection code (built with feature fault-injection)" >&2
        found=1
    fi
done
((found == 0)) || exit 1
echo "check_release: $# binaries without test-only code; no test-only feature in the release graph"
