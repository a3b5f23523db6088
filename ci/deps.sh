#!/usr/bin/env bash
# Installs what a fresh Debian 12 machine lacks to build and test weft.
# Idempotent: asks apt only for packages that are missing.
set -euo pipefail

packages=(
  cmake ninja-build g++ clang libclang-rt-14-dev binutils
  libgtest-dev libgmock-dev libbenchmark-dev
  libboost-context-dev libcli11-dev libfmt-dev nlohmann-json3-dev
  libboost-dev libconcurrentqueue-dev libtbb-dev libcuckoo-dev libhwy-dev valgrind
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "deps: all ${#packages[@]} packages present"
  exit 0
fi
echo "deps: installing ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
