#!/usr/bin/env bash
# Configures and builds sinkhost into a build directory.
#   deploy/build.sh [BUILD_DIR] [extra cmake args...]      (default build dir: build)
# SINKHOST_BUILD_TARGETS limits what is built (e.g. "sinkhost": the daemon and its plugins).
# Warnings are errors here, as in CI. Ninja and ccache are used (install-deps.sh installs them).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
build_dir="${1:-$root/build}"
shift || true
cmake -S "$root" -B "$build_dir" -G Ninja -DSINKHOST_WERROR=ON "$@" >/dev/null
# Two cores: more parallel jobs only add memory pressure.
targets=()
for t in ${SINKHOST_BUILD_TARGETS:-}; do targets+=(--target "$t"); done
cmake --build "$build_dir" "${targets[@]}" -- -j "$(nproc)"
