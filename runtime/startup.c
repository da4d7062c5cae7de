/*
 * startup.c - vector table and reset handler for simbench firmware.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Works with every linker script in runtime/boards/. Reset_Handler:
 *   1. enables the FPU when built with one (__ARM_FP),
 *   2. enables the DWT cycle counter (TRCENA, CYCCNT = 0, CYCCNTENA),
 *   3. copies .data from flash (LMA) to RAM (VMA) and every extra region
 *      listed in the linker script's copy table (.ramfunc, .itcm_text, ...),
 *   4. zeroes .bss,
 *   5. runs C++ static constructors (.preinit_array, .init_array),
 *   6. calls main() and passes its return value to semihosting exit.
 *
 * Also provides _init, _fini and __dso_handle so that C++ firmware links
 * with -nostartfiles.
 */
#include <stdint.h>
#include "simbench.h"

/* ---- symbols from the linker script ------------------------------------ */
extern uint32_t __stack_top[];
extern uint32_t __data_load__[];
extern uint32_t __data_start__[];
extern uint32_t __data_end__[];
extern uint32_t __bss_start__[];
extern uint32_t __bss_end__[];
/* copy table: entries of {load address, start, end} (words) */
extern uint32_t __copy_table_start__[];
extern uint32_t __copy_table_end__[];
typedef void (*sb_init_fn)(void);
extern sb_init_fn __preinit_array_start[];
extern sb_init_fn __preinit_array_end[];
extern sb_init_fn __init_array_start[];
extern sb_init_fn __init_array_end[];

extern int main(void);

void Reset_Handler(void) __attribute__((noreturn));
void Default_Handler(void);

#define SB_WEAK_ALIAS __attribute__((weak, alias("Default_Handler")))
void NMI_Handler(void) SB_WEAK_ALIAS;
void HardFault_Handler(void) SB_WEAK_ALIAS;
void MemManage_Handler(void) SB_WEAK_ALIAS;
void BusFault_Handler(void) SB_WEAK_ALIAS;
void UsageFault_Handler(void) SB_WEAK_ALIAS;
void SecureFault_Handler(void) SB_WEAK_ALIAS;
void SVC_Handler(void) SB_WEAK_ALIAS;
void DebugMon_Handler(void) SB_WEAK_ALIAS;
void PendSV_Handler(void) SB_WEAK_ALIAS;
void SysTick_Handler(void) SB_WEAK_ALIAS;

/* ---- vector table -------------------------------------------------------
 * Only the 16 system exceptions: the runtime enables no device interrupt.
 * Entry 7 is SecureFault on Armv8-M Mainline and reserved on Armv7-M.
 * Entries 8..10 and 13 stay 0 (on an LPC55S69 word 8 is read by the boot ROM
 * as the image length and word 9 as the image type; 0 = plain image).
 */
typedef void (*sb_vector)(void);

__attribute__((section(".isr_vector"), used))
const sb_vector __isr_vector[16] = {
    (sb_vector)(uintptr_t)__stack_top, /*  0 initial MSP          */
    Reset_Handler,                      /*  1 reset                */
    NMI_Handler,                        /*  2 NMI                  */
    HardFault_Handler,                  /*  3 HardFault            */
    MemManage_Handler,                  /*  4 MemManage            */
    BusFault_Handler,                   /*  5 BusFault             */
    UsageFault_Handler,                 /*  6 UsageFault           */
#if defined(__ARM_ARCH_8M_MAIN__)
    SecureFault_Handler,                /*  7 SecureFault (v8-M)   */
#else
    0,                                  /*  7 reserved             */
#endif
    0,                                  /*  8 reserved             */
    0,                                  /*  9 reserved             */
    0,                                  /* 10 reserved             */
    SVC_Handler,                        /* 11 SVCall               */
    DebugMon_Handler,                   /* 12 DebugMonitor         */
    0,                                  /* 13 reserved             */
    PendSV_Handler,                     /* 14 PendSV               */
    SysTick_Handler,                    /* 15 SysTick              */
};

/* ---- handlers ------------------------------------------------------------ */

void Default_Handler(void)
{
    uint32_t ipsr;
    char line[48];
    char *p;

    __asm__ volatile("mrs %0, ipsr" : "=r"(ipsr));
    p = sb_fmt_str(line, "unhandled exception ipsr=");
    p = sb_fmt_u32(p, ipsr & 0x1FFu);
    *p++ = '\n';
    *p = '\0';
    sb_puts(line);
    sb_exit(0xFF);
}

/* Word copy/zero loops. The optimize attribute stops GCC from turning them
 * into memcpy/memset calls (there is no libc in -nostdlib firmware). */
__attribute__((optimize("no-tree-loop-distribute-patterns")))
static void sb_copy_words(uint32_t *dst, const uint32_t *src, const uint32_t *end)
{
    while (dst < end) {
        *dst++ = *src++;
    }
}

__attribute__((optimize("no-tree-loop-distribute-patterns")))
static void sb_zero_words(uint32_t *dst, const uint32_t *end)
{
    while (dst < end) {
        *dst++ = 0u;
    }
}

__attribute__((optimize("no-tree-loop-distribute-patterns")))
void Reset_Handler(void)
{
#if defined(__ARM_FP)
    /* CP10/CP11 full access before any floating-point instruction. */
    SB_SCB_CPACR |= SB_CPACR_CP10_CP11_FULL;
    __asm__ volatile("dsb\n\tisb" ::: "memory");
#endif

    sb_cycles_enable();

    sb_copy_words(__data_start__, __data_load__, __data_end__);

    for (const uint32_t *e = __copy_table_start__; e < __copy_table_end__; e += 3) {
        sb_copy_words((uint32_t *)(uintptr_t)e[1],
                      (const uint32_t *)(uintptr_t)e[0],
                      (const uint32_t *)(uintptr_t)e[2]);
    }

    sb_zero_words(__bss_start__, __bss_end__);

    /* code may have been copied to RAM/TCM: make it visible to fetch */
    __asm__ volatile("dsb\n\tisb" ::: "memory");

    for (sb_init_fn *f = __preinit_array_start; f < __preinit_array_end; ++f) {
        (*f)();
    }
    for (sb_init_fn *f = __init_array_start; f < __init_array_end; ++f) {
        (*f)();
    }

    sb_exit(main());
}

/* ---- C/C++ runtime glue for -nostartfiles ------------------------------- */

__attribute__((weak)) void _init(void) {}
__attribute__((weak)) void _fini(void) {}
__attribute__((weak)) void *__dso_handle = 0;
