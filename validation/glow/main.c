/* main.c - harness for a Glow ahead-of-time bundle of the KWS model (network name "kws",
 * built by pytorch/glow's model-compiler -emit-bundle). Copies the recorded sample into the
 * input placeholder, times the entry kws() with DWT CYCCNT and prints (semihosting):
 * inference_cycles=N, top_class=K, and for -instrument-ir bundles the callback counts.
 * -DGLOW_INPUT_OFFSET / -DGLOW_OUTPUT_OFFSET / -DGLOW_OUTPUT_SIZE come from the bundle
 * header's placeholder list (glow_kws.sh reads them). Exit 0 when the top class is 5. */
#include <stdint.h>
#include <string.h>
#include "validation.h"
#include "kws.h"

#ifndef EXPECTED_CLASS
#define EXPECTED_CLASS 5
#endif

extern const uint8_t kws_weights[];          /* weights.S: kws.weights.bin */
extern const uint8_t g_kws_input[];          /* weights.S: the input sample */
extern const unsigned int g_kws_input_size;

static uint8_t mutable_weights[KWS_MUTABLE_MEM_SIZE] __attribute__((aligned(KWS_MEM_ALIGN)));
uint8_t activations[KWS_ACTIVATIONS_MEM_SIZE] __attribute__((aligned(KWS_MEM_ALIGN)));

#ifdef GLOW_INSTRUMENT
/* -instrument-ir callbacks: the application supplies them. Kept minimal: they count. */
volatile uint32_t glow_instr_before_calls, glow_instr_after_calls;
__attribute__((noinline)) void glow_instrument_before(int id, int kind, int opInp, int opOut,
                                                      uint8_t **opAddr, int *opSize)
{
    (void)id; (void)kind; (void)opInp; (void)opOut; (void)opAddr; (void)opSize;
    glow_instr_before_calls++;
}
__attribute__((noinline)) void glow_instrument_after(int id, int kind, int opInp, int opOut,
                                                     uint8_t **opAddr, int *opSize)
{
    (void)id; (void)kind; (void)opInp; (void)opOut; (void)opAddr; (void)opSize;
    glow_instr_after_calls++;
}
#endif

int main(void)
{
    if (g_kws_input_size > KWS_MUTABLE_MEM_SIZE - GLOW_INPUT_OFFSET) {
        sb_puts("input sample larger than the input placeholder\n");
        return 2;
    }
    memcpy(mutable_weights + GLOW_INPUT_OFFSET, g_kws_input, g_kws_input_size);

    uint32_t t0 = dwt_cycles();
    int rc = kws((uint8_t *)kws_weights, mutable_weights, activations);
    uint32_t t1 = dwt_cycles();
    if (rc != 0) {
        sb_put_u32("kws() returned", (uint32_t)rc);
        return 2;
    }
    const int8_t *out = (const int8_t *)(mutable_weights + GLOW_OUTPUT_OFFSET);
    int top = 0;
    for (int i = 1; i < GLOW_OUTPUT_SIZE; i++)
        if (out[i] > out[top]) top = i;
    sb_put_u32("inference_cycles", t1 - t0);
    sb_put_u32("top_class", (uint32_t)top);
#ifdef GLOW_INSTRUMENT
    sb_put_u32("instrument_before_calls", glow_instr_before_calls);
    sb_put_u32("instrument_after_calls", glow_instr_after_calls);
#endif
    return top == EXPECTED_CLASS ? 0 : 3;
}
