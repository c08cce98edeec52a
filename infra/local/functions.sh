#!/usr/bin/env bash
# The functions as Lambda runs them, locally: `cargo lambda watch` (the Lambda runtime API
# and function URLs) plus the event source mappings the template declares.
#   functions.sh start ENV_FILE    (port: HOOKLINE_WATCH_PORT, default 9000, on 127.0.0.1)
#   functions.sh stop
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
port=${HOOKLINE_WATCH_PORT:-9000}
export PATH="$root/.venv/bin:$PATH"
daemon=infra/local/daemon.sh

case "${1:-}" in
  start)
    env_file=${2:?usage: functions.sh start ENV_FILE}
    [[ -f $env_file ]] || { echo "functions.sh: $env_file does not exist (provision first)" >&2; exit 1; }
    command -v cargo-lambda >/dev/null || { echo "functions.sh: cargo-lambda not found; run 'make venv'" >&2; exit 1; }
    $daemon start "watch-$port" --ready-url "http://127.0.0.1:$port/" -- \
      cargo lambda watch -A 127.0.0.1 -P "$port" --env-file "$env_file"
    # Each function compiles on its first invocation: do that now, before traffic arrives.
    cargo lambda invoke ingest -A 127.0.0.1 -P "$port" --data-file events/ingest/reject-wrong-method.json >/dev/null
    cargo lambda invoke processor -A 127.0.0.1 -P "$port" --data-ascii '{"Records":[]}' >/dev/null
    cargo lambda invoke reprocess -A 127.0.0.1 -P "$port" --data-ascii '{"Records":[]}' >/dev/null
    $daemon start "event-source-mapping-$port" -- \
      .venv/bin/python infra/local/event_source_mapping.py --template template.yaml --env-file "$env_file" --port "$port"
    ;;
  stop)
    $daemon stop "event-source-mapping-$port"
    $daemon stop "watch-$port"
    ;;
  *)
    echo "usage: functions.sh start ENV_FILE | stop" >&2
    exit 2
    ;;
esac
