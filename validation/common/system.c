/* system.c - SystemInit, Arm semihosting (BKPT 0xAB) and the newlib system calls. */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include "validation.h"

#define SCB_CCR    (*(volatile uint32_t *)0xE000ED14u)
#define SCB_CPACR  (*(volatile uint32_t *)0xE000ED88u)
#define SCB_CSSELR (*(volatile uint32_t *)0xE000ED84u)
#define SCB_CCSIDR (*(volatile uint32_t *)0xE000ED80u)
#define SCB_ICIALLU (*(volatile uint32_t *)0xE000EF50u)
#define SCB_DCISW  (*(volatile uint32_t *)0xE000EF60u)

#define DSB() __asm__ volatile("dsb 0xF" ::: "memory")
#define ISB() __asm__ volatile("isb 0xF" ::: "memory")

#ifdef ENABLE_CACHES
/* The L1 caches of the Cortex-M7, enabled as CMSIS's SCB_EnableICache/SCB_EnableDCache do:
 * invalidate, then set CCR.IC / CCR.DC. */
static void enable_caches(void)
{
    DSB(); ISB();
    SCB_ICIALLU = 0;
    DSB(); ISB();
    SCB_CCR |= 1u << 17; /* IC */
    DSB(); ISB();

    SCB_CSSELR = 0; /* L1 data cache */
    DSB();
    uint32_t ccsidr = SCB_CCSIDR;
    uint32_t sets = (ccsidr >> 13) & 0x7FFFu;
    do {
        uint32_t ways = (ccsidr >> 3) & 0x3FFu;
        do {
            SCB_DCISW = ((sets << 5) & 0x3FE0u) | ((ways << 30) & 0xC0000000u);
        } while (ways-- != 0u);
    } while (sets-- != 0u);
    DSB();
    SCB_CCR |= 1u << 16; /* DC */
    DSB(); ISB();
}
#endif

void SystemInit(void)
{
#if defined(__ARM_FP)
    SCB_CPACR |= (3u << 20) | (3u << 22); /* CP10, CP11 full access */
    DSB(); ISB();
#endif
#ifdef ENABLE_CACHES
    enable_caches();
#endif
    dwt_start();
}

static inline uint32_t semihost(uint32_t op, const void *arg)
{
    register uint32_t r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

void sb_write(const char *s, unsigned len)
{
    uint32_t blk[3] = {1u, (uint32_t)(uintptr_t)s, len};
    semihost(0x05, blk);
}

void sb_puts(const char *s) { semihost(0x04, s); }

void sb_exit(int code)
{
    uint32_t blk[2] = {0x20026u /* ADP_Stopped_ApplicationExit */, (uint32_t)code};
    semihost(0x20, blk);
    for (;;) { }
}

void sb_put_u32(const char *label, uint32_t v)
{
    char buf[16];
    int n = 0;
    do { buf[n++] = (char)('0' + v % 10u); v /= 10u; } while (v);
    char out[96];
    unsigned len = 0;
    while (*label && len < sizeof out - 16) out[len++] = *label++;
    out[len++] = '=';
    while (n) out[len++] = buf[--n];
    out[len++] = '\n';
    sb_write(out, len);
}

/* newlib system calls: stdout/stderr go to semihosting, the heap grows from `end`. */
int _write(int fd, const char *buf, int len)
{
    (void)fd;
    sb_write(buf, (unsigned)len);
    return len;
}
int _read(int fd, char *buf, int len) { (void)fd; (void)buf; (void)len; return 0; }
int _close(int fd) { (void)fd; return -1; }
int _isatty(int fd) { return fd <= 2; }
int _fstat(int fd, struct stat *st) { (void)fd; st->st_mode = S_IFCHR; return 0; }
int _lseek(int fd, int off, int whence) { (void)fd; (void)off; (void)whence; return 0; }
int _getpid(void) { return 1; }
int _kill(int pid, int sig) { (void)pid; (void)sig; errno = EINVAL; return -1; }
void _exit(int code) { sb_exit(code); }

extern char end[], __HeapLimit[];
void *_sbrk(int incr)
{
    static char *brk = end;
    if (brk + incr > __HeapLimit) { errno = ENOMEM; return (void *)-1; }
    char *old = brk;
    brk += incr;
    return old;
}

/* C++ and C constructors (-nostartfiles: no crti/_init, so walk the arrays here). */
typedef void (*init_fn)(void);
extern init_fn __preinit_array_start[], __preinit_array_end[], __init_array_start[], __init_array_end[];
void sb_run_init_array(void)
{
    for (init_fn *f = __preinit_array_start; f < __preinit_array_end; f++) (*f)();
    for (init_fn *f = __init_array_start; f < __init_array_end; f++) (*f)();
}

/* C++ objects with static storage register their destructors against __dso_handle, which
 * crtbegin.o would define; -nostartfiles leaves it out. Nothing is ever unloaded. */
void *__dso_handle __attribute__((weak)) = 0;
