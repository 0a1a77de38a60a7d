#!/usr/bin/env bash
# One command from a fresh machine to the whole test suite: installs the packages, builds
# sinkhost twice (plain, and with AddressSanitizer + UndefinedBehaviorSanitizer) and runs every
# test in both builds, the Kafka ones against a real broker that the tests start themselves.
#   deploy/test.sh              everything (what CI runs)
#   deploy/test.sh --quick      the plain build only
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
quick=0
[ "${1:-}" = "--quick" ] && quick=1

bash "$root/deploy/install-deps.sh"
# Fetch the broker's jars before the clock of any test starts.
bash "$root/deploy/kafka/kafka.sh" fetch

run_suite() {
  local build_dir="$1"; shift
  echo "== build $(basename "$build_dir")" >&2
  bash "$root/deploy/build.sh" "$build_dir" "$@"
  echo "== test $(basename "$build_dir")" >&2
  (cd "$build_dir" && ctest --output-on-failure --timeout 600 -j 2)
}

run_suite "$root/build"
if [ $quick -eq 0 ]; then
  # Sanitizer reports fail the test that triggered them.
  export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:strict_string_checks=1"
  export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
  run_suite "$root/build-asan" -DSINKHOST_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug -DSINKHOST_TEST_KAFKA_PORT_BASE=19192
fi
