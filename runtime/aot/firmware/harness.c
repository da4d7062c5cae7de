/*
 * harness.c - firmware harness for ahead-of-time bundles from `simbench aot`.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * One inference of one bundle, timed with DWT CYCCNT around the entry call,
 * with the same report as the TFLM harness (runtime/tflm/sb_report.h), so the
 * two engines' outputs can be compared bit for bit.
 *
 * Build-time defines (see runtime/aot/firmware/README.md):
 *   SB_BUNDLE        the bundle name = entry function, e.g. kws
 *   SB_BUNDLE_UPPER  the upper-cased name used by the header's macros, e.g. KWS
 *   SB_BUNDLE_HEADER the header as a string, e.g. "kws.h"
 *   SB_MODEL_NAME    short model name for the report, e.g. "kws"
 *   SB_BOARD_NAME    board name for the report, e.g. "lpc55s69"
 *   SB_HAVE_INPUT    an input sample is linked (model_blob.S); else zeros
 *   SB_WEIGHTS_IN_RAM 1: copy the constant area into a 64-byte aligned RAM
 *                    buffer before the timed call and pass that; 0/undefined:
 *                    pass the flash copy (<name>_constant_weights) directly.
 *
 * Memory: the mutable area (inputs/outputs) and the activations are static,
 * 64-byte aligned buffers in .bss (SRAM on the LPC55S69, DTCM on the RT1011).
 */
#include <stdint.h>
#include <string.h>

#include "simbench.h"
#include "sb_report.h"

#if !defined(SB_BUNDLE) || !defined(SB_BUNDLE_UPPER) || !defined(SB_BUNDLE_HEADER)
#error "define SB_BUNDLE, SB_BUNDLE_UPPER and SB_BUNDLE_HEADER (see README.md)"
#endif
#ifndef SB_MODEL_NAME
#error "define SB_MODEL_NAME"
#endif
#ifndef SB_BOARD_NAME
#error "define SB_BOARD_NAME"
#endif

#include SB_BUNDLE_HEADER

#define SB_CAT2(a, b) a##b
#define SB_CAT(a, b) SB_CAT2(a, b)
/* SB_B(_CONSTANT_MEM_SIZE) -> KWS_CONSTANT_MEM_SIZE */
#define SB_B(suffix) SB_CAT(SB_BUNDLE_UPPER, suffix)
#define SB_WEIGHTS SB_CAT(SB_BUNDLE, _constant_weights)

#if SB_B(_MEM_ALIGN) > 64
#error "bundle needs more than 64-byte alignment"
#endif

static uint8_t mutable_mem[SB_B(_MUTABLE_MEM_SIZE)] __attribute__((aligned(64)));
static uint8_t activations[SB_B(_ACTIVATIONS_MEM_SIZE)] __attribute__((aligned(64)));
#if defined(SB_WEIGHTS_IN_RAM) && SB_WEIGHTS_IN_RAM
static uint8_t constant_ram[SB_B(_CONSTANT_MEM_SIZE)] __attribute__((aligned(64)));
#endif

#ifdef SB_HAVE_INPUT
extern const uint8_t sb_input_data[];
extern const uint8_t sb_input_end[];
#endif

int main(void)
{
    sb_stack_paint();

    uint8_t *weights;
#if defined(SB_WEIGHTS_IN_RAM) && SB_WEIGHTS_IN_RAM
    memcpy(constant_ram, SB_WEIGHTS, sizeof constant_ram);
    weights = constant_ram;
#else
    weights = (uint8_t *)(uintptr_t)SB_WEIGHTS; /* read only by the bundle */
#endif

    int8_t *input = (int8_t *)(mutable_mem + SB_B(_INPUT_OFFSET));
#ifdef SB_HAVE_INPUT
    if ((size_t)(sb_input_end - sb_input_data) != (size_t)SB_B(_INPUT_SIZE)) {
        sb_kv_str("error", "input size");
        return 5;
    }
    memcpy(input, sb_input_data, SB_B(_INPUT_SIZE));
#else
    memset(input, 0, SB_B(_INPUT_SIZE));
#endif

    uint32_t t0 = sb_measure_begin(1);
    int status = SB_BUNDLE(weights, mutable_mem, activations);
    uint32_t t1 = sb_measure_end(1);
    if (status != 0) {
        sb_kv_str("error", "bundle entry returned non-zero");
        return 4;
    }

    sb_report("aot", SB_MODEL_NAME, SB_BOARD_NAME,
              (const int8_t *)(mutable_mem + SB_B(_OUTPUT_OFFSET)), SB_B(_OUTPUT_SIZE),
              (uint32_t)SB_B(_ACTIVATIONS_MEM_SIZE), (uint32_t)SB_B(_ACTIVATIONS_MEM_SIZE), t1 - t0);
    return 0;
}
