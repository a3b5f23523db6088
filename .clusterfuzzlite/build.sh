#!/bin/bash -eu
# ClusterFuzzLite runs this with OSS-Fuzz's variables; the build is OSS-Fuzz's.
exec "$SRC/weft/ci/oss-fuzz/build.sh"
