#!/usr/bin/env bash
# Builds every preset (release, asan, tsan, hooks, sim) and runs every test in
# each (the sim preset includes a short weft-hunt), installs the release
# build and builds the consumer project against it with find_package(weft),
# and proves the bug zoo: weft-hunt catches each of the eight mutants. Ends
# with one line: "N passed, N failed".
#
#   bash ci/test.sh              all presets, then the bug zoo
#   bash ci/test.sh release tsan only these presets (no bug zoo)
set -euo pipefail
cd "$(dirname "$0")/.."
bash ci/deps.sh

presets=("$@")
zoo=0
if [ ${#presets[@]} -eq 0 ]; then
  presets=(release asan tsan hooks sim)
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
  set +e
  ctest --preset "$preset" 2>&1 | tee "$log" | grep -E "tests passed|Failed|\*\*\*|Not Run|stress:|L9:"
  rc=${PIPESTATUS[0]}
  set -e
  total=$(grep -oE 'out of [0-9]+' "$log" | grep -oE '[0-9]+' | tail -1)
  bad=$(grep -oE '[0-9]+ tests failed' "$log" | grep -oE '^[0-9]+' | tail -1)
  total=${total:-0}
  bad=${bad:-0}
  if [ "$rc" -ne 0 ] && [ "$bad" -eq 0 ]; then bad=1; fi
  per_binary=$(grep -oE 'Test +#[0-9]+: [A-Za-z_]+' "$log" | awk '{print $3}' | sort | uniq -c |
               awk '{printf "%s%s %s", sep, $2, $1; sep=", "}')
  echo "    $preset ran: $per_binary"
  if [ "$preset" = release ]; then  # the stress and soak figures (CTest hides passing output)
    ctest --preset release -R 'stress|soak|L9_linearizability' -V 2>/dev/null |
      grep -E '(stress|soak|L9): ' | sed 's/^[0-9]*: /    /' || true
  fi
  passed=$((passed + total - bad))
  failed=$((failed + bad))
  summary+=("$preset: $((total - bad)) passed, $bad failed, $(( $(date +%s) - start )) s")
done

if printf '%s\n' "${presets[@]}" | grep -qx release; then
  echo "=== installed package: find_package(weft) from a separate project"
  rm -rf build/install build/consumer
  cmake --install build/release --prefix build/install >/dev/null
  if cmake -S examples/consumer -B build/consumer -G Ninja \
       -DCMAKE_PREFIX_PATH="$PWD/build/install" >/dev/null &&
     cmake --build build/consumer &&
     ./build/consumer/weft_consumer; then
    passed=$((passed + 1))
    summary+=("consumer: 1 passed, 0 failed")
  else
    failed=$((failed + 1))
    summary+=("consumer: 0 passed, 1 failed")
  fi
fi

if [ "$zoo" = 1 ]; then
  echo "=== bug zoo: weft-hunt must catch every mutant"
  set +e
  bash ci/bug-zoo.sh | tee build/bug-zoo.log
  set -e
  zoo_caught=$(grep -oE '[0-9]+ caught' build/bug-zoo.log | tail -1 | grep -oE '^[0-9]+')
  zoo_missed=$(grep -oE '[0-9]+ missed' build/bug-zoo.log | tail -1 | grep -oE '^[0-9]+')
  zoo_caught=${zoo_caught:-0}
  zoo_missed=${zoo_missed:-8}
  passed=$((passed + zoo_caught))
  failed=$((failed + zoo_missed))
  summary+=("bug zoo: $zoo_caught mutants caught, $zoo_missed missed")
fi

echo "=== summary"
printf '  %s\n' "${summary[@]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
