#!/usr/bin/env bash
# The main job: install what is missing, build the simulator preset, and run
# weft-hunt: every scenario of docs/SCENARIOS.md (S1-S5) under the deterministic
# simulator, random and PCT strategies, with live progress and a summary.
# Exit status non-zero on any violation, with the command that replays it.
#
#   bash ci/main.sh                       the default hunt (about a minute)
#   bash ci/main.sh --budget 300000       a longer one (any weft-hunt option)
set -euo pipefail
cd "$(dirname "$0")/.."
bash ci/deps.sh
cmake --preset sim >/dev/null
cmake --build --preset sim --target weft-hunt
./build/sim/tools/weft-hunt "$@"
