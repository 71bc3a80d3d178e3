#!/usr/bin/env bash
# Build a small Node base image from this machine's own Node runtime, with `docker import`.
#
# Where no registry can be reached, `node:20-*` cannot be pulled, so the test rigs use this
# image as docker/Dockerfile's BASE_IMAGE instead. Real users keep the official image.
#
# The image holds: the host's `node` at /usr/local/bin/node, every library `ldd` lists for it
# plus the dynamic loader, a static busybox as /bin/sh with the common applets, minimal
# /etc/passwd, /etc/group and /etc/nsswitch.conf (root, and `node` with uid/gid 1000), and
# /tmp with mode 1777. Its labels record the Node version it was cut from.
#
# Usage: docker/build-base-image.sh [--force]
#   --force   rebuild even when the tag already exists
# Environment:
#   FLAME_LOCAL_BASE_IMAGE  tag to build (default flame-node/node-base:20-local)
set -euo pipefail

tag=${FLAME_LOCAL_BASE_IMAGE:-flame-node/node-base:20-local}
force=0

say() { printf 'build-base-image: %s\n' "$*"; }
die() { printf 'build-base-image: error: %s\n' "$*" >&2; exit 1; }

for arg in "$@"; do
  case $arg in
    --force) force=1 ;;
    -h | --help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument '$arg' (expected --force)" ;;
  esac
done

command -v docker >/dev/null 2>&1 || die "no docker client on PATH"
docker info >/dev/null 2>&1 </dev/null ||
  die "the Docker engine does not answer (try .ci/docker-up.sh)"
node_bin=$(command -v node) || die "no node on PATH"
node_bin=$(readlink -f "$node_bin")
node_version=$("$node_bin" -p process.version)

if ((!force)) && docker image inspect "$tag" >/dev/null 2>&1; then
  label='{{index .Config.Labels "org.flame-node.node-version"}}'
  built_from=$(docker image inspect -f "$label" "$tag")
  say "$tag already exists (node $built_from); skipped (use --force to rebuild)"
  if [[ $built_from != "$node_version" ]]; then
    say "note: the host now runs node $node_version; --force would rebuild from it"
  fi
  exit 0
fi

