#!/usr/bin/env bash
# Writes the generated tables of docs/EMBEDDED.md: the code size of the core
# library (libweft.a: LockTable and TurnLog, production seam) per target from
# `size` on the built objects, and the RAM a region needs for example
# configurations with 64-bit and with 32-bit words (from the library's own
# region_bytes()). Builds what it measures: the release, word32, cross and
# cortex-m4 presets (ci/cross.sh and ci/cortex-m4.sh install the compilers).
#
#   bash ci/size-report.sh        builds, measures, rewrites the tables
set -euo pipefail
cd "$(dirname "$0")/.."
. ci/lib.sh
targets=(release cross-aarch64 cross-armhf cross-riscv64 word32 cortex-m4)
declare -A size_tool=([release]=size [cross-aarch64]=aarch64-linux-gnu-size
                      [cross-armhf]=arm-linux-gnueabihf-size [cross-riscv64]=riscv64-linux-gnu-size
                      [word32]=size [cortex-m4]=arm-none-eabi-size)
declare -A label=([release]="x86-64 (g++ -O2)" [cross-aarch64]="aarch64 (aarch64-linux-gnu-g++ -O2)"
                  [cross-armhf]="armhf, 32-bit ARMv7 (arm-linux-gnueabihf-g++ -O2)" [cross-riscv64]="riscv64 (riscv64-linux-gnu-g++ -O2)"
                  [word32]="x86-64, 32-bit words (g++ -O2)" [cortex-m4]="Cortex-M4, 32-bit words, bare metal (arm-none-eabi-g++ -Os)")
for t in "${targets[@]}"; do
  if ! command -v "${size_tool[$t]}" >/dev/null; then
    if [ "$t" = cortex-m4 ]; then bash ci/cortex-m4.sh >/dev/null; else bash ci/cross.sh "$t" >/dev/null; fi
  fi
  cmake --preset "$t" >/dev/null
  cmake --build --preset "$t" --target weft >/dev/null
done

code="| target | text | data | bss | objects |
|---|---|---|---|---|"
for t in "${targets[@]}"; do
  lib=build/$t/lib/libweft.a
  read -r text data bss _ <<<"$("${size_tool[$t]}" -t "$lib" | tail -1)"
  objects=$("${size_tool[$t]}" "$lib" | awk 'NR > 1 && $1 > 0 { sub(/ \(ex .*$/, "", $6); printf "%s%s %s", sep, $6, $1; sep = ", " }')
  code+=$'\n'"| ${label[$t]} | $text | $data | $bss | $objects |"
done

mkdir -p build/size-report
cat > build/size-report/ram.cpp <<'CPP'
// Prints the RAM table: region bytes for example configurations.
#include <cstdio>
#include "weft/lock_table.h"
#include "weft/turn_log.h"
int main() {
  struct Example { const char* name; std::uint32_t sessions, seg_bytes, segs, threads, window, readers; };
  const Example examples[] = {
      {"small device", 64, 4096, 4, 16, 4, 4},
      {"default", 1024, 64 * 1024, 16, 256, 16, 64},
      {"busy service", 65536, 256 * 1024, 64, 16384, 16, 256},
  };
  std::printf("| configuration | LockTable capacity | LockTable bytes | TurnLog: segments x bytes, threads, W, readers | TurnLog bytes |\n");
  std::printf("|---|---|---|---|---|\n");
  for (const Example& e : examples) {
    weft::TurnLog::Config c;
    c.segment_bytes = e.seg_bytes;
    c.segment_count = e.segs;
    c.thread_capacity = e.threads;
    c.exchanges_per_thread = e.window;
    c.reader_slots = e.readers;
    std::printf("| %s | %u | %zu | %u x %u, %u, %u, %u | %zu |\n", e.name, e.sessions,
                weft::LockTable::region_bytes(e.sessions), e.segs, e.seg_bytes, e.threads, e.window, e.readers,
                weft::TurnLog::region_bytes(c));
  }
  weft::TurnLog::Config one;
  one.segment_bytes = 256; one.segment_count = 2; one.thread_capacity = 1; one.exchanges_per_thread = 2; one.reader_slots = 1;
  std::printf("\nHEADER %zu\n", weft::TurnLog::region_bytes(one) - 2 * 256 - 128 - 2 * 128 - 64);
  std::printf("WORDS %u\n", weft::word_bits);
}
CPP
# The host builds use Highway (the TurnLog's record checksum is its kernel).
hwy_libs=$(pkg-config --libs libhwy 2>/dev/null || echo -lhwy)
g++ -std=c++20 -Ilib/include build/size-report/ram.cpp build/release/lib/libweft.a $hwy_libs -o build/size-report/ram
ram=$(build/size-report/ram | grep -vE '^(HEADER|WORDS)')
g++ -std=c++20 -DWEFT_WORD_BITS=32 -Ilib/include build/size-report/ram.cpp build/word32/lib/libweft.a \
  $hwy_libs -o build/size-report/ram32
[ "$(build/size-report/ram32 | grep '^WORDS' | awk '{print $2}')" = 32 ] || { echo "size-report: ram32 is not 32-bit"; exit 1; }
ram32=$(build/size-report/ram32 | grep -vE '^(HEADER|WORDS)')
header32=$(build/size-report/ram32 | grep '^HEADER' | awk '{print $2}')
# The same program built for each cross target and run under qemu must print
# the same bytes: the layout does not depend on the target.
for t in cross-aarch64 cross-armhf cross-riscv64; do
  tr=${cross_triple[$t]}
  "$tr-g++" -std=c++20 -Ilib/include build/size-report/ram.cpp "build/$t/lib/libweft.a" -o "build/size-report/ram-$t"
  other=$("${cross_qemu[$t]}" -L "/usr/$tr" "build/size-report/ram-$t")
  if [ "$other" != "$(build/size-report/ram)" ]; then
    echo "size-report: region sizes differ on $t:"; echo "$other"; exit 1
  fi
done
header=$(build/size-report/ram | grep '^HEADER' | awk '{print $2}')
# 32-bit words on a 32-bit ABI (armhf: AAPCS like Cortex-M4, 4-byte words and
# size_t) must give the same bytes as on the host.
arm-linux-gnueabihf-g++ -std=c++20 -DWEFT_WORD_BITS=32 -Ilib/include -Ilib/src build/size-report/ram.cpp \
  lib/src/clock.cpp lib/src/id.cpp lib/src/lock_table.cpp lib/src/turn_log.cpp -o build/size-report/ram32-armhf
if [ "$(qemu-arm -L /usr/arm-linux-gnueabihf build/size-report/ram32-armhf)" != "$(build/size-report/ram32)" ]; then
  echo "size-report: 32-bit-word region sizes differ on armhf"; exit 1
fi

python3 - "$code" "$ram" "$header" "$ram32" "$header32" <<'PY'
import re, sys
code, ram, header, ram32, header32 = sys.argv[1:6]
path = "docs/EMBEDDED.md"
text = open(path).read()
def put(name, body):
    global text
    block = "<!-- %s:begin (generated by bash ci/size-report.sh) -->\n%s\n<!-- %s:end -->" % (name, body, name)
    text = re.sub(r"<!-- %s:begin.*?<!-- %s:end -->" % (name, name), lambda _: block, text, flags=re.S)
put("code-size", code)
put("ram", ram.strip())
put("turnlog-header", "H = %s bytes with 64-bit words on every target; H = %s bytes with 32-bit words." % (header, header32))
put("ram32", ram32.strip())
open(path, "w").write(text)
PY
echo "size-report: docs/EMBEDDED.md updated"
