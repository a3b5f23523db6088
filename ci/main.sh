#!/usr/bin/env bash
# The main job: install what is missing, build the release preset, and run
# the two demos that race real threads through weft and check the results as
# they go: the chat service (TurnLog: double sends, dying requests, contexts)
# and the session-lock demo (LockTable: edits, reads, cancellations, crashes).
set -euo pipefail
cd "$(dirname "$0")/.."
bash ci/deps.sh
cmake --preset release >/dev/null
cmake --build --preset release
./build/release/examples/chat_service
./build/release/examples/lock_table_demo
