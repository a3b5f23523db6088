#!/usr/bin/env bash
# Builds every preset (release, asan, tsan, hooks, sim, fuzz, word32) and runs every
# test in each (the sim preset includes a short weft-hunt; every preset that
# builds fuzz targets replays their corpora), installs the release build and
# builds the consumer project against it with find_package(weft), cross-builds
# for aarch64, armhf and riscv64 and runs the release tests under qemu-user
# (ci/cross.sh), builds the bare-metal Cortex-M4 configuration and runs its
# firmware under qemu-system-arm (ci/cortex-m4.sh), builds the benchmarks and runs each for a moment, proves the
# bug zoo (weft-hunt catches each of its mutants), runs the fuzz smoke
# (each fuzzer 20 s), checks the OSS-Fuzz build script and proves that the
# schedule fuzzers catch the three fastest mutants (from the seed corpus and
# from an empty one). Ends with one line:
# "N passed, N failed".
#
#   bash ci/test.sh              all presets, then the bug zoo
#   bash ci/test.sh release tsan only these presets (no bug zoo)
set -euo pipefail
cd "$(dirname "$0")/.."
. ci/lib.sh
bash ci/deps.sh

presets=("$@")
zoo=0
if [ ${#presets[@]} -eq 0 ]; then
  presets=(release asan tsan hooks sim fuzz word32)
  zoo=1
fi
passed=0
failed=0
summary=()
for preset in "${presets[@]}"; do
  echo "=== preset $preset: configure, build, test"
  start=$(date +%s)
  cmake --preset "$preset" >/dev/null
  cmake --build --preset "$preset"
  log="build/$preset/ctest.log"
  rm -f build/"$preset"/durability-*.txt
  set +e
  ctest --preset "$preset" 2>&1 | tee "$log" | grep -E "tests passed|Failed|\*\*\*|Not Run|stress:|L9:"
  rc=${PIPESTATUS[0]}
  set -e
  read -r total bad <<<"$(ctest_counts "$log" "$rc")"
  per_binary=$(grep -oE 'Test +#[0-9]+: [A-Za-z_]+' "$log" | awk '{print $3}' | sort | uniq -c |
               awk '{printf "%s%s %s", sep, $2, $1; sep=", "}' || true)
  echo "    $preset ran: $per_binary"
  if [ "$preset" = release ]; then  # the stress and soak figures (CTest hides passing output)
    ctest --preset release -R 'stress|soak|L9_linearizability' -V 2>/dev/null |
      grep -E '(stress|soak|L9): ' | sed 's/^[0-9]*: /    /' || true
  fi
  # The crash and multi-process tests' counts (kills, turns confirmed,
  # recovered, lost; leases, commits, stale fences), written by the tests.
  for summary_file in build/"$preset"/durability-crash.txt build/"$preset"/durability-crash-ring.txt \
                      build/"$preset"/durability-multiprocess.txt; do
    if [ -f "$summary_file" ]; then sed 's/^/    /' "$summary_file"; fi
  done
  passed=$((passed + total - bad))
  failed=$((failed + bad))
  summary+=("$preset: $((total - bad)) passed, $bad failed, $(( $(date +%s) - start )) s")
done

if printf '%s\n' "${presets[@]}" | grep -qx release; then
  echo "=== installed package: find_package(weft) from a separate project, and bin/weft"
  rm -rf build/install build/consumer
  cmake --install build/release --prefix build/install >/dev/null
  if cmake -S examples/consumer -B build/consumer -G Ninja \
       -DCMAKE_PREFIX_PATH="$PWD/build/install" >/dev/null &&
     cmake --build build/consumer &&
     ./build/consumer/weft_consumer &&
     ./build/install/bin/weft --help | grep -q 'EXIT STATUS'; then
    passed=$((passed + 1))
    summary+=("consumer: 1 passed, 0 failed")
  else
    failed=$((failed + 1))
    summary+=("consumer: 0 passed, 1 failed")
  fi
fi

# Runs a check script that ends with "N passed, N failed"; adds its counts.
tally() {
  local name=$1 log=$2
  shift 2
  set +e
  "$@" 2>&1 | tee "$log"
  set -e
  local line p f
  line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -1 || true)
  p=$(echo "$line" | grep -oE '^[0-9]+' || echo 0)
  f=$(echo "$line" | grep -oE '[0-9]+ failed' | grep -oE '^[0-9]+' || echo 1)
  p=${p:-0}
  f=${f:-1}
  passed=$((passed + p))
  failed=$((failed + f))
  summary+=("$name: $p passed, $f failed")
}

# Runs a zoo script that ends with "N caught, N missed" (mutants); adds its
# counts (all `expected` count as missed when it says nothing).
zoo_tally() {
  local name=$1 log=$2 expected=$3
  shift 3
  set +e
  "$@" 2>&1 | tee "$log"
  set -e
  local c m
  c=$(grep -oE '[0-9]+ caught, [0-9]+ missed$' "$log" | tail -1 | grep -oE '^[0-9]+' || true)
  m=$(grep -oE '[0-9]+ missed$' "$log" | tail -1 | grep -oE '^[0-9]+' || true)
  c=${c:-0}
  m=${m:-$expected}
  passed=$((passed + c))
  failed=$((failed + m))
  summary+=("$name: $c mutants caught, $m missed")
}

if [ "$zoo" = 1 ]; then
  echo "=== cross builds: aarch64, armhf (32-bit ARMv7), riscv64; release tests under qemu-user"
  tally "cross builds" build/cross.log bash ci/cross.sh
  echo "=== Cortex-M4, bare metal: 32-bit words, arm-none-eabi-g++, the firmware run under qemu-system-arm"
  tally "cortex-m4" build/cortex-m4.log bash ci/cortex-m4.sh

  echo "=== benchmarks: build the suite, run each benchmark for a moment (never timed)"
  if bash ci/bench.sh --quick >build/bench-quick.log 2>&1; then
    passed=$((passed + 1))
    summary+=("benchmarks (ci/bench.sh --quick): 1 passed, 0 failed")
    grep -E '^weft_bench_report' build/bench-quick.log || true
  else
    tail -20 build/bench-quick.log || true
    failed=$((failed + 1))
    summary+=("benchmarks (ci/bench.sh --quick): 0 passed, 1 failed (build/bench-quick.log)")
  fi

  echo "=== bug zoo: weft-hunt must catch every mutant"
  zoo_tally "bug zoo" build/bug-zoo.log 8 bash ci/bug-zoo.sh

  echo "=== fuzz smoke: each fuzzer 20 s from its seed corpus (libFuzzer, ASan + UBSan)"
  tally "fuzz smoke" build/fuzz-smoke.log bash ci/fuzz-smoke.sh 20
  echo "=== OSS-Fuzz: ci/oss-fuzz/build.sh with local values, \$OUT checked, 3000 inputs a fuzzer"
  tally "oss-fuzz build" build/oss-fuzz-check.log bash ci/oss-fuzz-check.sh 3000
  echo "=== fuzz zoo: the schedule fuzzers must catch the three fastest mutants, from the seeds"
  zoo_tally "fuzz zoo (seed corpus)" build/fuzz-zoo.log 3 bash ci/fuzz-zoo.sh
  echo "=== fuzz zoo: ... and the three fastest from an empty corpus"
  zoo_tally "fuzz zoo (empty corpus)" build/fuzz-zoo-empty.log 3 bash ci/fuzz-zoo.sh --empty
fi

echo "=== summary"
printf '  %s\n' "${summary[@]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
