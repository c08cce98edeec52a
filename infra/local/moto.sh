#!/usr/bin/env bash
# Run the local AWS emulator (moto server) on 127.0.0.1.
#
#   infra/local/moto.sh start|stop|status|reset
#
#   HOOKLINE_MOTO_PORT            port (default 4566); the host is always 127.0.0.1
#   HOOKLINE_RUN_DIR              pid/log dir (default ${TMPDIR:-/tmp}/hookline-<uid>); kept out of
#                                 the repo tree on purpose (see daemon.sh)
#   HOOKLINE_MOTO_START_TIMEOUT   seconds to wait for the server to answer (default 20)
#
# Files: $HOOKLINE_RUN_DIR/moto-<port>.pid and moto-<port>.log. `stop` only ever signals the
# pid recorded in the pid file, and only if that process is still a moto server.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
host=127.0.0.1
port="${HOOKLINE_MOTO_PORT:-4566}"
run_dir="${HOOKLINE_RUN_DIR:-${TMPDIR:-/tmp}/hookline-$(id -u)}"
timeout="${HOOKLINE_MOTO_START_TIMEOUT:-20}"
python="$repo/.venv/bin/python"
# moto's own server, with DynamoDB requests made atomic (see moto_server.py).
moto_server="$here/moto_server.py"

die() { echo "moto: error: $*" >&2; exit 1; }
log() { echo "moto: $*" >&2; }

[[ "$port" =~ ^[0-9]+$ ]] && ((port > 0 && port < 65536)) || die "HOOKLINE_MOTO_PORT must be a port number, got '$port'"
[[ "$timeout" =~ ^[0-9]+$ ]] || die "HOOKLINE_MOTO_START_TIMEOUT must be whole seconds, got '$timeout'"
command -v curl >/dev/null 2>&1 || die "curl is needed (apt-get install curl)"

pid_file="$run_dir/moto-$port.pid"
log_file="$run_dir/moto-$port.log"
url="http://$host:$port"

# The pid recorded in the pid file, if it is a live moto server; empty otherwise.
recorded_pid() {
    [[ -f "$pid_file" ]] || return 0
    local pid
    pid="$(head -n1 "$pid_file" 2>/dev/null || true)"
    [[ "$pid" =~ ^[0-9]+$ ]] || return 0
    kill -0 "$pid" 2>/dev/null || return 0
    # Guard against pid reuse: the process must still be a moto server.
    if [[ -r "/proc/$pid/cmdline" ]] && ! tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q moto_server; then
        return 0
    fi
    echo "$pid"
}

answers() {
    curl -sf -o /dev/null --connect-timeout 1 --max-time 3 "$url/moto-api/"
}

log_tail() {
    if [[ -s "$log_file" ]]; then
        echo "--- last lines of $log_file ---" >&2
        tail -n 20 "$log_file" >&2
        echo "---" >&2
    fi
}

# wait_until_gone PID SECONDS -> 0 once PID has exited
wait_until_gone() {
    local pid="$1" deadline=$((SECONDS + $2))
    while kill -0 "$pid" 2>/dev/null; do
        ((SECONDS < deadline)) || return 1
        sleep 0.2
    done
}

cmd_start() {
    local pid
    pid="$(recorded_pid)"
    if [[ -n "$pid" ]]; then
        if answers; then
            log "already running on $url (pid $pid)"
            return 0
        fi
        log "pid $pid is alive but $url does not answer; waiting for it"
    else
        rm -f "$pid_file"
        [[ -x "$python" ]] || die "$python not found: run infra/local/bootstrap.sh (make venv) first"
        if answers; then
            die "something else already answers on $url (not started by this script: no live pid in $pid_file); stop it or set HOOKLINE_MOTO_PORT"
        fi
        mkdir -p "$run_dir"
        : >"$log_file"
        # setsid + nohup: the server gets its own session and survives the calling shell
        # (make, a CI step). setsid execs in place here (we are not a group leader), so $!
        # is the server's own pid.
        nohup setsid "$python" "$moto_server" -H "$host" -p "$port" </dev/null >>"$log_file" 2>&1 &
        pid=$!
        echo "$pid" >"$pid_file"
        log "starting moto server on $url (pid $pid, log $log_file)"
    fi

    local deadline=$((SECONDS + timeout))
    until answers; do
        if ! kill -0 "$pid" 2>/dev/null; then
            rm -f "$pid_file"
            log_tail
            die "moto server exited before answering on $url"
        fi
        if ((SECONDS >= deadline)); then
            log_tail
            kill "$pid" 2>/dev/null || true
            wait_until_gone "$pid" 5 || kill -KILL "$pid" 2>/dev/null || true
            rm -f "$pid_file"
            die "moto server did not answer on $url within ${timeout} s"
        fi
        sleep 0.25
    done
    log "ready on $url"
}

cmd_stop() {
    local pid
    pid="$(recorded_pid)"
    if [[ -z "$pid" ]]; then
        [[ -f "$pid_file" ]] && log "removing stale pid file $pid_file"
        rm -f "$pid_file"
        log "not running on port $port"
        return 0
    fi
    kill "$pid" 2>/dev/null || true
    if ! wait_until_gone "$pid" 10; then
        log "pid $pid ignored SIGTERM for 10 s; sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        wait_until_gone "$pid" 5 || die "pid $pid did not exit"
    fi
    rm -f "$pid_file"
    log "stopped (pid $pid, port $port)"
}

cmd_status() {
    local pid
    pid="$(recorded_pid)"
    if [[ -z "$pid" ]]; then
        echo "moto: not running on port $port"
        return 3
    fi
    if answers; then
        echo "moto: running on $url (pid $pid, log $log_file)"
    else
        echo "moto: pid $pid is alive but $url does not answer (log $log_file)"
        return 1
    fi
}

cmd_reset() {
    curl -sf -o /dev/null --max-time 10 -X POST "$url/moto-api/reset" \
        || die "reset failed: is the emulator running on $url? (infra/local/moto.sh start)"
    log "state cleared on $url"
}

case "${1:-}" in
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    reset) cmd_reset ;;
    *) echo "usage: $0 start|stop|status|reset   (port \$HOOKLINE_MOTO_PORT, default 4566)" >&2; exit 2 ;;
esac
