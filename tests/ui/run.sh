#!/usr/bin/env bash
# Runs the status page's browser tests with Node's test runner: tests/ui/run.sh FILE...
# (tests/tools/node_tests.sh installs puppeteer-core first; the browser is Debian's chromium,
# from deploy/install-deps.sh). SINKHOST_BINARY names the daemon (ctest sets it);
# SINKHOST_UI_ARTIFACTS the directory for the screenshot.
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
command -v chromium >/dev/null || { echo "run.sh: chromium is missing: run deploy/install-deps.sh" >&2; exit 1; }
exec bash "$here/../tools/node_tests.sh" "$here" "$@"
