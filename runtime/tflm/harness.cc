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
 * zeros), optional SB_OP_MARKERS=1 (operator markers, below). Errors print
 * "error=<what>" and return a non-zero status: 2 = model schema,
 * 3 = AllocateTensors, 4 = Invoke, 5 = input/output type or size.
 *
 * SB_OP_MARKERS=1: every operator's invoke is bracketed by sb_op_begin(k, name)
 * / sb_op_end(k) (simbench.h: ITM ports 5 = name bytes, 3 = begin k, 4 = end k),
 * without touching the TFLM sources: the resolver gets a copy of each builtin
 * TfLiteRegistration whose invoke is a per-operator trampoline around the
 * original. k = a counter reset before Invoke() and incremented per operator
 * call: this TFLM's MicroInterpreter::Invoke() runs the nodes in model order,
 * so k is the node index. The report then has an extra line op_markers=<calls>.
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

#if defined(SB_OP_MARKERS) && SB_OP_MARKERS
/* Per operator of SB_OPS: the original invoke, and a trampoline
 * sb_op_<OP>(context, node) = sb_op_begin(k, "<OP>"); original; sb_op_end(k).
 * The trampolines are plain functions (GCC 12 ignores section attributes on
 * function templates) in one section whose name sorts after every TFLM and
 * harness function (the link uses --sort-section=name): the library code
 * keeps the addresses it has in the plain build, so the marker build differs
 * from it only by the markers' own instructions, not by where the kernels'
 * loops fall in flash lines (the LPC55S69's flash model is sensitive to that). */
typedef TfLiteStatus (*sb_invoke_fn)(TfLiteContext *, TfLiteNode *);
static uint32_t sb_op_next; /* index of the next operator call in this Invoke() */

#define SB_OP_TRAMPOLINE(op, version)                                                     \
    static sb_invoke_fn sb_op_invoke_##op;                                                \
    __attribute__((section(".text.zz_sb_op_trampoline"), noinline)) static TfLiteStatus \
    sb_op_##op(TfLiteContext *context, TfLiteNode *node)                                  \
    {                                                                                     \
        const uint32_t index = sb_op_next++;                                              \
        sb_op_begin(index, #op);                                                          \
        const TfLiteStatus status = sb_op_invoke_##op(context, node);                     \
        sb_op_end(index);                                                                 \
        return status;                                                                    \
    }
SB_OPS(SB_OP_TRAMPOLINE)

/* Register a copy of `reg` whose invoke is `trampoline`, remembering the
 * original in *original (AddBuiltin copies the registration, so a local copy
 * is enough). */
template <typename Resolver>
static void sb_add_wrapped(Resolver &resolver, tflite::BuiltinOperator op, const TfLiteRegistration *reg,
                           int version, sb_invoke_fn *original, sb_invoke_fn trampoline)
{
    TfLiteRegistration wrapped = *reg;
    *original = reg->invoke;
    wrapped.invoke = trampoline;
    resolver.AddBuiltin(op, &wrapped, version);
}
#endif

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
#if defined(SB_OP_MARKERS) && SB_OP_MARKERS
#define SB_ADD_OP(op, version)                                                              \
    sb_add_wrapped(resolver, tflite::BuiltinOperator_##op, tflite::ops::micro::Register_##op(), \
                   version, &sb_op_invoke_##op, sb_op_##op);
#else
#define SB_ADD_OP(op, version) \
    resolver.AddBuiltin(tflite::BuiltinOperator_##op, tflite::ops::micro::Register_##op(), version);
#endif
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

#if defined(SB_OP_MARKERS) && SB_OP_MARKERS
    sb_op_next = 0;
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
#if defined(SB_OP_MARKERS) && SB_OP_MARKERS
    sb_kv_u32("op_markers", sb_op_next);
#endif
    (void)sb_model_end;
    return 0;
}
