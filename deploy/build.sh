#!/usr/bin/env bash
# Configures and builds sinkhost into a build directory.
#   deploy/build.sh [BUILD_DIR] [extra cmake args...]      (default build dir: build)
# Warnings are errors here, as in CI. Ninja and ccache are used (install-deps.sh installs them).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
build_dir="${1:-$root/build}"
shift || true
cmake -S "$root" -B "$build_dir" -G Ninja -DSINKHOST_WERROR=ON "$@" >/dev/null
# Two cores: more parallel jobs only add memory pressure.
cmake --build "$build_dir" -- -j "$(nproc)"
