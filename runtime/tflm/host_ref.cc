/*
 * host_ref.cc - host (x86-64) reference run of the same TFLM tree as the
 * firmware: expected outputs for the inference fixtures come from here, never
 * from simbench.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Usage: host_ref MODEL.tflite [INPUT.bin]     (no INPUT: all-zero input)
 * Prints three lines: output_hex=<hex of the int8 output tensor>,
 * arena_used_bytes=<n>, input_bytes=<n>. Exit status 0 on success.
 * Same resolver contents as the firmware (every operator/version any of the
 * four MLPerf Tiny models uses; see models.h), built with the same defines
 * (-DNDEBUG -DTF_LITE_STATIC_MEMORY).
 */
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "tensorflow/lite/micro/kernels/micro_ops.h"
#include "tensorflow/lite/micro/micro_error_reporter.h"
#include "tensorflow/lite/micro/micro_interpreter.h"
#include "tensorflow/lite/micro/micro_mutable_op_resolver.h"
#include "tensorflow/lite/schema/schema_generated.h"
#include "tensorflow/lite/version.h"

extern "C" void DebugLog(const char *s) { fputs(s, stderr); }

static std::vector<unsigned char> read_file(const char *path)
{
    std::vector<unsigned char> data;
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "host_ref: cannot open %s\n", path);
        exit(1);
    }
    unsigned char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) data.insert(data.end(), buf, buf + n);
    fclose(f);
    return data;
}

// 1 MiB: far more than any of the four models needs on a 64-bit host.
alignas(16) static uint8_t arena[1 << 20];

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: host_ref MODEL.tflite [INPUT.bin]\n");
        return 2;
    }
    std::vector<unsigned char> raw = read_file(argv[1]);
    // the flatbuffer must be aligned: copy it into 16-aligned storage
    std::vector<uint64_t> aligned((raw.size() + 7) / 8 + 2);
    memcpy(aligned.data(), raw.data(), raw.size());

    tflite::MicroErrorReporter reporter;
    const tflite::Model *model = tflite::GetModel(aligned.data());
    if (model->version() != TFLITE_SCHEMA_VERSION) {
        fprintf(stderr, "host_ref: schema version %u\n", (unsigned)model->version());
        return 1;
    }
    tflite::MicroMutableOpResolver<7> resolver(&reporter);
    resolver.AddBuiltin(tflite::BuiltinOperator_ADD, tflite::ops::micro::Register_ADD(), 2);
    resolver.AddBuiltin(tflite::BuiltinOperator_AVERAGE_POOL_2D, tflite::ops::micro::Register_AVERAGE_POOL_2D(), 2);
    resolver.AddBuiltin(tflite::BuiltinOperator_CONV_2D, tflite::ops::micro::Register_CONV_2D(), 3);
    resolver.AddBuiltin(tflite::BuiltinOperator_DEPTHWISE_CONV_2D, tflite::ops::micro::Register_DEPTHWISE_CONV_2D(), 3);
    resolver.AddBuiltin(tflite::BuiltinOperator_FULLY_CONNECTED, tflite::ops::micro::Register_FULLY_CONNECTED(), 4);
    resolver.AddBuiltin(tflite::BuiltinOperator_RESHAPE, tflite::ops::micro::Register_RESHAPE(), 1);
    resolver.AddBuiltin(tflite::BuiltinOperator_SOFTMAX, tflite::ops::micro::Register_SOFTMAX(), 2);

    tflite::MicroInterpreter interpreter(model, resolver, arena, sizeof arena, &reporter);
    if (interpreter.AllocateTensors() != kTfLiteOk) {
        fprintf(stderr, "host_ref: AllocateTensors failed\n");
        return 1;
    }
    TfLiteTensor *input = interpreter.input(0);
    if (input->type != kTfLiteInt8) {
        fprintf(stderr, "host_ref: input is not int8\n");
        return 1;
    }
    if (argc == 3) {
        std::vector<unsigned char> in = read_file(argv[2]);
        if (in.size() != input->bytes) {
            fprintf(stderr, "host_ref: input has %zu bytes, tensor needs %zu\n", in.size(), (size_t)input->bytes);
            return 1;
        }
        memcpy(input->data.int8, in.data(), in.size());
    } else {
        memset(input->data.int8, 0, input->bytes);
    }
    if (interpreter.Invoke() != kTfLiteOk) {
        fprintf(stderr, "host_ref: Invoke failed\n");
        return 1;
    }
    TfLiteTensor *output = interpreter.output(0);
    if (output->type != kTfLiteInt8) {
        fprintf(stderr, "host_ref: output is not int8\n");
        return 1;
    }
    printf("output_hex=");
    for (size_t i = 0; i < output->bytes; i++) printf("%02x", (unsigned char)output->data.int8[i]);
    printf("\narena_used_bytes=%zu\ninput_bytes=%zu\n", (size_t)interpreter.arena_used_bytes(), (size_t)input->bytes);
    return 0;
}
