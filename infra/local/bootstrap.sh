#!/usr/bin/env bash
# Create the project's Python venvs for local AWS work (idempotent).
#
#   infra/local/bootstrap.sh          .venv      moto server, cargo-lambda, ziglang, boto3, PyYAML
#   infra/local/bootstrap.sh sam      .venv-sam  AWS SAM CLI + cfn-lint (own venv: boto3 pins clash)
#   infra/local/bootstrap.sh all      both
#
# Each venv holds a stamp file with the hash of its requirements file (and the Python
# version); when it matches, nothing is installed. Delete the venv or edit the
# requirements to force a reinstall. HOOKLINE_PYTHON picks the interpreter (python3).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
python="${HOOKLINE_PYTHON:-python3}"
stamp_name=".hookline-requirements.sha256"

die() { echo "bootstrap: error: $*" >&2; exit 1; }
log() { echo "bootstrap: $*" >&2; }

usage() {
    echo "usage: $0 [main|sam|all]" >&2
    exit 2
}

sha256_of() {
    if command -v sha256sum >/dev/null 2>&1; then
        sha256sum "$1" | cut -d' ' -f1
    else
        "$python" -c 'import hashlib,sys; print(hashlib.sha256(open(sys.argv[1],"rb").read()).hexdigest())' "$1"
    fi
}

# ensure_venv NAME REQUIREMENTS CHECK_COMMAND...
# CHECK_COMMAND runs (with the venv's bin first on PATH) after an install to prove it works.
ensure_venv() {
    local name="$1" req="$2"; shift 2
    local venv="$repo/$name"
    local stamp="$venv/$stamp_name"

    [[ -f "$req" ]] || die "requirements file not found: $req"
    command -v "$python" >/dev/null 2>&1 || die "'$python' not found (set HOOKLINE_PYTHON to a Python >= 3.10)"
    "$python" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' \
        || die "$("$python" --version 2>&1) is too old: Python >= 3.10 is needed"

    local want
    want="$(sha256_of "$req") $("$python" -c 'import sys; print("py%d.%d" % sys.version_info[:2])')"

    # Skip when the stamp matches and the venv's interpreter still runs (a venv whose
    # base Python disappeared has a dangling bin/python).
    if [[ -f "$stamp" ]] && [[ "$(cat "$stamp")" == "$want" ]] && "$venv/bin/python" -c '' >/dev/null 2>&1; then
        log "$name is up to date ($(basename "$req"))"
        return 0
    fi

    local start=$SECONDS
    if ! "$venv/bin/python" -c '' >/dev/null 2>&1; then
        [[ -e "$venv" ]] && log "$name is broken; recreating it"
        rm -rf "$venv"
        log "creating $name with $("$python" --version 2>&1)"
        "$python" -m venv "$venv" || die "could not create $venv (is the python3-venv module installed?)"
    fi
    rm -f "$stamp"

    log "installing $(basename "$req") into $name (takes about a minute the first time)"
    if ! PIP_DISABLE_PIP_VERSION_CHECK=1 "$venv/bin/python" -m pip install --quiet -r "$req"; then
        die "pip install -r $req into $name failed (see pip's output above; a package registry must be reachable)"
    fi
    if ! PATH="$venv/bin:$PATH" "$@" >/dev/null 2>&1; then
        die "$name installed but the check '$*' failed; remove $venv and run again"
    fi
    echo "$want" >"$stamp"
    log "$name ready in $((SECONDS - start)) s"
}

main_venv() {
    ensure_venv .venv "$here/requirements.txt" \
        sh -c 'python -c "import moto, boto3, yaml, flask" && moto_server --help && cargo-lambda lambda --version && python -m ziglang version'
}

sam_venv() {
    ensure_venv .venv-sam "$here/requirements-sam.txt" \
        sh -c 'SAM_CLI_TELEMETRY=0 sam --version && cfn-lint --version'
}

what="${1:-main}"
[[ $# -le 1 ]] || usage
case "$what" in
    main) main_venv ;;
    sam) sam_venv ;;
    all) main_venv; sam_venv ;;
    -h|--help|help) usage ;;
    *) usage ;;
esac
