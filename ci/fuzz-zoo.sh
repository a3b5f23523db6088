#!/usr/bin/env bash
# Proves that the schedule fuzzers find races: each mutant of the bug zoo
# (docs/BUG_ZOO.md) is built into the fuzz configuration, and its fuzzer
# (turn_log_fuzzer or lock_table_fuzzer) runs on one core from the committed
# seed corpus until the first crash. A catch is a crash whose report is the
# harness's checker report (not a runaway loop, not a timeout), and whose
# crash file replays to the same report, schedule included.
#
#   bash ci/fuzz-zoo.sh                  the three fastest mutants, one run each (CI)
#   bash ci/fuzz-zoo.sh --empty          the three fastest from an empty corpus (CI)
#   bash ci/fuzz-zoo.sh --all --runs 5   every mutant, five runs each, median table
#   FUZZ_ZOO_TABLE=1 bash ci/fuzz-zoo.sh --all --runs 5
#                                        ... and write the table into docs/FUZZING.md
#
# Options: --limit SECONDS per run (default 300), --mutants "a b" to choose,
# --empty to start from an empty corpus (the dictionary only) instead of the
# seed corpus.
# Ends with "N caught, N missed".
set -euo pipefail
cd "$(dirname "$0")/.."
. ci/lib.sh

# mutant -> fuzzer that must find it. The first three of all_mutants are the
# fastest from the seeds (docs/FUZZING.md has the measured tables) and are
# what CI checks, with fastest_empty from an empty corpus.
declare -A fuzzer_of=(
  [visible_before_predecessors]=turn_log_fuzzer
  [release_without_owner_check]=lock_table_fuzzer
  [check_then_insert]=turn_log_fuzzer
  [expiry_without_fencing_bump]=lock_table_fuzzer
  [slot_reuse_aba]=lock_table_fuzzer
  [task_check_then_create]=lock_table_fuzzer
  [cleanup_ignores_pins]=turn_log_fuzzer
  [publish_before_payload]=turn_log_fuzzer
)
all_mutants=(visible_before_predecessors release_without_owner_check task_check_then_create
             check_then_insert expiry_without_fencing_bump slot_reuse_aba
             cleanup_ignores_pins publish_before_payload)
# The three fastest from an empty corpus (docs/FUZZING.md's second table).
fastest_empty=(release_without_owner_check expiry_without_fencing_bump task_check_then_create)
mutants=()
runs=1
limit=300
from=seeds
while [ $# -gt 0 ]; do
  case "$1" in
    --all) mutants=("${all_mutants[@]}") ;;
    --runs) runs="$2"; shift ;;
    --limit) limit="$2"; shift ;;
    --mutants) read -r -a mutants <<<"$2"; shift ;;
    --empty) from=empty ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    *) echo "fuzz-zoo: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
