#!/usr/bin/env bash
# Builds the web test app and starts its parent container, with runners on an internal
# network and the page on http://127.0.0.1:$WEB_HOST_PORT (4000).
#
# Usage: scripts/web/01_run.sh [CMD] [DOCKER_RUN_FLAGS]
#   CMD               the parent's command, run with `sh -c` in /app (default: the image's,
#                     which starts the web server); "" keeps the default
#   DOCKER_RUN_FLAGS  extra `docker run` flags, word-split, e.g. "-d" or "-it -e FOO=1".
#                     With neither argument the default is -it on a terminal; once either
#                     argument is given there are no default flags. -d (also in -dit) starts
#                     the parent in the background instead of attaching to it.
#
# Steps: `npm run build`; docker/build-app-image.sh; remove what a previous run left
# (02_cleanup.sh); create the runner network with --internal and a second, ordinary network
# for the published port; start the parent named $WEB_PARENT_NAME with the Docker socket,
# FLAME_COOKIE, FLAME_DOCKER_IMAGE and FLAME_DOCKER_NETWORK.
#
# Environment (optional), besides the names in scripts/web/common.sh:
#   FLAME_COOKIE      shared by the parent and its runners (default: random for this run)
#   WEB_DATA_DIR      host directory mounted at /data for the SQLite file (default: none,
#                     the database lives and dies with the parent container)
#   WEB_SKIP_BUILD=1  use the existing image as it is
#   WEB_POOL_MIN, WEB_POOL_MAX, WEB_POOL_MAX_CONCURRENCY, WEB_IDLE_SHUTDOWN_MS, WEB_TASK_MS,
#   FLAME_LOG_LEVEL (default info), FLAME_DOCKER_HOST_CONFIG: passed on to the parent
set -euo pipefail
# shellcheck disable=SC2034
script_name=01_run # used by say and die in common.sh
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

custom_cmd=${1:-}
if (($# == 0)) && [[ -t 0 && -t 1 ]]; then
  read -ra user_flags <<<"-it"
else
  read -ra user_flags <<<"${2:-}"
fi

# `docker create` takes every run flag but -d; the parent is created, wired to both networks
# and only then started, so it never runs with one network missing.
detach=0
create_flags=()
for flag in "${user_flags[@]}"; do
  case $flag in
    -d | --detach) detach=1 ;;
    -[it]*d* | -d[it]*)
      detach=1
      create_flags+=("${flag//d/}")
      ;;
    *) create_flags+=("$flag") ;;
  esac
done

# `docker run -t` refuses a standard input that is not a terminal; `docker create -t` does
# not, and the `docker start -a` below would then wait for ever. Refuse it the same way.
for flag in "${create_flags[@]}"; do
  if [[ $flag == --tty || ($flag == -[a-z]*t* && $flag != --*) ]] && [[ ! -t 0 ]]; then
    die "the flags ask for a terminal ($flag) but standard input is not one: run this from a" \
      "terminal, or pass -d (background) or no -t"
  fi
done

docker_up
socket=$(host_docker_socket)
cd "$repo_root"

if [[ ${WEB_SKIP_BUILD:-} == 1 ]]; then
  docker image inspect "$WEB_IMAGE" >/dev/null 2>&1 </dev/null ||
    die "WEB_SKIP_BUILD=1 but there is no image $WEB_IMAGE"
  say "using the existing image $WEB_IMAGE"
else
  say "building the workspace (npm run build)"
  npm run build --silent
  docker/build-app-image.sh "$app_dir" "$WEB_IMAGE"
fi

"$repo_root/scripts/web/02_cleanup.sh"
docker network create --internal --label "$owner_label" "$WEB_NETWORK" >/dev/null </dev/null
docker network create --label "$owner_label" "$WEB_PUBLIC_NETWORK" >/dev/null </dev/null
say "networks: $WEB_NETWORK (internal, runners) and $WEB_PUBLIC_NETWORK (published port)"

export FLAME_COOKIE=${FLAME_COOKIE:-$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')}
env_flags=(
  -e FLAME_COOKIE
  -e "FLAME_DOCKER_IMAGE=$WEB_IMAGE"
  -e "FLAME_DOCKER_NETWORK=$WEB_NETWORK"
  -e "FLAME_LOG_LEVEL=${FLAME_LOG_LEVEL:-info}"
  -e WEB_HOST=0.0.0.0
  -e WEB_PORT=4000
  -e "WEB_POOL_NAME=$WEB_POOL_NAME"
)
for name in WEB_POOL_MIN WEB_POOL_MAX WEB_POOL_MAX_CONCURRENCY WEB_IDLE_SHUTDOWN_MS \
  WEB_TASK_MS FLAME_DOCKER_HOST_CONFIG; do
  if [[ -n ${!name:-} ]]; then env_flags+=(-e "$name"); fi
done
data_flags=()
if [[ -n ${WEB_DATA_DIR:-} ]]; then
  mkdir -p "$WEB_DATA_DIR"
  data_flags=(-v "$(cd "$WEB_DATA_DIR" && pwd):/data" -e WEB_DB_PATH=/data/web.db)
fi
cmd=()
if [[ -n $custom_cmd ]]; then cmd=(sh -c "$custom_cmd"); fi

# --init: node is not PID 1, so `docker stop` reaches the app's SIGTERM handler at once.
docker create \
  --name "$WEB_PARENT_NAME" --hostname "$WEB_PARENT_NAME" \
  --label "$owner_label" --init \
  --network "$WEB_PUBLIC_NETWORK" -p "127.0.0.1:$WEB_HOST_PORT:4000" \
  -v "$socket:/var/run/docker.sock" \
  "${env_flags[@]}" "${data_flags[@]}" "${create_flags[@]}" \
  "$WEB_IMAGE" "${cmd[@]}" >/dev/null </dev/null
docker network connect "$WEB_NETWORK" "$WEB_PARENT_NAME" </dev/null

say "starting $WEB_PARENT_NAME: http://127.0.0.1:$WEB_HOST_PORT (socket $socket)"
if ((detach)); then
  docker start "$WEB_PARENT_NAME" >/dev/null </dev/null
  say "running in the background; logs: docker logs -f $WEB_PARENT_NAME"
else
  attach=(-a)
  if [[ " ${create_flags[*]} " =~ \ -[a-z]*i ]]; then attach=(-ai); fi
  exec docker start "${attach[@]}" "$WEB_PARENT_NAME"
fi
