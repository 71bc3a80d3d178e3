# shellcheck shell=bash disable=SC2034
# Names the minimal app's scripts share. Each can be changed from the environment, which is
# how the test suite runs these scripts without touching a developer's session.
minimal_image=${MINIMAL_IMAGE:-flame-node/minimal:dev}
minimal_network=${MINIMAL_NETWORK:-minimal_flame_node_test}
minimal_parent=${MINIMAL_PARENT:-minimal-flame-parent}
# The app's pool names (test-apps/minimal/src/pools.ts): its runners carry them as labels.
minimal_pool=${MINIMAL_POOL:-minimal}
minimal_pools=("$minimal_pool" "$minimal_pool-memory" "$minimal_pool-broken")
