#!/usr/bin/env bash
# The functions as Lambda runs them, locally: infra/local/lambda_host.py (the Invoke API,
# function URLs, one runtime API per execution environment) plus the event source mappings
# the template declares (infra/local/event_source_mapping.py).
#   functions.sh start ENV_FILE    (port: HOOKLINE_WATCH_PORT, default 9000, on 127.0.0.1)
#   functions.sh stop
# The binaries are target/debug/{ingest,processor,reprocess}, as `cargo build --workspace`
# builds them; each function's Timeout, memory and environment come from the
# `.functions.json` file provision.py wrote beside ENV_FILE. Optional:
#   HOOKLINE_MAX_ENVIRONMENTS   execution environments per function (default 4)
#   HOOKLINE_INVOKE_TIMEOUT     seconds the event source mappings wait for an invocation (120)
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
port=${HOOKLINE_WATCH_PORT:-9000}
daemon=infra/local/daemon.sh

case "${1:-}" in
  start)
    env_file=${2:?usage: functions.sh start ENV_FILE}
    functions_file="${env_file%.env}.functions.json"
    [[ -f $env_file && -f $functions_file ]] || {
      echo "functions.sh: $env_file or $functions_file does not exist (provision first)" >&2; exit 1; }
    for f in ingest processor reprocess; do
      [[ -x target/debug/$f ]] || { echo "functions.sh: target/debug/$f does not exist (cargo build --workspace first)" >&2; exit 1; }
    done
    $daemon start "lambda-host-$port" --ready-url "http://127.0.0.1:$port/" -- \
      .venv/bin/python infra/local/lambda_host.py --functions "$functions_file" --port "$port" \
      --max-environments "${HOOKLINE_MAX_ENVIRONMENTS:-4}"
    # One environment of each, started before the traffic (as a warm pool would be).
    invoke_url="http://127.0.0.1:$port/2015-03-31/functions"
    curl -sf -o /dev/null -X POST "$invoke_url/ingest/invocations" --data-binary @events/ingest/reject-wrong-method.json
    curl -sf -o /dev/null -X POST "$invoke_url/processor/invocations" --data-binary '{"Records":[]}'
    curl -sf -o /dev/null -X POST "$invoke_url/reprocess/invocations" --data-binary '{"Records":[]}'
    $daemon start "event-source-mapping-$port" -- \
      .venv/bin/python infra/local/event_source_mapping.py --template template.yaml --env-file "$env_file" \
      --port "$port" --invoke-timeout "${HOOKLINE_INVOKE_TIMEOUT:-120}"
    ;;
  stop)
    $daemon stop "event-source-mapping-$port"
    $daemon stop "lambda-host-$port"
    ;;
  *)
    echo "usage: functions.sh start ENV_FILE | stop" >&2
    exit 2
    ;;
esac
