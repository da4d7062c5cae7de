#!/usr/bin/env bash
# tflm_kws.sh - build the seed's keyword-spotting firmware (TensorFlow Lite Micro + CMSIS-NN,
# MLPerf Tiny kws_ref_model) for LPC55S69 and i.MX RT1011, run it on simbench's presets and
# print the firmware's own DWT count around Invoke() against the seed's silicon table.
#
# Usage: validation/tflm_kws.sh TFLM_SRC CMSIS_SRC FLATBUFFERS_SRC GEMMLOWP_SRC RUY_SRC OUTDIR [CMSIS_CORE_SRC]
#   TFLM_SRC         tensorflow/tflite-micro: 67681479 (2021-08-27, "2021": MicroGraph) or a
#                    current tree ("current": MicroInterpreterGraph); detected from the files.
#   CMSIS_SRC        ARM-software/CMSIS_5 (c43379be: CMSIS/NN, Core/Include, DSP/Include) or
#                    ARM-software/CMSIS-NN (Include/, Source/; 4ab83cc3 for a 2026 TFLM).
#   FLATBUFFERS_SRC  google/flatbuffers at TFLM's pin (dca12522 for 2021, v25.9.23 for 2026);
#                    TFLM's flatbuffers.patch is applied to a copy under OUTDIR.
#   GEMMLOWP_SRC     google/gemmlowp 719139ce;  RUY_SRC  google/ruy d3712831.
#   OUTDIR           builds under OUTDIR/tflm-ENGINE/, the table in OUTDIR/tflm-ENGINE.md,
#                    operator-profile outputs in OUTDIR/tflm-ENGINE/profiles/.
#   CMSIS_CORE_SRC   optional CMSIS_6 or CMSIS_5 tree for CMSIS/Core/Include (current TFLM).
# Environment: SIMBENCH, CONFIGS (subset of the configuration names below), TIMINGS
# ("detailed fast"), MODEL, INPUT (default fixtures/models/...), SIM_TIMEOUT, JOBS.
set -euo pipefail
[ $# -ge 6 ] || { sed -n 2,22p "$0"; exit 2; }
TFLM=$(realpath "$1"); CMSIS=$(realpath "$2"); FB=$(realpath "$3"); GEMM=$(realpath "$4"); RUY=$(realpath "$5")
OUT=$(realpath -m "$6"); CORE_SRC=${7:+$(realpath "$7")}
source "$(dirname "$0")/lib/common.sh"
MODEL=$(realpath "${MODEL:-$REPO_DIR/fixtures/models/kws_ref_model.tflite}")
INPUT=$(realpath "${INPUT:-$REPO_DIR/fixtures/models/samples/kws_mlcommons_sample0.bin}")
TIMINGS=${TIMINGS:-detailed fast}

M=$TFLM/tensorflow/lite/micro
if [ -f "$M/micro_graph.cc" ]; then ENGINE=2021
elif [ -f "$M/micro_interpreter_graph.cc" ]; then ENGINE=current
else echo "$TFLM: neither micro_graph.cc nor micro_interpreter_graph.cc: not a tflite-micro tree this script knows" >&2; exit 2; fi
B=$OUT/tflm-$ENGINE; mkdir -p "$B/runs" "$B/profiles"
say "TFLM engine: $ENGINE ($TFLM)"

# --- CMSIS-NN layout
if [ -d "$CMSIS/CMSIS/NN/Source" ]; then
  NN=$CMSIS/CMSIS/NN
  NN_INC="-I$CMSIS -I$CMSIS/CMSIS/Core/Include -I$CMSIS/CMSIS/DSP/Include -I$NN/Include"
elif [ -d "$CMSIS/Source" ] && [ -d "$CMSIS/Include" ]; then
  NN=$CMSIS
  NN_INC="-I$CMSIS -I$CMSIS/Include"
  [ -n "$CORE_SRC" ] && NN_INC="$NN_INC -I$CORE_SRC -I$CORE_SRC/CMSIS/Core/Include"
else echo "$CMSIS: no CMSIS/NN/Source (CMSIS_5) nor Source+Include (CMSIS-NN)" >&2; exit 2; fi

# --- flatbuffers with TFLM's patch, in a copy
FBI=$B/flatbuffers
if [ ! -f "$FBI/.patched" ]; then
  rm -rf "$FBI"; mkdir -p "$FBI"; cp -r "$FB/include" "$FBI/"
  patch -s -p1 -d "$FBI" < "$M/tools/make/flatbuffers.patch" || say "note: flatbuffers.patch did not apply cleanly (rejects under $FBI)"
  touch "$FBI/.patched"
fi

INC="-I$TFLM -I$FBI/include -I$GEMM -I$RUY $NN_INC -I$VAL_DIR/common"
DEFS="-DTF_LITE_STATIC_MEMORY -DNDEBUG -DTF_LITE_DISABLE_X86_NEON -DARM_MATH_DSP"
if [ "$ENGINE" = 2021 ]; then
  CXXSTD=-std=c++11; DEFS="$DEFS -DTFLM_2021"
  LIB_SRCS=$(cd "$TFLM" && ls tensorflow/lite/micro/{flatbuffer_utils,memory_helpers,micro_allocator,micro_error_reporter,micro_graph,micro_interpreter,micro_profiler,micro_string,micro_time,micro_utils,simple_memory_allocator,system_setup}.cc \
    tensorflow/lite/micro/memory_planner/{greedy,linear}_memory_planner.cc \
    tensorflow/lite/schema/schema_utils.cc tensorflow/lite/kernels/kernel_util.cc \
    tensorflow/lite/kernels/internal/quantization_util.cc tensorflow/lite/core/api/*.cc tensorflow/lite/c/common.c \
    tensorflow/lite/micro/kernels/kernel_util.cc)
else
  CXXSTD=-std=c++17; DEFS="$DEFS -DARM_NN_ENABLE_F16=0 -DARM_NN_ENABLE_F32=0"
  LIB_SRCS=$(cd "$TFLM" && ls tensorflow/lite/micro/{flatbuffer_utils,memory_helpers,micro_allocation_info,micro_allocator,micro_context,micro_interpreter,micro_interpreter_context,micro_interpreter_graph,micro_log,micro_op_resolver,micro_profiler,micro_resource_variable,micro_time,micro_utils,system_setup}.cc \
    tensorflow/lite/micro/arena_allocator/{non_persistent_arena_buffer_allocator,persistent_arena_buffer_allocator,single_arena_buffer_allocator}.cc \
    tensorflow/lite/micro/memory_planner/{greedy_memory_planner,linear_memory_planner,non_persistent_buffer_planner_shim}.cc \
    tensorflow/lite/micro/tflite_bridge/*.cc \
    tensorflow/compiler/mlir/lite/schema/schema_utils.cc tensorflow/compiler/mlir/lite/core/api/error_reporter.cc \
    tensorflow/lite/core/api/*.cc tensorflow/lite/core/c/common.cc \
    tensorflow/lite/kernels/kernel_util.cc tensorflow/lite/kernels/internal/{quantization_util,tensor_ctypes,runtime_shape,common,portable_tensor_utils,tensor_utils}.cc \
    tensorflow/lite/micro/kernels/kernel_util.cc 2>/dev/null | grep -v _test)
fi
KSHARED="conv_common depthwise_conv_common fully_connected_common pooling_common softmax_common reshape"
[ -f "$M/kernels/reshape_common.cc" ] && KSHARED="$KSHARED reshape_common"
KOPS="conv depthwise_conv fully_connected pooling softmax"

# build_lib CORE KERN OPT -> prints the object directory.
build_lib() {
  local core=$1 kern=$2 opt=$3
  local d=$B/lib/$core-$kern-$opt; mkdir -p "$d"
  local cf; cf="$(core_flags "$core")"
  [ "$kern" = cmsisnodsp ] && cf="${cf/-mcpu=cortex-m33/-mcpu=cortex-m33+nodsp}"
  # KERN: cmsis (TFLM's cmsis_nn kernels + CMSIS-NN), cmsisnodsp (same, M33 without the DSP
  # extension), cmsisnnO3 (same, CMSIS-NN at -O3 whatever OPT: a prebuilt CMSIS-NN), ref.
  local defs=$DEFS
  [ "$kern" = cmsisnodsp ] && defs="${defs/-DARM_MATH_DSP/}"
  local srcs="$LIB_SRCS"
  for k in $KSHARED; do srcs="$srcs tensorflow/lite/micro/kernels/$k.cc"; done
  for k in $KOPS; do
    if [ "$kern" = ref ]; then srcs="$srcs tensorflow/lite/micro/kernels/$k.cc"
    else srcs="$srcs tensorflow/lite/micro/kernels/cmsis_nn/$k.cc"; fi
  done
  [ "$kern" != ref ] && defs="$defs -DCMSIS_NN"
  local flags="$cf -$opt -g -ffunction-sections -fdata-sections $defs $INC"
  # a change of flags rebuilds the library
  if [ -f "$d/flags" ] && [ "$(cat "$d/flags")" != "$flags" ]; then rm -f "$d"/*.o; fi
  echo "$flags" > "$d/flags"
  {
    for s in $srcs; do echo "$TFLM/$s $d/$(echo "$s" | tr / _).o $opt"; done
    if [ "$kern" != ref ]; then
      local nnopt=$opt; [ "$kern" = cmsisnnO3 ] && nnopt=O3   # the library at $opt, CMSIS-NN prebuilt at -O3
      find "$NN/Source" -name '*.c' | sort | grep -v -e '_f16\.c$' -e '_f32\.c$' -e 'arm_nntables_flt\.c$' \
        | while read -r s; do echo "$s $d/nn_$(basename "$s").o $nnopt"; done
    fi
  } > "$d/objects"
  say "build library $core-$kern-$opt ($(wc -l < "$d/objects") files)"
  FLAGS="$flags" CXXSTD="$CXXSTD" CROSS="$CROSS" xargs -P "$JOBS" -L 1 sh -c '
    src=$0 obj=$1 o=$2
    [ -f "$obj" ] && [ "$obj" -nt "$src" ] && exit 0
    case "$src" in
      *.c)  exec nice -n 10 ${CROSS}gcc $FLAGS -$o -std=gnu11 -c "$src" -o "$obj" ;;
      *)    exec nice -n 10 ${CROSS}g++ $FLAGS -$o $CXXSTD -fno-rtti -fno-exceptions -fno-threadsafe-statics -c "$src" -o "$obj" ;;
    esac' < "$d/objects" >&2 || { say "library $core-$kern-$opt failed to build"; return 1; }
  echo "$d"
}

# link NAME BOARD CORE KERN OPT MEM
link_fw() {
  local name=$1 board=$2 core=$3 kern=$4 opt=$5 mem=$6
  local lib; lib=$(build_lib "$core" "$kern" "$opt")
  local flags; flags=$(cat "$lib/flags")
  local ld extra=""
  case "$board-$mem" in
    lpc55s69-flash|lpc55s69-ram) ld=lpc55s69_flash.ld ;;
    mimxrt1011-flash) ld=mimxrt1011.ld; extra="-DENABLE_CACHES -Wl,--defsym=__stack_size__=0x1800" ;;
    mimxrt1011-ram) ld=mimxrt1011_dtcm96.ld; extra="-DENABLE_CACHES -DRT1011_FLEXRAM_DTCM=0xAB" ;;
  esac
  [ "$mem" = ram ] && extra="$extra -DMODEL_IN_RAM"
  local d=$B/$board; mkdir -p "$d"
  say "link $board/$name.elf"
  local objs; objs=$(cut -d' ' -f2 "$lib/objects")
  local o=$d/$name.o; mkdir -p "$o"
  ${CROSS}gcc $flags $extra -std=gnu11 -c "$VAL_DIR/common/system.c" -o "$o/system.o"
  ${CROSS}gcc $flags $extra -c "$VAL_DIR/common/startup.S" -o "$o/startup.o"
  ${CROSS}gcc $flags $extra -DMODEL_FILE="\"$MODEL\"" -DINPUT_FILE="\"$INPUT\"" -c "$VAL_DIR/tflm/model.S" -o "$o/model.o"
  ${CROSS}g++ $flags $CXXSTD -fno-rtti -fno-exceptions -fno-threadsafe-statics $extra \
    "$VAL_DIR/tflm/main.cc" "$VAL_DIR/tflm/debug_log.cc" "$o/system.o" "$o/startup.o" "$o/model.o" $objs \
    $LINK_FLAGS -T"$VAL_DIR/ld/$ld" -Wl,-Map="$d/$name.map" -o "$d/$name.elf"
}

#  name-suffix          board       core kern       opt mem
ALL_CONFIGS="
  cmsis-O0-flash       lpc55s69    m33  cmsis      O0  flash
  cmsis-O3-flash       lpc55s69    m33  cmsis      O3  flash
  cmsis-O3-ram         lpc55s69    m33  cmsis      O3  ram
  ref-O3-flash         lpc55s69    m33  ref        O3  flash
  cmsisnodsp-O3-flash  lpc55s69    m33  cmsisnodsp O3  flash
  cmsisnnO3-O0-flash   lpc55s69    m33  cmsisnnO3  O0  flash
  cmsis-O0-flash       mimxrt1011  m7   cmsis      O0  flash
  cmsisnnO3-O0-flash   mimxrt1011  m7   cmsisnnO3  O0  flash
  cmsis-O3-flash       mimxrt1011  m7   cmsis      O3  flash
  cmsis-O3-ram         mimxrt1011  m7   cmsis      O3  ram
  ref-O3-flash         mimxrt1011  m7   ref        O3  flash
"
built=()
while read -r suffix board core kern opt mem; do
  [ -n "$suffix" ] || continue
  if [ -n "${CONFIGS:-}" ] && ! grep -qw -- "$suffix" <<<"$CONFIGS"; then continue; fi
  name=kws-$ENGINE-$suffix
  if link_fw "$name" "$board" "$core" "$kern" "$opt" "$mem"; then built+=("$name $board")
  else say "FAILED to build $board/$name"; fi
done <<<"$ALL_CONFIGS"

for nb in "${built[@]}"; do
  read -r name board <<<"$nb"
  for t in $TIMINGS; do
    say "run $board/$name ($t)"
    run_sim "$B/$board/$name.elf" "$board" "$t" "$B/runs/$name.$board.$t.json" --profile off \
      || say "  simbench exit $(cat "$B/runs/$name.$board.$t.rc"): $(tail -1 "$B/runs/$name.$board.$t.log")"
  done
done

# What simbench's operator profiles print on this firmware today (detailed mode, text report).
for nb in "${built[@]}"; do
  read -r name board <<<"$nb"
  case "$name" in *-O3-flash|*-O0-flash) ;; *) continue ;; esac
  for p in auto tflm; do
    say "profile $board/$name --profile $p"
    "$SIMBENCH" "$B/$board/$name.elf" --board "$board" --timeout "$SIM_TIMEOUT" --profile $p -q \
      > "$B/profiles/$name.$board.$p.txt" 2>&1 || echo "(simbench exit $?)" >> "$B/profiles/$name.$board.$p.txt"
    "$SIMBENCH" "$B/$board/$name.elf" --board "$board" --timeout "$SIM_TIMEOUT" --profile $p -q \
      --format json -o "$B/profiles/$name.$board.$p.json" > /dev/null 2>&1 || true
  done
done

python3 "$VAL_DIR/lib/report.py" tflm "$B/runs" | tee "$OUT/tflm-$ENGINE.md"
python3 "$VAL_DIR/lib/report.py" profiles "$B/profiles" --runs "$B/runs" | tee -a "$OUT/tflm-$ENGINE.md"
