#!/usr/bin/env bash
# setup.sh — installs what burnrate needs to build, run and test.
# Idempotent: when everything is present it only checks and returns.
#   scripts/setup.sh          build + runtime packages, the test peers, the
#                             browser for the UI tests, and web/node_modules
# Runs apt-get as root (or through sudo when not root).
#
# The web UI embeds uPlot from web/node_modules (the build fails without it)
# and its browser test drives Debian's chromium with playwright-core, both
# installed by `npm ci --prefix web` from web/package-lock.json. That step
# runs when web/node_modules is absent or was installed from another lock
# file (a stamp in web/node_modules records the lock file's checksum).
# Node.js: the one on PATH when there is one, else Debian's nodejs and npm.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  # build
  build-essential cmake pkg-config git curl ca-certificates
  libmicrohttpd-dev libprotobuf-c-dev protobuf-c-compiler libsnappy-dev
  libcjson-dev libyaml-dev libcurl4-openssl-dev
  # basic-auth bcrypt (crypt_rn) and the server's TLS (libmicrohttpd uses GnuTLS)
  libcrypt-dev libgnutls28-dev
  # the TLS integration test makes its CA and certificates with the openssl CLI
  openssl
  # runtime: the IANA zone files calendar SLO periods are computed in
  tzdata
  # tests; clang and its runtime (libFuzzer, sanitizers) for the fuzz run
  libcmocka-dev clang libclang-rt-14-dev
  # real peers started on loopback by the integration tests and benchmarks
  prometheus prometheus-alertmanager victoria-metrics
  # the web UI's browser test (headless) and a font for its screenshots
  chromium fonts-dejavu-core
)
# Debian's Node.js only when no node is installed: another distribution of
# it (with its own npm) may be there already, and Debian's npm conflicts
# with such packages.
if ! command -v node >/dev/null 2>&1; then
  packages+=(nodejs npm)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

sudo=""
if [ "$(id -u)" != 0 ]; then
  sudo="sudo"
fi
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages present"
else
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# web/node_modules from the lock file (npm ci removes a stale tree first).
lock_sum=$(sha256sum web/package-lock.json | cut -d' ' -f1)
stamp=web/node_modules/.burnrate-lock-sha256
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$lock_sum" ] &&
   [ -f web/node_modules/uplot/dist/uPlot.iife.min.js ]; then
  echo "setup: web/node_modules matches web/package-lock.json"
else
  echo "setup: npm ci --prefix web"
  npm ci --prefix web --no-audit --no-fund
  echo "$lock_sum" > "$stamp"
fi
