#!/usr/bin/env bash
# `make bench`: the in-process micro-benchmarks (criterion), one table of the ratios measured
# in this run against their targets, then the process-level benchmarks (infra/bench/process.py)
# when that file exists. The exit status is process.py's when it runs, else the table's.
#
# Environment:
#   BENCH_CRITERION_ARGS  criterion options (default: 1 s warm-up, 3 s measurement per bench,
#                         which keeps the micro part at about 2-3 minutes once built)
#   BENCH_SKIP_MICRO=1    only the process-level part
#   BENCH_STRICT=1        the micro table exits 1 when a row misses its target
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"

# Symbols in the bench binaries, for profilers (callgrind, perf). Stripping happens after code
# generation, so the measured code is the release profile's (opt-level 3, fat LTO, 1 CGU).
export CARGO_PROFILE_BENCH_STRIP="${CARGO_PROFILE_BENCH_STRIP:-false}"

python="python3"
[[ -x .venv/bin/python ]] && python=".venv/bin/python"

micro_status=0
if [[ "${BENCH_SKIP_MICRO:-0}" != 1 ]]; then
    target_dir="${CARGO_TARGET_DIR:-$root/target}"
    criterion_args=(${BENCH_CRITERION_ARGS:---warm-up-time 1 --measurement-time 3})
    marker="$(mktemp)"
    trap 'rm -f "$marker"' EXIT
    # The benches allocate as the deployed functions do: with the MALLOC_*_THRESHOLD_ of the
    # template's Globals (large webhooks are several MiB of short-lived allocations).
    while read -r assignment; do
        export "${assignment?}"
        echo "bench: $assignment (template.yaml Globals)"
    done < <("$python" -c 'import sys; sys.path.insert(0, "infra/local")
from pathlib import Path
from provision import load_template
variables = load_template(Path("template.yaml"))["Globals"]["Function"]["Environment"]["Variables"]
print("\n".join(f"{k}={v}" for k, v in variables.items() if k.startswith("MALLOC_")))')
    started=$SECONDS
    cargo bench --locked -p hookline-ingest -p hookline-processor --bench ingest_request --bench batch \
        -- "${criterion_args[@]}"
    echo
    echo "== micro-benchmarks: ratios of this run ($((SECONDS - started)) s, means of criterion estimates)"
    strict=()
    [[ "${BENCH_STRICT:-0}" == 1 ]] && strict=(--strict)
    "$python" infra/bench/micro_table.py --criterion-dir "$target_dir/criterion" --since "$marker" \
        "${strict[@]}" || micro_status=$?
fi

if [[ -f infra/bench/process.py ]]; then
    echo
    echo "== process-level benchmarks (infra/bench/process.py)"
    set +e
    .venv/bin/python infra/bench/process.py "$@"
    status=$?
    set -e
    exit "$status"
fi
exit "$micro_status"
