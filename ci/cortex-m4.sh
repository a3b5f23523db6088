#!/usr/bin/env bash
# The bare-metal configuration (issue: "a compile and link check in CI"):
# the core (LockTable, TurnLog) built for Cortex-M4 with arm-none-eabi-g++,
# 32-bit shared words and no hosted library, linked with newlib-nano into the
# firmware of examples/baremetal/. Installs the toolchain itself. Checks:
#   1. the cortex-m4 preset builds the library and links the firmware;
#   2. the firmware calls no libatomic or __sync function (every shared word
#      is a lock-free 32-bit atomic in line);
#   3. the firmware runs on an emulated Cortex-M4 (qemu-system-arm, board
#      mps2-an386, semihosting): 301 leased exchanges through a ring that
#      turns over, every step checked;
#   4. control: the same core with 64-bit words does not compile for
#      Cortex-M4 (WEFT_ASSERT_LOCK_FREE stops it), so check 1 means something.
# Prints the sizes and ends with "N passed, N failed".
#
#   bash ci/cortex-m4.sh
set -euo pipefail
cd "$(dirname "$0")/.."
. ci/lib.sh
bash ci/deps.sh >/dev/null
missing=()
command -v arm-none-eabi-g++ >/dev/null || missing+=(gcc-arm-none-eabi libnewlib-arm-none-eabi)
[ -e /usr/lib/arm-none-eabi/lib/thumb/v7e-m+fp/hard/libstdc++_nano.a ] || missing+=(libstdc++-arm-none-eabi-newlib)
command -v qemu-system-arm >/dev/null || missing+=(qemu-system-arm)
apt_install cortex-m4 "${missing[@]}"
echo "cortex-m4: $(arm-none-eabi-g++ --version | head -1)"
passed=0
failed=0
check() {  # check NAME COMMAND...: counts one test
  local name=$1
  shift
  if "$@"; then
    echo "    ok: $name"
    passed=$((passed + 1))
  else
    echo "    FAILED: $name"
    failed=$((failed + 1))
  fi
}

mkdir -p build
log=build/cortex-m4.build.log
build() { cmake --preset cortex-m4 >"$log" 2>&1 && cmake --build --preset cortex-m4 >>"$log" 2>&1; }
check "the core builds and the firmware links (arm-none-eabi-g++, WEFT_WORD_BITS=32, WEFT_HOSTED=OFF)" build ||
  tail -30 "$log"
elf=build/cortex-m4/examples/baremetal/weft_baremetal.elf
lib=build/cortex-m4/lib/libweft.a
no_atomic_calls() {
  [ -f "$elf" ] || return 1
  local calls
  calls=$(arm-none-eabi-nm "$elf" | grep -E ' [TUtW] (__atomic_|__sync_)' || true)
  if [ -n "$calls" ]; then echo "$calls"; return 1; fi
}
check "the firmware calls no libatomic or __sync function" no_atomic_calls
if [ -f "$elf" ]; then
  echo "    firmware: $(arm-none-eabi-size "$elf" | tail -1 | awk '{print "text " $1 ", data " $2 ", bss " $3}') (LockTable of 8 slots and a 16 KiB TurnLog region in .bss)"
  echo "    core: $(arm-none-eabi-size -t "$lib" | tail -1 | awk '{print "text " $1 ", data " $2 ", bss " $3}') (libweft.a, -Os)"
fi
run_on_qemu() {
  local image=build/cortex-m4/examples/baremetal/weft_baremetal_mps2.elf out
  [ -f "$image" ] || return 1
  out=$(timeout 120 qemu-system-arm -M mps2-an386 -nographic -semihosting -kernel "$image" 2>&1) || { echo "$out"; return 1; }
  echo "    $out"
  grep -q "every step worked" <<<"$out"
}
check "the firmware runs on an emulated Cortex-M4 (qemu-system-arm -M mps2-an386)" run_on_qemu
control() {
  ! arm-none-eabi-g++ -std=c++20 -mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16 -fno-exceptions \
      -fno-rtti -DWEFT_HOSTED=0 -DWEFT_WORD_BITS=64 -Ilib/include -Ilib/src -fsyntax-only lib/src/lock_table.cpp \
      >build/cortex-m4.control.log 2>&1 &&
    grep -q "shared words must be lock-free on every target" build/cortex-m4.control.log
}
check "control: 64-bit words are refused at compile time for Cortex-M4" control
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
