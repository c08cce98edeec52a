#!/usr/bin/env bash
# Short coverage-guided fuzzing of Hookline's parsers and verifiers, on the stable toolchain
# (see fuzz/README.md for why `-s none`). Installs cargo-fuzz (pinned) into .tools/ if it is
# missing, writes seed inputs from events/ into fuzz/seeds/, then runs every target for
# FUZZ_SECONDS (default 20) each. Stops at the first crash; libFuzzer saves the input under
# fuzz/artifacts/<target>/ and prints how to reproduce it.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
CARGO_FUZZ_VERSION=0.13.2
SECONDS_PER_TARGET=${FUZZ_SECONDS:-20}
CARGO_FUZZ=$ROOT/.tools/bin/cargo-fuzz
TARGETS=(
  verify_standard_webhooks verify_stripe verify_github verify_shopify verify_slack verify_hmac_sha256
  envelope_from_json sources_from_json intake_decide json_body
)
if [ $# -gt 0 ]; then TARGETS=("$@"); fi

if [ "$("$CARGO_FUZZ" --version 2>/dev/null || true)" != "cargo-fuzz $CARGO_FUZZ_VERSION" ]; then
  cargo install --locked --root "$ROOT/.tools" cargo-fuzz --version "$CARGO_FUZZ_VERSION"
fi

# Seeds: the signed samples as `headers, empty line, body` (intake's with `METHOD source`
# first), the processor's sample envelopes, and the local sources document.
python3 - <<'PY'
import base64, glob, json, os, shutil

seeds = "fuzz/seeds"
shutil.rmtree(seeds, ignore_errors=True)
verify_targets = {
    "acme": "verify_standard_webhooks", "stripe": "verify_stripe", "github": "verify_github",
    "shopify": "verify_shopify", "slack": "verify_slack", "partner": "verify_hmac_sha256",
}
def write(target, name, data):
    os.makedirs(f"{seeds}/{target}", exist_ok=True)
    with open(f"{seeds}/{target}/{name}", "wb") as f:
        f.write(data)
for path in sorted(glob.glob("events/ingest/*.json")):
    event = json.load(open(path))
    if "requestContext" not in event:
        continue
    body = event.get("body") or ""
    body = base64.b64decode(body) if event.get("isBase64Encoded") else body.encode()
    head = b"".join(f"{k}: {v}\n".encode() for k, v in event.get("headers", {}).items())
    name = os.path.basename(path)[:-5]
    source = (event.get("pathParameters") or {}).get("source", "")
    method = event["requestContext"]["http"]["method"]
    write("intake_decide", name, f"{method} {source}\n".encode() + head + b"\n" + body)
    write("json_body", name, body)
    if source in verify_targets:
        write(verify_targets[source], name, head + b"\n" + body)
batch = json.load(open("events/processor/good-batch.json"))
for i, record in enumerate(batch["Records"]):
    write("envelope_from_json", f"record-{i}", record["body"].encode())
write("sources_from_json", "local", open("infra/local/sources.json", "rb").read())
PY

cd fuzz
"$CARGO_FUZZ" build -s none
for target in "${TARGETS[@]}"; do
  echo "== $target (${SECONDS_PER_TARGET}s)"
  mkdir -p "corpus/$target" "seeds/$target"
  log=$(mktemp)
  status=0
  "$CARGO_FUZZ" run -s none "$target" "corpus/$target" "seeds/$target" -- \
    -max_total_time="$SECONDS_PER_TARGET" -print_final_stats=1 >"$log" 2>&1 || status=$?
  grep -E '^(INFO: seed corpus|#[0-9]+[[:space:]]+(INITED|DONE)|stat::(number_of_executed_units|average_exec_per_sec|new_units_added|peak_rss_mb))' "$log" || true
  if [ "$status" -ne 0 ]; then
    tail -40 "$log"
    echo "fuzz target $target failed (exit $status): the input is under fuzz/artifacts/$target/" >&2
    exit 1
  fi
  rm -f "$log"
done
