#!/usr/bin/env bash
# setup.sh — installs the Debian packages burnrate needs to build, run and
# test. Idempotent: when everything is present it only checks and returns.
#   scripts/setup.sh          build + runtime packages and the test peers
# Runs apt-get as root (or through sudo when not root).
set -euo pipefail

packages=(
  # build
  build-essential cmake pkg-config git curl ca-certificates
  libmicrohttpd-dev libprotobuf-c-dev protobuf-c-compiler libsnappy-dev
  libcjson-dev libyaml-dev libcurl4-openssl-dev
  # tests
  libcmocka-dev
  # real peers started on loopback by the integration tests and benchmarks
  prometheus prometheus-alertmanager victoria-metrics
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages present"
  exit 0
fi

sudo=""
if [ "$(id -u)" != 0 ]; then
  sudo="sudo"
fi
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
