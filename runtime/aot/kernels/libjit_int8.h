/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libjit_int8.h - generic int8 kernels for simbench AOT bundles.
 *
 * Each kernel is a `static inline` function taking every shape, stride, padding, offset,
 * requantisation parameter and activation bound as an argument. A bundle's generated
 * `libjit_<op>_i8_<n>` functions call them with compile-time constants only, so the
 * compiler specialises (and unrolls) each call site.
 *
 * Arithmetic follows TensorFlow Lite's int8 quantisation specification and the rounding
 * behaviour of TFLite for Microcontrollers' 2020 reference kernels (TF 2.2), so outputs are
 * bit-identical to them. Written for simbench from the arithmetic definitions; see
 * README.md beside this file.
 *
 * Freestanding: only <stdint.h> and <stddef.h>; no library calls (firmware links with
 * -nostdlib), no 64-bit division or variable 64-bit shifts (no libgcc helpers on Cortex-M).
 * Right shifts of negative signed values are arithmetic (GCC and Clang guarantee it).
 */
#ifndef LIBJIT_INT8_H
#define LIBJIT_INT8_H

#include <stddef.h>
#include <stdint.h>

#define LIBJIT_INLINE static inline __attribute__((always_inline))

/* Attributes of a bundle's per-operator functions: never inlined into the entry function
 * and never cloned or renamed (GCC's .constprop/.isra clones), so each operator keeps one
 * symbol `libjit_<op>_i8_<n>` that a profiler can attribute cycles to. */
#if defined(__clang__)
#define LIBJIT_OPERATOR static __attribute__((noinline, used))
#else
#define LIBJIT_OPERATOR static __attribute__((noinline, noclone, used))
#endif

/* ---- fixed-point primitives ------------------------------------------------------------ */

/* round(a * b / 2^31) with ties away from zero, the single overflowing case
 * (a = b = INT32_MIN) saturating to INT32_MAX: the "saturating rounding doubling high
 * multiply" of Q0.31 arithmetic. The 64-bit quotient truncates toward zero. */
LIBJIT_INLINE int32_t libjit_srdhm(int32_t a, int32_t b) {
  if (a == INT32_MIN && b == INT32_MIN) return INT32_MAX;
  int64_t ab = (int64_t)a * (int64_t)b;
  int64_t s = ab + (ab >= 0 ? (int64_t)(1 << 30) : (int64_t)(1 - (1 << 30)));
  int64_t q = s >= 0 ? (s >> 31) : -((-s) >> 31);
  return (int32_t)q;
}

/* x / 2^e rounded to nearest, ties away from zero, for 0 <= e <= 31. */
LIBJIT_INLINE int32_t libjit_rdbpot(int32_t x, int e) {
  const int32_t mask = (int32_t)((1u << e) - 1u);
  const int32_t remainder = x & mask;
  const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> e) + (remainder > threshold ? 1 : 0);
}

/* x * 2^e for 0 <= e <= 31, saturating to the int32 range. */
LIBJIT_INLINE int32_t libjit_sat_shl(int32_t x, int e) {
  const int32_t limit = (int32_t)((1u << (31 - e)) - 1u);
  if (x > limit) return INT32_MAX;
  if (x < -limit) return INT32_MIN;
  return (int32_t)((uint32_t)x << e);
}

/* Requantise an accumulator by a real multiplier m * 2^(shift - 31) (m in Q0.31): shift
 * left first when shift > 0, then a rounding doubling high multiply, then a rounding right
 * shift when shift < 0. The left shift wraps like two's-complement multiplication. */
LIBJIT_INLINE int32_t libjit_requantize(int32_t x, int32_t m, int shift) {
  const int left = shift > 0 ? shift : 0;
  const int right = shift > 0 ? 0 : -shift;
  return libjit_rdbpot(libjit_srdhm((int32_t)((uint32_t)x << left), m), right);
}

