//! Quantisation arithmetic done once at generation time, with the rules of TensorFlow Lite
//! for Microcontrollers as of TF 2.2 (2020), so the generated bundle computes bit-identical
//! outputs. Each function states the rule it implements; none is copied code.

use simbench_profiles::tflite::{Activation, Padding};

/// Splits `x` into `(m, e)` with `x = m * 2^e` and `0.5 <= |m| < 1` (C's `frexp`);
/// `(0, 0)` for zero. Non-finite input returns `(x, 0)`.
pub fn frexp(x: f64) -> (f64, i32) {
    if x == 0.0 || !x.is_finite() {
        return (x, 0);
    }
    let bits = x.to_bits();
    let exp_field = ((bits >> 52) & 0x7ff) as i32;
    if exp_field == 0 {
        // Subnormal: scale into the normal range first (2^64 is exact).
        let (m, e) = frexp(x * 18446744073709551616.0);
        return (m, e - 64);
    }
    // Replace the exponent with the one of 0.5 (biased 1022) to get m in [0.5, 1).
    let m = f64::from_bits((bits & !(0x7ffu64 << 52)) | (1022u64 << 52));
    (m, exp_field - 1022)
}

/// TFLite's `QuantizeMultiplier`: represents a real multiplier `r` as a Q0.31 fixed-point
/// significand `q` and a power-of-two exponent `s`, `r ≈ q * 2^(s - 31)`.
///
/// Rules: `(m, s) = frexp(r)`; `q = round(m * 2^31)`, rounding halves away from zero
/// (C `round`); if rounding reached `2^31`, halve it and increment `s`; if `s < -31` the
/// multiplier is flushed to `(0, 0)` (every product would shift out). Zero gives `(0, 0)`.
pub fn quantize_multiplier(r: f64) -> (i32, i32) {
    if r == 0.0 {
        return (0, 0);
    }
    let (m, mut s) = frexp(r);
    let mut q = (m * 2147483648.0).round() as i64;
    if q == 1i64 << 31 {
        q /= 2;
        s += 1;
    }
    if s < -31 {
        return (0, 0);
    }
    (q as i32, s)
}

/// The clamp range of a fused activation on an int8 output (TFLite
/// `CalculateActivationRangeQuantized`): a real bound `f` becomes
/// `zero_point + round(f / scale)` computed in single precision, intersected with [-128, 127].
pub fn activation_range(act: Activation, scale: f32, zero_point: i32) -> Result<(i32, i32), String> {
    let q = |f: f32| zero_point.saturating_add((f / scale).round() as i32);
    Ok(match act {
        Activation::None => (-128, 127),
        Activation::Relu => (q(0.0).max(-128), 127),
        Activation::Relu6 => (q(0.0).max(-128), q(6.0).min(127)),
        Activation::ReluN1To1 => (q(-1.0).max(-128), q(1.0).min(127)),
        other => return Err(format!("fused activation {other:?} is not supported on int8")),
    })
}

/// Output size of a convolution or pooling window along one axis (TFLite
/// `ComputeOutSize`): SAME gives `ceil(in / stride)`, VALID `ceil((in - eff + 1) / stride)`
/// with `eff = (filter - 1) * dilation + 1`.
/// Computed in 64 bits: a model's shape fields are untrusted, and i32 arithmetic on them
/// overflowed (found by fuzzing, tests/fuzz_regressions.rs).
pub fn out_size(padding: Padding, input: i32, filter: i32, stride: i32, dilation: i32) -> i64 {
    let (input, filter, stride, dilation) = (input as i64, filter as i64, stride as i64, dilation as i64);
    let eff = (filter - 1) * dilation + 1;
    match padding {
        Padding::Same => (input + stride - 1) / stride,
        Padding::Valid => (input - eff + stride) / stride,
    }
}

/// Padding before the first element along one axis (TFLite `ComputePadding`): half of the
/// total padding `(out - 1) * stride + eff - in` (clamped at 0), rounded down; the odd
/// element, if any, goes after the last one (reference kernels ignore it: it is outside).
pub fn padding_before(input: i32, filter: i32, stride: i32, dilation: i32, output: i32) -> i64 {
    let (input, filter, stride, dilation, output) = (input as i64, filter as i64, stride as i64, dilation as i64, output as i64);
    let eff = (filter - 1) * dilation + 1;
    (((output - 1) * stride + eff - input).max(0)) / 2
}

