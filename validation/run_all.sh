#!/usr/bin/env bash
# run_all.sh - run every validation (CoreMark, TFLM 2021 + CMSIS_5, current TFLM + CMSIS-NN,
# Glow) and print the combined accuracy table (Markdown) of the README.
#
# Usage: validation/run_all.sh SRC_ROOT OUTDIR        run everything, then print the table
#        validation/run_all.sh --report OUTDIR        print the table from earlier runs
# SRC_ROOT holds the fetched sources under these names (each overridable by the variable):
#   coremark            COREMARK_SRC      eembc/coremark
#   tflm-2021           TFLM2021_SRC      tensorflow/tflite-micro 67681479
#   cmsis5              CMSIS5_SRC        ARM-software/CMSIS_5 c43379be
#   flatbuffers-2021    FB2021_SRC        google/flatbuffers dca12522
#   gemmlowp            GEMMLOWP_SRC      google/gemmlowp 719139ce
#   ruy                 RUY_SRC           google/ruy d3712831
#   tflm-current        TFLMCUR_SRC       tensorflow/tflite-micro (newest; 90b983c2 tested)
#   cmsis-nn-current    CMSISNN_SRC       ARM-software/CMSIS-NN at that tree's pin (4ab83cc3)
#   flatbuffers-current FBCUR_SRC         google/flatbuffers at that tree's pin (v25.9.23)
#   cmsis6              CMSIS6_SRC        ARM-software/CMSIS_6 at that tree's pin (5782d6f8)
#   glow                GLOW_SRC          pytorch/glow 05dd99b9 + submodules
# A part whose sources are missing is skipped with a note. SKIP="glow tflm-current" skips parts.
set -euo pipefail
here=$(dirname "$0")
source "$here/lib/common.sh"
if [ "${1:-}" = --report ]; then
  OUT=$(realpath "$2")
else
  [ $# -eq 2 ] || { sed -n 2,20p "$0"; exit 2; }
  S=$(realpath "$1"); OUT=$(realpath -m "$2"); mkdir -p "$OUT"
  : "${COREMARK_SRC:=$S/coremark}" "${TFLM2021_SRC:=$S/tflm-2021}" "${CMSIS5_SRC:=$S/cmsis5}"
  : "${FB2021_SRC:=$S/flatbuffers-2021}" "${GEMMLOWP_SRC:=$S/gemmlowp}" "${RUY_SRC:=$S/ruy}"
  : "${TFLMCUR_SRC:=$S/tflm-current}" "${CMSISNN_SRC:=$S/cmsis-nn-current}" "${FBCUR_SRC:=$S/flatbuffers-current}"
  : "${CMSIS6_SRC:=$S/cmsis6}" "${GLOW_SRC:=$S/glow}"
  skip() { grep -qw -- "$1" <<<"${SKIP:-}"; }
  have() { for d in "$@"; do [ -d "$d" ] || { echo "skip: $d missing" >&2; return 1; }; done; }
  skip coremark || ! have "$COREMARK_SRC" || "$here/coremark.sh" "$COREMARK_SRC" "$OUT" > /dev/null
  skip tflm-2021 || ! have "$TFLM2021_SRC" "$CMSIS5_SRC" "$FB2021_SRC" "$GEMMLOWP_SRC" "$RUY_SRC" \
    || "$here/tflm_kws.sh" "$TFLM2021_SRC" "$CMSIS5_SRC" "$FB2021_SRC" "$GEMMLOWP_SRC" "$RUY_SRC" "$OUT" > /dev/null
  skip tflm-current || ! have "$TFLMCUR_SRC" "$CMSISNN_SRC" "$FBCUR_SRC" "$GEMMLOWP_SRC" "$RUY_SRC" \
    || "$here/tflm_kws.sh" "$TFLMCUR_SRC" "$CMSISNN_SRC" "$FBCUR_SRC" "$GEMMLOWP_SRC" "$RUY_SRC" "$OUT" \
         $( [ -d "$CMSIS6_SRC" ] && echo "$CMSIS6_SRC" ) > /dev/null
  skip glow || ! have "$GLOW_SRC" || "$here/glow_kws.sh" "$GLOW_SRC" "$OUT" > /dev/null
fi
{
  echo "## Accuracy against silicon"
  echo
  echo "Measured $(date -u +%Y-%m-%d) with \`validation/run_all.sh SRC_ROOT OUTDIR\`, simbench $("$SIMBENCH" --version 2>/dev/null | awk '{print $2}')."
  echo
  python3 "$here/lib/report.py" combined "$OUT" --iterations "${ITERATIONS:-1000}"
} | tee "$OUT/accuracy.md"
