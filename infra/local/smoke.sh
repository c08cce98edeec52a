#!/usr/bin/env bash
# Sends one signed webhook to the running local stack and waits until the processor stored it.
# Needs the variables of the stack's env file (HOOKLINE_INGEST_URL, HOOKLINE_EVENTS_TABLE, AWS_*).
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
: "${HOOKLINE_INGEST_URL:?source the env file of the stack first}" "${HOOKLINE_EVENTS_TABLE:?}"

event_id="evt_smoke_$(date +%s)_$$"
payload=$(sed "s/evt_3PsampleHookline0001/$event_id/" events/ingest/payloads/stripe-charge-succeeded.json)
headers=()
while IFS= read -r line; do headers+=(-H "$line"); done < <(
  cargo run -q -p hookline-cli -- sign --source stripe --data "$payload" --format headers)
response=$(curl -sS -X POST "$HOOKLINE_INGEST_URL/stripe" "${headers[@]}" --data-binary "$payload" -w $'\n%{http_code}')
status=${response##*$'\n'}
echo "ingest answered $status: ${response%$'\n'*}"
[[ $status == 202 ]] || { echo "smoke: expected 202" >&2; exit 1; }

# The processor (through the local event source mapping) stores it in the events table.
.venv/bin/python - "$HOOKLINE_EVENTS_TABLE" "stripe:$event_id" <<'PY'
import os, sys, time
import boto3
table, event_id = sys.argv[1], sys.argv[2]
dynamodb = boto3.client("dynamodb", region_name=os.environ.get("AWS_REGION", "us-east-1"))
deadline = time.time() + 90
while time.time() < deadline:
    item = dynamodb.get_item(TableName=table, Key={"event_id": {"S": event_id}}, ConsistentRead=True).get("Item")
    if item:
        print(f"processed: {event_id} stored in {table} ({len(item['body']['B'])} body bytes)")
        sys.exit(0)
    time.sleep(0.5)
sys.exit(f"smoke: {event_id} was accepted but not processed within 90 s")
PY
