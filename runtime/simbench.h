/*
 * simbench.h - firmware-side helpers for the simbench Cortex-M simulator.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Everything here uses STANDARD Cortex-M debug mechanisms only, so the same
 * ELF runs unchanged on a real board under a debugger:
 *
 *   - Arm semihosting (BKPT 0xAB, r0 = operation, r1 = argument or pointer
 *     to a parameter block, result in r0),
 *   - DWT cycle counter (CYCCNT),
 *   - ITM stimulus ports (port 0 = text, port 1 = "begin id" marker,
 *     port 2 = "end id" marker, ports 3/4/5 = operator markers: see
 *     sb_op_begin/sb_op_end; other ports free for the application),
 *   - SysTick and SCB register addresses.
 *
 * Header-only, static inline, no libc and no printf: usable from C and C++
 * (C++ firmware such as the TFLM harness includes it as well).
 *
 * NOTE for real hardware: semihosting BKPT without a debugger attached
 * escalates to HardFault (lockup). That is the normal semihosting contract.
 */
#ifndef SIMBENCH_H
#define SIMBENCH_H

#include <stdint.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SB_INLINE static inline __attribute__((always_inline))

/* ------------------------------------------------------------------------ */
/* Memory-mapped registers (Private Peripheral Bus)                          */
/* ------------------------------------------------------------------------ */

#define SB_REG32(addr) (*(volatile uint32_t *)(uintptr_t)(addr))
#define SB_REG8(addr)  (*(volatile uint8_t *)(uintptr_t)(addr))

/* ITM */
#define SB_ITM_BASE          0xE0000000u
#define SB_ITM_PORT_ADDR(n)  (SB_ITM_BASE + 4u * (uint32_t)(n))
#define SB_ITM_PORT(n)       SB_REG32(SB_ITM_PORT_ADDR(n))
#define SB_ITM_PORT8(n)      SB_REG8(SB_ITM_PORT_ADDR(n))
#define SB_ITM_TER_ADDR      0xE0000E00u  /* trace enable (one bit per port) */
#define SB_ITM_TCR_ADDR      0xE0000E80u  /* trace control, bit 0 = ITMENA   */
#define SB_ITM_LAR_ADDR      0xE0000FB0u  /* lock access, write SB_CS_UNLOCK */
#define SB_ITM_TER           SB_REG32(SB_ITM_TER_ADDR)
#define SB_ITM_TCR           SB_REG32(SB_ITM_TCR_ADDR)
#define SB_ITM_LAR           SB_REG32(SB_ITM_LAR_ADDR)
#define SB_ITM_TCR_ITMENA    (1u << 0)
#define SB_CS_UNLOCK         0xC5ACCE55u  /* CoreSight lock-access key       */

/* ITM port assignment used by simbench */
#define SB_PORT_TEXT   0u  /* bytes of text                                  */
#define SB_PORT_BEGIN  1u  /* 32-bit write of an id: region <id> begins      */
#define SB_PORT_END    2u  /* 32-bit write of an id: region <id> ends        */
#define SB_PORT_OP_BEGIN 3u /* 32-bit write of an operator index: op begins  */
#define SB_PORT_OP_END   4u /* 32-bit write of an operator index: op ends    */
#define SB_PORT_OP_NAME  5u /* 8-bit writes: the next operator's name bytes  */

/* DWT / DEMCR */
#define SB_DEMCR_ADDR        0xE000EDFCu
#define SB_DEMCR             SB_REG32(SB_DEMCR_ADDR)
#define SB_DEMCR_TRCENA      (1u << 24)
#define SB_DWT_CTRL_ADDR     0xE0001000u
#define SB_DWT_CYCCNT_ADDR   0xE0001004u
#define SB_DWT_LAR_ADDR      0xE0001FB0u  /* software lock (Cortex-M7)       */
#define SB_DWT_CTRL          SB_REG32(SB_DWT_CTRL_ADDR)
#define SB_DWT_CYCCNT        SB_REG32(SB_DWT_CYCCNT_ADDR)
#define SB_DWT_LAR           SB_REG32(SB_DWT_LAR_ADDR)
#define SB_DWT_CTRL_CYCCNTENA (1u << 0)