LIBJIT_INLINE int8_t libjit_clamp_i8(int32_t v, int32_t lo, int32_t hi) {
  if (v < lo) v = lo;
  if (v > hi) v = hi;
  return (int8_t)v;
}

/* ---- convolution ----------------------------------------------------------------------- */

/* NHWC int8 convolution, filter [out_c][k_h][k_w][in_c], per-output-channel requantisation.
 * Window positions outside the input (padding) contribute nothing. */
LIBJIT_INLINE void libjit_conv2d_i8(const int8_t *in, const int8_t *w, const int32_t *bias, int8_t *out,
                                    int batches, int in_h, int in_w, int in_c, int out_h, int out_w, int out_c,
                                    int k_h, int k_w, int stride_h, int stride_w, int dil_h, int dil_w, int pad_h,
                                    int pad_w, int32_t in_offset, int32_t out_offset, const int32_t *mult,
                                    const int32_t *shift, int32_t act_min, int32_t act_max) {
  for (int b = 0; b < batches; b++) {
    for (int oy = 0; oy < out_h; oy++) {
      for (int ox = 0; ox < out_w; ox++) {
        int8_t *o = out + ((b * out_h + oy) * out_w + ox) * out_c;
        for (int oc = 0; oc < out_c; oc++) {
          int32_t acc = 0;
          for (int ky = 0; ky < k_h; ky++) {
            const int iy = oy * stride_h - pad_h + ky * dil_h;
            if (iy < 0 || iy >= in_h) continue;
            for (int kx = 0; kx < k_w; kx++) {
              const int ix = ox * stride_w - pad_w + kx * dil_w;
              if (ix < 0 || ix >= in_w) continue;
              const int8_t *ip = in + ((b * in_h + iy) * in_w + ix) * in_c;
              const int8_t *wp = w + ((oc * k_h + ky) * k_w + kx) * in_c;
              for (int ic = 0; ic < in_c; ic++) acc += (int32_t)wp[ic] * ((int32_t)ip[ic] + in_offset);
            }
          }
          if (bias) acc += bias[oc];
          acc = libjit_requantize(acc, mult[oc], shift[oc]) + out_offset;
          o[oc] = libjit_clamp_i8(acc, act_min, act_max);
        }
      }
    }
  }
}

/* NHWC int8 depthwise convolution, filter [1][k_h][k_w][in_c * depth_mult]; output channel
 * oc = ic * depth_mult + m reads input channel ic. */
LIBJIT_INLINE void libjit_depthwise_conv2d_i8(const int8_t *in, const int8_t *w, const int32_t *bias, int8_t *out,
                                              int batches, int in_h, int in_w, int in_c, int out_h, int out_w,
                                              int depth_mult, int k_h, int k_w, int stride_h, int stride_w, int dil_h,
                                              int dil_w, int pad_h, int pad_w, int32_t in_offset, int32_t out_offset,
                                              const int32_t *mult, const int32_t *shift, int32_t act_min,
                                              int32_t act_max) {
  const int out_c = in_c * depth_mult;
  for (int b = 0; b < batches; b++) {
    for (int oy = 0; oy < out_h; oy++) {
      for (int ox = 0; ox < out_w; ox++) {
        int8_t *o = out + ((b * out_h + oy) * out_w + ox) * out_c;
        for (int ic = 0; ic < in_c; ic++) {
          for (int m = 0; m < depth_mult; m++) {
            const int oc = ic * depth_mult + m;
            int32_t acc = 0;
            for (int ky = 0; ky < k_h; ky++) {
              const int iy = oy * stride_h - pad_h + ky * dil_h;
              if (iy < 0 || iy >= in_h) continue;
              for (int kx = 0; kx < k_w; kx++) {
                const int ix = ox * stride_w - pad_w + kx * dil_w;
                if (ix < 0 || ix >= in_w) continue;
                const int32_t x = (int32_t)in[((b * in_h + iy) * in_w + ix) * in_c + ic] + in_offset;
                acc += (int32_t)w[(ky * k_w + kx) * out_c + oc] * x;
              }
            }
            if (bias) acc += bias[oc];
            acc = libjit_requantize(acc, mult[oc], shift[oc]) + out_offset;
            o[oc] = libjit_clamp_i8(acc, act_min, act_max);
          }
        }
      }
    }
  }
}

