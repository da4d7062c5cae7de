/*
 * models.h - per-model settings of the TFLM harness: the operators (builtin
 * code and version, exactly as the .tflite files use them, see
 * fixtures/models/README.md "Operators") and the tensor arena size.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Select one model with -DSB_MODEL_KWS, -DSB_MODEL_VWW, -DSB_MODEL_IC or
 * -DSB_MODEL_AD. SB_OPS(X) lists X(OPERATOR, version) for the resolver.
 *
 * Arena sizes: MicroInterpreter::arena_used_bytes() after AllocateTensors(),
 * measured with this harness on Cortex-M33 and Cortex-M7 (32-bit pointers;
 * identical on both cores, and it does not change with -O0/-O3 or with the
 * flatbuffer in flash or RAM; the harness prints it as arena_used_bytes).
 * Margin: +16 bytes (TFLM aligns the arena start to 16; the array already is,
 * so these are spare) + 1024 bytes, then rounded up to 256. Why 1 KiB: in this
 * TFLM tree AllocateTensors() builds its memory plan in TEMPORARY space taken
 * from the free middle of the arena (AllocationInfo per tensor + the greedy
 * planner's per-buffer lists, about 60 bytes per tensor), which
 * arena_used_bytes() does not count. Big models have room for it anyway; the
 * AD autoencoder (31 tensors, tiny activations) does not: with only 16 spare
 * bytes its AllocateTensors fails with "Too many buffers (max is 9)"; it needs
 * about 1.4 KB of plan space (31 x 20 B AllocationInfo + 21 x 36 B planner
 * entries on a 32-bit core) of which its small head area provides part.
 * The big models plan inside their large activation area. The
 * harness exits with status 3 if AllocateTensors fails.
 */
#ifndef SB_TFLM_MODELS_H
#define SB_TFLM_MODELS_H

#define SB_ROUND_UP_256(n) ((((n) + 255) / 256) * 256)
#define SB_ARENA_FROM_USED(used) SB_ROUND_UP_256((used) + 16 + 1024)

/* KWS (DS-CNN) and VWW (MobileNet) use the same operators and versions
 * (fixtures/models/README.md, "Operators"). */
#define SB_OPS_DEPTHWISE_NET(X)  \
    X(AVERAGE_POOL_2D, 2)        \
    X(CONV_2D, 3)                \
    X(DEPTHWISE_CONV_2D, 3)      \
    X(FULLY_CONNECTED, 4)        \
    X(RESHAPE, 1)                \
    X(SOFTMAX, 2)

#if defined(SB_MODEL_KWS)
#define SB_MODEL_NAME "kws"
/* measured arena_used_bytes() = 34192 -> arena 35328 bytes */
#define SB_ARENA_USED_MEASURED 34192
#define SB_OPS(X) SB_OPS_DEPTHWISE_NET(X)

#elif defined(SB_MODEL_VWW)
#define SB_MODEL_NAME "vww"
/* measured arena_used_bytes() = 141280 -> arena 142336 bytes */
#define SB_ARENA_USED_MEASURED 141280
#define SB_OPS(X) SB_OPS_DEPTHWISE_NET(X)

#elif defined(SB_MODEL_IC)
#define SB_MODEL_NAME "ic"
/* measured arena_used_bytes() = 61968 -> arena 63232 bytes */
#define SB_ARENA_USED_MEASURED 61968
#define SB_OPS(X)                \
    X(ADD, 2)                    \
    X(AVERAGE_POOL_2D, 2)        \
    X(CONV_2D, 3)                \
    X(FULLY_CONNECTED, 4)        \
    X(RESHAPE, 1)                \
    X(SOFTMAX, 2)

#elif defined(SB_MODEL_AD)
#define SB_MODEL_NAME "ad"
/* measured arena_used_bytes() = 4400 -> arena 5632 bytes */
#define SB_ARENA_USED_MEASURED 4400
#define SB_OPS(X)                \
    X(FULLY_CONNECTED, 4)

#else
#error "define one of SB_MODEL_KWS, SB_MODEL_VWW, SB_MODEL_IC, SB_MODEL_AD"
#endif

#define SB_ARENA_BYTES SB_ARENA_FROM_USED(SB_ARENA_USED_MEASURED)

#endif /* SB_TFLM_MODELS_H */
