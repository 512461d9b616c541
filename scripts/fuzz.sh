#!/usr/bin/env bash
# fuzz.sh — builds the libFuzzer targets (tests/fuzz) with clang, ASan and
# UBSan, and runs each for a while on a copy of its corpus.
#
#   scripts/fuzz.sh [-t SECONDS] [-j JOBS] [-B BUILD_DIR] [TARGET...]
#   scripts/fuzz.sh --seeds        regenerate the binary seeds (fuzz_seedgen)
#
#   -t SECONDS  per target (default 30; FUZZ_SECONDS also sets it)
#   -j JOBS     targets run at once (default 1)
#   -B DIR      build tree (default build/fuzz)
#   TARGET      e.g. promql or fuzz_promql; default: every target
#
# The repository's corpus (tests/fuzz/corpus/<target>/) is copied to a
# temporary directory first, so a run never changes it; the scratch files
# targets write (data directories, config files) go there too, and it is
# removed at the end. A crash, sanitizer report, leak, timeout (25 s) or
# out-of-memory stops that target; so does any single allocation over
# 64 MiB: no input of at most 16 KiB should need that much (input
# size never drives memory: STYLE.md); its input is kept in
# <build>/fuzz-artifacts/ and the script prints the path and the command
# that reproduces it. Exit status: 0 when no target found anything, 1
# otherwise, 2 on a usage or build error.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

seconds=${FUZZ_SECONDS:-30}
jobs=1
build=build/fuzz
seeds=0
targets=()
all=(remote_write promql promql_eval config slo gate wal_record chunk wal snapshot alert_state tz)

# Largest input per target: big enough for the seeds, small enough that
# executions stay fast.
max_len_of() {
    case "$1" in
    promql | promql_eval | wal_record | chunk | tz) echo 4096 ;;
    gate | config) echo 8192 ;;
    *) echo 16384 ;;
    esac
}

usage() {
    sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
}

while [ $# -gt 0 ]; do
    case "$1" in
    -t) seconds=$2; shift 2 ;;
    -j) jobs=$2; shift 2 ;;
    -B) build=$2; shift 2 ;;
    --seeds) seeds=1; shift ;;
    -h | --help) usage ;;
    -*) echo "fuzz.sh: unknown option $1" >&2; usage ;;
    *) targets+=("${1#fuzz_}"); shift ;;
    esac
done
[ ${#targets[@]} -gt 0 ] || targets=("${all[@]}")
for t in "${targets[@]}"; do
    [ -f "tests/fuzz/fuzz_$t.c" ] || { echo "fuzz.sh: no target $t" >&2; exit 2; }
done
case "$seconds" in '' | *[!0-9]*) echo "fuzz.sh: -t needs seconds" >&2; exit 2 ;; esac

command -v clang >/dev/null || { echo "fuzz.sh: clang is required" >&2; exit 2; }

echo "== build ($build, clang, ASan+UBSan+libFuzzer) =="
CC=clang cmake -S . -B "$build" -DBR_FUZZ=ON -DBR_BUILD_TESTS=OFF \
    -DBR_SANITIZE=address,undefined -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" --target fuzz -j"$(nproc)" >/dev/null
bin="$root/$build/tests/fuzz"
case "$build" in /*) bin="$build/tests/fuzz" ;; esac

# Scratch space: RAM-backed when available (the storage targets write files
# on every execution).
parent=${TMPDIR:-/tmp}
if [ -d /dev/shm ] && [ -w /dev/shm ]; then
    parent=/dev/shm
fi
work=$(mktemp -d "$parent/br-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT

if [ "$seeds" = 1 ]; then
    echo "== regenerating binary seeds in tests/fuzz/corpus =="
    TMPDIR="$work" "$bin/fuzz_seedgen" "$root/tests/fuzz/corpus"
    exit 0
fi

artifacts="$bin/../../fuzz-artifacts"
mkdir -p "$artifacts"
artifacts=$(cd "$artifacts" && pwd)

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:allocator_may_return_null=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

# run_one TARGET: fuzzes one target; writes $work/TARGET.result.
run_one() {
    local t=$1
    local corpus="$work/corpus/fuzz_$t"
    local tmp="$work/tmp/$t"
    mkdir -p "$corpus" "$tmp"
    if [ -d "tests/fuzz/corpus/fuzz_$t" ]; then
        cp -r "tests/fuzz/corpus/fuzz_$t/." "$corpus/"
    fi
    local log="$work/$t.log"
    local rc=0
    # The storage targets open a head or a notifier on every execution:
    # a smaller ASan quarantine makes them about 2.5x faster.
    local asan=$ASAN_OPTIONS
    case "$t" in wal | snapshot | alert_state) asan="$asan:quarantine_size_mb=16" ;; esac
    ASAN_OPTIONS="$asan" TMPDIR="$tmp" "$bin/fuzz_$t" "$corpus" -max_total_time="$seconds" \
        -max_len="$(max_len_of "$t")" -timeout=25 -rss_limit_mb=2048 -malloc_limit_mb=64 \
        -artifact_prefix="$artifacts/fuzz_$t-" -print_final_stats=1 >"$log" 2>&1 || rc=$?
    local execs per_s
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    per_s=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    local found=""
    if [ "$rc" != 0 ]; then
        found=$(sed -n 's/^.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
        [ -n "$found" ] || found="(no input written; see the log below)"
    fi
    printf '%s %s %s %s\n' "$rc" "${execs:-0}" "${per_s:-0}" "$found" >"$work/$t.result"
}

mkdir -p "$work/corpus" "$work/tmp"
echo "== fuzzing ${#targets[@]} target(s), ${seconds}s each, $jobs at a time =="
running=0
for t in "${targets[@]}"; do
    run_one "$t" &
    running=$((running + 1))
    if [ "$running" -ge "$jobs" ]; then
        wait -n || true
        running=$((running - 1))
    fi
done
wait || true

status=0
printf '%-14s %12s %10s  %s\n' target executions exec/s result
for t in "${targets[@]}"; do
    read -r rc execs per_s found <"$work/$t.result" || true
    if [ "$rc" = 0 ]; then
        printf '%-14s %12s %10s  %s\n' "$t" "$execs" "$per_s" ok
    else
        status=1
        printf '%-14s %12s %10s  %s\n' "$t" "$execs" "$per_s" "FOUND: $found"
    fi
done
for t in "${targets[@]}"; do
    read -r rc _ _ found <"$work/$t.result" || true
    if [ "$rc" != 0 ]; then
        echo
        echo "== fuzz_$t failed (exit $rc); end of its log =="
        grep -v '^#[0-9]' "$work/$t.log" | tail -60
        echo "reproduce: $bin/fuzz_$t $found"
        echo "keep it:   cp $found tests/fuzz/corpus/fuzz_$t/regression-<what-it-caught>"
    fi
done
exit "$status"