/* ---- fully connected ------------------------------------------------------------------- */

/* out[b][oc] = requantize(sum_d (w[oc][d] + w_offset) * (in[b][d] + in_offset) + bias[oc]),
 * one multiplier for the whole tensor. */
LIBJIT_INLINE void libjit_fully_connected_i8(const int8_t *in, const int8_t *w, const int32_t *bias, int8_t *out,
                                             int batches, int depth, int out_c, int32_t in_offset, int32_t w_offset,
                                             int32_t out_offset, int32_t mult, int shift, int32_t act_min,
                                             int32_t act_max) {
  for (int b = 0; b < batches; b++) {
    const int8_t *ip = in + b * depth;
    for (int oc = 0; oc < out_c; oc++) {
      const int8_t *wp = w + oc * depth;
      int32_t acc = 0;
      for (int d = 0; d < depth; d++) acc += ((int32_t)wp[d] + w_offset) * ((int32_t)ip[d] + in_offset);
      if (bias) acc += bias[oc];
      acc = libjit_requantize(acc, mult, shift) + out_offset;
      out[b * out_c + oc] = libjit_clamp_i8(acc, act_min, act_max);
    }
  }
}

/* ---- average pool ---------------------------------------------------------------------- */

/* Mean over the part of each window inside the input (input and output share scale and
 * zero point), rounded half away from zero, then clamped. */
LIBJIT_INLINE void libjit_avg_pool_i8(const int8_t *in, int8_t *out, int batches, int in_h, int in_w, int channels,
                                      int out_h, int out_w, int f_h, int f_w, int stride_h, int stride_w, int pad_h,
                                      int pad_w, int32_t act_min, int32_t act_max) {
  for (int b = 0; b < batches; b++) {
    for (int oy = 0; oy < out_h; oy++) {
      for (int ox = 0; ox < out_w; ox++) {
        const int y0 = oy * stride_h - pad_h, x0 = ox * stride_w - pad_w;
        const int fy0 = y0 < 0 ? -y0 : 0, fx0 = x0 < 0 ? -x0 : 0;
        const int fy1 = (in_h - y0) < f_h ? (in_h - y0) : f_h;
        const int fx1 = (in_w - x0) < f_w ? (in_w - x0) : f_w;
        for (int c = 0; c < channels; c++) {
          int32_t acc = 0;
          int32_t count = 0;
          for (int fy = fy0; fy < fy1; fy++) {
            for (int fx = fx0; fx < fx1; fx++) {
              acc += in[((b * in_h + y0 + fy) * in_w + x0 + fx) * channels + c];
              count++;
            }
          }
          if (count == 0) count = 1; /* cannot happen with TFLite padding; avoids dividing by 0 */
          acc = acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;
          out[((b * out_h + oy) * out_w + ox) * channels + c] = libjit_clamp_i8(acc, act_min, act_max);
        }
      }
    }
  }
}

/* ---- add ------------------------------------------------------------------------------- */

/* Element-wise int8 addition with different input scales: each input (offset applied) is
 * shifted left by `left_shift` bits for headroom, rescaled by a multiplier below one, the
 * two are summed and the sum rescaled to the output scale. */
