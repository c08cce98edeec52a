# Hookline local development. Everything runs against a local AWS emulator (moto server);
# see infra/local/ for the scripts these targets call.

MOTO_PORT ?= 4566
AWS_ENDPOINT_URL := http://127.0.0.1:$(MOTO_PORT)
STACK_NAME ?= hookline-local
ENV_FILE ?= .hookline/local.env

VENV := .venv
PYTHON := $(VENV)/bin/python
LOCAL := infra/local

export HOOKLINE_MOTO_PORT := $(MOTO_PORT)
export AWS_ENDPOINT_URL
export SAM_CLI_TELEMETRY := 0

.PHONY: dev down test lint samples venv venv-sam emulator-up emulator-down provision infra-test build validate \
	deploy sam-build chaos bench fuzz

dev: ## the local stack: emulator, resources, functions, one signed webhook all the way through
	$(LOCAL)/dev.sh

down: ## stop everything `make dev` started
	HOOKLINE_WATCH_PORT=9000 $(LOCAL)/functions.sh stop
	$(LOCAL)/moto.sh stop

test: ## everything the tests need (own ports 4567/9001), then every test
	$(LOCAL)/test.sh

lint: ## formatting and clippy, warnings as errors
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets --locked -- -D warnings

samples: ## regenerate events/ingest/ from its manifest (fixed signing time)
	cargo run -q -p hookline-cli -- samples

venv: ## Python venv with moto, cargo-lambda, ziglang, boto3 (idempotent)
	$(LOCAL)/bootstrap.sh

venv-sam: ## separate venv with the SAM CLI and cfn-lint
	$(LOCAL)/bootstrap.sh sam

emulator-up: venv ## start moto on 127.0.0.1:$(MOTO_PORT) (no-op if running)
	$(LOCAL)/moto.sh start

emulator-down: ## stop the moto started by emulator-up
	$(LOCAL)/moto.sh stop

provision: emulator-up ## create the template's queues/secrets in moto, write $(ENV_FILE)
	$(PYTHON) $(LOCAL)/provision.py --stack-name $(STACK_NAME) --env-file $(ENV_FILE) \
		--secret-value SourcesSecret=$(LOCAL)/sources.json

infra-test: venv ## unit + end-to-end tests of infra/local (own moto on port 4599)
	$(PYTHON) -m unittest discover -s $(LOCAL) -p 'test_*.py'

build: venv ## release build of ingest/processor/reprocess with cargo lambda (arm64 if the target is installed, else x86-64), zipped, sizes printed
	$(LOCAL)/build.sh

sam-build: ## sam build as `make deploy` runs it, then the built functions checked for test-only code
	infra/deploy.sh build

deploy: ## sam build, then sam deploy: guided the first time, from samconfig.toml afterwards (needs AWS credentials)
	infra/deploy.sh deploy

validate: venv venv-sam ## sam validate --lint and cfn-lint on template.yaml (offline, no credentials)
	AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-us-east-1} .venv-sam/bin/sam validate --lint --template template.yaml
	$(VENV)/bin/cfn-lint template.yaml

chaos: ## the full-size chaos run (5,000+ signed webhooks, emulator outage, processor kills) on its own ports
	$(LOCAL)/chaos.sh full

bench: ## every benchmark, one run, one table of ratios (see docs/performance.md)
	infra/bench/run.sh

fuzz: ## short coverage-guided fuzzing of the parsers and verifiers (see fuzz/README.md)
	fuzz/run.sh
