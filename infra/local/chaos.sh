#!/usr/bin/env bash
# The chaos run: thousands of signed webhooks through the whole local stack (ingest -> SQS ->
# processor -> DynamoDB, dead-letter queue -> reprocess -> ledger -> parking queue) while the
# emulator is stopped and restarted and the processor is killed mid-batch; then it checks that
# nothing was lost, nothing took effect twice, and no secret reached a log.
#
#   chaos.sh reduced   a few hundred webhooks (part of `make test`, about two minutes)
#   chaos.sh full      5,000 distinct webhooks plus duplicates (`make chaos`; about 4 minutes)
#
# HOOKLINE_CHAOS_EVENTBRIDGE=half (the default) routes every other source to both
# destinations, the events table and EventBridge (the others keep the table alone, the
# default), and the run also counts the events a rule delivers from the bus; `off` keeps every
# source on the table alone; `all` routes every source to both.
#
# It runs its own stack on its own ports (emulator 4580, functions 9080; override with
# HOOKLINE_CHAOS_MOTO_PORT / HOOKLINE_CHAOS_WATCH_PORT), so it never disturbs `make dev` or the
# other tests. The driver is the ignored test `tests/tests/chaos.rs`; see its header for the
# fault schedule and the assertions.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
size=${1:-reduced}
# Both sizes give the processor and reprocess a 5 s Timeout: enough because moto_server.py
# snapshots only the items a TransactWriteItems touches (moto deep-copies every table it
# touches, so a transaction's cost would grow with the table).
case "$size" in
  reduced) events=${HOOKLINE_CHAOS_EVENTS:-400} ;;
  full) events=${HOOKLINE_CHAOS_EVENTS:-5000} ;;
  *) echo "usage: chaos.sh reduced|full" >&2; exit 2 ;;
esac
function_timeout=5
export HOOKLINE_MOTO_PORT=${HOOKLINE_CHAOS_MOTO_PORT:-4580}
export HOOKLINE_WATCH_PORT=${HOOKLINE_CHAOS_WATCH_PORT:-9080}
export HOOKLINE_RUN_DIR=${HOOKLINE_RUN_DIR:-${TMPDIR:-/tmp}/hookline-$(id -u)}
env_file=.hookline/chaos.env
eventbridge=${HOOKLINE_CHAOS_EVENTBRIDGE:-half}
case "$eventbridge" in off|half|all) ;; *) echo "chaos: HOOKLINE_CHAOS_EVENTBRIDGE must be off, half or all" >&2; exit 2 ;; esac

infra/local/bootstrap.sh
export PATH="$root/.venv/bin:$PATH"
step() { printf '\n==> chaos: %s\n' "$*"; }

step "build"
# The same build as make dev and make test: the processor with fault injection (tests/ enables it).
cargo build --locked --workspace --bins
cargo test --locked -p hookline-tests --test chaos --no-run

cleanup() {
  # A stopped (SIGSTOP) emulator must be continued before it can be stopped.
  if [[ -f "$HOOKLINE_RUN_DIR/moto-$HOOKLINE_MOTO_PORT.pid" ]]; then
    kill -CONT "$(cat "$HOOKLINE_RUN_DIR/moto-$HOOKLINE_MOTO_PORT.pid")" 2>/dev/null || true
  fi
  infra/local/functions.sh stop || true
  infra/local/moto.sh stop || true
}
trap cleanup EXIT

step "emulator on 127.0.0.1:$HOOKLINE_MOTO_PORT"
infra/local/moto.sh start
infra/local/moto.sh reset >/dev/null
export AWS_ENDPOINT_URL="http://127.0.0.1:$HOOKLINE_MOTO_PORT"
# The sources document of the run: the local one, with the EventBridge mode's destinations.
sources_file=.hookline/chaos.sources.json
.venv/bin/python - "$eventbridge" infra/local/sources.json "$sources_file" <<'EOF'
import json, sys
mode, source, target = sys.argv[1:]
document = json.load(open(source))
for index, name in enumerate(sorted(document["sources"])):
    if mode == "all" or (mode == "half" and index % 2 == 1):
        document["sources"][name]["destination"] = ["events_table", "eventbridge"]
json.dump(document, open(target, "w"), indent=2)
EOF
# Short timeouts and delays so that retries, dead letters, replays and the recovery after a
# killed processor (one visibility timeout: 6 x ProcessorTimeout) happen within the run.
.venv/bin/python infra/local/provision.py --stack-name hookline-chaos --env-file "$env_file" \
  --secret-value "SourcesSecret=$sources_file" --enforce-iam --operator-parameter OperatorPrincipalArns \
  --param ProcessorTimeout="$function_timeout" --param ReprocessTimeout="$function_timeout" \
  --param MaxReceiveCount=3 --param MainQueueMaxReceiveCount=6 --param BackoffBaseSeconds=1 --param BackoffCapSeconds=2 \
  --param ReplayBudget=2 --param ReplayBaseSeconds=1 --param ReplayCapSeconds=2 \
  --param SourcesConfigTtlSeconds=5 \
  --extra HOOKLINE_FAULT_INJECTION=payload_markers \
  --extra HOOKLINE_DEADLINE_MARGIN_MILLIS=1500 \
  --extra "HOOKLINE_WATCH_PORT=$HOOKLINE_WATCH_PORT" \
  --extra "HOOKLINE_INGEST_URL=http://127.0.0.1:$HOOKLINE_WATCH_PORT/lambda-url/ingest/webhooks"

# Like Lambda, the local host fails the invocation a killed process held and starts a fresh
# environment for the next one. Timeouts are the template's: ingest 10 s, processor and
# reprocess $function_timeout s (the parameters above).
step "functions on the local Lambda host on 127.0.0.1:$HOOKLINE_WATCH_PORT, event source mappings"
HOOKLINE_MAX_ENVIRONMENTS=4 HOOKLINE_INVOKE_TIMEOUT=$((function_timeout + 30)) infra/local/functions.sh start "$env_file"

step "$events webhooks ($size run)"
set -a
# shellcheck disable=SC1090
. "$env_file"
set +a
export HOOKLINE_CHAOS_EVENTS=$events
export HOOKLINE_CHAOS_MOTO_PID_FILE="$HOOKLINE_RUN_DIR/moto-$HOOKLINE_MOTO_PORT.pid"
# Every log of the run, searched for secrets at the end: the functions' (the Lambda host's),
# the event source mappings' and the emulator's.
export HOOKLINE_CHAOS_LOGS="$HOOKLINE_RUN_DIR/lambda-host-$HOOKLINE_WATCH_PORT.log:$HOOKLINE_RUN_DIR/event-source-mapping-$HOOKLINE_WATCH_PORT.log:$HOOKLINE_RUN_DIR/moto-$HOOKLINE_MOTO_PORT.log"
cargo test --locked -p hookline-tests --test chaos -- --ignored --nocapture
