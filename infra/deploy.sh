#!/usr/bin/env bash
# Builds and deploys the stack with the SAM CLI, as the README's Deploy section documents.
#
#   infra/deploy.sh build     sam build (cargo lambda, release), then the built functions are
#                             checked to carry no test-only code; `make test` runs this
#   infra/deploy.sh deploy    build, then sam deploy: guided the first time (until samconfig.toml
#                             holds your answers), from samconfig.toml afterwards
#
# Architecture: arm64 when the aarch64 Rust target is installed, else x86-64 with a message
# (infra/arch.sh); the matching Architecture parameter is passed to SAM. Extra arguments after
# the command go to `sam deploy` (e.g. --parameter-overrides AlarmEmail=ops@example.com).
#
# PATH: cargo lambda and its linker (zig, from the ziglang package) live in .venv, the SAM CLI
# in .venv-sam (its pins conflict with the emulator's); .venv comes first so that cargo lambda
# finds zig through .venv's Python.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
command=${1:-}
shift || true
case "$command" in build|deploy) ;; *) echo "usage: deploy.sh build|deploy [sam deploy args...]" >&2; exit 2 ;; esac

infra/local/bootstrap.sh
infra/local/bootstrap.sh sam
export PATH="$root/.venv/bin:$root/.venv-sam/bin:$PATH"
export SAM_CLI_TELEMETRY=0
# shellcheck source=arch.sh
. infra/arch.sh

echo "deploy: sam build (Architecture=$template_arch)"
start=$(date +%s)
sam build --parameter-overrides "Architecture=$template_arch"
echo "deploy: sam build took $(( $(date +%s) - start ))s"

# The artifacts SAM will upload: one bootstrap per function, release builds without test code.
mapfile -t bootstraps < <(find .aws-sam/build -mindepth 2 -maxdepth 2 -name bootstrap -type f | sort)
((${#bootstraps[@]} == 3)) || { echo "deploy: expected 3 built functions, found ${#bootstraps[@]}" >&2; exit 1; }
infra/local/check_release.sh "${bootstraps[@]}"

[[ $command == deploy ]] || exit 0
# sam deploy --guided saves its answers (parameter_overrides among them) to samconfig.toml.
if grep -q '^parameter_overrides' samconfig.toml; then
    sam deploy "$@"
else
    echo "deploy: first deploy: sam deploy --guided (answer 'Y' to save the arguments to samconfig.toml)"
    sam deploy --guided --parameter-overrides "Architecture=$template_arch" "$@"
fi
