# shellcheck shell=bash disable=SC2034
# Settings and helpers shared by scripts/web/01_run.sh and 02_cleanup.sh (sourced, not run).
#
# Every name can be overridden from the environment, so a test can run its own copy of the
# app next to a developer's:
#   WEB_IMAGE           app image                         (flame-node/test-web:dev)
#   WEB_PARENT_NAME     parent container and host name     (web-flame-parent)
#   WEB_NETWORK         runner network, --internal         (web_flame_docker_backend_test)
#   WEB_PUBLIC_NETWORK  the parent's second network, for the published port
#                                                          (web_flame_public)
#   WEB_POOL_NAME       pool name, in the runners' labels  (web)
#   WEB_HOST_PORT       port on the host's 127.0.0.1       (4000)
#   DOCKER_SOCKET       the daemon's socket, as mounted into the parent (detected)

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
app_dir=test-apps/web
script_name=${script_name:-scripts/web}

WEB_IMAGE=${WEB_IMAGE:-flame-node/test-web:dev}
WEB_PARENT_NAME=${WEB_PARENT_NAME:-web-flame-parent}
WEB_NETWORK=${WEB_NETWORK:-web_flame_docker_backend_test}
WEB_PUBLIC_NETWORK=${WEB_PUBLIC_NETWORK:-web_flame_public}
WEB_POOL_NAME=${WEB_POOL_NAME:-web}
WEB_HOST_PORT=${WEB_HOST_PORT:-4000}

# Marks the parent and the networks these scripts make, so cleanup removes only those.
owner_label=flame-node.test-app=web

say() { printf '%s: %s\n' "$script_name" "$*" >&2; }
die() { printf '%s: error: %s\n' "$script_name" "$*" >&2; exit 1; }

docker_up() {
  command -v docker >/dev/null 2>&1 || die "no docker client on PATH"
  docker info >/dev/null 2>&1 </dev/null ||
    die "the Docker engine does not answer (on this project's CI: .ci/docker-up.sh)"
}

# The daemon's socket as the daemon's own host sees it: that is the path `-v` mounts from.
# Docker Desktop on macOS resolves /var/run/docker.sock inside its VM whatever the socket on
# the Mac is called; WSL2 distributions sharing one engine use /mnt/wsl/shared-docker.
docker_socket() {
  local socket

  if [[ -n ${DOCKER_SOCKET:-} ]]; then
    socket=$DOCKER_SOCKET
  elif [[ ${DOCKER_HOST:-} == unix://* ]]; then
    socket=${DOCKER_HOST#unix://}
  elif [[ -n ${DOCKER_HOST:-} ]]; then
    die "DOCKER_HOST=$DOCKER_HOST is not a unix socket: set DOCKER_SOCKET to the socket" \
      "path on the daemon's host"
  elif [[ $(uname -s) == Darwin ]]; then
    printf '/var/run/docker.sock\n'
    return
  elif grep -qi microsoft /proc/version 2>/dev/null &&
    [[ -S /mnt/wsl/shared-docker/docker.sock ]]; then
    socket=/mnt/wsl/shared-docker/docker.sock
  else
    socket=/var/run/docker.sock
  fi
  [[ -S $socket ]] || die "$socket is not a socket: set DOCKER_SOCKET to the daemon's socket"
  printf '%s\n' "$socket"
}

# Ids of containers matching every filter given (`label=...`, `name=...`), stopped ones too.
containers() {
  local args=() filter
  for filter in "$@"; do args+=(--filter "$filter"); done
  docker ps -aq "${args[@]}" </dev/null
}

# Names of our networks among the ones given.
our_networks() {
  local name
  for name in "$@"; do
    if docker network inspect -f '{{index .Labels "flame-node.test-app"}}' "$name" \
      2>/dev/null </dev/null | grep -qx web; then
      printf '%s\n' "$name"
    fi
  done
}
