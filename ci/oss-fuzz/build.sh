#!/bin/bash -eu
# Builds weft's fuzz targets the way OSS-Fuzz and ClusterFuzzLite do: with
# their compilers and flags ($CC $CXX $CFLAGS $CXXFLAGS), linked with their
# engine ($LIB_FUZZING_ENGINE), from the source in $SRC/weft, into $OUT:
# each fuzzer, its <fuzzer>_seed_corpus.zip, <fuzzer>.dict and
# <fuzzer>.options. $WORK holds the build tree. ci/oss-fuzz-check.sh runs
# this with local values and checks what lands in $OUT.
#
# The flags are OSS-Fuzz's alone: no CMake build type (it would append -O3
# -DNDEBUG), RTTI kept (UBSan's vptr check needs it), and Boost.Context
# linked statically (the runner image that executes the fuzzers has no Boost).
set -eu
src="$SRC/weft"
build="$WORK/weft-build"
fuzzers="turn_log_fuzzer lock_table_fuzzer region_fuzzer api_fuzzer"

cmake -S "$src" -B "$build" -G Ninja \
  -DCMAKE_CXX_COMPILER="$CXX" -DCMAKE_CXX_FLAGS="$CXXFLAGS" \
  -DCMAKE_BUILD_TYPE= -DWEFT_NO_RTTI=OFF -DBoost_USE_STATIC_LIBS=ON \
  -DWEFT_BUILD_SIM=ON -DWEFT_BUILD_TESTS=OFF -DWEFT_BUILD_EXAMPLES=OFF \
  -DWEFT_FUZZ_ENGINE="$LIB_FUZZING_ENGINE"
# shellcheck disable=SC2086
cmake --build "$build" --target $fuzzers

for f in $fuzzers; do
  cp "$build/fuzz/$f" "$OUT/"
  cp "$src/fuzz/$f.dict" "$src/fuzz/$f.options" "$OUT/"
  rm -f "$OUT/${f}_seed_corpus.zip"
  (cd "$src/fuzz/corpus/$f" && cmake -E tar cf "$OUT/${f}_seed_corpus.zip" --format=zip -- *)
done
