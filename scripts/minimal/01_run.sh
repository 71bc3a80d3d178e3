#!/usr/bin/env bash
# Build the minimal app and its image, recreate its network, and start its parent container
# with an interactive REPL (test-apps/minimal/dist/main.js).
#
# Usage: scripts/minimal/01_run.sh [command] [docker run flags]
#   command  run this in the parent container instead of the REPL, e.g.
#            "node test-apps/minimal/dist/cli.js ten" (split at spaces, no shell quoting);
#            the default flags (-it) are then left out, so it works without a terminal
#   flags    extra `docker run` flags, e.g. "-it" or "-d"
#
# Environment (optional): MINIMAL_IMAGE, MINIMAL_NETWORK, MINIMAL_PARENT, MINIMAL_POOL
# (names, see settings.sh); FLAME_COOKIE (default: a random one); MINIMAL_SKIP_BUILD=1 to
# use the image as it is; MINIMAL_MAX, MINIMAL_IDLE_MS, MINIMAL_MAX_CONCURRENCY and
# FLAME_LOG_LEVEL are passed on to the parent when set.
set -euo pipefail

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$script_dir/../lib/docker.sh"
source "$script_dir/settings.sh"
repo=$(repo_root)

command_line=${1:-}
if [[ -n $command_line ]]; then
  read -ra command <<<"$command_line"
  read -ra flags <<<"${2:-}"
else
  command=()
  read -ra flags <<<"${2:--it}"
fi

docker_up
socket=$(host_docker_socket)

if [[ ${MINIMAL_SKIP_BUILD:-} != 1 ]]; then
  say "building the app"
  (cd "$repo" && npm run build --silent -w test-apps/minimal) >&2
  "$repo/docker/build-app-image.sh" "$repo/test-apps/minimal" "$minimal_image" >&2
fi
docker image inspect "$minimal_image" >/dev/null 2>&1 </dev/null ||
  die "image $minimal_image does not exist; run without MINIMAL_SKIP_BUILD=1"

# A parent left from an earlier run holds the name, and it and its runners the network.
remove_containers "name=^/?$minimal_parent\$"
remove_containers label=flame-node.managed=true "network=$minimal_network"
recreate_network "$minimal_network" flame-node.app=minimal

passed=(-e "MINIMAL_POOL=$minimal_pool")
for name in MINIMAL_MAX MINIMAL_IDLE_MS MINIMAL_MAX_CONCURRENCY FLAME_LOG_LEVEL; do
  if [[ -n ${!name:-} ]]; then passed+=(-e "$name"); fi
done

# The cookie goes through the environment of `docker run`, not its arguments, so it does
# not show in the process list.
export FLAME_COOKIE=${FLAME_COOKIE:-$(random_cookie)}
say "starting $minimal_parent on $minimal_network (socket $socket)"
exec docker run --rm "${flags[@]}" \
  --name "$minimal_parent" \
  --network "$minimal_network" \
  -v "$socket:/var/run/docker.sock" \
  -e FLAME_COOKIE \
  -e "FLAME_DOCKER_IMAGE=$minimal_image" \
  -e "FLAME_DOCKER_NETWORK=$minimal_network" \
  "${passed[@]}" \
  "$minimal_image" "${command[@]}"
