#!/usr/bin/env bash
# coremark.sh - build EEMBC CoreMark with this directory's port, run it on simbench's
# presets and print CoreMark/MHz against published silicon figures.
#
# Usage: validation/coremark.sh COREMARK_SRC OUTDIR
#   COREMARK_SRC  an eembc/coremark tree (core_main.c, core_list_join.c, ...; d5fad6b tested)
#   OUTDIR        builds go to OUTDIR/coremark/, the table to OUTDIR/coremark.md
# Environment: SIMBENCH (simbench binary), ITERATIONS (default 1000), TIMINGS
# ("detailed fast"), SIM_TIMEOUT (600 s per run).
set -euo pipefail
[ $# -eq 2 ] || { sed -n 2,10p "$0"; exit 2; }
CM_SRC=$(realpath "$1"); OUT=$(realpath -m "$2")
source "$(dirname "$0")/lib/common.sh"
ITERATIONS=${ITERATIONS:-1000}
TIMINGS=${TIMINGS:-detailed fast}
B=$OUT/coremark; mkdir -p "$B"
for f in core_main.c core_list_join.c core_matrix.c core_state.c core_util.c coremark.h; do
  [ -f "$CM_SRC/$f" ] || { echo "$CM_SRC/$f missing: not a CoreMark tree" >&2; exit 2; }
done

# build NAME CORE LDSCRIPT CLOCK_HZ
build() {
  local name=$1 core=$2 ld=$3 hz=$4
  local flags="$(core_flags "$core") -O2"
  say "build $name ($flags, $ld)"
  ${CROSS}gcc $flags -g -ffunction-sections -fdata-sections \
    -DPERFORMANCE_RUN=1 -DITERATIONS="$ITERATIONS" -DCORE_CLOCK_HZ="$hz" -DFLAGS_STR="\"$flags\"" \
    -I"$VAL_DIR/coremark" -I"$VAL_DIR/common" -I"$CM_SRC" \
    "$CM_SRC"/core_list_join.c "$CM_SRC"/core_main.c "$CM_SRC"/core_matrix.c \
    "$CM_SRC"/core_state.c "$CM_SRC"/core_util.c "$VAL_DIR/coremark/core_portme.c" $COMMON_SRC \
    $LINK_FLAGS -T"$VAL_DIR/ld/$ld" -Wl,-Map="$B/$name.map" -o "$B/$name.elf"
}

#       name                 core ld script           clock    boards to run on
CONFIGS=(
  "cm-m4                m4   generic.ld           100000000 generic-m4"
  "cm-m33               m33  generic.ld           100000000 generic-m33"
  "cm-m7                m7   generic.ld           100000000 generic-m7"
  "cm-lpc55s69-sramx    m33  lpc55s69_sramx.ld    150000000 lpc55s69"
  "cm-lpc55s69-flash    m33  lpc55s69_flash.ld    150000000 lpc55s69"
)
for c in "${CONFIGS[@]}"; do
  read -r name core ld hz boards <<<"$c"
  build "$name" "$core" "$ld" "$hz"
done
for c in "${CONFIGS[@]}"; do
  read -r name core ld hz boards <<<"$c"
  for board in $boards; do
    for t in $TIMINGS; do
      say "run $name on $board ($t)"
      run_sim "$B/$name.elf" "$board" "$t" "$B/$name.$board.$t.json" --profile off || say "  simbench exit $(cat "$B/$name.$board.$t.rc"): $(tail -2 "$B/$name.$board.$t.log")"
    done
  done
done
python3 "$VAL_DIR/lib/report.py" coremark "$B" --iterations "$ITERATIONS" | tee "$OUT/coremark.md"
