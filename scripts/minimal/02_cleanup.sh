#!/usr/bin/env bash
# Remove what scripts/minimal/01_run.sh made: the parent container, every runner of the
# minimal app's pools (found by their flame-node labels; other apps' runners stay), and the
# network. The image stays. Safe to run when nothing is left.
#
# Environment (optional): MINIMAL_NETWORK, MINIMAL_PARENT, MINIMAL_POOL (see settings.sh).
set -euo pipefail

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$script_dir/../lib/docker.sh"
source "$script_dir/settings.sh"

docker_up
remove_containers "name=^/?$minimal_parent\$"
remove_pool_runners "${minimal_pools[@]}"
remove_network "$minimal_network"
say "clean"
