/* model.S - the model and the input sample, embedded with .incbin.
 * -DMODEL_FILE="path" -DINPUT_FILE="path"; -DMODEL_IN_RAM puts the model in initialised
 * data (copied to RAM at reset), otherwise it stays in .rodata (flash). 16-byte aligned. */
#ifdef MODEL_IN_RAM
    .section .data.g_kws_model, "aw"
#else
    .section .rodata.g_kws_model, "a"
#endif
    .balign 16
    .globl g_kws_model
g_kws_model:
    .incbin MODEL_FILE
    .size g_kws_model, . - g_kws_model

    .section .rodata.g_kws_input, "a"
    .balign 16
    .globl g_kws_input
g_kws_input:
    .incbin INPUT_FILE
g_kws_input_end:
    .size g_kws_input, . - g_kws_input
    .balign 4
    .globl g_kws_input_size
g_kws_input_size:
    .word g_kws_input_end - g_kws_input
