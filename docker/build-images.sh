#!/usr/bin/env bash
# Builds corral's two images from what is on this machine and Debian's packages (no image
# registry is needed):
#   corral:<tag>             FROM scratch: the stripped corral binary, the C libraries it links
#                            (libc, libm, libgcc_s, the loader), a zookeeper user (uid 1000)
#                            owning /data, /datalog, /conf and /logs, as the official image
#   corral-prometheus:<tag>  FROM scratch: Debian's prometheus binary and its libc, with
#                            docker/prometheus/ (the scrape config and ZooKeeper's alert rules)
# Usage: docker/build-images.sh [tag]      (tag: $CORRAL_IMAGE_TAG, or "local")
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tag=${1:-${CORRAL_IMAGE_TAG:-local}}
work=$root/target/docker
step() { printf '\n==> %s\n' "$*"; }

# Copies an executable and every shared library it links into a root filesystem, each at the
# path the loader will look for it.
with_libraries() { # binary rootfs path-in-image
  install -D -m 0755 "$1" "$2$3"
  local lib
  for lib in $(ldd "$1" | grep -o '/[^ ]*'); do
    install -D -m 0755 "$(readlink -f "$lib")" "$2$lib"
  done
}

# /etc files, /tmp, and directories owned by the image's user, for a FROM-scratch image.
base_files() { # rootfs owned-dir user uid
  mkdir -p "$1/etc" "$1/tmp"
  chmod 1777 "$1/tmp"
  printf 'root:x:0:0:root:/root:/sbin/nologin\n%s:x:%s:%s:%s:/nonexistent:/sbin/nologin\n' \
    "$3" "$4" "$4" "$3" >"$1/etc/passwd"
  printf 'root:x:0:\n%s:x:%s:\n' "$3" "$4" >"$1/etc/group"
  printf 'hosts: files dns\n' >"$1/etc/nsswitch.conf"
  mkdir -p "$2"
}

stage_corral() {
  local dir=$work/corral
  rm -rf "$dir" && mkdir -p "$dir"
  base_files "$dir/rootfs" "$dir/owned" zookeeper 1000
  mkdir -p "$dir/owned/data" "$dir/owned/datalog" "$dir/owned/conf" "$dir/owned/logs"
  strip -o "$dir/corral" "$root/target/release/corral"
  with_libraries "$dir/corral" "$dir/rootfs" /usr/local/bin/corral
  cp "$root/docker/Dockerfile" "$dir/Dockerfile"
}

# Debian's prometheus package, downloaded once (apt-get update only if it cannot be found).
prometheus_deb() {
  local cache=$root/target/docker-cache deb
  mkdir -p "$cache"
  deb=$(ls "$cache"/prometheus_*.deb 2>/dev/null | head -n1 || true)
  if [[ -z $deb ]]; then
    (cd "$cache" && { apt-get download prometheus || { apt-get update -q && apt-get download prometheus; }; }) >&2
    deb=$(ls "$cache"/prometheus_*.deb | head -n1)
  fi
  echo "$deb"
}

stage_prometheus() {
  local dir=$work/prometheus deb
  deb=$(prometheus_deb)
  rm -rf "$dir" && mkdir -p "$dir/deb"
  dpkg-deb -x "$deb" "$dir/deb"
  base_files "$dir/rootfs" "$dir/owned" nobody 65534
  mkdir -p "$dir/owned/prometheus"
  with_libraries "$dir/deb/usr/bin/prometheus" "$dir/rootfs" /bin/prometheus
  mkdir -p "$dir/rootfs/etc/prometheus"
  cp -r "$root/docker/prometheus/." "$dir/rootfs/etc/prometheus/"
  cp "$root/docker/prometheus.Dockerfile" "$dir/Dockerfile"
}

step "cargo build --release"
(cd "$root" && cargo build --release)
step "staging the images in $work"
stage_corral
stage_prometheus
step "docker build corral:$tag"
docker build -q -t "corral:$tag" "$work/corral"
step "docker build corral-prometheus:$tag"
docker build -q -t "corral-prometheus:$tag" "$work/prometheus"
docker image ls --format '{{.Repository}}:{{.Tag}}  {{.Size}}' | grep -E "^corral(-prometheus)?:$tag "
