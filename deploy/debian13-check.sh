#!/usr/bin/env bash
# Proves the Debian 13 (trixie) path from any Debian machine: bootstraps a minimal trixie root
# with debootstrap (from the Debian archive this machine's apt uses), copies this working tree
# into it, and inside it runs deploy/install-deps.sh (trixie's package names, its librdkafka 2.8
# and libquickjs packages), the build of the daemon, its plugins and the unit tests, and the unit
# tests. Needs root (debootstrap, chroot, mounts). Not part of CI (it takes a while); see
# docs/development.md for what it last printed.
#
#   deploy/debian13-check.sh [ROOT_DIR]      default /var/tmp/sinkhost-debian13
# SINKHOST_DEBIAN13_KEEP=1 keeps the root afterwards (a second run then reuses it).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
target="${1:-/var/tmp/sinkhost-debian13}"
PROG="debian13-check.sh"
die() { echo "$PROG: error: $*" >&2; exit 1; }
log() { echo "$PROG: $*" >&2; }

[ "$(id -u)" -eq 0 ] || die "run as root (debootstrap and chroot need it)"
if ! command -v debootstrap >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null \
    || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null; }
fi

mirror="$(bash "$root/deploy/debian-source-build.sh" --archive)"

mounted=()
cleanup() {
  local m
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount -l "${mounted[$i]}" 2>/dev/null || true; done
  if [ "${SINKHOST_DEBIAN13_KEEP:-0}" != 1 ]; then rm -rf "$target"; fi
}
trap cleanup EXIT

started=$SECONDS
if [ ! -x "$target/usr/bin/apt-get" ]; then
  log "bootstrapping Debian 13 (trixie) into $target from $mirror"
  rm -rf "$target"
  debootstrap --variant=minbase --include=ca-certificates,sudo trixie "$target" "$mirror" >"/tmp/$PROG.debootstrap.log" 2>&1 \
    || { tail -n 20 "/tmp/$PROG.debootstrap.log" >&2; die "debootstrap failed"; }
fi
log "root ready after $((SECONDS - started)) s: $(cat "$target/etc/debian_version")"
printf 'Types: deb\nURIs: %s\nSuites: trixie trixie-updates\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
  "$mirror" >"$target/etc/apt/sources.list.d/debian.sources"
rm -f "$target/etc/apt/sources.list"
cp /etc/resolv.conf "$target/etc/resolv.conf" 2>/dev/null || true

for m in proc sys dev dev/pts; do
  mkdir -p "$target/$m"
  mount --bind "/$m" "$target/$m"
  mounted+=("$target/$m")
done

# This working tree, without build directories and broker state.
rm -rf "$target/src"
mkdir -p "$target/src"
tar -C "$root" --exclude='./build*' --exclude='./data' --exclude='./deploy/kafka/.state' --exclude='./.git' -cf - . \
  | tar -C "$target/src" -xf -

log "inside Debian 13: install-deps, build, unit tests"
chroot "$target" /usr/bin/env -i HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  LANG=C.UTF-8 /bin/bash -euo pipefail -c '
    cd /src
    cat /etc/debian_version
    bash deploy/install-deps.sh
    cmake -S . -B build -G Ninja -DSINKHOST_WERROR=ON >/dev/null
    cmake --build build --target sinkhost sinkhost_unit_tests sinkhost_fuzz_http_request sinkhost_fuzz_settings \
      sinkhost_fuzz_append -- -j "$(nproc)" >/tmp/build.log 2>&1 \
      || { tail -n 40 /tmp/build.log; exit 1; }
    build/bin/sinkhost --version
    cd build && if ctest -L unit -j "$(nproc)" --output-on-failure >/tmp/ctest.log 2>&1; then status=0; else status=1; fi
    grep -E "tests passed|\(Failed\)|Not Run|Timeout" /tmp/ctest.log || true
    [ $status -eq 0 ] || { tail -n 60 /tmp/ctest.log; exit 1; }
  '
log "Debian 13 check passed in $((SECONDS - started)) s"