/// Per-channel requantisation of a convolution (TFLite `PopulateConvolutionQuantizationParams`):
/// channel `c` multiplies the int32 accumulator by `input_scale * filter_scale[c] / output_scale`
/// computed in double precision from the float scales; a single filter scale applies to all.
pub fn per_channel_multipliers(input_scale: f32, filter_scales: &[f32], output_scale: f32, channels: usize) -> Result<(Vec<i32>, Vec<i32>), String> {
    if filter_scales.len() != 1 && filter_scales.len() != channels {
        return Err(format!("{} filter scales for {channels} output channels", filter_scales.len()));
    }
    let mut mult = Vec::with_capacity(channels);
    let mut shift = Vec::with_capacity(channels);
    for c in 0..channels {
        let fs = if filter_scales.len() == 1 { filter_scales[0] } else { filter_scales[c] };
        let real = input_scale as f64 * fs as f64 / output_scale as f64;
        let (m, s) = quantize_multiplier(real);
        check_shift(s)?;
        mult.push(m);
        shift.push(s);
    }
    Ok((mult, shift))
}

/// Fully-connected requantisation as TF 2.2's `GetQuantizedConvolutionMultipler`: the
/// product `input_scale * filter_scale` is formed in *single* precision (both operands are
/// floats there), then widened and divided by the output scale in double precision.
pub fn fully_connected_multiplier(input_scale: f32, filter_scale: f32, output_scale: f32) -> Result<(i32, i32), String> {
    let product = (input_scale * filter_scale) as f64;
    let (m, s) = quantize_multiplier(product / output_scale as f64);
    check_shift(s)?;
    Ok((m, s))
}

/// The kernels shift left by at most 31 and right by at most 31 bits.
fn check_shift(s: i32) -> Result<(), String> {
    if (-31..=31).contains(&s) {
        Ok(())
    } else {
        Err(format!("requantisation shift {s} is outside [-31, 31]"))
    }
}

/// Parameters of the int8 ADD (TF 2.2 micro `add.cc` rules): both inputs are shifted left by
/// `LEFT_SHIFT` = 20 bits, scaled by `s_i / (2 * max(s_1, s_2))`, summed, and the sum scaled
/// by `2 * max(s_1, s_2) / (2^20 * s_out)`; all three multipliers are below one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddParams {
    pub left_shift: i32,
    pub input1: (i32, i32),
    pub input2: (i32, i32),
    pub output: (i32, i32),
}

pub const ADD_LEFT_SHIFT: i32 = 20;

pub fn add_params(s1: f32, s2: f32, s_out: f32) -> Result<AddParams, String> {
    let twice_max = 2.0 * (s1.max(s2) as f64);
    let r1 = s1 as f64 / twice_max;
    let r2 = s2 as f64 / twice_max;
    let ro = twice_max / ((1i64 << ADD_LEFT_SHIFT) as f64 * s_out as f64);
    let below_one = |r: f64, what: &str| -> Result<(i32, i32), String> {
        if r.is_nan() || r <= 0.0 || r >= 1.0 {
            return Err(format!("ADD {what} multiplier {r} is not in (0, 1)"));
        }
        let (m, s) = quantize_multiplier(r);
        if s > 0 {
            return Err(format!("ADD {what} multiplier {r} gives a left shift"));
        }
        check_shift(s)?;
        Ok((m, s))
    };
    Ok(AddParams { left_shift: ADD_LEFT_SHIFT, input1: below_one(r1, "input 1")?, input2: below_one(r2, "input 2")?, output: below_one(ro, "output")? })
}

/// Parameters of the int8 softmax (TF 2.2 `PreprocessSoftmaxScaling` and
/// `CalculateInputRadius`, with 5 integer bits for the scaled input differences):
///
/// * multiplier: `min(beta * input_scale * 2^(31 - 5), 2^31 - 1)` quantised with
///   `quantize_multiplier`; it must be above one, so its exponent is a left shift `>= 0`;
/// * `diff_min = -floor((2^5 - 1) * 2^(31 - 5) / 2^left_shift)`: differences from the row
///   maximum below it contribute nothing (their exponential rounds to zero).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SoftmaxParams {
    pub input_multiplier: i32,
    pub input_left_shift: i32,
    pub diff_min: i32,
}

pub const SOFTMAX_INTEGER_BITS: i32 = 5;

