#!/usr/bin/env bash
# Runs client test files with Node's test runner: tests/kurrentdb_clients/run.sh FILE...
# (tests/tools/node_tests.sh installs the client packages first); SINKHOST_BINARY names the
# daemon to test (ctest sets it).
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
exec bash "$here/../tools/node_tests.sh" "$here" "$@"
