#!/usr/bin/env bash
# Runs the OSS-Fuzz build script (ci/oss-fuzz/build.sh) the way OSS-Fuzz
# would, with its variables set to local values (clang, ASan + UBSan,
# libFuzzer), and checks what lands in $OUT: every fuzzer, its seed corpus
# zip, dictionary and options file; then each fuzzer runs a few thousand
# inputs from its seed corpus with its options and must not crash.
#
#   bash ci/oss-fuzz-check.sh [RUNS]     RUNS inputs per fuzzer (default 3000)
# Ends with "N passed, N failed" (one check per fuzzer).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3000}
fuzzers=(turn_log_fuzzer lock_table_fuzzer region_fuzzer api_fuzzer)

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/src" "$root/out" "$root/work"
ln -s "$PWD" "$root/src/weft"
export SRC="$root/src" OUT="$root/out" WORK="$root/work"
export CC=clang CXX=clang++
flags="-O1 -fno-omit-frame-pointer -gline-tables-only -fsanitize=address,undefined -fsanitize-address-use-after-scope -fno-sanitize-recover=undefined -fsanitize=fuzzer-no-link"
export CFLAGS="$flags" CXXFLAGS="$flags" LIB_FUZZING_ENGINE="-fsanitize=fuzzer"
echo "=== oss-fuzz: build.sh with CC=$CC CXX=$CXX LIB_FUZZING_ENGINE=$LIB_FUZZING_ENGINE"
(cd "$SRC/weft" && bash ci/oss-fuzz/build.sh) >"$root/build.log" 2>&1 || { tail -30 "$root/build.log"; echo "0 passed, ${#fuzzers[@]} failed"; exit 1; }

passed=0
failed=0
for f in "${fuzzers[@]}"; do
  problems=()
  [ -x "$OUT/$f" ] || problems+=("no binary")
  [ -s "$OUT/${f}_seed_corpus.zip" ] || problems+=("no ${f}_seed_corpus.zip")
  [ -s "$OUT/$f.dict" ] || problems+=("no $f.dict")
  grep -q '^\[libfuzzer\]' "$OUT/$f.options" 2>/dev/null || problems+=("no $f.options")
  if [ ${#problems[@]} -eq 0 ]; then
    corpus="$root/corpus-$f"
    mkdir -p "$corpus"
    (cd "$corpus" && cmake -E tar xf "$OUT/${f}_seed_corpus.zip")
    seeds=$(ls "$corpus" | wc -l)
    [ "$seeds" -gt 0 ] || problems+=("empty seed corpus zip")
    # The options file's settings, as OSS-Fuzz passes them.
    opts=$(sed -n 's/^\([a-z_]*\) *= *\(.*\)$/-\1=\2/p' "$OUT/$f.options" | sed "s|^-dict=|-dict=$OUT/|" | tr '\n' ' ')
    # shellcheck disable=SC2086
    if (cd "$root" && "$OUT/$f" $opts -runs="$runs" -seed=1 -print_final_stats=1 "$corpus") >"$root/$f.log" 2>&1; then
      n=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$root/$f.log" | grep -oE '[0-9]+$' || true)
      rate=$(grep -oE 'stat::average_exec_per_sec: *[0-9]+' "$root/$f.log" | grep -oE '[0-9]+$' || true)
      echo "    $f: binary, ${f}_seed_corpus.zip ($seeds seeds), .dict, .options; ran $n inputs ($rate/s), no crash"
    else
      tail -20 "$root/$f.log"
      problems+=("crashed or failed to run")
    fi
  fi
  if [ ${#problems[@]} -eq 0 ]; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "    $f: ${problems[*]}"
  fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