/* SysTick */
#define SB_SYST_CSR_ADDR     0xE000E010u  /* control and status              */
#define SB_SYST_RVR_ADDR     0xE000E014u  /* reload value (24 bits)          */
#define SB_SYST_CVR_ADDR     0xE000E018u  /* current value (write clears)    */
#define SB_SYST_CALIB_ADDR   0xE000E01Cu
#define SB_SYST_CSR          SB_REG32(SB_SYST_CSR_ADDR)
#define SB_SYST_RVR          SB_REG32(SB_SYST_RVR_ADDR)
#define SB_SYST_CVR          SB_REG32(SB_SYST_CVR_ADDR)
#define SB_SYST_CALIB        SB_REG32(SB_SYST_CALIB_ADDR)
#define SB_SYST_CSR_ENABLE    (1u << 0)
#define SB_SYST_CSR_TICKINT   (1u << 1)
#define SB_SYST_CSR_CLKSOURCE (1u << 2)   /* 1 = processor clock            */
#define SB_SYST_CSR_COUNTFLAG (1u << 16)

/* SCB */
#define SB_SCB_CPUID_ADDR    0xE000ED00u
#define SB_SCB_VTOR_ADDR     0xE000ED08u
#define SB_SCB_CPACR_ADDR    0xE000ED88u
#define SB_SCB_CPUID         SB_REG32(SB_SCB_CPUID_ADDR)
#define SB_SCB_VTOR          SB_REG32(SB_SCB_VTOR_ADDR)
#define SB_SCB_CPACR         SB_REG32(SB_SCB_CPACR_ADDR)
#define SB_CPACR_CP10_CP11_FULL (0xFu << 20)

/* ------------------------------------------------------------------------ */
/* Semihosting                                                               */
/* ------------------------------------------------------------------------ */

#define SB_SYS_OPEN            0x01u
#define SB_SYS_WRITEC          0x03u
#define SB_SYS_WRITE0          0x04u
#define SB_SYS_WRITE           0x05u
#define SB_SYS_CLOCK           0x10u
#define SB_SYS_TIME            0x11u
#define SB_SYS_ERRNO           0x13u
#define SB_SYS_HEAPINFO        0x16u
#define SB_SYS_EXIT            0x18u
#define SB_SYS_EXIT_EXTENDED   0x20u
#define SB_SYS_ELAPSED         0x30u
#define SB_SYS_TICKFREQ        0x31u

#define SB_ADP_STOPPED_APPLICATION_EXIT 0x20026u

/* The one primitive: r0 = op, r1 = arg, BKPT 0xAB, result in r0. The
 * "memory" clobber makes the compiler flush parameter blocks to memory before
 * the call and re-read buffers the host filled in after it. */
