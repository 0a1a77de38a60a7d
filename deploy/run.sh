#!/usr/bin/env bash
# One command from a fresh machine to a working system: installs the packages, builds sinkhost,
# starts the local Kafka broker (127.0.0.1:9092, see deploy/kafka/README.md) and runs sinkhost
# on 127.0.0.1:2113 with its embedded event log in ./data. Ctrl-C stops both.
#   deploy/run.sh [sinkhost options...]     e.g. deploy/run.sh --listen 0.0.0.0:2113
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
bash "$root/deploy/install-deps.sh"
# Only what runs: the daemon and its plugins (deploy/test.sh builds the tests).
SINKHOST_BUILD_TARGETS=sinkhost bash "$root/deploy/build.sh" "$root/build"
bash "$root/deploy/kafka/kafka.sh" start
trap 'bash "$root/deploy/kafka/kafka.sh" stop' EXIT
echo "run.sh: Kafka at 127.0.0.1:${KAFKA_PLAINTEXT_PORT:-9092}; sinkhost at http://127.0.0.1:2113 (Ctrl-C stops both)" >&2
# Secret settings (SASL passwords, client keys) are stored encrypted with a data protection
# token. For this local demo one is generated once into data/ (gitignored); a real deployment
# keeps its token apart from the data (docs/security.md).
mkdir -p "$root/data"
if [ ! -s "$root/data/demo-token" ]; then
  "$root/build/bin/sinkhost" token generate --output "$root/data/demo-token" >/dev/null
fi
"$root/build/bin/sinkhost" --data-dir "$root/data" --data-protection-token-file "$root/data/demo-token" "$@" &
sinkhost_pid=$!
trap 'kill -TERM $sinkhost_pid 2>/dev/null || true' INT TERM
wait $sinkhost_pid || true