tag_major=$(sed -n 's/.*:\([0-9][0-9]*\)-local$/\1/p' <<<"$tag")
node_major=${node_version#v}
node_major=${node_major%%.*}
if [[ -n $tag_major && $tag_major != "$node_major" ]]; then
  say "warning: tag $tag says node $tag_major but the host runs node $node_version"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/flame-base-image.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/rootfs

# The image uses the merged-/usr layout whatever the host has: /bin, /sbin, /lib and /lib64
# are links into /usr, so a library listed as /lib/... or /usr/lib/... lands in one place.
make_skeleton() {
  mkdir -p "$root"/usr/{bin,sbin,lib,lib64,local/bin} "$root"/{etc,root,home/node,tmp}
  mkdir -p "$root"/{proc,sys,dev,run,var/tmp}
  for d in bin sbin lib lib64; do
    ln -s "usr/$d" "$root/$d"
  done
  chmod 1777 "$root/tmp" "$root/var/tmp"
  chmod 0700 "$root/root"
}

# Copies a host file (links followed) to the same path under the merged-/usr layout.
copy_as_usr() {
  local src=$1 rel
  rel=${src#/}
  rel=${rel#usr/}
  mkdir -p "$root/usr/$(dirname "$rel")"
  cp -L "$src" "$root/usr/$rel"
}

copy_node_and_libs() {
  local listing path count=0

  cp -L "$node_bin" "$root/usr/local/bin/node"
  listing=$(ldd "$node_bin") || die "ldd failed on $node_bin"
  if grep -q 'not found' <<<"$listing"; then
    die "ldd cannot resolve every library of $node_bin:"$'\n'"$listing"
  fi

  # Lines are `name => /path (addr)`, or `/path (addr)` for the loader; the vDSO has no path.
  while read -r path; do
    copy_as_usr "$path"
    count=$((count + 1))
  done < <(awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' <<<"$listing")
  ((count > 0)) || die "ldd listed no libraries for $node_bin; is it static?"
  say "node $node_version from $node_bin with $count libraries (loader included)"
}

is_static() {
  [[ -x $1 ]] && ! ldd "$1" >/dev/null 2>&1
}

# A static busybox needs no library of its own. The host's is used when it is static;
# otherwise Debian's busybox-static .deb is downloaded and unpacked here rather than
# installed, because it conflicts with the (dynamic) busybox package a host may have.
find_busybox() {
  local host deb_dir

  host=$(command -v busybox 2>/dev/null || true)
  if [[ -n $host ]] && is_static "$(readlink -f "$host")"; then
    readlink -f "$host"
    return
  fi

  command -v apt-get >/dev/null 2>&1 || die "no static busybox on the host and no apt-get"
  deb_dir=$work/busybox-deb
  mkdir -p "$deb_dir"
  # apt downloads as its unprivileged _apt user, which must be able to write the dir.
  chmod 0755 "$work"
  if [[ $(id -u) == 0 ]] && id _apt >/dev/null 2>&1; then
    chown _apt "$deb_dir"
  fi
  if ! (cd "$deb_dir" && apt-get download -qq busybox-static </dev/null >&2); then
    say "apt-get download failed; refreshing the package lists once" >&2
    apt-get update -qq </dev/null >&2
    (cd "$deb_dir" && apt-get download -qq busybox-static </dev/null >&2)
  fi
  dpkg-deb -x "$deb_dir"/busybox-static_*.deb "$deb_dir/x"
  for host in "$deb_dir"/x/{bin,usr/bin}/busybox; do
    is_static "$host" && break
  done
  is_static "$host" || die "the busybox-static package holds no static bin/busybox"
  printf '%s\n' "$host"
}

# The applets a shell user or a debugging session expects; `sh` is the one the image needs.
applets=(
  sh ash ls cat ps env hostname sleep echo printf pwd id whoami uname true false test '['
  mkdir rmdir rm cp mv ln chmod chown touch head tail wc grep sed awk sort uniq cut tr
  find xargs which date du df free kill top stat readlink basename dirname tee nproc
  timeout wget nslookup ping ip netstat
)

install_busybox() {
  local bb=$1 available name linked=0

  cp "$bb" "$root/usr/bin/busybox"
  chmod 0755 "$root/usr/bin/busybox"
  available=$("$bb" --list)
  for name in "${applets[@]}"; do
    if grep -qxF -- "$name" <<<"$available"; then
      ln -s busybox "$root/usr/bin/$name"
      linked=$((linked + 1))
    fi
  done
  [[ -L $root/usr/bin/sh ]] || die "busybox at $bb has no sh applet"
  say "busybox $("$bb" | head -n 1 | awk '{print $2}') from $bb with $linked applets"
}

write_etc() {
  cat >"$root/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
node:x:1000:1000:node:/home/node:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
  cat >"$root/etc/group" <<'EOF'
root:x:0:
node:x:1000:
nogroup:x:65534:
EOF
  # glibc resolves through files, then DNS (Docker's embedded DNS on user-defined networks).
  cat >"$root/etc/nsswitch.conf" <<'EOF'
passwd: files
group: files
hosts: files dns
EOF
  printf 'flame-node local base image, node %s from %s\n' "$node_version" "$node_bin" \
    >"$root/etc/flame-node-base"
}

# Everything is owned by root except /home/node; tar's owner flags do that without needing
# root to chown, and a fixed mtime keeps the layer the same for the same inputs.
pack_and_import() {
  local tarball=$work/rootfs.tar
  local -a common=(--numeric-owner --sort=name --mtime=@0)

  tar -cf "$tarball" "${common[@]}" --owner=0 --group=0 --exclude=./home/node -C "$root" .
  tar -rf "$tarball" "${common[@]}" --owner=1000 --group=1000 -C "$root" ./home/node

  docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change "ENV NODE_VERSION=${node_version#v}" \
    --change "LABEL org.flame-node.node-version=$node_version" \
    --change 'LABEL org.flame-node.base=local' \
    --change 'CMD ["node"]' \
    --message "flame-node local base: node $node_version" \
    "$tarball" "$tag" >/dev/null </dev/null
}

make_skeleton
copy_node_and_libs
busybox=$(find_busybox)
install_busybox "$busybox"
write_etc
pack_and_import

size=$(docker image inspect -f '{{.Size}}' "$tag")
say "built $tag ($((size / 1024 / 1024)) MiB, node $node_version)"
