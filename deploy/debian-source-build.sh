#!/usr/bin/env bash
# Builds a library from Debian 13's (trixie's) *source package* into a cached prefix, for a
# release whose own binary package is too old (Debian 12: librdkafka 2.0.2, no QuickJS).
#
#   deploy/debian-source-build.sh PACKAGE     PACKAGE: librdkafka | quickjs
#   deploy/debian-source-build.sh --prefix    prints the prefix (what CMake searches)
#   deploy/debian-source-build.sh --archive   prints this machine's Debian archive URI
#
# The source package is fetched by name with apt-get from the Debian archive this machine's apt
# already uses, through a private apt configuration under the cache (its own sources list, lists
# and archives), so the system's sources and package state stay untouched. Debian's patches are
# applied by dpkg-source. The result goes to PREFIX (default ~/.cache/sinkhost/debian13/prefix,
# SINKHOST_CACHE moves it) with the layout Debian's binary packages have:
#   librdkafka: include/librdkafka/*.h, lib/librdkafka.so*, lib/pkgconfig/rdkafka.pc
#   quickjs:    include/quickjs/quickjs.h, lib/quickjs/libquickjs.a
# A build is done once: a marker names the source version, and a second run only checks it.
# No library source is kept in this repository.
set -euo pipefail

PROG="debian-source-build.sh"
die() { echo "$PROG: error: $*" >&2; exit 1; }
log() { echo "$PROG: $*" >&2; }

CACHE_ROOT="${SINKHOST_CACHE:-$HOME/.cache/sinkhost}"
BASE="$CACHE_ROOT/debian13"
PREFIX="$BASE/prefix"
SUITE="${SINKHOST_SOURCE_SUITE:-trixie}"

[ $# -eq 1 ] || die "usage: $PROG librdkafka|quickjs|--prefix|--archive"
if [ "$1" = "--prefix" ]; then echo "$PREFIX"; exit 0; fi

# The archive URI of the machine's own Debian sources (deb822 .sources or one-line .list files).
archive_uri() {
  local f uri=""
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    uri="$(awk '/^URIs:/ {for (i = 2; i <= NF; i++) if ($i ~ /\/debian\/?$/) {print $i; exit}}' "$f")"
    [ -n "$uri" ] && { echo "${uri%/}"; return; }
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    uri="$(awk '$1 == "deb" {for (i = 2; i <= NF; i++) if ($i ~ /^(https?|file|ftp):.*\/debian\/?$/) {print $i; exit}}' "$f")"
    [ -n "$uri" ] && { echo "${uri%/}"; return; }
  done
  die "found no Debian archive in /etc/apt/sources.list{,.d}: cannot fetch source packages"
}

if [ "$1" = "--archive" ]; then archive_uri; exit 0; fi
package="$1"
case "$package" in librdkafka|quickjs) ;; *) die "unknown package '$package' (librdkafka or quickjs)";; esac

APT_DIR="$BASE/apt"
apt_options=(
  -o "Dir::Etc::SourceList=$APT_DIR/sources.list" -o "Dir::Etc::SourceParts=/dev/null"
  -o "Dir::State::Lists=$APT_DIR/lists" -o "Dir::Cache=$APT_DIR/cache" -o "Dir::State::status=/dev/null"
  -o "APT::Sandbox::User=root" -o "Debug::NoLocking=1"
)