if [ ${#mutants[@]} -eq 0 ]; then
  if [ "$from" = seeds ]; then mutants=("${all_mutants[@]:0:3}"); else mutants=("${fastest_empty[@]}"); fi
fi
for m in "${mutants[@]}"; do
  if [ -z "${fuzzer_of[$m]:-}" ]; then echo "fuzz-zoo: no mutant '$m'" >&2; exit 2; fi
done

caught=0
missed=0
rows=()
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for m in "${mutants[@]}"; do
  fuzzer=${fuzzer_of[$m]}
  dir=build/fuzz-zoo/$m
  echo "=== $m: building $fuzzer with the mutant"
  cmake -S . -B "$dir" -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DWEFT_SANITIZE=address,undefined -DWEFT_BUILD_SIM=ON -DWEFT_FUZZ_ENGINE=libfuzzer \
    -DWEFT_BUILD_TESTS=OFF -DWEFT_BUILD_EXAMPLES=OFF -DWEFT_WARNINGS_AS_ERRORS=ON \
    -DWEFT_MUTANT="$m" >/dev/null
  cmake --build "$dir" --target "$fuzzer" -j 2 >/dev/null
  times=()
  execs=()
  found=0
  for run in $(seq 1 "$runs"); do
    corpus="$work/$m-$run"
    rm -rf "$corpus"
    mkdir -p "$corpus"
    if [ "$from" = seeds ]; then cp fuzz/corpus/"$fuzzer"/* "$corpus"/; fi
    log="$work/$m-$run.log"
    start=$(date +%s.%N)
    set +e
    "$dir/fuzz/$fuzzer" -seed="$run" -max_total_time="$limit" -timeout=30 -print_final_stats=1 \
      -dict=fuzz/"$fuzzer".dict -artifact_prefix="$work/$m-$run-" "$corpus" >"$log" 2>&1
    rc=$?
    set -e
    end=$(date +%s.%N)
    artifact=$(ls "$work/$m-$run-"crash-* 2>/dev/null | head -1 || true)
    failure=$(grep -m1 "^$fuzzer: " "$log" | sed "s/^$fuzzer: //" || true)
    n=$(libfuzzer_stat "$log" number_of_executed_units)
    seconds=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')
    # The whole report (checker text and schedule) must come back on replay.
    report_of() { awk -v f="$fuzzer: " 'index($0, f) == 1 { on = 1 } on { print } on && /^schedule: / { exit }'; }
    report=$(report_of <"$log")
    replayed=""
    if [ -n "$artifact" ]; then replayed=$("$dir/fuzz/$fuzzer" "$artifact" 2>&1 | report_of || true); fi
    if [ "$rc" -ne 0 ] && [ -n "$failure" ] && [[ "$failure" != runaway* ]] && [ "$report" = "$replayed" ]; then
      echo "    run $run: caught in ${seconds} s, ${n:-?} executions: $failure"
      times+=("$seconds")
      execs+=("${n:-0}")
      found=$((found + 1))
    else
      echo "    run $run: not caught within ${limit} s (${n:-?} executions)"
    fi
  done
  median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else print v[int((NR + 1) / 2)] }'; }
  if [ "$found" -eq "$runs" ]; then
    caught=$((caught + 1))
    rows+=("| $m | $fuzzer | $found/$runs | $(median "${times[@]}") | $(median "${execs[@]}") |")
  else
    missed=$((missed + 1))
    rows+=("| $m | $fuzzer | $found/$runs | $( [ "$found" -gt 0 ] && median "${times[@]}" || echo "> $limit" ) | $( [ "$found" -gt 0 ] && median "${execs[@]}" || echo "-" ) |")
  fi
done

table="| mutant | fuzzer | runs that caught it | median seconds to first crash | median executions |
|---|---|---|---|---|
$(printf '%s\n' "${rows[@]}")"
echo "=== fuzz zoo (one core, ASan + UBSan, from the $( [ "$from" = seeds ] && echo "seed corpus" || echo "empty corpus" ), at most $limit s a run)"
echo "$table"
if [ "${FUZZ_ZOO_TABLE:-0}" = 1 ]; then
  python3 - "$table" "$runs" "$limit" "$from" <<'EOF'
import re, sys
table, runs, limit = sys.argv[1], sys.argv[2], sys.argv[3]
path = "docs/FUZZING.md"
text = open(path).read()
origin = sys.argv[4]
block = ("<!-- fuzz-zoo-%s:begin (generated by FUZZ_ZOO_TABLE=1 bash ci/fuzz-zoo.sh --all --runs %s --limit %s%s) -->\n"
         "%s runs per mutant from the %s corpus, at most %s s each, one core.\n\n%s\n<!-- fuzz-zoo-%s:end -->"
         % (origin, runs, limit, " --empty" if origin == "empty" else "", runs, "seed" if origin == "seeds" else "empty",
            limit, table, origin))
text = re.sub(r"<!-- fuzz-zoo-%s:begin.*?<!-- fuzz-zoo-%s:end -->" % (origin, origin), lambda _: block, text, flags=re.S)
open(path, "w").write(text)
EOF
fi
echo "$caught caught, $missed missed"
[ "$missed" -eq 0 ]
