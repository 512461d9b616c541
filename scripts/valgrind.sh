#!/usr/bin/env bash
# valgrind.sh — runs every cmocka unit test under valgrind's memcheck, as a
# second opinion next to the ASan+UBSan run of scripts/test.sh: memcheck
# sees uninitialised reads (which ASan does not) and leaks in code that was
# built without instrumentation.
#
#   scripts/valgrind.sh [-j JOBS] [-t SECONDS] [-B BUILD_DIR] [TEST...]
#
#   -j JOBS     tests run at once (default 2)
#   -t SECONDS  timeout per test (default 900; memcheck is 20-50x slower)
#   -B DIR      build tree (default build/valgrind): Debug, no sanitizers
#   TEST        e.g. test_wal or wal; default: every tests/unit/test_*.c
#
# Each test runs as
#   valgrind --leak-check=full --errors-for-leak-kinds=definite,indirect
#            --error-exitcode=1 <test>
# so any invalid read or write, use of uninitialised memory, bad free, or
# definitely/indirectly lost block fails it. "Still reachable" blocks
# (libcurl's and glibc's one-time globals) are not errors. Logs go to
# <build>/valgrind-logs/<test>.log; the failing ones are printed.
#
# No test is excluded. A test that times out counts as a failure and is
# named as such, never skipped silently.
#
# Exit status: 0 when every test passed clean, 1 when one failed, 2 on a
# usage or build error.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

jobs=2
timeout_s=900
build=build/valgrind
while getopts "j:t:B:h" opt; do
    case "$opt" in
    j) jobs=$OPTARG ;;
    t) timeout_s=$OPTARG ;;
    B) build=$OPTARG ;;
    h)
        sed -n '2,26p' "$0" | sed 's/^# \{0,1\}//'
        exit 0
        ;;
    *) exit 2 ;;
    esac
done
shift $((OPTIND - 1))

if ! command -v valgrind >/dev/null; then
    echo "valgrind.sh: valgrind is not installed (Debian package valgrind)" >&2
    exit 2
fi

tests=()
if [ $# -gt 0 ]; then
    for t in "$@"; do
        t=${t#test_}
        tests+=("test_$t")
    done
else
    for f in tests/unit/test_*.c; do
        tests+=("$(basename "$f" .c)")
    done
fi

echo "== configure and build ${#tests[@]} unit tests (Debug, no sanitizers) in $build =="
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Debug -DBR_SANITIZE= >/dev/null
cmake --build "$build" --target "${tests[@]}" -j"$jobs" >"$build/build.log" 2>&1 || {
    tail -40 "$build/build.log" >&2
    echo "valgrind.sh: build failed (full log: $build/build.log)" >&2
    exit 2
}

logs=$build/valgrind-logs
rm -rf "$logs"
mkdir -p "$logs"

# One test: its result line goes to <logs>/<test>.result.
run_one() {
    local t=$1
    local bin=$build/tests/$t
    local log=$logs/$t.log
    local start end rc
    start=$(date +%s)
    rc=0
    BR_SOURCE_DIR=$root timeout --kill-after=10 "$timeout_s" \
        valgrind --quiet --leak-check=full --show-leak-kinds=definite,indirect \
        --errors-for-leak-kinds=definite,indirect --error-exitcode=1 \
        --num-callers=30 --log-file="$log" "$bin" >"$logs/$t.out" 2>&1 || rc=$?
    end=$(date +%s)
    local what=ok
    if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
        what="TIMEOUT after ${timeout_s}s"
    elif [ "$rc" -ne 0 ]; then
        if [ -s "$log" ]; then
            what="FAILED (memcheck errors, exit $rc)"
        else
            what="FAILED (test failed, exit $rc)"
        fi
    elif [ -s "$log" ]; then
        # Exit 0 but memcheck wrote something (e.g. a warning): show it.
        what="ok (memcheck notes in log)"
    fi
    printf '%-28s %5ss  %s\n' "$t" "$((end - start))" "$what" | tee "$logs/$t.result"
}
export -f run_one
export build logs timeout_s root

echo "== valgrind memcheck, $jobs at a time, timeout ${timeout_s}s each =="
t0=$(date +%s)
printf '%s\n' "${tests[@]}" | xargs -P "$jobs" -I{} bash -c 'run_one "$@"' _ {}
t1=$(date +%s)

failed=0
for t in "${tests[@]}"; do
    if ! grep -q ' ok' "$logs/$t.result" 2>/dev/null; then
        failed=$((failed + 1))
        echo "---- $t: $(cat "$logs/$t.result" 2>/dev/null || echo 'no result') ----"
        tail -60 "$logs/$t.log" 2>/dev/null || true
        tail -20 "$logs/$t.out" 2>/dev/null || true
    fi
done
echo "valgrind: ${#tests[@]} tests, $failed failed, $((t1 - t0)) s wall"
[ "$failed" -eq 0 ]
