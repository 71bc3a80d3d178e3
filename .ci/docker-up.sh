#!/usr/bin/env bash
# Make sure a Docker engine answers, for the docker test project and the image scripts.
#
# If `docker info` already works, nothing is done. Otherwise Debian's docker.io is installed
# when dockerd is missing, and dockerd is started in the background. Its log goes to
# $FLAME_DOCKERD_LOG and, only because this script started it, its pid to
# $FLAME_DOCKERD_PIDFILE, so that .ci/docker-down.sh stops that daemon and never another.
# Safe to run again: a daemon started by an earlier run is waited for, not doubled.
#
# Environment (all optional):
#   FLAME_DOCKERD_LOG      daemon log       (default /tmp/flame-dockerd.log)
#   FLAME_DOCKERD_PIDFILE  daemon pid file  (default /tmp/flame-dockerd.pid)
#   FLAME_DOCKERD_WAIT     seconds to wait for `docker info` (default 60)
set -euo pipefail

log_file=${FLAME_DOCKERD_LOG:-/tmp/flame-dockerd.log}
pid_file=${FLAME_DOCKERD_PIDFILE:-/tmp/flame-dockerd.pid}
wait_s=${FLAME_DOCKERD_WAIT:-60}

say() { printf 'docker-up: %s\n' "$*"; }
die() { printf 'docker-up: error: %s\n' "$*" >&2; exit 1; }

engine_answers() {
  command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1 </dev/null
}

# Prints the pid recorded by an earlier run when that process is still our dockerd.
recorded_dockerd() {
  local pid
  [[ -r $pid_file ]] || return 1
  pid=$(tr -dc '0-9' <"$pid_file")
  [[ -n $pid && -r /proc/$pid/comm ]] || return 1
  [[ $(cat "/proc/$pid/comm" 2>/dev/null) == dockerd ]] || return 1
  printf '%s\n' "$pid"
}

install_docker() {
  [[ $(id -u) == 0 ]] || die "dockerd is missing and installing docker.io needs root"
  command -v apt-get >/dev/null 2>&1 || die "dockerd is missing and there is no apt-get"
  say "installing Debian's docker.io"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq </dev/null
  # No recommends: git, apparmor and needrestart are not needed to run containers here.
  apt-get install -y -qq --no-install-recommends docker.io </dev/null
}

print_log_tail() {
  if [[ -s $log_file ]]; then
    printf -- '--- last lines of %s ---\n' "$log_file" >&2
    tail -n 30 "$log_file" >&2
  fi
}

wait_for_engine() {
  local pid=$1 deadline=$((SECONDS + wait_s))

  while ((SECONDS < deadline)); do
    if engine_answers; then
      return 0
    fi
    if [[ ! -d /proc/$pid ]]; then
      rm -f "$pid_file"
      print_log_tail
      die "dockerd (pid $pid) exited before the engine answered"
    fi
    sleep 0.5
  done

  # The pid file stays, so that docker-down.sh can still stop this daemon.
  print_log_tail
  die "the engine did not answer within ${wait_s}s (dockerd pid $pid, log $log_file)"
}

if engine_answers; then
  version=$(docker version -f '{{.Server.Version}}' 2>/dev/null </dev/null || echo '?')
  say "engine already answers (server $version); nothing to do"
  exit 0
fi

# A DOCKER_HOST aimed elsewhere means the user wants that engine, not one started here.
case ${DOCKER_HOST:-} in
  '' | unix:///var/run/docker.sock | unix:///run/docker.sock) ;;
  *) die "DOCKER_HOST=$DOCKER_HOST does not answer; not starting a local engine in its place" ;;
esac

# Two runs at once (parallel CI steps) must not start two daemons: the second one waits
# here, then finds the first one's daemon below.
exec 9>"$pid_file.lock"
flock -w $((wait_s + 60)) 9 || die "another docker-up.sh holds $pid_file.lock"
if engine_answers; then
  say "engine answers (started by a concurrent run); nothing to do"
  exit 0
fi

# An earlier run may have started a daemon that is still coming up.
if pid=$(recorded_dockerd); then
  say "dockerd started earlier (pid $pid) is not answering yet; waiting"
  wait_for_engine "$pid"
  say "engine answers (dockerd pid $pid)"
  exit 0
fi
rm -f "$pid_file"

if ! command -v dockerd >/dev/null 2>&1 || ! command -v docker >/dev/null 2>&1; then
  install_docker
  command -v dockerd >/dev/null 2>&1 || die "docker.io is installed but dockerd is not on PATH"
fi
engine_answers && { say "engine answers after the install; nothing more to do"; exit 0; }

[[ $(id -u) == 0 ]] || die "starting dockerd needs root"

# setsid puts the daemon in its own session so the caller's job control and a closing
# terminal do not reach it; as a background job it is no group leader, so setsid execs in
# place and $! is dockerd's own pid (checked below through /proc). The lock descriptor is
# closed for it, or the daemon would hold the lock for its whole life.
say "starting dockerd (log $log_file)"
setsid dockerd >>"$log_file" 2>&1 </dev/null 9>&- &
pid=$!
printf '%s\n' "$pid" >"$pid_file"
disown "$pid" 2>/dev/null || true

wait_for_engine "$pid"
comm=$(cat "/proc/$pid/comm" 2>/dev/null || true)
[[ $comm == dockerd ]] || die "recorded pid $pid is '$comm', not dockerd; see $log_file"
say "engine answers: dockerd pid $pid (pid file $pid_file)"
