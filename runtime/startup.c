/*
 * startup.c - vector table and reset handler for simbench firmware.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Works with every linker script in runtime/boards/. Reset_Handler:
 *   1. enables the FPU when built with one (__ARM_FP),
 *   2. enables the DWT cycle counter (TRCENA, CYCCNT = 0, CYCCNTENA),
 *      and on a Cortex-M7 the L1 instruction and data caches (define
 *      SB_KEEP_CACHES_OFF to skip that),
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

/* Cortex-M7 L1 caches are off at reset; vendor start-up code (NXP SystemInit, ST's
 * SCB_EnableICache/DCache calls) switches them on, and so does this. Sequence from the
 * Armv7-M ARM (B2.2.7 cache maintenance, B3.2.8 CCR) and the Cortex-M7 TRM: invalidate
 * the I-cache (ICIALLU), invalidate the D-cache by set/way as CCSIDR describes it, then
 * set CCR.IC and CCR.DC. Other cores have no CCR cache bits: CPUID part 0xC27 only. */
static void sb_enable_m7_caches(void)
{
    if (((SB_SCB_CPUID >> 4) & 0xFFFu) != 0xC27u) {
        return;
    }
    __asm__ volatile("dsb\n\tisb" ::: "memory");
    SB_REG32(0xE000EF50u) = 0u;                    /* ICIALLU */
    SB_REG32(0xE000ED84u) = 0u;                    /* CSSELR: level 1 data cache */
    __asm__ volatile("dsb" ::: "memory");
    uint32_t ccsidr = SB_REG32(0xE000ED80u);       /* CCSIDR */
    uint32_t sets = ((ccsidr >> 13) & 0x7FFFu) + 1u;
    uint32_t ways = ((ccsidr >> 3) & 0x3FFu) + 1u;
    for (uint32_t set = 0; set < sets; ++set) {
        for (uint32_t way = 0; way < ways; ++way) {
            SB_REG32(0xE000EF60u) = (way << 30) | (set << 5);  /* DCISW, 32-byte lines */
        }
    }
    __asm__ volatile("dsb" ::: "memory");
    SB_REG32(0xE000ED14u) |= (1u << 17) | (1u << 16);  /* CCR.IC | CCR.DC */
    __asm__ volatile("dsb\n\tisb" ::: "memory");
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

#if !defined(SB_KEEP_CACHES_OFF)
    sb_enable_m7_caches();
#endif

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