LIBJIT_INLINE void libjit_add_i8(const int8_t *a, const int8_t *b, int8_t *out, int size, int32_t in1_offset,
                                 int32_t in2_offset, int32_t out_offset, int left_shift, int32_t in1_mult,
                                 int in1_shift, int32_t in2_mult, int in2_shift, int32_t out_mult, int out_shift,
                                 int32_t act_min, int32_t act_max) {
  for (int i = 0; i < size; i++) {
    const int32_t x = (int32_t)((uint32_t)((int32_t)a[i] + in1_offset) << left_shift);
    const int32_t y = (int32_t)((uint32_t)((int32_t)b[i] + in2_offset) << left_shift);
    const int32_t sum = libjit_requantize(x, in1_mult, in1_shift) + libjit_requantize(y, in2_mult, in2_shift);
    out[i] = libjit_clamp_i8(libjit_requantize(sum, out_mult, out_shift) + out_offset, act_min, act_max);
  }
}

/* ---- softmax --------------------------------------------------------------------------- */
/* Fixed-point numbers below are int32 raw values with k integer bits: value = raw / 2^(31-k).
 * Sums and differences are plain (wrapping) int32 additions; a product of a k1- and a
 * k2-integer-bit number is libjit_srdhm of the raws, with k1 + k2 integer bits. */

/* exp(a) for a in [-1/4, 0), a and the result with 0 integer bits: Taylor expansion of
 * exp around -1/8 up to the 4th power, exp(-1/8) * (1 + x + x^2/2 + x^3/6 + x^4/24),
 * x = a + 1/8, evaluated as exp(-1/8) * (x + ((x^4/4 + x^3) / 3 + x^2) / 2). */
LIBJIT_INLINE int32_t libjit_exp_quarter(int32_t a) {
  const int32_t exp_minus_eighth = 1895147668; /* round(2^31 * exp(-1/8)) */
  const int32_t one_third = 715827883;         /* round(2^31 / 3) */
  const int32_t x = a + (1 << 28);             /* + 1/8 */
  const int32_t x2 = libjit_srdhm(x, x);
  const int32_t x3 = libjit_srdhm(x2, x);
  const int32_t x4 = libjit_srdhm(x2, x2);
  const int32_t x4_over_4 = libjit_rdbpot(x4, 2);
  const int32_t poly = libjit_rdbpot(libjit_srdhm(x4_over_4 + x3, one_third) + x2, 1);
  return exp_minus_eighth + libjit_srdhm(exp_minus_eighth, x + poly);
}

/* exp(a) for a <= 0 with 5 integer bits (Q5.26); result with 0 integer bits (Q0.31).
 * a = r - q/4 - ... : exp of the remainder r in [-1/4, 0) from the polynomial, then one
 * factor exp(-2^k) for each bit k (k = -2 .. 4) set in the non-fractional part. */
LIBJIT_INLINE int32_t libjit_exp_on_negative_q5(int32_t a) {
  /* round(2^31 * exp(-2^k)) for k = -2, -1, 0, 1, 2, 3, 4 */
  static const int32_t factors[7] = {1672461947, 1302514674, 790015084, 290630308, 39332535, 720401, 242};
  const int32_t quarter = 1 << 24; /* 1/4 in Q5.26 */
  const int32_t r = (a & (quarter - 1)) - quarter;
  /* Q5.26 -> Q0.31 is a left shift by 5; |r| <= 2^24, so it cannot saturate. */
  int32_t result = libjit_exp_quarter((int32_t)((uint32_t)r << 5));
  const int32_t rest = r - a; /* the multiple of 1/4 removed, as a positive Q5.26 number */
  for (int k = 0; k < 7; k++) {
    if (rest & (1 << (24 + k))) result = libjit_srdhm(result, factors[k]);
  }
  if (a == 0) result = INT32_MAX; /* exp(0) = 1, the largest Q0.31 value */
  return result;
}

/* 1 / (1 + a) for a in [0, 1) (Q0.31 in and out, the result in (1/2, 1]): three Newton-
 * Raphson steps on d = (1 + a) / 2 with the initial guess 48/17 - 32/17 * d, the values
 * held with 2 integer bits, and the result halved back. */
