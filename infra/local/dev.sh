#!/usr/bin/env bash
# The local stack: emulator up, resources provisioned from template.yaml, the functions
# running under the local Lambda host, and one signed webhook sent all the way through.
# Everything keeps running in the background; `make down` stops it.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
export HOOKLINE_MOTO_PORT=${HOOKLINE_MOTO_PORT:-4566}
export HOOKLINE_WATCH_PORT=${HOOKLINE_WATCH_PORT:-9000}
env_file=.hookline/local.env
ingest_url="http://127.0.0.1:$HOOKLINE_WATCH_PORT/lambda-url/ingest/webhooks"

infra/local/bootstrap.sh
export PATH="$root/.venv/bin:$PATH"
# The same build as make test's first step, so one reuses what the other compiled.
cargo build --locked --workspace --bins

infra/local/moto.sh start
export AWS_ENDPOINT_URL="http://127.0.0.1:$HOOKLINE_MOTO_PORT"
.venv/bin/python infra/local/provision.py --stack-name hookline-local --env-file "$env_file" \
  --secret-value SourcesSecret=infra/local/sources.json --enforce-iam --operator-parameter OperatorPrincipalArns \
  --extra HOOKLINE_FAULT_INJECTION=payload_markers \
  --extra "HOOKLINE_WATCH_PORT=$HOOKLINE_WATCH_PORT" \
  --extra "HOOKLINE_INGEST_URL=$ingest_url"
infra/local/functions.sh start "$env_file"

echo "Sending a signed Stripe webhook through the stack..."
set -a
# shellcheck disable=SC1090
. "$env_file"
set +a
infra/local/smoke.sh

cat <<MSG

Hookline is running locally.
  ingest:    POST $ingest_url/{source}   (sources: infra/local/sources.json)
  emulator:  $AWS_ENDPOINT_URL
  settings:  $env_file  (queue URLs, secret ARN; source it with: set -a; . $env_file; set +a)

Send your own:
  cargo run -q -p hookline-cli -- sign --source github --data '{"zen":"hi"}' --format curl | sh
Stop everything:
  make down
MSG
