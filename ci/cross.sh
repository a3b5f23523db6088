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
bash ci/deps.sh >/dev/null
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then targets=(cross-aarch64 cross-armhf cross-riscv64); fi
declare -A triple_of=([cross-aarch64]=aarch64-linux-gnu [cross-armhf]=arm-linux-gnueabihf [cross-riscv64]=riscv64-linux-gnu)
declare -A qemu_of=([cross-aarch64]=qemu-aarch64 [cross-armhf]=qemu-arm [cross-riscv64]=qemu-riscv64)

missing=()
for t in "${targets[@]}"; do
  triple=${triple_of[$t]:-}
  if [ -z "$triple" ]; then echo "cross: no target '$t'" >&2; exit 2; fi
  command -v "$triple-g++" >/dev/null || missing+=("g++-$triple")
done
command -v qemu-aarch64 >/dev/null || missing+=(qemu-user)
if [ ${#missing[@]} -gt 0 ]; then
  echo "cross: installing ${missing[*]}"
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

passed=0
failed=0
summary=()
for t in "${targets[@]}"; do
  echo "=== $t: ${triple_of[$t]}-g++ $("${triple_of[$t]}-g++" -dumpfullversion), tests under ${qemu_of[$t]}"
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
  total=$(grep -oE 'out of [0-9]+' "$log" | grep -oE '[0-9]+' | tail -1 || true)
  bad=$(grep -oE '[0-9]+ tests failed' "$log" | grep -oE '^[0-9]+' | tail -1 || true)
  total=${total:-0}
  bad=${bad:-0}
  if [ "$rc" -ne 0 ] && [ "$bad" -eq 0 ]; then bad=1; fi
  grep -E '\*\*\*|Failed' "$log" | head -10 || true
  passed=$((passed + total - bad))
  failed=$((failed + bad))
  summary+=("$t: $((total - bad)) passed, $bad failed, $(( $(date +%s) - start )) s")
done
printf '  %s\n' "${summary[@]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
