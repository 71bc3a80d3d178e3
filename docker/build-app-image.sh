#!/usr/bin/env bash
# Build an app image: stage the app with docker/stage-app.sh into a temporary context, then
# `docker build` it with docker/Dockerfile. The temporary context is removed afterwards.
#
# Usage: docker/build-app-image.sh <app-dir> <image-tag>
#
# Base image, first match wins:
#   1. $FLAME_BASE_IMAGE, when set (docker pulls it if it must);
#   2. the local base image ($FLAME_LOCAL_BASE_IMAGE, default flame-node/node-base:20-local)
#      when it exists;
#   3. the Dockerfile's default (the official node image) when it is already present;
#   4. otherwise the local base image, built now with docker/build-base-image.sh.
# This script never probes a registry to see whether it is reachable: on a machine without
# one that probe is just traffic to nowhere. To use the official image where a registry is
# reachable, set FLAME_BASE_IMAGE=node:20-bookworm-slim.
set -euo pipefail

say() { printf 'build-app-image: %s\n' "$*"; }
die() { printf 'build-app-image: error: %s\n' "$*" >&2; exit 1; }

(($# == 2)) || die "usage: $0 <app-dir> <image-tag>"
app_dir=$1
tag=$2
script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
dockerfile=$script_dir/Dockerfile
local_base=${FLAME_LOCAL_BASE_IMAGE:-flame-node/node-base:20-local}

docker info >/dev/null 2>&1 </dev/null ||
  die "the Docker engine does not answer (try .ci/docker-up.sh)"
official=$(sed -n 's/^ARG BASE_IMAGE=//p' "$dockerfile")
[[ -n $official ]] || die "$dockerfile has no ARG BASE_IMAGE default"

has_image() { docker image inspect "$1" >/dev/null 2>&1 </dev/null; }

pick_base() {
  if [[ -n ${FLAME_BASE_IMAGE:-} ]]; then
    base=$FLAME_BASE_IMAGE why="FLAME_BASE_IMAGE"
  elif has_image "$local_base"; then
    base=$local_base why="local base image present"
  elif has_image "$official"; then
    base=$official why="official image present"
  else
    say "neither $local_base nor $official is present; building the local base image"
    FLAME_LOCAL_BASE_IMAGE=$local_base "$script_dir/build-base-image.sh"
    base=$local_base why="local base image built now"
  fi
}

context=$(mktemp -d "${TMPDIR:-/tmp}/flame-app-context.XXXXXX")
build_log=$(mktemp "${TMPDIR:-/tmp}/flame-app-build.XXXXXX")
trap 'rm -rf "$context" "$build_log"' EXIT

"$script_dir/stage-app.sh" "$app_dir" "$context"
app_main=$(sed -n 's/^APP_MAIN=//p' "$context/.flame-stage")

pick_base
say "building $tag from $base ($why), APP_MAIN=$app_main"
start=$SECONDS
# --force-rm: the classic builder otherwise keeps the container of a failed step.
if ! docker build --force-rm -f "$dockerfile" \
  --build-arg "BASE_IMAGE=$base" \
  --build-arg "APP_MAIN=$app_main" \
  --label "org.flame-node.base-image=$base" \
  -t "$tag" "$context" </dev/null >"$build_log" 2>&1; then
  tail -n 40 "$build_log" >&2
  die "docker build of $tag failed"
fi

size=$(docker image inspect -f '{{.Size}}' "$tag")
say "built $tag ($((size / 1024 / 1024)) MiB) in $((SECONDS - start))s"
