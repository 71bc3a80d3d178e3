#!/usr/bin/env bash
# Stop the dockerd that .ci/docker-up.sh started, and only that one.
#
# The daemon is found through the pid file docker-up wrote; an engine that was already
# running (a developer's own, the CI host's) has no such file and is left alone.
#
# Environment (all optional):
#   FLAME_DOCKERD_PIDFILE  daemon pid file (default /tmp/flame-dockerd.pid)
#   FLAME_DOCKERD_STOP_WAIT  seconds to wait after SIGTERM before SIGKILL (default 40)
set -euo pipefail

pid_file=${FLAME_DOCKERD_PIDFILE:-/tmp/flame-dockerd.pid}
stop_wait=${FLAME_DOCKERD_STOP_WAIT:-40}

say() { printf 'docker-down: %s\n' "$*"; }

wait_gone() {
  local pid=$1 deadline=$((SECONDS + $2))

  while ((SECONDS < deadline)); do
    [[ -d /proc/$pid ]] || return 0
    sleep 0.5
  done
  [[ ! -d /proc/$pid ]]
}

if [[ ! -e $pid_file ]]; then
  say "no pid file at $pid_file: docker-up did not start the engine; leaving it alone"
  exit 0
fi

pid=$(tr -dc '0-9' <"$pid_file")
comm=$(cat "/proc/$pid/comm" 2>/dev/null || true)

# A pid from an earlier boot may now belong to something else: act only on dockerd.
if [[ -z $pid || $comm != dockerd ]]; then
  say "pid ${pid:-?} from $pid_file is not a running dockerd; removing the stale pid file"
  rm -f "$pid_file"
  exit 0
fi

# dockerd gives running containers their own stop timeout (10 s) before it exits, so the
# wait here is longer than that.
say "stopping dockerd (pid $pid)"
kill -TERM "$pid"
if ! wait_gone "$pid" "$stop_wait"; then
  say "dockerd (pid $pid) still running after ${stop_wait}s; sending SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
  wait_gone "$pid" 10 || { say "dockerd (pid $pid) would not exit" >&2; exit 1; }
fi

rm -f "$pid_file"
say "dockerd (pid $pid) stopped"