SB_INLINE uint32_t sb_semihost(uint32_t op, uintptr_t arg)
{
    register uint32_t r0 __asm__("r0") = op;
    register uintptr_t r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

/* SYS_WRITEC: r1 points to the character. */
SB_INLINE void sb_putc(char c)
{
    volatile char ch = c;
    (void)sb_semihost(SB_SYS_WRITEC, (uintptr_t)&ch);
}

/* SYS_WRITE0: r1 points to a NUL-terminated string. */
SB_INLINE void sb_puts(const char *s)
{
    (void)sb_semihost(SB_SYS_WRITE0, (uintptr_t)s);
}

/* SYS_WRITE: block {fd, buf, len}; returns the number of bytes NOT written
 * (0 = everything written). fd 1 = stdout, fd 2 = stderr on most hosts. */
SB_INLINE uint32_t sb_write(uint32_t fd, const void *buf, uint32_t len)
{
    volatile uint32_t blk[3];
    blk[0] = fd;
    blk[1] = (uint32_t)(uintptr_t)buf;
    blk[2] = len;
    return sb_semihost(SB_SYS_WRITE, (uintptr_t)blk);
}

/* SYS_EXIT_EXTENDED: block {ADP_Stopped_ApplicationExit, status}. */
__attribute__((noreturn)) SB_INLINE void sb_exit(int status)
{
    volatile uint32_t blk[2];
    blk[0] = SB_ADP_STOPPED_APPLICATION_EXIT;
    blk[1] = (uint32_t)status;
    (void)sb_semihost(SB_SYS_EXIT_EXTENDED, (uintptr_t)blk);
    for (;;) {
        /* a debugger that ignores the request leaves us parked here */
        __asm__ volatile("" ::: "memory");
    }
}

/* Plain SYS_EXIT (32-bit ABI): r1 holds the reason code itself. With
 * ADP_Stopped_ApplicationExit the exit status is 0 by definition. */
__attribute__((noreturn)) SB_INLINE void sb_exit_basic(uint32_t reason)
{
    (void)sb_semihost(SB_SYS_EXIT, (uintptr_t)reason);
    for (;;) {
        __asm__ volatile("" ::: "memory");
    }
}

/* SYS_CLOCK: centiseconds since execution started (-1 on error). */
SB_INLINE int32_t sb_clock(void)
{
    return (int32_t)sb_semihost(SB_SYS_CLOCK, 0);
}

/* SYS_TIME: seconds since 1970-01-01 00:00 UTC (host clock). */
SB_INLINE uint32_t sb_time(void)
{
    return sb_semihost(SB_SYS_TIME, 0);
}

/* SYS_ERRNO: value of the host's errno for the last failing call. */
SB_INLINE int32_t sb_errno(void)
{
    return (int32_t)sb_semihost(SB_SYS_ERRNO, 0);
}

/* SYS_ELAPSED: r1 points to two words that receive the 64-bit tick count
 * (low word first). Returns 0 on success, -1 on error. */
SB_INLINE int32_t sb_elapsed(uint64_t *ticks)
{
    volatile uint32_t blk[2];
    blk[0] = 0;
    blk[1] = 0;
    int32_t r = (int32_t)sb_semihost(SB_SYS_ELAPSED, (uintptr_t)blk);
    *ticks = ((uint64_t)blk[1] << 32) | (uint64_t)blk[0];
    return r;
}

/* SYS_TICKFREQ: ticks per second of SYS_ELAPSED (-1 if unknown). */
SB_INLINE int32_t sb_tickfreq(void)
{
    return (int32_t)sb_semihost(SB_SYS_TICKFREQ, 0);
}

/* SYS_HEAPINFO: r1 points to a word holding the address of a 4-word block
 * that the host fills with heap_base, heap_limit, stack_base, stack_limit. */
SB_INLINE void sb_heapinfo(uint32_t block[4])
{
    volatile uint32_t ptr = (uint32_t)(uintptr_t)block;
    (void)sb_semihost(SB_SYS_HEAPINFO, (uintptr_t)&ptr);
}

/* ------------------------------------------------------------------------ */
/* Tiny number formatting (no printf)                                        */
/* ------------------------------------------------------------------------ */

/* Each sb_fmt_* writes at dst (no NUL) and returns the end pointer. */
SB_INLINE char *sb_fmt_str(char *dst, const char *s)
{
    while (*s) {
        *dst++ = *s++;
    }
    return dst;
}

static inline char *sb_fmt_u32(char *dst, uint32_t v)
{
    char tmp[10];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + (v % 10u));
        v /= 10u;
    } while (v != 0u);
    while (n > 0) {
        *dst++ = tmp[--n];
    }
    return dst;
}

static inline char *sb_fmt_i32(char *dst, int32_t v)
{
    uint32_t u = (uint32_t)v;
    if (v < 0) {
        *dst++ = '-';
        u = 0u - u;
    }
    return sb_fmt_u32(dst, u);
}

/* 64-bit decimal; uses libgcc's __aeabi_uldivmod. */
static inline char *sb_fmt_u64(char *dst, uint64_t v)
{
    char tmp[20];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + (unsigned)(v % 10u));
        v /= 10u;
    } while (v != 0u);
    while (n > 0) {
        *dst++ = tmp[--n];
    }
    return dst;
}

