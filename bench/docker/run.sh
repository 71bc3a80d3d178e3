#!/usr/bin/env bash
# `npm run bench:docker`: the benchmarks with the Docker backend. The parent runs in a
# container on a user-defined network, as in production, and its runners are sibling
# containers started through the mounted Docker socket.
#
# Usage: bench/docker/run.sh [bench...]   (names as for bench/run.js: latency, throughput,
#                                           payloads, cold-start, scale; default all)
#
# Steps: build the packages; stage bench/ as a small app (apps/flame-bench/dist in the image)
# and build its image with docker/build-app-image.sh; recreate an internal network; run
# bench/run.js in a parent container with BENCH_BACKEND=docker; remove the runners and the
# network afterwards, whatever happened.
#
# Environment (optional): BENCH_DOCKER_IMAGE (default flame-node/bench:dev),
# BENCH_DOCKER_NETWORK (default flame_node_bench), BENCH_DOCKER_PARENT (default
# flame-bench-parent), BENCH_SKIP_BUILD=1 to use the image as it is; BENCH_ROUNDS,
# BENCH_QUICK and BENCH_WINDOW are passed on to the benches.
set -euo pipefail

log_prefix=bench-docker
script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/lib/docker.sh source-path=SCRIPTDIR/../..
source "$script_dir/../../scripts/lib/docker.sh"
repo=$(repo_root)

image=${BENCH_DOCKER_IMAGE:-flame-node/bench:dev}
network=${BENCH_DOCKER_NETWORK:-flame_node_bench}
parent=${BENCH_DOCKER_PARENT:-flame-bench-parent}
app_dir=/app/apps/flame-bench
stage=''

docker info >/dev/null 2>&1 </dev/null ||
  die "the Docker engine does not answer (try .ci/docker-up.sh)"
socket=$(host_docker_socket)

# bench/ is plain JavaScript with no build of its own: it goes into the image as the dist/
# of an app called flame-bench, so the usual staging (root node_modules, packages/*/dist)
# applies. piscina is a dev dependency and is pruned; the benches skip it in this mode.
build_image() {
  stage=$(mktemp -d)
  say "building the packages"
  (cd "$repo" && npm run build --silent) >&2
  mkdir -p "$stage/flame-bench/dist"
  cp -r "$repo/bench/run.js" "$repo/bench/raw-server.js" "$repo/bench/lib" \
    "$repo/bench/benches" "$repo/bench/tasks" "$stage/flame-bench/dist/"
  printf '{ "name": "flame-bench", "private": true, "main": "dist/run.js" }\n' \
    >"$stage/flame-bench/package.json"
  "$repo/docker/build-app-image.sh" "$stage/flame-bench" "$image" >&2
  rm -rf "$stage"
  stage=''
}

cleanup() {
  if [[ -n $stage ]]; then rm -rf "$stage"; fi
  remove_containers "name=^/?$parent\$"
  remove_containers label=flame-node.managed=true "network=$network"
  remove_containers label=flame-node.bench=cold-start
  remove_network "$network"
}

trap 'if [[ -n $stage ]]; then rm -rf "$stage"; fi' EXIT
if [[ ${BENCH_SKIP_BUILD:-} != 1 ]]; then build_image; fi
docker image inspect "$image" >/dev/null 2>&1 </dev/null ||
  die "image $image does not exist; run without BENCH_SKIP_BUILD=1"

cleanup
recreate_network "$network" flame-node.app=bench
trap cleanup EXIT

passed=()
for name in BENCH_ROUNDS BENCH_QUICK BENCH_WINDOW FLAME_LOG_LEVEL; do
  if [[ -n ${!name:-} ]]; then passed+=(-e "$name"); fi
done

export FLAME_COOKIE=${FLAME_COOKIE:-$(random_cookie)}
say "running the benches in $parent on $network"
docker run --rm --init \
  --name "$parent" \
  --network "$network" \
  -v "$socket:/var/run/docker.sock" \
  -e FLAME_COOKIE \
  -e BENCH_BACKEND=docker \
  -e "FLAME_DOCKER_IMAGE=$image" \
  -e "FLAME_DOCKER_NETWORK=$network" \
  "${passed[@]}" \
  "$image" node "$app_dir/dist/run.js" "$@" </dev/null
