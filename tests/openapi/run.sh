#!/usr/bin/env bash
# Runs the OpenAPI tests with Node's test runner: tests/openapi/run.sh FILE...
# (tests/tools/node_tests.sh installs the packages first); SINKHOST_BINARY names the daemon
# (ctest sets it; description.test.mjs does not need one).
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
exec bash "$here/../tools/node_tests.sh" "$here" "$@"
