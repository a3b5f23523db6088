#!/usr/bin/env bash
# Runs the OSS-Fuzz build script (ci/oss-fuzz/build.sh) the way OSS-Fuzz
# would, with its variables set to local values (clang, libFuzzer), once per
# sanitizer project.yaml lists (address, undefined, with OSS-Fuzz's flags),
# and checks what lands in $OUT: every fuzzer (no shared library the runner
# image lacks), its seed corpus zip, dictionary and options file; then each
# fuzzer runs a few thousand inputs from its seed corpus with its options and
# must not crash.
#
#   bash ci/oss-fuzz-check.sh [RUNS]     RUNS inputs per fuzzer (default 3000)
# Ends with "N passed, N failed" (one check per fuzzer and sanitizer).
set -euo pipefail
cd "$(dirname "$0")/.."
. ci/lib.sh
runs=${1:-3000}
fuzzers=(turn_log_fuzzer lock_table_fuzzer region_fuzzer api_fuzzer)

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p build
passed=0
failed=0
# The flags OSS-Fuzz passes for each sanitizer it runs for weft (project.yaml).
common="-O1 -fno-omit-frame-pointer -gline-tables-only"
declare -A sanitizer_flags=(
  [address]="-fsanitize=address -fsanitize-address-use-after-scope"
  [undefined]="-fsanitize=array-bounds,bool,builtin,enum,float-divide-by-zero,function,integer-divide-by-zero,null,object-size,return,returns-nonnull-attribute,shift,signed-integer-overflow,unsigned-integer-overflow,unreachable,vla-bound,vptr -fno-sanitize-recover=array-bounds,bool,builtin,enum,float-divide-by-zero,function,integer-divide-by-zero,null,object-size,return,returns-nonnull-attribute,shift,signed-integer-overflow,unreachable,vla-bound,vptr"
)
# Runtime options as ClusterFuzz sets them for UBSan (unsigned wrap-around is
# reported but not fatal there: hashes wrap on purpose).
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:silence_unsigned_overflow=1"
for sanitizer in address undefined; do
  rm -rf "$root/src" "$root/out" "$root/work"
  mkdir -p "$root/src" "$root/out" "$root/work"
  ln -s "$PWD" "$root/src/weft"
  export SRC="$root/src" OUT="$root/out" WORK="$root/work"
  export CC=clang CXX=clang++
  flags="$common ${sanitizer_flags[$sanitizer]} -fsanitize=fuzzer-no-link"
  export CFLAGS="$flags" CXXFLAGS="$flags" LIB_FUZZING_ENGINE="-fsanitize=fuzzer"
  echo "=== oss-fuzz ($sanitizer): build.sh with CC=$CC CXX=$CXX LIB_FUZZING_ENGINE=$LIB_FUZZING_ENGINE"
  # Run the way OSS-Fuzz runs it (the script's own "-eu" and "set -eu" apply).
  if ! (cd "$SRC/weft" && "$SRC/weft/ci/oss-fuzz/build.sh") >"$root/build.log" 2>&1; then
    cp "$root/build.log" "build/oss-fuzz-build-$sanitizer.log"
    tail -20 "$root/build.log"
    echo "    build.sh failed (log: build/oss-fuzz-build-$sanitizer.log)"
    failed=$((failed + ${#fuzzers[@]}))
    continue
  fi
  for f in "${fuzzers[@]}"; do
    problems=()
    [ -x "$OUT/$f" ] || problems+=("no binary")
    [ -s "$OUT/${f}_seed_corpus.zip" ] || problems+=("no ${f}_seed_corpus.zip")
    [ -s "$OUT/$f.dict" ] || problems+=("no $f.dict")
    grep -q '^\[libfuzzer\]' "$OUT/$f.options" 2>/dev/null || problems+=("no $f.options")
    # The runner image has the C and C++ runtimes only: nothing else may be shared.
    if [ -x "$OUT/$f" ] && ldd "$OUT/$f" | grep -qiE 'boost|libweft'; then
      problems+=("links a shared library the runner lacks: $(ldd "$OUT/$f" | grep -ioE '[^ ]*(boost|weft)[^ ]*' | head -1)")
    fi
    if [ ${#problems[@]} -eq 0 ]; then
      corpus="$root/corpus-$f"
      rm -rf "$corpus"
      mkdir -p "$corpus"
      (cd "$corpus" && cmake -E tar xf "$OUT/${f}_seed_corpus.zip")
      seeds=$(ls "$corpus" | wc -l)
      [ "$seeds" -gt 0 ] || problems+=("empty seed corpus zip")
      # The options file's settings, as OSS-Fuzz passes them.
      opts=$(libfuzzer_options "$OUT/$f.options" "$OUT")
      start=$(date +%s.%N)
      # shellcheck disable=SC2086
      if (cd "$root" && "$OUT/$f" $opts -runs="$runs" -seed=1 -print_final_stats=1 "$corpus") >"$root/$f.log" 2>&1; then
        n=$(libfuzzer_stat "$root/$f.log" number_of_executed_units)
        took=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
        echo "    $f: binary (static), ${f}_seed_corpus.zip ($seeds seeds), .dict, .options; ran ${n:-?} inputs in $took s, no crash"
      else
        tail -20 "$root/$f.log" || true
        problems+=("crashed or failed to run")
      fi
    fi
    if [ ${#problems[@]} -eq 0 ]; then
      passed=$((passed + 1))
    else
      failed=$((failed + 1))
      echo "    $f ($sanitizer): ${problems[*]}"
    fi
  done
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
