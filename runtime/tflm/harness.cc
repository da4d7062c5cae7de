/*
 * harness.cc - TensorFlow Lite Micro inference harness for simbench.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * One inference of one model, timed with DWT CYCCNT around Invoke():
 *   1. build a MicroMutableOpResolver with exactly the model's operators
 *      (models.h), a MicroInterpreter on the flatbuffer linked into the image
 *      (model_blob.S: in flash, or in .data = copied to RAM by Reset_Handler
 *      when built with -DSB_MODEL_IN_RAM=1) and a static tensor arena;
 *   2. AllocateTensors(), copy the input sample (or zeros) into the input tensor;
 *   3. sb_measure_begin(1); Invoke(); sb_measure_end(1) (ITM markers on ports
 *      1/2 give simbench the same interval);
 *   4. print the report (sb_report.h) and return 0 (sb_exit(0) in startup.c).
 *
 * Build-time defines: one SB_MODEL_<X> (models.h), SB_BOARD_NAME (string),
 * optional SB_HAVE_INPUT (an input sample was linked, else the input is all
 * zeros). Errors print "error=<what>" and return a non-zero status:
 * 2 = model schema, 3 = AllocateTensors, 4 = Invoke, 5 = input/output type or size.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "simbench.h"
#include "sb_report.h"
#include "models.h"

#include "tensorflow/lite/micro/kernels/micro_ops.h"
#include "tensorflow/lite/micro/micro_error_reporter.h"
#include "tensorflow/lite/micro/micro_interpreter.h"
#include "tensorflow/lite/micro/micro_mutable_op_resolver.h"
#include "tensorflow/lite/schema/schema_generated.h"
#include "tensorflow/lite/version.h"

#ifndef SB_BOARD_NAME
#error "define SB_BOARD_NAME, e.g. -DSB_BOARD_NAME='\"lpc55s69\"'"
#endif

/* model_blob.S */
extern "C" const uint8_t sb_model_data[];
extern "C" const uint8_t sb_model_end[];
#ifdef SB_HAVE_INPUT
extern "C" const uint8_t sb_input_data[];
extern "C" const uint8_t sb_input_end[];
#endif

/* TFLM's logging hook (the library's debug_log.cc is not linked). */
extern "C" void DebugLog(const char *s) { sb_puts(s); }

/* Nothing is ever allocated on a heap: TFLM objects live in static storage.
 * The deleting destructors of TFLM's polymorphic classes still reference
 * operator delete (at -O0 they survive --gc-sections), and libsupc++'s
 * version would drag in newlib's malloc/free and _sbrk. These never run;
 * if one ever does, it says so and stops. Same for a pure virtual call. */
static void sb_fatal(const char *what)
{
    sb_kv_str("error", what);
    sb_exit(6);
}
void operator delete(void *) noexcept { sb_fatal("operator delete called"); }
void operator delete(void *, size_t) noexcept { sb_fatal("operator delete called"); }
extern "C" void __cxa_pure_virtual(void) { sb_fatal("pure virtual call"); }

alignas(16) static uint8_t tensor_arena[SB_ARENA_BYTES];

#define SB_COUNT_OP(op, version) +1
static constexpr unsigned kOpCount = 0 SB_OPS(SB_COUNT_OP);

static int fail(const char *what, int status)
{
    sb_kv_str("error", what);
    return status;
}

int main(void)
{
    sb_stack_paint();
    static tflite::MicroErrorReporter error_reporter;

    const tflite::Model *model = tflite::GetModel(sb_model_data);
    if (model->version() != TFLITE_SCHEMA_VERSION) {
        return fail("model schema version", 2);
    }

    static tflite::MicroMutableOpResolver<kOpCount> resolver(&error_reporter);
#define SB_ADD_OP(op, version) \
    resolver.AddBuiltin(tflite::BuiltinOperator_##op, tflite::ops::micro::Register_##op(), version);
    SB_OPS(SB_ADD_OP)

    static tflite::MicroInterpreter interpreter(model, resolver, tensor_arena, sizeof tensor_arena,
                                                &error_reporter);
    if (interpreter.AllocateTensors() != kTfLiteOk) {
        return fail("AllocateTensors", 3);
    }

    TfLiteTensor *input = interpreter.input(0);
    if (input->type != kTfLiteInt8) {
        return fail("input type", 5);
    }
#ifdef SB_HAVE_INPUT
    if ((size_t)(sb_input_end - sb_input_data) != input->bytes) {
        return fail("input size", 5);
    }
    memcpy(input->data.int8, sb_input_data, input->bytes);
#else
    memset(input->data.int8, 0, input->bytes);
#endif

    uint32_t t0 = sb_measure_begin(1);
    TfLiteStatus status = interpreter.Invoke();
    uint32_t t1 = sb_measure_end(1);
    if (status != kTfLiteOk) {
        return fail("Invoke", 4);
    }

    TfLiteTensor *output = interpreter.output(0);
    if (output->type != kTfLiteInt8) {
        return fail("output type", 5);
    }
    sb_report("tflm", SB_MODEL_NAME, SB_BOARD_NAME, output->data.int8, output->bytes,
              (uint32_t)sizeof tensor_arena, (uint32_t)interpreter.arena_used_bytes(), t1 - t0);
    (void)sb_model_end;
    return 0;
}
