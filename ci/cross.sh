#!/usr/bin/env bash
# Cross builds for the Linux targets weft supports beyond x86-64, each with
# Debian's cross compiler, and the release test suite (unit, thread, scenario
# and allocation tests, the corpus replays) run under qemu-user with the
# target's libraries. Installs the compilers and qemu itself.
#
#   bash ci/cross.sh                        aarch64, armhf (32-bit ARMv7), riscv64
#   bash ci/cross.sh cross-armhf            one target (a preset name)
# Ends with "N passed, N failed" (tests over all targets).
set -euo pipefail
cd "$(dirname "$0")/.."
. ci/lib.sh
bash ci/deps.sh >/dev/null
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then targets=(cross-aarch64 cross-armhf cross-riscv64); fi

missing=()
for t in "${targets[@]}"; do
  triple=${cross_triple[$t]:-}
  if [ -z "$triple" ]; then echo "cross: no target '$t'" >&2; exit 2; fi
  command -v "$triple-g++" >/dev/null || missing+=("g++-$triple")
done
command -v qemu-aarch64 >/dev/null || missing+=(qemu-user)
apt_install cross "${missing[@]}"

passed=0
failed=0
summary=()
for t in "${targets[@]}"; do
  echo "=== $t: ${cross_triple[$t]}-g++ $("${cross_triple[$t]}-g++" -dumpfullversion), tests under ${cross_qemu[$t]}"
  start=$(date +%s)
  log="build/$t/ctest.log"
  if ! { cmake --preset "$t" && cmake --build --preset "$t"; } >"build/$t.build.log" 2>&1; then
    mkdir -p "build/$t"
    tail -20 "build/$t.build.log"
    failed=$((failed + 1))
    summary+=("$t: build failed (build/$t.build.log)")
    continue
  fi
  set +e
  ctest --preset "$t" >"$log" 2>&1
  rc=$?
  set -e
  read -r total bad <<<"$(ctest_counts "$log" "$rc")"
  grep -E '\*\*\*|Failed' "$log" | head -10 || true
  passed=$((passed + total - bad))
  failed=$((failed + bad))
  summary+=("$t: $((total - bad)) passed, $bad failed, $(( $(date +%s) - start )) s")
done
printf '  %s\n' "${summary[@]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
