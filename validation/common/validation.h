/* validation.h - what the validation firmware shares: DWT cycle counter, semihosting. */
#ifndef VALIDATION_H
#define VALIDATION_H
#include <stdint.h>
#ifdef __cplusplus
extern "C" {
#endif

#define VAL_DEMCR       (*(volatile uint32_t *)0xE000EDFCu)
#define VAL_DWT_CTRL    (*(volatile uint32_t *)0xE0001000u)
#define VAL_DWT_CYCCNT  (*(volatile uint32_t *)0xE0001004u)
#define VAL_DWT_LAR     (*(volatile uint32_t *)0xE0001FB0u)

/* Start DWT CYCCNT from 0 (DEMCR.TRCENA, unlock on cores with a lock, CTRL.CYCCNTENA). */
static inline void dwt_start(void)
{
    VAL_DEMCR |= 1u << 24;
    VAL_DWT_LAR = 0xC5ACCE55u;
    VAL_DWT_CYCCNT = 0;
    VAL_DWT_CTRL |= 1u;
}
static inline uint32_t dwt_cycles(void) { return VAL_DWT_CYCCNT; }

void sb_write(const char *s, unsigned len);   /* SYS_WRITE to stdout */
void sb_puts(const char *s);                   /* SYS_WRITE0 */
void sb_exit(int code) __attribute__((noreturn));
/* Print "label=value\n" without printf (safe inside timed code paths). */
void sb_put_u32(const char *label, uint32_t v);

#ifdef __cplusplus
}
#endif
#endif
