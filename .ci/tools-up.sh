#!/usr/bin/env bash
# Installs the tools the Docker test project drives besides the engine: Debian's Chromium
# (driven by playwright-core, never a downloaded browser) and docker-compose 1.29 for the
# test apps' compose files. Does nothing for a tool already present.
set -euo pipefail

say() { printf 'tools-up: %s\n' "$*"; }

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)

if ((${#missing[@]} == 0)); then
  say "chromium and docker-compose already installed"
  exit 0
fi

say "installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq </dev/null
apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null >/dev/null
say "installed: $(chromium --version 2>/dev/null | head -1); $(docker-compose version --short 2>/dev/null)"
