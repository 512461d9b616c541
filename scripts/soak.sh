#!/usr/bin/env bash
# soak.sh — load and soak test of the real `burnrate serve` on loopback:
# builds burnrate and the harness (tests/soak/soak.c), then runs it for N
# minutes and prints its report and summary.
#
#   scripts/soak.sh [--minutes N] [--valgrind] [-B BUILD_DIR] [-- HARNESS_FLAGS...]
#
#   --minutes N   length of the timed run (default 10), after a 6-minute
#                 backfill of history that takes a few seconds
#   --valgrind    run the server under valgrind memcheck (Debug build, no
#                 sanitizers; a tenth of the load: --rate 2 --endpoints 4).
#                 Any memcheck error or definitely/indirectly lost block
#                 makes burnrate exit 1, which fails the exit check
#   -B DIR        build tree (default build/soak, Release; build/soak-valgrind
#                 with --valgrind)
#   HARNESS_FLAGS passed to burnrate-soak, e.g. -- --senders 8 --rate 10
#                 (burnrate-soak --help lists them)
#
# The harness starts burnrate with the example SLO files and a temp data
# dir, runs 4 remote-write senders at a steady rate (5 requests/s each,
# 1009 series, one sample per series per request), 2 query threads (instant
# and range error-ratio queries, histogram_quantile, the budget API, the UI,
# /metrics), samples VmRSS, and fails (exit 1) on any error status, any
# lost acknowledged sample, RSS growth after warm-up of 5% or more (net of
# 2 bytes per stored sample), or an unclean exit. ctest runs a 2-minute
# version as integration_test_soak.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

minutes=10
build=
valgrind=0
while [ $# -gt 0 ]; do
    case "$1" in
    --minutes)
        minutes=${2:?--minutes needs a value}
        shift 2
        ;;
    --valgrind)
        valgrind=1
        shift
        ;;
    -B)
        build=${2:?-B needs a value}
        shift 2
        ;;
    --)
        shift
        break
        ;;
    -h | --help)
        sed -n '2,26p' "$0" | sed 's/^# \{0,1\}//'
        exit 0
        ;;
    *)
        echo "soak.sh: unknown argument $1 (see --help)" >&2
        exit 2
        ;;
    esac
done
case "$minutes" in
'' | *[!0-9.]*)
    echo "soak.sh: --minutes wants a number, got '$minutes'" >&2
    exit 2
    ;;
esac
seconds=$(awk -v m="$minutes" 'BEGIN { printf "%d", m * 60 }')

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [ "$valgrind" -eq 1 ]; then
    if ! command -v valgrind >/dev/null; then
        echo "soak.sh: valgrind is not installed (Debian package valgrind)" >&2
        exit 2
    fi
    build=${build:-build/soak-valgrind}
    echo "== build (Debug, no sanitizers) in $build =="
    cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Debug -DBR_SANITIZE= >/dev/null
else
    build=${build:-build/soak}
    echo "== build (Release) in $build =="
    cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
cmake --build "$build" --target burnrate burnrate-soak -j"$(nproc)" >/dev/null

bin=$(cd "$build/engine" && pwd)/burnrate
extra=()
if [ "$valgrind" -eq 1 ]; then
    # The harness starts --bin with the server's arguments, so a wrapper
    # puts valgrind in front. Its report goes to the server log, whose tail
    # the harness prints when a check fails.
    {
        echo '#!/bin/sh'
        echo "exec valgrind --quiet --leak-check=full --show-leak-kinds=definite,indirect \\"
        echo "    --errors-for-leak-kinds=definite,indirect --error-exitcode=1 --num-callers=30 \\"
        echo "    '$bin' \"\$@\""
    } >"$tmp/burnrate-valgrind"
    chmod +x "$tmp/burnrate-valgrind"
    bin=$tmp/burnrate-valgrind
    extra=(--rate 2 --endpoints 4)
fi

echo "== soak: $minutes min =="
rc=0
"$build/tests/integration/burnrate-soak" --bin "$bin" --source "$root" \
    --seconds "$seconds" "${extra[@]}" "$@" | tee "$tmp/out" || rc=$?
echo
echo "== summary =="
grep '^SUMMARY ' "$tmp/out" | sed 's/^SUMMARY //' | tr ' ' '\n' | sed 's/=/: /'
if [ "$rc" -eq 0 ]; then
    echo "soak: PASS"
else
    echo "soak: FAIL (exit $rc)"
fi
exit "$rc"
