#!/usr/bin/env bash
# The benchmark suite (bench/weft_bench.cpp): installs what is missing,
# configures and builds the bench preset, runs every benchmark (weft's
# TurnLog and LockTable, the seeds' mutex design, lock-free queues and maps,
# the fetch_add / memcpy ceiling) and the scan kernels (bench/scan_bench.cpp:
# Highway targets against the scalar twins), profiles the single-thread paths under
# callgrind (repeatable instruction and atomic counts), and writes the report
# from the JSON output.
#
#   bash ci/bench.sh           full run, about 6-8 minutes on 2 cores: writes docs/BENCHMARKS.md
#   bash ci/bench.sh --quick   smoke for CI: every benchmark for a moment, the profile mode
#                              once natively; under 2 minutes; writes
#                              build/bench/results/BENCHMARKS.quick.md (docs/ untouched)
#
# Never gates on a time. Fails only when the suite does not build or run, or
# a benchmark reports a status it should never see (other_errors,
# snapshot_errors, error_occurred). Counted outcomes such as log_full, busy
# or contended are reported, not failures.
set -euo pipefail
cd "$(dirname "$0")/.."

quick=0
for arg in "$@"; do
  case "$arg" in
    --quick) quick=1 ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "bench.sh: unknown option '$arg' (try --help)" >&2; exit 2 ;;
  esac
done

bash ci/deps.sh
cmake --preset bench >/dev/null
nice -n 10 cmake --build --preset bench --target weft_bench weft_scan_bench

bin=build/bench/bench/weft_bench
results=build/bench/results
if [ "$quick" -eq 1 ]; then  # its own files: a smoke never replaces a full run's
  run_args=(--benchmark_min_time=0.01)
  json="$results/quick.json"
  profiles="$results/profile-quick"
  report="$results/BENCHMARKS.quick.md"
else
  # Three repetitions: the report takes the median of each figure.
  run_args=(--benchmark_min_time=0.3 --benchmark_repetitions=3 --benchmark_display_aggregates_only=true)
  json="$results/full.json"
  profiles="$results/profile"
  report="docs/BENCHMARKS.md"
fi
rm -rf "$profiles"
mkdir -p "$profiles"
run_cmd=("$bin" "${run_args[@]}" --benchmark_out="$json" --benchmark_out_format=json)

echo "=== bench: ${run_cmd[*]}"
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
start=$(date +%s)
"${run_cmd[@]}" | tee "$json.txt"
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
echo "=== bench: suite ran in $(( $(date +%s) - start )) s (load average before: $load_before, after: $load_after)"

# The scan kernels (bench/scan_bench.cpp): vector code on every Highway
# target against the scalar twins; writes its own report section.
scan_bin=build/bench/bench/weft_scan_bench
scan_md="$results/scan.md"
if [ "$quick" -eq 1 ]; then
  scan_md="$results/scan.quick.md"
  scan_cmd=("$scan_bin" --benchmark_min_time=0.01 --markdown="$scan_md")
else
  scan_cmd=("$scan_bin" --benchmark_min_time=0.3 --benchmark_repetitions=3
            --benchmark_display_aggregates_only=true --markdown="$scan_md")
fi
echo "=== bench: ${scan_cmd[*]}"
"${scan_cmd[@]}" | tee "$results/scan.txt"

# Single-thread profiles: <what> <operations>. Only the operations are
# collected (the dump taken around weft_bench_profiled is part .2).
profile_list=(
  "exchange/weft/32 50000"
  "exchange/weft_coarseclock/32 50000"
  "exchange/weft_manualclock/32 50000"
  "exchange/seed_mutex/32 50000"
  "exchange/moodycamel/32 50000"
  "exchange/ceiling_faa_memcpy/32 50000"
  "exchange/weft/4096 5000"
  "exchange/seed_mutex/4096 5000"
  "exchange/ceiling_faa_memcpy/4096 5000"
  "lock/weft/large/exclusive 50000"
  "lock/mutex_map/large/exclusive 50000"
  "lock/tbb_chm/large/exclusive 50000"
  "lock/libcuckoo/large/exclusive 50000"
)
profile_cmd=""
if [ "$quick" -eq 1 ]; then
  for entry in "${profile_list[@]}"; do  # the mode works; no valgrind
    read -r what ops <<<"$entry"
    "$bin" --profile="$what" --profile_ops=100 >/dev/null
  done
  echo "=== bench: profile mode ran natively for ${#profile_list[@]} profiles (callgrind only in the full run)"
elif command -v valgrind >/dev/null && command -v objdump >/dev/null; then
  profile_cmd="valgrind --tool=callgrind --dump-instr=yes --dump-before=weft_bench_profiled --dump-after=weft_bench_profiled --callgrind-out-file=<name>.out $bin --profile=<what> --profile_ops=<ops>"
  start=$(date +%s)
  for entry in "${profile_list[@]}"; do
    read -r what ops <<<"$entry"
    name=$(echo "$what" | tr / _)
    valgrind --tool=callgrind --dump-instr=yes --dump-before=weft_bench_profiled \
      --dump-after=weft_bench_profiled --callgrind-out-file="$profiles/$name.out" \
      "$bin" --profile="$what" --profile_ops="$ops" >/dev/null 2>"$profiles/$name.log"
    python3 bench/weft_bench_callgrind.py "$profiles/$name.out.2" "$ops" >"$profiles/$name.json"
    echo "    profiled $what ($ops operations)"
  done
  echo "=== bench: callgrind profiles in $(( $(date +%s) - start )) s"
else
  echo "=== bench: valgrind or objdump missing: the report has no profile section"
fi

report_args=(--json "$json" --profiles "$profiles" --out "$report"
             --command "bash ci/bench.sh $*" --command "${run_cmd[*]}"
             --load-before "$load_before" --load-after "$load_after" --section "$scan_md")
if [ -n "$profile_cmd" ]; then report_args+=(--command "$profile_cmd"); fi
if [ "$quick" -eq 1 ]; then report_args+=(--quick); fi
python3 bench/weft_bench_report.py "${report_args[@]}"
echo "=== bench: report written to $report"