/* "0x" followed by exactly 8 lower-case hex digits. */
static inline char *sb_fmt_hex32(char *dst, uint32_t v)
{
    static const char digits[] = "0123456789abcdef";
    *dst++ = '0';
    *dst++ = 'x';
    for (int shift = 28; shift >= 0; shift -= 4) {
        *dst++ = digits[(v >> shift) & 0xFu];
    }
    return dst;
}

static inline void sb_print_u32(uint32_t v)
{
    char buf[12];
    *sb_fmt_u32(buf, v) = '\0';
    sb_puts(buf);
}

static inline void sb_print_i32(int32_t v)
{
    char buf[13];
    *sb_fmt_i32(buf, v) = '\0';
    sb_puts(buf);
}

static inline void sb_print_hex32(uint32_t v)
{
    char buf[11];
    *sb_fmt_hex32(buf, v) = '\0';
    sb_puts(buf);
}

/* ------------------------------------------------------------------------ */
/* DWT cycle counter                                                         */
/* ------------------------------------------------------------------------ */

/* TRCENA, (Cortex-M7) software-unlock the DWT, CYCCNT = 0, CYCCNTENA.
 * The LAR write is harmless where the lock is not implemented. */
SB_INLINE void sb_cycles_enable(void)
{
    SB_DEMCR |= SB_DEMCR_TRCENA;
    SB_DWT_LAR = SB_CS_UNLOCK;
    SB_DWT_CYCCNT = 0u;
    SB_DWT_CTRL |= SB_DWT_CTRL_CYCCNTENA;
}

SB_INLINE uint32_t sb_cycles(void)
{
    return SB_DWT_CYCCNT;
}

/* ------------------------------------------------------------------------ */
/* ITM                                                                       */
/* ------------------------------------------------------------------------ */

/* Unlock the ITM, set ITMENA and enable the stimulus ports in ter_mask.
 * Optional: on a board the debugger usually does this when it sets up SWO. */
SB_INLINE void sb_itm_enable(uint32_t ter_mask)
{
    SB_DEMCR |= SB_DEMCR_TRCENA;
    SB_ITM_LAR = SB_CS_UNLOCK;
    SB_ITM_TCR |= SB_ITM_TCR_ITMENA;
    SB_ITM_TER |= ter_mask;
}

/* A stimulus port reads 0 while its FIFO is full; wait, then write one
 * byte. (simbench always reads 1 = ready.) */
SB_INLINE void sb_itm_putc_port(uint32_t port, char c)
{
    while (SB_ITM_PORT(port) == 0u) {
    }
    SB_ITM_PORT8(port) = (uint8_t)c;
}

SB_INLINE void sb_itm_putc(char c)
{
    sb_itm_putc_port(SB_PORT_TEXT, c);
}

static inline void sb_itm_puts(const char *s)
{
    while (*s) {
        sb_itm_putc(*s++);
    }
}

/* 32-bit write of a value to any stimulus port. */
SB_INLINE void sb_itm_write32(uint32_t port, uint32_t value)
{
    while (SB_ITM_PORT(port) == 0u) {
    }
    SB_ITM_PORT(port) = value;
}

/* Plain markers (no cycle read). */
SB_INLINE void sb_marker_begin(uint32_t id) { sb_itm_write32(SB_PORT_BEGIN, id); }
SB_INLINE void sb_marker_end(uint32_t id)   { sb_itm_write32(SB_PORT_END, id); }

