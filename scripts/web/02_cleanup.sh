#!/usr/bin/env bash
# Removes what scripts/web/01_run.sh made: the parent container, the runners of its pool
# (labels flame-node.managed=true and flame-node.pool=$WEB_POOL_NAME) and both networks.
# The image stays, as a build cache. Safe to run when nothing is left.
#
# Usage: scripts/web/02_cleanup.sh
# The names come from the same variables as 01_run.sh (see scripts/web/common.sh).
set -euo pipefail
# shellcheck disable=SC2034
script_name=02_cleanup # used by say and die in common.sh
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

docker_up

# A graceful stop lets the parent close its pool, so that its runners leave on their own.
parent=$(containers "name=^${WEB_PARENT_NAME}\$" "label=$owner_label")
if [[ -n $parent ]]; then
  docker stop -t 15 "$parent" >/dev/null </dev/null || true
  docker rm -f "$parent" >/dev/null </dev/null
  say "removed parent $WEB_PARENT_NAME"
fi

# Whatever is left: runners of a parent that was killed, or kept with keepRunners.
# Both retry for a few seconds: a runner that has just exited may still be on its way out.
remove_pool_runners "$WEB_POOL_NAME"

mapfile -t networks < <(our_networks "$WEB_NETWORK" "$WEB_PUBLIC_NETWORK")
for network in "${networks[@]}"; do
  remove_network "$network"
done
