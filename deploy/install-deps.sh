#!/usr/bin/env bash
# Installs every Debian package that building, testing and running sinkhost needs, on Debian 12
# (bookworm) or Debian 13 (trixie); package names are picked by the release's VERSION_CODENAME.
# Libraries a release ships too old or not at all are built once from Debian 13's source
# packages into a cached prefix (deploy/debian-source-build.sh):
#   librdkafka >= 2.6.1 (SCRAM against Kafka 4.x): Debian 13 has 2.8; Debian 12 has 2.0.2
#   QuickJS (record transforms):                   Debian 13 has libquickjs; Debian 12 none
# Idempotent: when everything is present it only runs dpkg-query and exits in about a second.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"

codename="$(. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}")"
packages=(
  # toolchain; clang-format for the format check (tests/tools/check_format.sh)
  g++ cmake ninja-build ccache pkg-config git clang clang-format
  # libraries sinkhost links against (the release-specific ones are added below)
  nlohmann-json3-dev libsodium-dev libsqlite3-dev libssl-dev libre2-dev libfmt-dev libspdlog-dev libcli11-dev
  # the daemon's YAML config file
  libyaml-cpp-dev
  # the daemon's allocator (docs/performance.md, "Where the CPU goes")
  libjemalloc-dev
  # the KurrentDB client protocol (gRPC) on the embedded log (docs/kurrentdb-clients.md)
  libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc
  # tests; /usr/bin/time for tests/bench/delivery_compare.sh; python3 runs http-sink's webhook
  # receiver (tests/support/http_recorder.py)
  libgtest-dev libgmock-dev kcat curl openssl time python3
  # tests/bench/http_compare.sh: nginx receives, wrk sends beside http-sink ("nginx", not
  # nginx-light: Debian 13 has no nginx-light). The benchmark runs its own nginx on its own port;
  # on a machine with systemd, installing the package also starts nginx.service on port 80
  nginx wrk
  # the status page's browser test (tests/ui): headless Chromium driven by puppeteer-core
  chromium
  # the local Kafka broker (deploy/kafka): a Java 17+ runtime and Maven
  maven
  # the Debian package and its test (tests/package): CPack's DEB generator runs dpkg-deb and
  # dpkg-shlibdeps (dpkg-dev), lintian checks the .deb, systemd-analyze verifies the unit
  dpkg-dev lintian systemd
)
from_source=()
case "$codename" in
  bookworm)
    packages+=(libboost1.81-dev libclang-rt-14-dev openjdk-17-jdk-headless
      # what deploy/debian-source-build.sh needs: dpkg-source (dpkg-dev, above), the archive key,
      # and the build dependencies of Debian 13's librdkafka (the same features as Debian's own)
      debian-archive-keyring make
      libsasl2-dev libzstd-dev liblz4-dev zlib1g-dev libcurl4-openssl-dev)
    from_source=(librdkafka quickjs)
    ;;
  trixie)
    packages+=(libboost1.83-dev libclang-rt-19-dev openjdk-21-jdk-headless librdkafka-dev libquickjs)
    ;;
  *)
    echo "install-deps: Debian 12 (bookworm) or 13 (trixie) is needed; this is '${codename:-unknown}'" >&2
    exit 1
    ;;
esac

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}" >&2
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The official KurrentDB Node.js client tests the gRPC face (tests/kurrentdb_clients). A machine
# that has Node.js already (20 or later, with npm) keeps it; otherwise Debian's is installed.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "install-deps: installing nodejs npm" >&2
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi

for p in "${from_source[@]}"; do
  bash "$root/deploy/debian-source-build.sh" "$p"
done
