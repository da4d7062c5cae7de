/*
 * model_blob.S - links a .tflite flatbuffer and/or an input sample into the
 * firmware image with .incbin (the TFLM harness uses both, the AOT harness
 * only the input).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Defines (strings include their quotes; the file is looked up on the
 * assembler include path, -Wa,-I<models dir>):
 *   SB_MODEL_FILE   optional, e.g. "kws_ref_model.tflite" -> sb_model_data .. sb_model_end
 *   SB_INPUT_FILE   optional raw int8 input sample   -> sb_input_data .. sb_input_end
 *   SB_MODEL_IN_RAM 1: the flatbuffer goes to .data, so Reset_Handler copies
 *                   it from flash to RAM before main (the "model in RAM"
 *                   configuration); 0/undefined: it stays in flash (.rodata).
 * The flatbuffer is 16-byte aligned (TFLM reads it in place).
 * The model data belongs to MLCommons (Apache-2.0), see
 * fixtures/inference/LICENSE-mlcommons-tiny.md.
 */
#ifdef SB_MODEL_FILE
#if defined(SB_MODEL_IN_RAM) && SB_MODEL_IN_RAM
    .section .data.sb_model, "aw", %progbits
#else
    .section .rodata.sb_model, "a", %progbits
#endif
    .balign 16
    .global sb_model_data
    .type sb_model_data, %object
sb_model_data:
    .incbin SB_MODEL_FILE
    .global sb_model_end
sb_model_end:
    .size sb_model_data, sb_model_end - sb_model_data
    .balign 4
#endif

#ifdef SB_INPUT_FILE
    .section .rodata.sb_input, "a", %progbits
    .balign 16
    .global sb_input_data
    .type sb_input_data, %object
sb_input_data:
    .incbin SB_INPUT_FILE
    .global sb_input_end
sb_input_end:
    .size sb_input_data, sb_input_end - sb_input_data
    .balign 4
#endif