/* ------------------------------------------------------------------------ */
/* Operator markers (simbench's `markers` operator profile)                  */
/* ------------------------------------------------------------------------ */
/*
 * Protocol, for firmware that runs a network operator by operator:
 *
 *   sb_op_begin(k, name):  the bytes of `name` WITHOUT its terminating NUL,
 *                          one 8-bit write each, to ITM port 5 (SB_PORT_OP_NAME),
 *                          then one 32-bit write of k to port 3 (SB_PORT_OP_BEGIN);
 *   sb_op_end(k):          one 32-bit write of k to port 4 (SB_PORT_OP_END).
 *
 * simbench records every write to ports 1-31 in the report's `markers` array
 * (port, value, cycles) and builds its `markers` operator profile from them:
 * operator k spans begin (port 3, value k) ... end (port 4, value k); its name
 * is the bytes written to port 5 since the previous port-3 write. k is the
 * operator's index in the model (0, 1, 2, ... in execution order); names are
 * the TFLite builtin operator names ("CONV_2D", "DEPTHWISE_CONV_2D", ...).
 * Ports 0-2 keep their meaning: the operator markers nest inside an
 * sb_measure_begin(1)/sb_measure_end(1) interval.
 *
 * Cost: inline, no FIFO-ready poll (like the measurement pair; on hardware a
 * full ITM FIFO drops the write), one byte store per name character plus one
 * word store per begin and per end. A short name keeps it cheap; the TFLM
 * harness (-DSB_OP_MARKERS=1) passes a string literal.
 */
SB_INLINE void sb_op_begin(uint32_t index, const char *name)
{
    volatile uint8_t *const name_port = (volatile uint8_t *)(uintptr_t)SB_ITM_PORT_ADDR(SB_PORT_OP_NAME);
    for (const char *p = name; *p != '\0'; ++p) {
        *name_port = (uint8_t)*p;
    }
    SB_ITM_PORT(SB_PORT_OP_BEGIN) = index;
}

SB_INLINE void sb_op_end(uint32_t index)
{
    SB_ITM_PORT(SB_PORT_OP_END) = index;
}

/* ------------------------------------------------------------------------ */
/* Measurement pair                                                          */
/* ------------------------------------------------------------------------ */
/*
 * sb_measure_begin(id) / sb_measure_end(id) each execute ONE asm block of
 * exactly three instructions:
 *
 *     isb
 *     ldr  <value>, [<DWT_CYCCNT address>]
 *     str  <id>,    [<ITM port 1 (begin) or port 2 (end) address>]
 *
 * All operands (CYCCNT address, port address, id) are asm inputs, so they
 * are materialised in registers BEFORE the isb; nothing else executes between
 * the isb and the marker store. Both sequences are therefore identical from
 * the isb on, and the difference of the two ITM marker timestamps recorded
 * by the simulator equals the difference of the two CYCCNT values returned:
 *
 *     sb_measure_end(id) - sb_measure_begin(id) == t(marker end) - t(marker begin)
 *
 * Tests use this to prove that CYCCNT is wired to the modelled cycle count.
 * The value is the CYCCNT read just before the marker store. The port is
 * written without the FIFO-ready poll on purpose (a poll would make the
 * sequences differ); on hardware a full FIFO just drops the marker.
 * The "l" constraints (r0-r7) force the 16-bit encodings of ldr/str, so the
 * two sequences are also identical in size: isb (4 bytes) + ldr (2) + str (2).
 * "memory" clobber: the compiler may not move memory accesses across it.
 */
SB_INLINE uint32_t sb_measure_begin(uint32_t id)
{
    uint32_t value;
    __asm__ volatile(
        "isb\n\t"
        "ldr %0, [%1]\n\t"
        "str %2, [%3]"
        : "=&l"(value)
        : "l"(SB_DWT_CYCCNT_ADDR), "l"(id), "l"(SB_ITM_PORT_ADDR(SB_PORT_BEGIN))
        : "memory");
    return value;
}

SB_INLINE uint32_t sb_measure_end(uint32_t id)
{
    uint32_t value;
    __asm__ volatile(
        "isb\n\t"
        "ldr %0, [%1]\n\t"
        "str %2, [%3]"
        : "=&l"(value)
        : "l"(SB_DWT_CYCCNT_ADDR), "l"(id), "l"(SB_ITM_PORT_ADDR(SB_PORT_END))
        : "memory");
    return value;
}

#ifdef __cplusplus
}
#endif

#endif /* SIMBENCH_H */
