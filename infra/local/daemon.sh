#!/usr/bin/env bash
# Starts and stops the local stack's background processes by pid file (never by name).
#   daemon.sh start NAME [--ready-url URL] -- COMMAND [ARGS...]
#   daemon.sh stop NAME
#   daemon.sh status NAME
# Pid files and logs live in HOOKLINE_RUN_DIR (default $TMPDIR/hookline-<uid>), outside the
# repository, so that no tool watching the tree (cargo, an editor) sees them change.
set -euo pipefail

run_dir=${HOOKLINE_RUN_DIR:-${TMPDIR:-/tmp}/hookline-$(id -u)}
mkdir -p "$run_dir"
action=${1:-}
name=${2:?usage: daemon.sh start|stop|status NAME}
pid_file="$run_dir/$name.pid"
log_file="$run_dir/$name.log"
shift 2

alive() { [[ -f $pid_file ]] && kill -0 "$(cat "$pid_file")" 2>/dev/null; }

case "$action" in
  start)
    ready_url=
    if [[ ${1:-} == --ready-url ]]; then ready_url=$2; shift 2; fi
    [[ ${1:-} == -- ]] && shift
    (($#)) || { echo "daemon.sh: no command given for $name" >&2; exit 2; }
    if alive; then echo "$name already running (pid $(cat "$pid_file"))"; exit 0; fi
    # Its own session and process group: stop ends the command and everything it spawned.
    setsid "$@" >"$log_file" 2>&1 </dev/null &
    echo $! >"$pid_file"
    if [[ -n $ready_url ]]; then
      for _ in $(seq 1 240); do
        if curl -s -o /dev/null "$ready_url"; then break; fi
        if ! alive; then break; fi
        sleep 0.5
      done
      if ! curl -s -o /dev/null "$ready_url"; then
        echo "daemon.sh: $name did not come up at $ready_url; last lines of $log_file:" >&2
        tail -n 30 "$log_file" >&2
        exit 1
      fi
    else
      sleep 0.5
      alive || { echo "daemon.sh: $name exited at once; last lines of $log_file:" >&2; tail -n 30 "$log_file" >&2; exit 1; }
    fi
    echo "$name running (pid $(cat "$pid_file"), log $log_file)"
    ;;
  stop)
    if alive; then
      pid=$(cat "$pid_file")
      kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      if kill -0 "$pid" 2>/dev/null; then kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true; fi
      echo "$name stopped"
    fi
    rm -f "$pid_file"
    ;;
  status)
    if alive; then echo "$name running (pid $(cat "$pid_file"), log $log_file)"; else echo "$name stopped"; exit 1; fi
    ;;
  *)
    echo "usage: daemon.sh start NAME [--ready-url URL] -- COMMAND... | stop NAME | status NAME" >&2
    exit 2
    ;;
esac
