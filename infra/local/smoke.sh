#!/usr/bin/env bash
# Sends one signed webhook to the running local stack and shows it in the main queue.
# Needs the variables of the stack's env file (HOOKLINE_INGEST_URL, HOOKLINE_QUEUE_URL, AWS_*).
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
: "${HOOKLINE_INGEST_URL:?source the stack's env file first}" "${HOOKLINE_QUEUE_URL:?}"

event_id="evt_smoke_$(date +%s)_$$"
payload=$(sed "s/evt_3PsampleHookline0001/$event_id/" events/ingest/payloads/stripe-charge-succeeded.json)
curl_command=$(cargo run -q -p hookline-cli -- sign --source stripe --data "$payload" --format curl --url "$HOOKLINE_INGEST_URL")
response=$(eval "$curl_command -w '\n%{http_code}'")
status=${response##*$'\n'}
echo "ingest answered $status: ${response%$'\n'*}"
[[ $status == 202 ]] || { echo "smoke: expected 202" >&2; exit 1; }

# Peek with a zero visibility timeout: the message stays in the queue for the consumers.
.venv/bin/python - "$HOOKLINE_QUEUE_URL" "stripe:$event_id" <<'PY'
import json, sys, time
import boto3
queue_url, event_id = sys.argv[1], sys.argv[2]
sqs = boto3.client("sqs")
deadline = time.time() + 10
while time.time() < deadline:
    for m in sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=0,
                                 MessageAttributeNames=["All"]).get("Messages", []):
        envelope = json.loads(m["Body"])
        if envelope["event_id"] == event_id:
            attributes = {k: v["StringValue"] for k, v in m.get("MessageAttributes", {}).items()}
            print(f"in the main queue: message {m['MessageId']} {attributes}")
            sys.exit(0)
sys.exit(f"smoke: {event_id} was acknowledged but is not in the queue")
PY
