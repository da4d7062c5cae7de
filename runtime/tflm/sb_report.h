/*
 * sb_report.h - result report shared by the TFLM and AOT inference harnesses.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Prints, one "key=value" line each, with semihosting SYS_WRITE0:
 *   engine, model, board, output (int8 decimal), output_hex, top,
 *   output_sha256, arena_bytes, arena_used_bytes, stack_used_bytes,
 *   invoke_cycles
 * (see runtime/tflm/README.md). The SHA-256 (FIPS 180-4) is written here
 * from the standard's description: 64-byte blocks, 64 rounds, big-endian
 * message length in bits at the end of the padding.
 *
 * Header-only, C and C++, no libc.
 */
#ifndef SB_REPORT_H
#define SB_REPORT_H

#include <stdint.h>
#include <stddef.h>
#include "simbench.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    uint32_t h[8];
    uint8_t block[64];
    uint32_t used;      /* bytes in block */
    uint64_t total;     /* message bytes so far */
} sb_sha256_ctx;

static const uint32_t sb_sha256_k[64] = {
    0x428a2f98u, 0x71374491u, 0xb5c0fbcfu, 0xe9b5dba5u, 0x3956c25bu, 0x59f111f1u, 0x923f82a4u, 0xab1c5ed5u,
    0xd807aa98u, 0x12835b01u, 0x243185beu, 0x550c7dc3u, 0x72be5d74u, 0x80deb1feu, 0x9bdc06a7u, 0xc19bf174u,
    0xe49b69c1u, 0xefbe4786u, 0x0fc19dc6u, 0x240ca1ccu, 0x2de92c6fu, 0x4a7484aau, 0x5cb0a9dcu, 0x76f988dau,
    0x983e5152u, 0xa831c66du, 0xb00327c8u, 0xbf597fc7u, 0xc6e00bf3u, 0xd5a79147u, 0x06ca6351u, 0x14292967u,
    0x27b70a85u, 0x2e1b2138u, 0x4d2c6dfcu, 0x53380d13u, 0x650a7354u, 0x766a0abbu, 0x81c2c92eu, 0x92722c85u,
    0xa2bfe8a1u, 0xa81a664bu, 0xc24b8b70u, 0xc76c51a3u, 0xd192e819u, 0xd6990624u, 0xf40e3585u, 0x106aa070u,
    0x19a4c116u, 0x1e376c08u, 0x2748774cu, 0x34b0bcb5u, 0x391c0cb3u, 0x4ed8aa4au, 0x5b9cca4fu, 0x682e6ff3u,
    0x748f82eeu, 0x78a5636fu, 0x84c87814u, 0x8cc70208u, 0x90befffau, 0xa4506cebu, 0xbef9a3f7u, 0xc67178f2u,
};

static inline uint32_t sb_ror32(uint32_t x, unsigned n) { return (x >> n) | (x << (32u - n)); }

