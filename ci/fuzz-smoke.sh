#!/usr/bin/env bash
# The fuzz smoke: builds the fuzz preset (clang, libFuzzer, ASan + UBSan) and
# runs each fuzzer for a fixed time (default 20 s each, one core, a new random
# seed each time, printed) from a copy of its seed corpus with its dictionary
# and options. Any crash fails it, and the crash file and log are kept under
# build/fuzz/crashes/ for replay.
#
#   bash ci/fuzz-smoke.sh [SECONDS]
# Ends with "N passed, N failed" (one per fuzzer) and the executions per
# second each reached.
set -euo pipefail
cd "$(dirname "$0")/.."
. ci/lib.sh
seconds=${1:-20}
fuzzers=(turn_log_fuzzer lock_table_fuzzer region_fuzzer api_fuzzer)
mkdir -p build
if ! { cmake --preset fuzz && cmake --build --preset fuzz; } >build/fuzz-smoke-build.log 2>&1; then
  tail -20 build/fuzz-smoke-build.log
  echo "fuzz smoke: the fuzz preset does not build (build/fuzz-smoke-build.log)"
  echo "0 passed, ${#fuzzers[@]} failed"
  exit 1
fi
mkdir -p build/fuzz/crashes
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0
failed=0
for f in "${fuzzers[@]}"; do
  mkdir -p "$work/$f"
  cp fuzz/corpus/"$f"/* "$work/$f"/
  opts=$(libfuzzer_options fuzz/"$f".options fuzz)
  # shellcheck disable=SC2086
  # A new random seed each run (libFuzzer prints it: "INFO: Seed: N").
  if build/fuzz/fuzz/"$f" $opts -max_total_time="$seconds" -seed=0 -print_final_stats=1 \
       -artifact_prefix=build/fuzz/crashes/"$f"- "$work/$f" >"$work/$f.log" 2>&1; then
    n=$(libfuzzer_stat "$work/$f.log" number_of_executed_units)
    rate=$(libfuzzer_stat "$work/$f.log" average_exec_per_sec)
    seed=$(grep -oE 'INFO: Seed: [0-9]+' "$work/$f.log" | grep -oE '[0-9]+$' || true)
    echo "    $f: ${n:-?} executions in $seconds s (${rate:-?}/s, seed ${seed:-?}), no crash"
    passed=$((passed + 1))
  else
    grep -E "^$f: |ERROR|SUMMARY|Test unit written|Seed:" "$work/$f.log" | head -8 || true
    cp "$work/$f.log" "build/fuzz/crashes/$f.log"
    echo "    $f: FAILED (log build/fuzz/crashes/$f.log; replay: build/fuzz/fuzz/$f build/fuzz/crashes/$f-crash-...)"
    failed=$((failed + 1))
  fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
