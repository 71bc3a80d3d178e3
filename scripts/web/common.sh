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

script_name=${script_name:-scripts/web}
log_prefix=$script_name # say and die, from scripts/lib/docker.sh
# shellcheck source=../lib/docker.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/docker.sh"
repo_root=$(repo_root)
app_dir=test-apps/web

WEB_IMAGE=${WEB_IMAGE:-flame-node/test-web:dev}
WEB_PARENT_NAME=${WEB_PARENT_NAME:-web-flame-parent}
WEB_NETWORK=${WEB_NETWORK:-web_flame_docker_backend_test}
WEB_PUBLIC_NETWORK=${WEB_PUBLIC_NETWORK:-web_flame_public}
WEB_POOL_NAME=${WEB_POOL_NAME:-web}
WEB_HOST_PORT=${WEB_HOST_PORT:-4000}

# Marks the parent and the networks these scripts make, so cleanup removes only those.
owner_label=flame-node.test-app=web

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