# Source package version (e.g. 2.8.0-1) as the private apt lists know it; refreshes them once a day.
source_version() {
  mkdir -p "$APT_DIR/lists/partial" "$APT_DIR/cache/archives/partial"
  local keyring=/usr/share/keyrings/debian-archive-keyring.gpg
  [ -f "$keyring" ] || die "$keyring is missing (package debian-archive-keyring)"
  printf 'deb-src [signed-by=%s] %s %s main\n' "$keyring" "$(archive_uri)" "$SUITE" >"$APT_DIR/sources.list.new"
  local stale=1
  if cmp -s "$APT_DIR/sources.list.new" "$APT_DIR/sources.list" 2>/dev/null \
     && [ -n "$(find "$APT_DIR/lists" -maxdepth 1 -name '*Sources*' -mmin -1440 2>/dev/null)" ]; then
    stale=0
  fi
  mv "$APT_DIR/sources.list.new" "$APT_DIR/sources.list"
  if [ $stale -eq 1 ]; then
    apt-get "${apt_options[@]}" -qq update >&2 || die "apt-get update of $SUITE's source lists failed"
  fi
  apt-cache "${apt_options[@]}" showsrc "$package" 2>/dev/null | awk '/^Version:/ {print $2; exit}'
}

marker="$PREFIX/.built-$package"
# Offline fast path: a finished build is kept whatever the archive says later (the lists are only
# consulted for a first build, or when SINKHOST_SOURCE_REFRESH=1 asks for the archive's newest).
if [ -f "$marker" ] && [ "${SINKHOST_SOURCE_REFRESH:-0}" != 1 ]; then
  exit 0
fi

command -v dpkg-source >/dev/null || die "dpkg-source not found (package dpkg-dev; deploy/install-deps.sh installs it)"
mkdir -p "$BASE"
exec 9>"$BASE/.lock-$package"
flock 9
[ -f "$marker" ] && [ "${SINKHOST_SOURCE_REFRESH:-0}" != 1 ] && exit 0

version="$(source_version)"
[ -n "$version" ] || die "the $SUITE archive has no source package '$package'"
if [ -f "$marker" ] && [ "$(cat "$marker")" = "$version" ]; then exit 0; fi

work="$BASE/build/$package-$version"
rm -rf "$work"
mkdir -p "$work"
log "building $package $version from Debian $SUITE's source package into $PREFIX (once)"
(cd "$work" && apt-get "${apt_options[@]}" -qq source --download-only "$package=$version" >&2) \
  || die "could not download the source package $package=$version"
dsc="$(ls "$work"/*.dsc | head -n1)"
dpkg-source --no-check -x "$dsc" "$work/src" >/dev/null || die "dpkg-source could not unpack $dsc"

jobs="$(nproc)"
case "$package" in
  librdkafka)
    # The features Debian's build has (it autodetects them from its build dependencies); asked for
    # explicitly so that a missing -dev package fails here instead of building a lesser library.
    (cd "$work/src" && ./configure --prefix="$PREFIX" --libdir="$PREFIX/lib" \
        --enable-ssl --enable-gssapi --enable-zstd --enable-lz4-ext --enable-zlib --enable-curl \
        >"$work/configure.log" 2>&1) \
      || { tail -n 30 "$work/configure.log" >&2; die "librdkafka's configure failed (log: $work/configure.log)"; }
    (cd "$work/src" && make -j "$jobs" -C src >"$work/build.log" 2>&1 && make -C src install >>"$work/build.log" 2>&1) \
      || { tail -n 30 "$work/build.log" >&2; die "building librdkafka failed (log: $work/build.log)"; }
    ;;
  quickjs)
    # Only the library, as Debian's libquickjs package ships it (static, -fPIC for the plugins).
    # Flags from the environment: the Makefile appends its own (defines, warnings) to them.
    (cd "$work/src" && CFLAGS='-fPIC' make -j "$jobs" CONFIG_LTO= libquickjs.a >"$work/build.log" 2>&1) \
      || { tail -n 30 "$work/build.log" >&2; die "building QuickJS failed (log: $work/build.log)"; }
    install -d "$PREFIX/include/quickjs" "$PREFIX/lib/quickjs"
    install -m 644 "$work/src/quickjs.h" "$work/src/quickjs-libc.h" "$PREFIX/include/quickjs/"
    install -m 644 "$work/src/libquickjs.a" "$PREFIX/lib/quickjs/"
    ;;
esac
echo "$version" >"$marker"
rm -rf "$work"
log "$package $version installed in $PREFIX"
