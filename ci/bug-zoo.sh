#!/usr/bin/env bash
# The bug zoo: builds the simulator once per mutant (WEFT_MUTANT=name; each
# re-introduces a known bug in weft's own code) and proves that weft-hunt
# finds every one within a stated budget. Also proves the unmutated build
# runs the same hunts clean.
#
#   bash ci/bug-zoo.sh                 every mutant
#   bash ci/bug-zoo.sh slot_reuse_aba  one
set -euo pipefail
cd "$(dirname "$0")/.."

# mutant            scenarios that must catch it
zoo=(
  "check_then_insert:S3"
  "task_check_then_create:S4.b"
  "release_without_owner_check:S2,S2.f"
  "expiry_without_fencing_bump:S2.f"
  "cleanup_ignores_pins:S1.c"
  "publish_before_payload:S1.f"
  "visible_before_predecessors:S1.a"
  "slot_reuse_aba:S2.f"
)
budget=${BUG_ZOO_BUDGET:-20000}
only=("$@")
failed=0
caught=0
for entry in "${zoo[@]}"; do
  mutant=${entry%%:*}
  scenarios=${entry#*:}
  if [ ${#only[@]} -gt 0 ] && ! printf '%s\n' "${only[@]}" | grep -qx "$mutant"; then continue; fi
  dir=build/mutant-$mutant
  cmake -S . -B "$dir" -G Ninja -DCMAKE_CXX_COMPILER=g++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DWEFT_BUILD_SIM=ON -DWEFT_MUTANT="$mutant" -DWEFT_BUILD_TESTS=OFF -DWEFT_BUILD_EXAMPLES=OFF >/dev/null
  cmake --build "$dir" --target weft-hunt -j2 >/dev/null
  log=$dir/hunt.log
  if "$dir/tools/weft-hunt" --scenario "$scenarios" --budget "$budget" --expect-violation >"$log" 2>&1; then
    first=$(grep -m1 -A1 '^VIOLATION' "$log" | tail -1 | sed 's/^ *//' | cut -c1-110)
    where=$(grep -m1 '^VIOLATION' "$log" | sed 's/VIOLATION in //; s/:$//')
    echo "bug zoo: $mutant caught ($where): $first"
    caught=$((caught + 1))
  else
    echo "bug zoo: $mutant NOT caught in $scenarios within $budget schedules per strategy (see $log)"
    failed=$((failed + 1))
  fi
done
echo "bug zoo: $caught caught, $failed missed"
[ "$failed" -eq 0 ]
