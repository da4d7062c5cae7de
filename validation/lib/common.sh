# common.sh - sourced by the validation scripts: tools, core flags, simbench runs.
VAL_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
REPO_DIR=$(cd "$VAL_DIR/.." && pwd)

# simbench to validate: $SIMBENCH, else `simbench` on PATH, else this tree's release build.
if [ -z "${SIMBENCH:-}" ]; then
  if command -v simbench >/dev/null 2>&1; then SIMBENCH=$(command -v simbench)
  else SIMBENCH=$REPO_DIR/target/release/simbench; fi
fi
[ -x "$SIMBENCH" ] || { echo "simbench not found at $SIMBENCH (set SIMBENCH=...)" >&2; exit 2; }
SIM_TIMEOUT=${SIM_TIMEOUT:-600}
CROSS=${CROSS:-arm-none-eabi-}
command -v "${CROSS}gcc" >/dev/null || { echo "${CROSS}gcc not found (apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi libstdc++-arm-none-eabi-newlib)" >&2; exit 2; }
JOBS=${JOBS:-2}
NICE="nice -n 10"

# core_flags m4|m33|m7: the -mcpu/-mfpu/-mfloat-abi set GCC takes for that core.
core_flags() {
  case "$1" in
    m4)  echo "-mthumb -mcpu=cortex-m4 -mfpu=fpv4-sp-d16 -mfloat-abi=hard" ;;
    m33) echo "-mthumb -mcpu=cortex-m33 -mfpu=fpv5-sp-d16 -mfloat-abi=hard" ;;
    m7)  echo "-mthumb -mcpu=cortex-m7 -mfpu=fpv5-sp-d16 -mfloat-abi=hard" ;;
    *) echo "unknown core $1" >&2; return 1 ;;
  esac
}

LINK_FLAGS="-nostartfiles -L$VAL_DIR/ld -Wl,--gc-sections --specs=nano.specs --specs=nosys.specs"
COMMON_SRC="$VAL_DIR/common/startup.S $VAL_DIR/common/system.c"

# run_sim ELF BOARD TIMING OUT_JSON [more simbench args]: one run, JSON report to OUT_JSON,
# firmware output and simbench's stderr to OUT_JSON%.json.log. Returns simbench's exit code.
run_sim() {
  local elf=$1 board=$2 timing=$3 out=$4; shift 4
  local rc=0
  "$SIMBENCH" "$elf" --board "$board" --timing "$timing" --timeout "$SIM_TIMEOUT" \
      --format json -q -o "$out" "$@" > "${out%.json}.log" 2>&1 || rc=$?
  echo "$rc" > "${out%.json}.rc"
  return $rc
}

say() { printf '%s\n' "$*" >&2; }
