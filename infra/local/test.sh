#!/usr/bin/env bash
# The whole test suite, from a fresh clone: tools, emulator, resources, functions, tests.
# Uses its own ports and stack name, so it runs beside a `make dev` stack. Retry and replay
# delays are shortened through the template's parameters, and fault injection is on, so the
# dead-letter paths run end to end in seconds.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
export HOOKLINE_MOTO_PORT=${HOOKLINE_TEST_MOTO_PORT:-4567}
export HOOKLINE_WATCH_PORT=${HOOKLINE_TEST_WATCH_PORT:-9001}
env_file=.hookline/test.env

infra/local/bootstrap.sh
export PATH="$root/.venv/bin:$PATH"

step() { printf '\n==> %s\n' "$*"; }

step "toolchain: $(rustc --version) (rust-toolchain.toml; at least Cargo.toml's rust-version)"
step "build: the local stack's functions (as make dev builds them), then every test and benchmark"
cargo build --workspace --bins --locked
cargo build --workspace --all-targets --locked

step "lint: rustfmt and clippy, warnings as errors (make lint)"
make --no-print-directory lint

# Deployability: the template passes SAM's own validation, and the functions build as Lambda
# runs them (release, cargo lambda, arm64 when the target is installed, else x86-64).
step "sam validate --lint"
infra/local/bootstrap.sh sam
AWS_DEFAULT_REGION=${AWS_DEFAULT_REGION:-us-east-1} SAM_CLI_TELEMETRY=0 \
  .venv-sam/bin/sam validate --lint --template template.yaml
step "release build of the three functions (cargo lambda), checked for size and test-only code"
infra/local/build.sh
step "sam build, as make deploy runs it (the same cargo lambda build, so seconds after the one above)"
infra/deploy.sh build
# The control: the local stack's processor is built with fault injection, and the check sees it.
if infra/local/check_release.sh target/debug/processor 2>/dev/null; then
  echo "test: check_release.sh found no fault injection in target/debug/processor, which has it" >&2
  exit 1
fi

cleanup() {
  infra/local/functions.sh stop || true
  infra/local/moto.sh stop || true
}
trap cleanup EXIT

step "local AWS emulator on 127.0.0.1:$HOOKLINE_MOTO_PORT"
infra/local/moto.sh start
infra/local/moto.sh reset >/dev/null
export AWS_ENDPOINT_URL="http://127.0.0.1:$HOOKLINE_MOTO_PORT"
.venv/bin/python infra/local/provision.py --stack-name hookline-test --env-file "$env_file" \
  --secret-value SourcesSecret=infra/local/sources.json --enforce-iam --operator-parameter OperatorPrincipalArns \
  --param MaxReceiveCount=2 --param BackoffBaseSeconds=1 --param BackoffCapSeconds=1 \
  --param ReplayBudget=1 --param ReplayBaseSeconds=1 --param ReplayCapSeconds=2 \
  --param SourcesConfigTtlSeconds=5 \
  --extra HOOKLINE_FAULT_INJECTION=payload_markers \
  --extra "HOOKLINE_WATCH_PORT=$HOOKLINE_WATCH_PORT" \
  --extra "HOOKLINE_FUNCTION_LOG=${HOOKLINE_RUN_DIR:-${TMPDIR:-/tmp}/hookline-$(id -u)}/lambda-host-$HOOKLINE_WATCH_PORT.log" \
  --extra "HOOKLINE_INGEST_URL=http://127.0.0.1:$HOOKLINE_WATCH_PORT/lambda-url/ingest/webhooks"

step "functions on the local Lambda host on 127.0.0.1:$HOOKLINE_WATCH_PORT"
infra/local/functions.sh start "$env_file"

step "cfn-lint template.yaml"
.venv/bin/cfn-lint template.yaml

step "infrastructure script tests"
.venv/bin/python -m unittest discover -s infra/local -p 'test_*.py'

step "cargo test (unit, integration against the emulator, samples through cargo lambda)"
set -a
# shellcheck disable=SC1090
. "$env_file"
set +a
cargo test --workspace --locked


step "chaos run, reduced (own stack on 4580/9080; the full size is make chaos)"
infra/local/chaos.sh reduced
