/* weights.S - a Glow bundle's constant weights (-DWEIGHTS_FILE="path/kws.weights.bin") and
 * the input sample (-DINPUT_FILE="path"). -DWEIGHTS_IN_RAM puts the weights in initialised
 * data (copied to RAM at reset), otherwise they stay in .rodata (flash). */
#ifdef WEIGHTS_IN_RAM
    .section .data.kws_weights, "aw"
#else
    .section .rodata.kws_weights, "a"
#endif
    .balign 64
    .globl kws_weights
kws_weights:
    .incbin WEIGHTS_FILE
    .size kws_weights, . - kws_weights

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