LIBJIT_INLINE int32_t libjit_one_over_one_plus(int32_t a) {
  const int64_t sum = (int64_t)a + INT32_MAX;          /* a + 1 (Q0.31 "one" is INT32_MAX) */
  const int32_t d = (int32_t)((sum + (sum >= 0 ? 1 : -1)) / 2); /* (a + 1) / 2, rounded */
  const int32_t c48_17 = 1515870810;    /* round(2^29 * 48/17) */
  const int32_t cm32_17 = -1010580540;  /* round(-2^29 * 32/17) */
  const int32_t one_q2 = 1 << 29;       /* 1.0 with 2 integer bits */
  int32_t x = c48_17 + libjit_srdhm(d, cm32_17);
  for (int i = 0; i < 3; i++) {
    const int32_t dx = libjit_srdhm(d, x);
    /* x * (1 - d x) has 4 integer bits: rescale to 2 with a saturating left shift. */
    x = x + libjit_sat_shl(libjit_srdhm(x, one_q2 - dx), 2);
  }
  /* x / 2 with 1 integer bit, rescaled to 0 integer bits. */
  return libjit_sat_shl(x, 1);
}

LIBJIT_INLINE int libjit_clz32(uint32_t x) {
  int n = 0;
  if (x == 0) return 32;
  while (!(x & 0x80000000u)) {
    x <<= 1;
    n++;
  }
  return n;
}

/* int8 softmax over the last dimension; output scale 1/256, zero point -128.
 * Differences from the row maximum, scaled by beta * input_scale to Q5.26, go through
 * exp; the sum of exponentials (12 integer bits) is normalised to [1, 2) and inverted;
 * each output is exp * (1 / sum), rounded to 8 fractional bits. Differences below
 * diff_min give the minimum output. */
LIBJIT_INLINE void libjit_softmax_i8(const int8_t *in, int8_t *out, int outer, int depth, int32_t in_mult,
                                     int in_left_shift, int32_t diff_min) {
  for (int i = 0; i < outer; i++) {
    const int8_t *x = in + i * depth;
    int8_t *y = out + i * depth;
    int32_t max = -128;
    for (int c = 0; c < depth; c++)
      if (x[c] > max) max = x[c];
    int32_t sum = 0; /* 12 integer bits */
    for (int c = 0; c < depth; c++) {
      const int32_t diff = (int32_t)x[c] - max;
      if (diff >= diff_min) {
        const int32_t scaled = libjit_srdhm((int32_t)((uint32_t)diff << in_left_shift), in_mult);
        sum += libjit_rdbpot(libjit_exp_on_negative_q5(scaled), 12);
      }
    }
    /* sum = 2^(bits_over_unit) * (1 + frac): invert 1 + frac. */
    const int headroom = libjit_clz32((uint32_t)sum);
    const int bits_over_unit = 12 - headroom;
    const int32_t frac = (int32_t)(((uint32_t)sum << headroom) - (1u << 31));
    const int32_t recip = libjit_one_over_one_plus(frac);
    for (int c = 0; c < depth; c++) {
      const int32_t diff = (int32_t)x[c] - max;
      if (diff >= diff_min) {
        const int32_t scaled = libjit_srdhm((int32_t)((uint32_t)diff << in_left_shift), in_mult);
        const int32_t e = libjit_exp_on_negative_q5(scaled);
        const int32_t v = libjit_rdbpot(libjit_srdhm(recip, e), bits_over_unit + 31 - 8) - 128;
        y[c] = libjit_clamp_i8(v, -128, 127);
      } else {
        y[c] = -128;
      }
    }
  }
}

/* ---- reshape --------------------------------------------------------------------------- */

/* Byte copy for a RESHAPE whose input and output cannot share storage. */
LIBJIT_INLINE void libjit_copy_i8(const int8_t *in, int8_t *out, int size) {
  for (int i = 0; i < size; i++) {
    out[i] = in[i];
    /* Keeps GCC from turning the loop into a memcpy call (no libc in firmware). */
    __asm__ volatile("");
  }
}

#endif /* LIBJIT_INT8_H */
