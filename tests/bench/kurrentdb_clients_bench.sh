#!/usr/bin/env bash
# The gRPC face against the HTTP API, side by side: append events/s (the official KurrentDB
# Node.js client vs fetch) and catch-up events/s (a $all subscription vs paging). Figures:
# docs/performance.md. Usage: tests/bench/kurrentdb_clients_bench.sh [--build DIR] [--rounds N] [--events N]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)"
build="$root/build"
if [ "${1:-}" = "--build" ]; then build="$2"; shift 2; fi
export SINKHOST_BINARY="$build/bin/sinkhost"
[ -x "$SINKHOST_BINARY" ] || { echo "no $SINKHOST_BINARY: build it first (deploy/build.sh)" >&2; exit 1; }
cd "$root/tests/kurrentdb_clients"
[ -f node_modules/.package-lock.json ] || npm ci --no-audit --no-fund --loglevel=error
exec node bench/append_read.bench.mjs "$@"
