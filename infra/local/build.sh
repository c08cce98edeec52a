#!/usr/bin/env bash
# Release build of the three Lambda functions with cargo lambda, the way `sam build` does it,
# and of the example handler (examples/http-forward), which a team deploys in the processor's
# place (README: Write your own handler).
#
#   infra/local/build.sh            arm64 when the aarch64 target is installed, else x86-64
#   HOOKLINE_ARCH=x86-64 infra/local/build.sh     force an architecture (arm64 | x86-64)
#
# Never downloads a Rust target (infra/arch.sh). Deploy with the matching template parameter
# (Architecture=arm64 or Architecture=x86_64); `make deploy` (infra/deploy.sh) does it all.
#
# Fails (exit 3) when a stripped binary is over HOOKLINE_MAX_BINARY_BYTES (default 7,000,000),
# and (exit 1) when a binary carries test-only code (infra/local/check_release.sh).
#
# Output: target/lambda/<function>/bootstrap and bootstrap.zip (zipped as Lambda expects:
# one executable file named bootstrap at the root), then each one's size and the build time.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
functions=(ingest processor reprocess http-forward)
max_binary_bytes=${HOOKLINE_MAX_BINARY_BYTES:-7000000}
[[ "$max_binary_bytes" =~ ^[0-9]+$ ]] || { echo "build: HOOKLINE_MAX_BINARY_BYTES must be a number of bytes" >&2; exit 2; }

[[ -x .venv/bin/cargo-lambda ]] || { echo "build: cargo-lambda not found; run 'make venv' first" >&2; exit 1; }
export PATH="$root/.venv/bin:$PATH"

# shellcheck source=../arch.sh
. infra/arch.sh

bin_args=()
for f in "${functions[@]}"; do bin_args+=(--bin "$f"); done

echo "build: cargo lambda build --release --$arch ${bin_args[*]}"
start=$(date +%s)
cargo lambda build --release "--$arch" --locked "${bin_args[@]}"
elapsed=$(( $(date +%s) - start ))

zip_bootstrap() {  # zip_bootstrap DIR: DIR/bootstrap -> DIR/bootstrap.zip
    rm -f "$1/bootstrap.zip"
    if command -v zip >/dev/null 2>&1; then
        (cd "$1" && zip -q -X -9 bootstrap.zip bootstrap)
    else
        python3 - "$1" <<'EOF'
import os, sys, zipfile
d = sys.argv[1]
info = zipfile.ZipInfo("bootstrap", date_time=(1980, 1, 1, 0, 0, 0))
info.external_attr = (0o100755 << 16)  # executable regular file
info.compress_type = zipfile.ZIP_DEFLATED
with open(os.path.join(d, "bootstrap"), "rb") as src, zipfile.ZipFile(os.path.join(d, "bootstrap.zip"), "w") as z:
    z.writestr(info, src.read(), compresslevel=9)
EOF
    fi
}

printf '\n%-12s %12s %12s  %s\n' function binary zip path
for f in "${functions[@]}"; do
    dir="target/lambda/$f"
    [[ -f "$dir/bootstrap" ]] || { echo "build: $dir/bootstrap was not produced" >&2; exit 1; }
    zip_bootstrap "$dir"
    printf '%-12s %12s %12s  %s\n' "$f" "$(stat -c %s "$dir/bootstrap")" "$(stat -c %s "$dir/bootstrap.zip")" "$dir/bootstrap.zip"
done
echo "(bytes)"
echo "build: $triple release build took ${elapsed}s; deploy with Architecture=$template_arch"

# The size budget (docs/performance.md, row c): a binary Lambda fetches and maps at every cold
# start. A change that pulls in a big dependency fails here, in CI, rather than in a benchmark
# nobody reran.
over=0
for f in "${functions[@]}"; do
    size=$(stat -c %s "target/lambda/$f/bootstrap")
    if ((size > max_binary_bytes)); then
        echo "build: $f is $size bytes, over the budget of $max_binary_bytes (HOOKLINE_MAX_BINARY_BYTES)" >&2
        over=1
    fi
done
((over == 0)) || exit 3
echo "build: every binary within the budget of $max_binary_bytes bytes"

# What is deployed carries no test-only code (fault injection, in-memory fakes).
bootstraps=()
for f in "${functions[@]}"; do bootstraps+=("target/lambda/$f/bootstrap"); done
infra/local/check_release.sh "${bootstraps[@]}"
