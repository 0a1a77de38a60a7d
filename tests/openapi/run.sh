#!/usr/bin/env bash
# Runs the OpenAPI tests with Node's test runner: tests/openapi/run.sh FILE...
# Installs the packages from package-lock.json first (npm ci) when they are missing or stale;
# SINKHOST_BINARY names the daemon (ctest sets it; description.test.mjs does not need one).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
cd "$here"
command -v node >/dev/null || { echo "run.sh: node is missing: run deploy/install-deps.sh" >&2; exit 1; }
(
  flock 9
  if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    npm ci --no-audit --no-fund --loglevel=error >&2
  fi
) 9>"$here/.npm-install.lock"
exec node --test --test-reporter=spec --test-concurrency=1 "$@"
