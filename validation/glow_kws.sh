#!/usr/bin/env bash
# glow_kws.sh - build pytorch/glow's model-compiler, emit KWS bundles for Cortex-M7 and
# Cortex-M33 (with and without -instrument-ir), link them with this directory's harness,
# run them on mimxrt1011 and lpc55s69, and print the DWT-timed inference beside what
# simbench's operator profiles say.
#
# Usage: validation/glow_kws.sh GLOW_SRC OUTDIR
#   GLOW_SRC  pytorch/glow (05dd99b9 tested) with thirdparty/{folly,foxi,onnx,fp16} at the
#             commits the tree pins; lib/glow_build.sh applies the build fixes in place.
#   OUTDIR    bundles and ELFs under OUTDIR/glow/, the table in OUTDIR/glow.md.
# Environment: MODEL_COMPILER (an existing model-compiler; else GLOW_BUILD/bin/model-compiler,
# GLOW_BUILD defaulting to OUTDIR/glow-build, built when missing: ~19 min on 2 cores),
# SIMBENCH, TIMINGS ("detailed fast"), MODEL, INPUT, SIM_TIMEOUT.
set -euo pipefail
[ $# -eq 2 ] || { sed -n 2,15p "$0"; exit 2; }
GLOW=$(realpath "$1"); OUT=$(realpath -m "$2")
source "$(dirname "$0")/lib/common.sh"
MODEL=$(realpath "${MODEL:-$REPO_DIR/fixtures/models/kws_ref_model.tflite}")
INPUT=$(realpath "${INPUT:-$REPO_DIR/fixtures/models/samples/kws_mlcommons_sample0.bin}")
TIMINGS=${TIMINGS:-detailed fast}
GLOW_BUILD=${GLOW_BUILD:-$OUT/glow-build}
MC=${MODEL_COMPILER:-$GLOW_BUILD/bin/model-compiler}
if [ ! -x "$MC" ]; then
  say "model-compiler not found at $MC: building it (lib/glow_build.sh)"
  "$VAL_DIR/lib/glow_build.sh" "$GLOW" "$GLOW_BUILD"
fi
B=$OUT/glow; mkdir -p "$B/runs" "$B/profiles"

# --- bundles
for mcpu in cortex-m7 cortex-m33; do
  for v in plain instr; do
    d=$B/bundle-$mcpu-$v
    [ -f "$d/kws.o" ] && [ "$d/kws.o" -nt "$MC" ] && continue
    rm -rf "$d"; mkdir -p "$d"
    extra=""; [ $v = instr ] && extra="-instrument-ir"
    say "bundle $mcpu $v"
    ( cd "$d" && "$MC" -model="$MODEL" -backend=CPU -emit-bundle="$d" -target=arm -mcpu=$mcpu \
        -float-abi=hard -network-name=kws $extra ) > "$d/model-compiler.log" 2>&1 \
      || { say "model-compiler failed for $mcpu $v: $(tail -3 "$d/model-compiler.log")"; continue; }
  done
done

# placeholder NAME_OR_SIZE lookups from the bundle header: prints "offset size" of the
# placeholder whose byte size is $2 (490 = the 49x10 int8 input, 12 = the class scores).
placeholder() {
  python3 - "$1" "$2" <<'PY'
import re, sys
h = open(sys.argv[1]).read()
want = int(sys.argv[2])
# modelInfo blocks: "// Name: ..." ... "// Size: N (bytes)" ... "// Offset: N"
for blk in re.split(r"\n\s*//\s*\n", h):
    m = re.search(r"Size:\s*(\d+)\s*\(bytes\)", blk)
    o = re.search(r"Offset:\s*(\d+)", blk)
    if m and o and int(m.group(1)) == want:
        print(o.group(1), m.group(1)); sys.exit(0)
sys.exit(1)
PY
}

# link NAME BOARD CORE BUNDLE MEM
link_fw() {
  local name=$1 board=$2 core=$3 bundle=$4 mem=$5
  local hdr=$bundle/kws.h
  [ -f "$hdr" ] || { say "no bundle header $hdr"; return 1; }
  local in out
  in=$(placeholder "$hdr" "$(stat -c %s "$INPUT")") || { say "no input placeholder of $(stat -c %s "$INPUT") bytes in $hdr"; return 1; }
  out=$(placeholder "$hdr" 12) || { say "no 12-byte output placeholder in $hdr"; return 1; }
  local flags="$(core_flags "$core") -O2 -g -ffunction-sections -fdata-sections"
  local ld extra="-DGLOW_INPUT_OFFSET=${in%% *} -DGLOW_OUTPUT_OFFSET=${out%% *} -DGLOW_OUTPUT_SIZE=${out##* }"
  case "$board-$mem" in
    lpc55s69-*) ld=lpc55s69_flash.ld ;;
    mimxrt1011-flash) ld=mimxrt1011.ld; extra="$extra -DENABLE_CACHES -Wl,--defsym=__stack_size__=0x1800" ;;
    mimxrt1011-ram) ld=mimxrt1011_dtcm96.ld; extra="$extra -DENABLE_CACHES -DRT1011_FLEXRAM_DTCM=0xAB" ;;
  esac
  [ "$mem" = ram ] && extra="$extra -DWEIGHTS_IN_RAM"
  case "$bundle" in *-instr) extra="$extra -DGLOW_INSTRUMENT" ;; esac
  local d=$B/$board; mkdir -p "$d"
  say "link $board/$name.elf"
  ${CROSS}gcc $flags $extra -I"$bundle" -I"$VAL_DIR/common" \
    -DWEIGHTS_FILE="\"$bundle/kws.weights.bin\"" -DINPUT_FILE="\"$INPUT\"" \
    "$VAL_DIR/glow/main.c" "$VAL_DIR/glow/weights.S" $COMMON_SRC "$bundle/kws.o" -lm \
    $LINK_FLAGS -T"$VAL_DIR/ld/$ld" -Wl,-Map="$d/$name.map" -o "$d/$name.elf"
}

