# shellcheck shell=bash
# Shell helpers for the test apps' scripts. Source it: `source scripts/lib/docker.sh`.
# Nothing here is specific to one app; each function says what it touches.
#
#   log_prefix=name       prefix of say/die messages (default: the calling script's name)
#   say MSG / die MSG     a line on stderr; die exits 1
#   repo_root             the checkout this file belongs to
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

# The host path of the Docker socket, the way the Docker backend looks for it: DOCKER_HOST
# when it is a unix:// address, then WSL2's shared socket, then Docker Desktop's socket on
# macOS, then the Linux default. A tcp:// DOCKER_HOST cannot be mounted, so that is an error.
host_docker_socket() {
  local candidate

  case ${DOCKER_HOST:-} in
    '') ;;
    unix://*)
      candidate=${DOCKER_HOST#unix://}
      [[ -S $candidate ]] || die "DOCKER_HOST=$DOCKER_HOST names no socket"
      printf '%s\n' "$candidate"
      return
      ;;
    *) die "DOCKER_HOST=$DOCKER_HOST is not a unix socket; a parent container needs one to mount" ;;
  esac

  for candidate in /mnt/wsl/shared-docker/docker.sock "$HOME/.docker/run/docker.sock" \
    /var/run/docker.sock; do
    if [[ -S $candidate ]]; then
      printf '%s\n' "$candidate"
      return
    fi
  done
  die "no Docker socket found (tried DOCKER_HOST, /mnt/wsl/shared-docker/docker.sock," \
    "$HOME/.docker/run/docker.sock, /var/run/docker.sock); is the engine running?"
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
