# shellcheck shell=bash
# Shell helpers for the test apps' scripts. Source it: `source scripts/lib/docker.sh`.
# Nothing here is specific to one app; each function says what it touches.
#
#   log_prefix=name       prefix of say/die messages (default: the calling script's name)
#   say MSG / die MSG     a line on stderr; die exits 1
#   repo_root             the checkout this file belongs to
#   docker_up             die unless a docker client and an answering engine are there
#   host_docker_socket    the Docker socket to mount into a parent container
#   random_cookie         a fresh random FLAME_COOKIE
#   recreate_network NAME [LABEL=VALUE...]   remove NAME if it exists, create it --internal
#   remove_network NAME                      remove NAME if it exists
#   remove_containers FILTER...              docker rm -f what `docker ps -a --filter` finds
#   remove_pool_runners POOL...              remove the runners of these pools (by label)

log_prefix=${log_prefix:-$(basename "${BASH_SOURCE[1]:-$0}" .sh)}

say() { printf '%s: %s\n' "$log_prefix" "$*" >&2; }
die() { printf '%s: error: %s\n' "$log_prefix" "$*" >&2; exit 1; }

repo_root() {
  (cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
}

# The daemon's socket as `docker run -v` must name it to mount it into a parent container:
# DOCKER_SOCKET when set; DOCKER_HOST when it is a unix:// address (a tcp:// one cannot be
# mounted); on macOS /var/run/docker.sock, which Docker Desktop resolves inside its VM
# whatever the Mac's own socket is called (~/.docker/run/docker.sock is for clients on the
# Mac, not for mounting); WSL2's shared socket when it exists; else the Linux default.
host_docker_socket() {
  local socket

  if [[ -n ${DOCKER_SOCKET:-} ]]; then
    socket=$DOCKER_SOCKET
  elif [[ ${DOCKER_HOST:-} == unix://* ]]; then
    socket=${DOCKER_HOST#unix://}
  elif [[ -n ${DOCKER_HOST:-} ]]; then
    die "DOCKER_HOST=$DOCKER_HOST is not a unix socket; a parent container needs one to" \
      "mount: set DOCKER_SOCKET to the socket's path on the daemon's host"
  elif [[ $(uname -s) == Darwin ]]; then
    printf '/var/run/docker.sock\n'
    return
  elif [[ -S /mnt/wsl/shared-docker/docker.sock ]]; then
    socket=/mnt/wsl/shared-docker/docker.sock
  else
    socket=/var/run/docker.sock
  fi
  [[ -S $socket ]] || die "$socket is not a socket: is the engine running? (DOCKER_SOCKET" \
    "names another)"
  printf '%s\n' "$socket"
}

docker_up() {
  command -v docker >/dev/null 2>&1 || die "no docker client on PATH"
  docker info >/dev/null 2>&1 </dev/null ||
    die "the Docker engine does not answer (on this project's CI: .ci/docker-up.sh)"
}

random_cookie() {
  node -e 'process.stdout.write(require("crypto").randomBytes(32).toString("base64url"))'
}

# A runner that has just exited may still be on its way out (AutoRemove), holding its
# endpoint for a moment: retry for a few seconds before giving up.
remove_network() {
  local tries=0
  docker network inspect "$1" >/dev/null 2>&1 </dev/null || return 0
  until docker network rm "$1" >/dev/null 2>&1 </dev/null; do
    ((tries++ < 10)) || die "cannot remove network $1: $(docker network rm "$1" 2>&1 </dev/null)"
    sleep 0.5
  done
  say "removed network $1"
}

# Runners and parents must be gone first: a network with endpoints cannot be removed.
# `--internal`: the app's containers reach each other and nothing outside.
recreate_network() {
  local name=$1 label
  local -a labels=()
  shift
  for label in "$@"; do labels+=(--label "$label"); done

  remove_network "$name"
  docker network create --internal "${labels[@]}" "$name" >/dev/null </dev/null ||
    die "cannot create network $name"
  say "created network $name (internal)"
}

# A container must match every filter: docker ANDs `label=` filters (but ORs `name=` ones,
# so pass at most one of those).
remove_containers() {
  local -a filters=() ids=()
  local filter tries=0
  for filter in "$@"; do filters+=(--filter "$filter"); done

  # A container may be on its way out already (AutoRemove) and refuse a second removal for
  # a moment; what matters is that none is left, so try again until then.
  while mapfile -t ids < <(docker ps -aq "${filters[@]}" </dev/null) && ((${#ids[@]} > 0)); do
    ((tries++ < 10)) || die "cannot remove the containers matching $*: ${ids[*]}"
    ((tries == 1)) || sleep 0.5
    docker rm -f "${ids[@]}" >/dev/null 2>&1 </dev/null || true
  done
  ((tries == 0)) || say "removed the containers matching $*"
}

remove_pool_runners() {
  local pool
  for pool in "$@"; do
    remove_containers label=flame-node.managed=true "label=flame-node.pool=$pool"
  done
}
