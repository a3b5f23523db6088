#!/usr/bin/env bash
# The main job: install what is missing, build the release preset, and run
# the LockTable demo (threads racing on shared sessions, checked as it runs).
set -euo pipefail
cd "$(dirname "$0")/.."
bash ci/deps.sh
cmake --preset release >/dev/null
cmake --build --preset release
./build/release/examples/lock_table_demo "$@"
