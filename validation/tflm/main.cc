// main.cc - KWS firmware for the validation harness: TensorFlow Lite Micro runs the MLPerf
// Tiny keyword-spotting model (kws_ref_model.tflite) on one recorded sample, with DWT
// CYCCNT read around MicroInterpreter::Invoke(). Builds against a 2021 TFLM tree
// (-DTFLM_2021: ErrorReporter API) or a current one (MicroPrintf API).
//
// Prints (semihosting): invoke_cycles=N, top_class=K, arena_used=B, stack_used=B.
// Exit status 0 when the top class is the expected one (5 for sample 0), else 3;
// 2 when the interpreter fails to set up.
#include <stdint.h>
#include <string.h>

#include "tensorflow/lite/micro/micro_interpreter.h"
#include "tensorflow/lite/micro/micro_mutable_op_resolver.h"
#include "tensorflow/lite/micro/system_setup.h"
#include "tensorflow/lite/schema/schema_generated.h"
#ifdef TFLM_2021
#include "tensorflow/lite/micro/micro_error_reporter.h"
#endif

#include "validation.h"

extern "C" const unsigned char g_kws_model[];
extern "C" const unsigned char g_kws_input[];
extern "C" const unsigned int g_kws_input_size;
extern "C" char __StackLimit[];

#ifndef ARENA_SIZE
#define ARENA_SIZE (24 * 1024)
#endif
#ifndef EXPECTED_CLASS
#define EXPECTED_CLASS 5
#endif

alignas(16) static uint8_t tensor_arena[ARENA_SIZE];

static const uint32_t kPaint = 0x5AB5A5B5u;

// Paint the free stack below the current frame, to measure its high-water mark later.
static void paint_stack(void)
{
    uint32_t *p = reinterpret_cast<uint32_t *>(__StackLimit);
    uint32_t *sp = reinterpret_cast<uint32_t *>(__builtin_frame_address(0)) - 64;
    while (p < sp) *p++ = kPaint;
}

static uint32_t stack_used(void)
{
    extern char __StackTop[];
    const uint32_t *p = reinterpret_cast<const uint32_t *>(__StackLimit);
    while (p < reinterpret_cast<const uint32_t *>(__StackTop) && *p == kPaint) p++;
    return static_cast<uint32_t>(reinterpret_cast<const char *>(__StackTop) - reinterpret_cast<const char *>(p));
}

int main(void)
{
    paint_stack();
    tflite::InitializeTarget();
    const tflite::Model *model = tflite::GetModel(g_kws_model);

    static tflite::MicroMutableOpResolver<6> resolver;
    resolver.AddConv2D();
    resolver.AddDepthwiseConv2D();
    resolver.AddAveragePool2D();
    resolver.AddReshape();
    resolver.AddFullyConnected();
    resolver.AddSoftmax();

#ifdef TFLM_2021
    static tflite::MicroErrorReporter reporter;
    static tflite::MicroInterpreter interpreter(model, resolver, tensor_arena, ARENA_SIZE, &reporter);
#else
    static tflite::MicroInterpreter interpreter(model, resolver, tensor_arena, ARENA_SIZE);
#endif
    if (interpreter.AllocateTensors() != kTfLiteOk) {
        sb_puts("AllocateTensors failed\n");
        return 2;
    }
    TfLiteTensor *in = interpreter.input(0);
    if (in->bytes != g_kws_input_size) {
        sb_put_u32("input bytes mismatch, tensor", in->bytes);
        return 2;
    }
    memcpy(in->data.int8, g_kws_input, in->bytes);

    uint32_t t0 = dwt_cycles();
    TfLiteStatus st = interpreter.Invoke();
    uint32_t t1 = dwt_cycles();
    if (st != kTfLiteOk) {
        sb_puts("Invoke failed\n");
        return 2;
    }

    TfLiteTensor *out = interpreter.output(0);
    int top = 0;
    for (int i = 1; i < static_cast<int>(out->bytes); i++)
        if (out->data.int8[i] > out->data.int8[top]) top = i;

    sb_put_u32("invoke_cycles", t1 - t0);
    sb_put_u32("top_class", static_cast<uint32_t>(top));
    sb_put_u32("arena_used", static_cast<uint32_t>(interpreter.arena_used_bytes()));
    sb_put_u32("stack_used", stack_used());
    return top == EXPECTED_CLASS ? 0 : 3;
}
