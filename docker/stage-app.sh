#!/usr/bin/env bash
# Stage the build context of an app image from this checkout. Nothing compiles here or in the
# image: the app and packages/* must already be built on the host (`npm run build`).
#
# Usage: docker/stage-app.sh <app-dir> <out-dir>
#   <app-dir>  the app's directory (it holds package.json and the built dist/)
#   <out-dir>  a new or empty directory that becomes the build context
#
# Layout of <out-dir>, which docker/Dockerfile copies to /app:
#   package.json, package-lock.json    the workspace root
#   packages/<name>/{package.json,dist} every workspace package
#   <app-path>/{package.json,dist,...} the app: its path in the checkout, or apps/<name>
#                                      when it lives outside the checkout
#   node_modules/                      the root's, links kept, dev dependencies pruned
#   .flame-stage                       APP_DIR= and APP_MAIN= lines (not copied to the image)
#
# Environment (optional):
#   FLAME_APP_MAIN     the app's main script, relative to <app-dir> (default: package.json
#                      "main", else dist/main.js, else dist/index.js)
#   FLAME_STAGE_EXTRA  more paths inside <app-dir> to stage, space-separated
#   FLAME_REPO_ROOT    the checkout to stage from (default: this script's checkout)
set -euo pipefail

say() { printf 'stage-app: %s\n' "$*"; }
die() { printf 'stage-app: error: %s\n' "$*" >&2; exit 1; }

(($# == 2)) || die "usage: $0 <app-dir> <out-dir>"
script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "${FLAME_REPO_ROOT:-$script_dir/..}" && pwd -P)
[[ -d $1 ]] || die "app dir '$1' does not exist"
app=$(cd "$1" && pwd -P)
out=$2

# Static assets an app commonly serves or renders besides its compiled code.
asset_dirs=(public static assets views templates)

check_inputs() {
  local pkg main

  [[ -f $repo/package.json && -f $repo/package-lock.json ]] ||
    die "$repo has no package.json and package-lock.json"
  [[ -d $repo/node_modules ]] || die "$repo/node_modules is missing: run npm ci first"
  [[ $app != "$repo" ]] || die "the app dir must not be the workspace root itself"
  [[ -f $app/package.json ]] || die "$app has no package.json"
  [[ -d $app/dist ]] || die "$app/dist is missing: build the app first"

  # A dist/ without the package's main file is a build that failed or never emitted.
  for pkg in "$repo"/packages/*/; do
    pkg=${pkg%/}
    [[ -f $pkg/package.json ]] || continue
    main=$(node -p 'require(process.argv[1]).main || "index.js"' "$pkg/package.json")
    [[ -d $pkg/dist && -f $pkg/$main ]] ||
      die "${pkg#"$repo"/}/$main is missing: run \`npm run build\` in $repo first"
  done

  if [[ -e $out && -n $(ls -A "$out") ]]; then
    die "out dir $out is not empty"
  fi
}

# The app keeps its place in the checkout, so relative paths between it and packages/ hold;
# an app from elsewhere goes under apps/.
app_path() {
  case $app in
    "$repo"/*) printf '%s\n' "${app#"$repo"/}" ;;
    *) printf 'apps/%s\n' "$(basename "$app")" ;;
  esac
}

app_main() {
  local main=${FLAME_APP_MAIN:-}

  if [[ -z $main ]]; then
    main=$(node -p 'require(process.argv[1]).main || ""' "$app/package.json")
  fi
  if [[ -z $main ]]; then
    for main in dist/main.js dist/index.js ''; do
      [[ -z $main || -f $app/$main ]] && break
    done
  fi
  [[ -n $main ]] || die "cannot tell the app's main script: set \"main\" or FLAME_APP_MAIN"
  main=${main#./}
  [[ -f $app/$main ]] || die "the app's main script $app/$main does not exist"
  printf '%s\n' "$main"
}

stage_packages() {
  local pkg name

  for pkg in "$repo"/packages/*/; do
    pkg=${pkg%/}
    [[ -f $pkg/package.json ]] || continue
    name=$(basename "$pkg")
    mkdir -p "$out/packages/$name"
    cp -a "$pkg/package.json" "$pkg/dist" "$out/packages/$name/"
  done
}

stage_app() {
  local dest=$out/$1 entry

  mkdir -p "$dest"
  cp -a "$app/package.json" "$app/dist" "$dest/"
  for entry in "${asset_dirs[@]}" ${FLAME_STAGE_EXTRA:-}; do
    if [[ -e $app/$entry ]]; then
      mkdir -p "$dest/$(dirname "$entry")"
      cp -a "$app/$entry" "$dest/$entry"
    elif [[ " ${FLAME_STAGE_EXTRA:-} " == *" $entry "* ]]; then
      die "FLAME_STAGE_EXTRA names $entry, which is not in $app"
    fi
  done
  # An app outside the workspaces may carry its own dependencies.
  if [[ -d $app/node_modules ]]; then
    cp -a "$app/node_modules" "$dest/"
  fi
}

# Workspace packages sit in node_modules as relative links (@flame-node/core ->
# ../../packages/core), which cp -a keeps and which resolve inside the image too.
# `npm prune` works from the lockfile and the tree on disk, so it needs no network;
# --offline makes sure it never tries.
stage_node_modules() {
  local absolute

  cp -a "$repo/node_modules" "$out/node_modules"
  (
    cd "$out"
    npm prune --omit=dev --offline --ignore-scripts --no-audit --no-fund \
      --loglevel=error </dev/null
  ) || die "npm prune failed in $out"
  # Pruning can leave a scope folder (@jest/) with nothing in it.
  find "$out/node_modules" -mindepth 1 -maxdepth 1 -type d -empty -delete

  absolute=$(find "$out/node_modules" -type l -lname '/*' -printf '  %P -> %l\n' | head -n 5)
  if [[ -n $absolute ]]; then
    say "warning: absolute links in node_modules will not resolve in the image:"
    printf '%s\n' "$absolute"
  fi
}

check_inputs
rel=$(app_path)
main=$(app_main)
mkdir -p "$out"
out=$(cd "$out" && pwd -P)

cp -a "$repo/package.json" "$repo/package-lock.json" "$out/"
stage_packages
stage_app "$rel"
stage_node_modules
find "$out" -name '*.tsbuildinfo' -type f -delete
cp "$script_dir/.dockerignore" "$out/.dockerignore"
printf 'APP_DIR=%s\nAPP_MAIN=%s\n' "$rel" "$rel/$main" >"$out/.flame-stage"

say "staged $app as /app/$rel (main /app/$rel/$main) in $out ($(du -sh "$out" | cut -f1))"
