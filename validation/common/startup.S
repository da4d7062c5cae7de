/* startup.S - minimal Cortex-M start-up for the validation firmware (M4, M33, M7).
 *
 * Vector table __isr_vector (initial SP, reset, faults), then Reset_Handler:
 *   1. RT1011 "model in DTCM" builds (-DRT1011_FLEXRAM_DTCM): re-split FlexRAM before
 *      anything touches DTCM above the fuse-default 32 KiB: IOMUXC_GPR17 gets the bank
 *      configuration, then GPR16 bit 2 (FLEXRAM_BANK_CFG_SEL) selects it, the order
 *      NXP's SDK start-up uses (IMXRT1010RM, IOMUXC_GPR chapter).
 *   2. SP = __StackTop (again, after the re-split).
 *   3. copy the sections that run from RAM (code in SRAMX, .data) from their load image,
 *      zero .bss;
 *   4. SystemInit (system.c): FPU, caches, DWT; then the C++ constructors;
 *   5. main(); its return value goes to the host with SYS_EXIT_EXTENDED.
 */
    .syntax unified
    .thumb

    .section .isr_vector, "a"
    .align 7
    .globl __isr_vector
__isr_vector:
    .word __StackTop
    .word Reset_Handler
    .word Fault_Handler       /* NMI */
    .word Fault_Handler       /* HardFault */
    .word Fault_Handler       /* MemManage */
    .word Fault_Handler       /* BusFault */
    .word Fault_Handler       /* UsageFault */
    .word Fault_Handler       /* SecureFault (v8-M) */
    .word 0, 0, 0
    .word Fault_Handler       /* SVC */
    .word Fault_Handler       /* DebugMon */
    .word 0
    .word Fault_Handler       /* PendSV */
    .word Fault_Handler       /* SysTick */

    .section .boot, "ax"
    .align 2
    .globl Reset_Handler
    .type Reset_Handler, %function
    .thumb_func
Reset_Handler:
#ifdef RT1011_FLEXRAM_DTCM
    ldr r0, =0x400AC044       /* IOMUXC_GPR17: FLEXRAM_BANK_CFG, 2 bits per 32 KiB bank */
    ldr r1, =RT1011_FLEXRAM_DTCM
    str r1, [r0]
    ldr r0, =0x400AC040       /* IOMUXC_GPR16 */
    ldr r1, [r0]
    orr r1, r1, #4            /* FLEXRAM_BANK_CFG_SEL: use GPR17, not the fuses */
    str r1, [r0]
    dsb
    isb
#endif
    ldr r0, =__StackTop
    mov sp, r0
    /* copy tables: (load, start, end) triples from __copy_table_start__ */
    ldr r4, =__copy_table_start__
    ldr r5, =__copy_table_end__
1:  cmp r4, r5
    bhs 3f
    ldmia r4!, {r0, r1, r2}   /* r0 = load, r1 = start, r2 = end */
    cmp r0, r1
    beq 1b
2:  cmp r1, r2
    bhs 1b
    ldr r3, [r0], #4
    str r3, [r1], #4
    b   2b
3:  ldr r1, =__bss_start__
    ldr r2, =__bss_end__
    movs r0, #0
4:  cmp r1, r2
    bhs 5f
    str r0, [r1], #4
    b   4b
5:  bl  SystemInit
    bl  sb_run_init_array
    bl  main
    bl  sb_exit
6:  b   6b
    .size Reset_Handler, . - Reset_Handler
    .pool

    .type Fault_Handler, %function
    .thumb_func
    .weak Fault_Handler
Fault_Handler:
    ldr r0, =0xFA
    bl  sb_exit
    b   .
    .size Fault_Handler, . - Fault_Handler
    .pool