pub fn softmax_params(beta: f32, input_scale: f32) -> Result<SoftmaxParams, String> {
    let real = (beta as f64 * input_scale as f64 * (1i64 << (31 - SOFTMAX_INTEGER_BITS)) as f64).min((1i64 << 31) as f64 - 1.0);
    if real.is_nan() || real <= 1.0 {
        return Err(format!("softmax beta * input scale = {} is too small (the scaled multiplier must exceed 1)", beta as f64 * input_scale as f64));
    }
    let (m, s) = quantize_multiplier(real);
    if !(0..=31).contains(&s) {
        return Err(format!("softmax input shift {s} is outside [0, 31]"));
    }
    let radius = ((1i64 << SOFTMAX_INTEGER_BITS) - 1) as f64 * (1i64 << (31 - SOFTMAX_INTEGER_BITS)) as f64 / (1i64 << s) as f64;
    Ok(SoftmaxParams { input_multiplier: m, input_left_shift: s, diff_min: -(radius.floor() as i32) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frexp_matches_the_definition() {
        assert_eq!(frexp(1.0), (0.5, 1));
        assert_eq!(frexp(0.75), (0.75, 0));
        assert_eq!(frexp(3.0), (0.75, 2));
        assert_eq!(frexp(-0.1), (-0.8, -3));
        let tiny = f64::from_bits(1); // smallest subnormal, 2^-1074
        assert_eq!(frexp(tiny), (0.5, -1073));
        assert_eq!(frexp(0.0), (0.0, 0));
    }

    #[test]
    fn quantize_multiplier_hand_worked_values() {
        // 0.5 = 0.5 * 2^0 -> q = 2^30, s = 0.
        assert_eq!(quantize_multiplier(0.5), (1 << 30, 0));
        // 1.0 = 0.5 * 2^1.
        assert_eq!(quantize_multiplier(1.0), (1 << 30, 1));
        // 0.75 = 0.75 * 2^0 -> q = 0.75 * 2^31 = 1610612736.
        assert_eq!(quantize_multiplier(0.75), (1610612736, 0));
        // 0.1 = 0.8 * 2^-3 -> q = round(0.8 * 2^31) = round(1717986918.4) = 1717986918.
        assert_eq!(quantize_multiplier(0.1), (1717986918, -3));
        // 1/3 = (2/3) * 2^-1 -> round(1431655765.33) = 1431655765.
        assert_eq!(quantize_multiplier(1.0 / 3.0), (1431655765, -1));
        // Just below 1: m * 2^31 rounds up to 2^31, so q halves and s increments.
        assert_eq!(quantize_multiplier(1.0 - 1e-12), (1 << 30, 1));
        // A half-way significand rounds away from zero: m = 0.5 + 2^-32 -> 2^30 + 0.5 -> 2^30 + 1.
        assert_eq!(quantize_multiplier(0.5 + 2f64.powi(-32)), ((1 << 30) + 1, 0));
        // Tiny multipliers flush to zero; zero is zero.
        assert_eq!(quantize_multiplier(2f64.powi(-40)), (0, 0));
        assert_eq!(quantize_multiplier(0.0), (0, 0));
    }

    #[test]
    fn activation_ranges() {
        assert_eq!(activation_range(Activation::None, 0.1, 5), Ok((-128, 127)));
        assert_eq!(activation_range(Activation::Relu, 0.1, -128), Ok((-128, 127)));
        assert_eq!(activation_range(Activation::Relu, 0.1, -3), Ok((-3, 127)));
        // 6 / 0.05 = 120 -> -128 + 120 = -8.
        assert_eq!(activation_range(Activation::Relu6, 0.05, -128), Ok((-128, -8)));
        assert!(activation_range(Activation::Tanh, 0.1, 0).is_err());
    }

    #[test]
    fn padding_and_output_sizes() {
        // KWS conv 0: 49x10 input, 10x4 filter, stride 2, SAME -> 25x5, padding 4 / 1.
        assert_eq!(out_size(Padding::Same, 49, 10, 2, 1), 25);
        assert_eq!(out_size(Padding::Same, 10, 4, 2, 1), 5);
        assert_eq!(padding_before(49, 10, 2, 1, 25), 4); // total (24*2+10-49) = 9 -> 4
        assert_eq!(padding_before(10, 4, 2, 1, 5), 1); // total (4*2+4-10) = 2 -> 1
        assert_eq!(out_size(Padding::Valid, 25, 25, 25, 1), 1);
        assert_eq!(padding_before(25, 25, 25, 1, 1), 0);
    }

    #[test]
    fn softmax_parameters_hand_worked() {
        // scale 1/16: beta * scale * 2^26 = 2^22 = 0.5 * 2^23 -> q = 2^30, shift 23;
        // diff_min = -floor(31 * 2^26 / 2^23) = -248.
        let p = softmax_params(1.0, 0.0625).unwrap();
        assert_eq!(p, SoftmaxParams { input_multiplier: 1 << 30, input_left_shift: 23, diff_min: -248 });
    }

    #[test]
    fn add_parameters_hand_worked() {
        // Equal input scales: each input multiplier is 1/2 = 0.5 * 2^0 -> (2^30, 0).
        // Output: 2s / (2^20 * s) = 2^-19 = 0.5 * 2^-18 -> (2^30, -18).
        let p = add_params(0.25, 0.25, 0.25).unwrap();
        assert_eq!(p.input1, (1 << 30, 0));
        assert_eq!(p.input2, (1 << 30, 0));
        assert_eq!(p.output, (1 << 30, -18));
    }
}
