#!/usr/bin/env bash
# Installs every Debian package that building, testing and running sinkhost needs.
# Idempotent: when everything is present it only runs `dpkg-query` and exits in well under a second.
set -euo pipefail

packages=(
  # toolchain
  g++ cmake ninja-build ccache pkg-config git
  # clang 14 and its sanitizer runtimes: the ThreadSanitizer build and the libFuzzer targets
  clang libclang-rt-14-dev
  # libraries sinkhost links against
  librdkafka-dev libboost1.81-dev nlohmann-json3-dev libsodium-dev libsqlite3-dev libssl-dev
  libre2-dev libfmt-dev libspdlog-dev libcli11-dev
  # record transforms: Duktape's amalgamated source, compiled with a time limit hook (runtime/CMakeLists.txt)
  duktape-dev
  # tests
  libgtest-dev libgmock-dev kcat curl openssl
  # the local Kafka broker (deploy/kafka): Java 17 runtime and Maven
  openjdk-17-jdk-headless maven
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "install-deps: installing ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
