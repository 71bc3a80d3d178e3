#!/usr/bin/env bash
# Figures for the Docker backend, through the minimal app: an empty pool's first call (it
# boots a runner container), a warm call's round trip, and, for comparison, a plain
# `docker run --rm <image> node -e 0`. Uses its own network and pool name and removes them.
#
# Usage: scripts/minimal/measure.sh [runs of docker run, default 5]
# Environment: MINIMAL_IMAGE (see settings.sh); MINIMAL_SKIP_BUILD=1 to use the image as is.
set -euo pipefail

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$script_dir/../lib/docker.sh"
source "$script_dir/settings.sh"
repo=$(repo_root)
runs=${1:-5}
network=minimal_flame_node_measure_$$
pool=minimal-measure-$$

docker_up
socket=$(host_docker_socket)
if [[ ${MINIMAL_SKIP_BUILD:-} != 1 ]]; then
  (cd "$repo" && npm run build --silent -w test-apps/minimal) >&2
  "$repo/docker/build-app-image.sh" "$repo/test-apps/minimal" "$minimal_image" >&2
fi

cleanup() {
  remove_pool_runners "$pool" "$pool-memory" "$pool-broken"
  remove_network "$network"
}
trap cleanup EXIT
recreate_network "$network" flame-node.app=minimal

timings=$(FLAME_COOKIE=$(random_cookie) docker run --rm -i \
  --network "$network" -v "$socket:/var/run/docker.sock" -e FLAME_COOKIE \
  -e "FLAME_DOCKER_IMAGE=$minimal_image" -e "FLAME_DOCKER_NETWORK=$network" \
  -e "MINIMAL_POOL=$pool" \
  "$minimal_image" node test-apps/minimal/dist/cli.js timings </dev/null | grep '^{"event"')

plain=()
for ((i = 0; i < runs; i++)); do
  start=$(date +%s%N)
  docker run --rm --network none "$minimal_image" node -e 0 </dev/null
  plain+=($((($(date +%s%N) - start) / 1000000)))
done

# shellcheck disable=SC2016 # JavaScript template strings, not shell expansions
node -e '
  const t = JSON.parse(process.argv[1]);
  const plain = process.argv.slice(2).map(Number).sort((a, b) => a - b);
  const median = plain[Math.floor(plain.length / 2)];
  console.log(`empty pool to first result (parent side)  ${t.coldMs} ms`);
  console.log(`warm call round trip (of 20)              min ${t.warmMs.min} ms, ` +
    `median ${t.warmMs.median} ms, max ${t.warmMs.max} ms`);
  console.log(`docker run --rm <image> node -e 0         median ${median} ms of ${plain.length} ` +
    `(${plain.join(", ")})`);
' "$timings" "${plain[@]}"
