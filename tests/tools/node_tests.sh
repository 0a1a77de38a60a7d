#!/usr/bin/env bash
# Runs a folder's JavaScript tests with Node's test runner: tests/tools/node_tests.sh DIR FILE...
# First installs DIR's packages from its package-lock.json (npm ci) when they are missing or
# stale, one installer at a time. Used by tests/kurrentdb_clients, tests/openapi and tests/ui
# (their run.sh); ctest passes the daemon in SINKHOST_BINARY.
set -euo pipefail
dir="$(cd "$1" && pwd -P)"
shift
cd "$dir"
command -v node >/dev/null || { echo "node_tests.sh: node is missing: run deploy/install-deps.sh" >&2; exit 1; }
(
  flock 9
  if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    npm ci --no-audit --no-fund --loglevel=error >&2
  fi
) 9>"$dir/.npm-install.lock"
# kcat on sinkhost's librdkafka when deploy/install-deps.sh built one (deploy/bin/kcat).
export PATH="$dir/../../deploy/bin:$PATH"
exec node --test --test-reporter=spec --test-concurrency=1 "$@"