static inline void sb_sha256_compress(sb_sha256_ctx *c)
{
    uint32_t w[64];
    for (int i = 0; i < 16; i++) {
        w[i] = ((uint32_t)c->block[4 * i] << 24) | ((uint32_t)c->block[4 * i + 1] << 16) |
               ((uint32_t)c->block[4 * i + 2] << 8) | (uint32_t)c->block[4 * i + 3];
    }
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = sb_ror32(w[i - 15], 7) ^ sb_ror32(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = sb_ror32(w[i - 2], 17) ^ sb_ror32(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = c->h[0], b = c->h[1], cc = c->h[2], d = c->h[3];
    uint32_t e = c->h[4], f = c->h[5], g = c->h[6], h = c->h[7];
    for (int i = 0; i < 64; i++) {
        uint32_t S1 = sb_ror32(e, 6) ^ sb_ror32(e, 11) ^ sb_ror32(e, 25);
        uint32_t ch = (e & f) ^ (~e & g);
        uint32_t t1 = h + S1 + ch + sb_sha256_k[i] + w[i];
        uint32_t S0 = sb_ror32(a, 2) ^ sb_ror32(a, 13) ^ sb_ror32(a, 22);
        uint32_t maj = (a & b) ^ (a & cc) ^ (b & cc);
        uint32_t t2 = S0 + maj;
        h = g; g = f; f = e; e = d + t1;
        d = cc; cc = b; b = a; a = t1 + t2;
    }
    c->h[0] += a; c->h[1] += b; c->h[2] += cc; c->h[3] += d;
    c->h[4] += e; c->h[5] += f; c->h[6] += g; c->h[7] += h;
}

static inline void sb_sha256(const uint8_t *data, size_t len, uint8_t out[32])
{
    static const uint32_t iv[8] = {0x6a09e667u, 0xbb67ae85u, 0x3c6ef372u, 0xa54ff53au,
                                   0x510e527fu, 0x9b05688cu, 0x1f83d9abu, 0x5be0cd19u};
    sb_sha256_ctx c;
    for (int i = 0; i < 8; i++) c.h[i] = iv[i];
    c.used = 0;
    c.total = 0;
    for (size_t i = 0; i < len; i++) {
        c.block[c.used++] = data[i];
        if (c.used == 64u) { sb_sha256_compress(&c); c.used = 0; }
    }
    c.total = (uint64_t)len * 8u;
    c.block[c.used++] = 0x80u;
    if (c.used > 56u) {
        while (c.used < 64u) c.block[c.used++] = 0;
        sb_sha256_compress(&c);
        c.used = 0;
    }
    while (c.used < 56u) c.block[c.used++] = 0;
    for (int i = 7; i >= 0; i--) c.block[c.used++] = (uint8_t)(c.total >> (8 * i));
    sb_sha256_compress(&c);
    for (int i = 0; i < 8; i++) {
        out[4 * i] = (uint8_t)(c.h[i] >> 24);
        out[4 * i + 1] = (uint8_t)(c.h[i] >> 16);
        out[4 * i + 2] = (uint8_t)(c.h[i] >> 8);
        out[4 * i + 3] = (uint8_t)c.h[i];
    }
}

/* ---- stack high-water mark ---------------------------------------------- */
/* sb_stack_paint() fills the reserved stack below the caller's frame (from
 * __stack_limit__ up to SP - 64) with a pattern; sb_stack_used() later finds
 * the lowest overwritten word and returns __stack_top minus its address:
 * the most stack the program used (a lower bound if something wrote the
 * pattern value itself, which is unlikely). */
#define SB_STACK_PATTERN 0x5AA5C33Cu
extern uint32_t __stack_limit__[];
extern uint32_t __stack_top[];

__attribute__((noinline)) static void sb_stack_paint(void)
{
    uint32_t sp;
    __asm__ volatile("mov %0, sp" : "=r"(sp));
    volatile uint32_t *p = (volatile uint32_t *)__stack_limit__;
    volatile uint32_t *end = (volatile uint32_t *)(uintptr_t)((sp - 64u) & ~3u);
    while (p < end) {
        *p++ = SB_STACK_PATTERN;
    }
}

static inline uint32_t sb_stack_used(void)
{
    const volatile uint32_t *p = (const volatile uint32_t *)__stack_limit__;
    const volatile uint32_t *top = (const volatile uint32_t *)__stack_top;
    while (p < top && *p == SB_STACK_PATTERN) {
        p++;
    }
    return (uint32_t)((uintptr_t)top - (uintptr_t)p);
}

/* ---- line printer ------------------------------------------------------- */

static inline void sb_kv_str(const char *key, const char *value)
{
    char line[96];
    char *p = sb_fmt_str(line, key);
    *p++ = '=';
    p = sb_fmt_str(p, value);
    *p++ = '\n';
    *p = '\0';
    sb_puts(line);
}

static inline void sb_kv_u32(const char *key, uint32_t value)
{
    char line[64];
    char *p = sb_fmt_str(line, key);
    *p++ = '=';
    p = sb_fmt_u32(p, value);
    *p++ = '\n';
    *p = '\0';
    sb_puts(line);
}

/* Bytes as lower-case hex (chunked so no line buffer has to hold 1280+ chars). */
static inline void sb_print_hex_bytes(const uint8_t *b, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    char chunk[65];
    size_t i = 0;
    while (i < n) {
        size_t k = 0;
        while (k < 64u && i < n) {
            chunk[k++] = digits[b[i] >> 4];
            chunk[k++] = digits[b[i] & 0xFu];
            i++;
        }
        chunk[k] = '\0';
        sb_puts(chunk);
    }
}

/* The whole report. `output` holds the int8 output tensor. Top class = index
 * of the first maximum. */
static inline void sb_report(const char *engine, const char *model, const char *board,
                             const int8_t *output, size_t n, uint32_t arena_bytes,
                             uint32_t arena_used_bytes, uint32_t invoke_cycles)
{
    uint32_t stack_used = sb_stack_used();
    sb_kv_str("engine", engine);
    sb_kv_str("model", model);
    sb_kv_str("board", board);

    sb_puts("output=");
    for (size_t i = 0; i < n; i++) {
        char num[8];
        char *p = num;
        if (i) *p++ = ' ';
        p = sb_fmt_i32(p, output[i]);
        *p = '\0';
        sb_puts(num);
    }
    sb_puts("\n");

    sb_puts("output_hex=");
    sb_print_hex_bytes((const uint8_t *)output, n);
    sb_puts("\n");

    size_t top = 0;
    for (size_t i = 1; i < n; i++) {
        if (output[i] > output[top]) top = i;
    }
    sb_kv_u32("top", (uint32_t)top);

    uint8_t digest[32];
    sb_sha256((const uint8_t *)output, n, digest);
    sb_puts("output_sha256=");
    sb_print_hex_bytes(digest, sizeof digest);
    sb_puts("\n");

    sb_kv_u32("arena_bytes", arena_bytes);
    sb_kv_u32("arena_used_bytes", arena_used_bytes);
    sb_kv_u32("stack_used_bytes", stack_used);
    sb_kv_u32("invoke_cycles", invoke_cycles);
}

#ifdef __cplusplus
}
#endif

#endif /* SB_REPORT_H */