#  name                       board       core  bundle                 mem
ALL="
  glow-m7-plain-flash         mimxrt1011  m7    bundle-cortex-m7-plain   flash
  glow-m7-plain-ram           mimxrt1011  m7    bundle-cortex-m7-plain   ram
  glow-m7-instr-flash         mimxrt1011  m7    bundle-cortex-m7-instr   flash
  glow-m33-plain-flash        lpc55s69    m33   bundle-cortex-m33-plain  flash
  glow-m33-plain-ram          lpc55s69    m33   bundle-cortex-m33-plain  ram
  glow-m33-instr-flash        lpc55s69    m33   bundle-cortex-m33-instr  flash
"
built=()
while read -r name board core bundle mem; do
  [ -n "$name" ] || continue
  if link_fw "$name" "$board" "$core" "$B/$bundle" "$mem"; then built+=("$name $board"); else say "FAILED to build $board/$name"; fi
done <<<"$ALL"

for nb in "${built[@]}"; do
  read -r name board <<<"$nb"
  for t in $TIMINGS; do
    say "run $board/$name ($t)"
    run_sim "$B/$board/$name.elf" "$board" "$t" "$B/runs/$name.$board.$t.json" --profile off \
      || say "  simbench exit $(cat "$B/runs/$name.$board.$t.rc"): $(tail -1 "$B/runs/$name.$board.$t.log")"
  done
done

# What simbench's operator profiles print (detailed mode): auto, aot, aot with --model.
for nb in "${built[@]}"; do
  read -r name board <<<"$nb"
  case "$name" in *-flash) ;; *) continue ;; esac
  for p in auto aot aot+model; do
    args="--profile ${p%+model}"; [ "$p" = aot+model ] && args="$args --model $MODEL"
    say "profile $board/$name $args"
    "$SIMBENCH" "$B/$board/$name.elf" --board "$board" --timeout "$SIM_TIMEOUT" $args -q \
      > "$B/profiles/$name.$board.$p.txt" 2>&1 || echo "(simbench exit $?)" >> "$B/profiles/$name.$board.$p.txt"
    "$SIMBENCH" "$B/$board/$name.elf" --board "$board" --timeout "$SIM_TIMEOUT" $args -q \
      --format json -o "$B/profiles/$name.$board.$p.json" > /dev/null 2>&1 || true
  done
done

python3 "$VAL_DIR/lib/report.py" glow "$B/runs" | tee "$OUT/glow.md"
python3 "$VAL_DIR/lib/report.py" profiles "$B/profiles" --runs "$B/runs" | tee -a "$OUT/glow.md"
