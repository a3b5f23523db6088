# Shell helpers the ci/ scripts share (source it: . ci/lib.sh).

# The cross targets: preset -> target triple, and -> qemu-user binary.
declare -A cross_triple=([cross-aarch64]=aarch64-linux-gnu [cross-armhf]=arm-linux-gnueabihf [cross-riscv64]=riscv64-linux-gnu)
declare -A cross_qemu=([cross-aarch64]=qemu-aarch64 [cross-armhf]=qemu-arm [cross-riscv64]=qemu-riscv64)

# ctest_counts LOG RC: prints "TOTAL BAD" from a ctest log and its exit
# status (a failing ctest that names no failed test counts one failure).
ctest_counts() {
  local log=$1 rc=$2 total bad
  total=$(grep -oE 'out of [0-9]+' "$log" | grep -oE '[0-9]+' | tail -1 || true)
  bad=$(grep -oE '[0-9]+ tests failed' "$log" | grep -oE '^[0-9]+' | tail -1 || true)
  total=${total:-0}
  bad=${bad:-0}
  if [ "$rc" -ne 0 ] && [ "$bad" -eq 0 ]; then bad=1; fi
  echo "$total $bad"
}

# libfuzzer_options FILE DIR: a libFuzzer .options file as command-line
# flags, as OSS-Fuzz passes them (its dictionary looked up in DIR).
libfuzzer_options() {
  sed -n 's/^\([a-z_]*\) *= *\(.*\)$/-\1=\2/p' "$1" | sed "s|^-dict=|-dict=$2/|" | tr '\n' ' '
}

# libfuzzer_stat LOG NAME: the last value of stat::NAME in a libFuzzer log
# printed with -print_final_stats=1 (empty when there is none).
libfuzzer_stat() {
  grep -oE "stat::$2: *[0-9]+" "$1" | grep -oE '[0-9]+$' | tail -1 || true
}

# apt_install WHO PACKAGES...: installs the Debian packages (none given:
# nothing), as root or through sudo, saying so under the name WHO.
apt_install() {
  local who=$1 sudo=""
  shift
  if [ $# -eq 0 ]; then return 0; fi
  echo "$who: installing $*"
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}
