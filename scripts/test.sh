#!/usr/bin/env bash
# test.sh — installs what is missing, builds, and runs every test:
#   1. unit tests and the Prometheus PromQL scripts under AddressSanitizer +
#      UndefinedBehaviorSanitizer
#   2. a short fuzz run: every libFuzzer target (tests/fuzz) for FUZZ_SECONDS
#      (default 30) on its corpus, with ASan+UBSan (scripts/fuzz.sh)
#   3. integration tests (real Prometheus, Alertmanager, VictoriaMetrics on
#      loopback) against an optimised build
# The output ends with ctest's summary line. Exit code 0 only if all pass.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
jobs=$(nproc)

echo "== build (ASan+UBSan) =="
cmake -S . -B build/asan -DCMAKE_BUILD_TYPE=Debug -DBR_SANITIZE=address,undefined >/dev/null
cmake --build build/asan -j"$jobs"

echo "== build (release) =="
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build/release -j"$jobs"

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

echo "== unit and PromQL script tests (ASan+UBSan) =="
unit_rc=0
ctest --test-dir build/asan -L "unit|peer" --output-on-failure -j"$jobs" || unit_rc=$?

echo "== fuzzing (libFuzzer + ASan/UBSan, ${FUZZ_SECONDS:-30} s per target) =="
fuzz_rc=0
FUZZ_SECONDS=${FUZZ_SECONDS:-30} scripts/fuzz.sh -j "$jobs" -B build/fuzz || fuzz_rc=$?

echo "== integration tests (release build, real peers) =="
integration_rc=0
# Two at a time: most of these wait on wall-clock ticks (1 s evaluation
# intervals, live load-generator traffic), not on the CPU; the CPU-heavy
# crash test runs alone (RUN_SERIAL in tests/integration/CMakeLists.txt).
ctest --test-dir build/release -L integration --output-on-failure --no-tests=ignore -j2 \
  || integration_rc=$?
exit $(( unit_rc != 0 || fuzz_rc != 0 || integration_rc != 0 ))
