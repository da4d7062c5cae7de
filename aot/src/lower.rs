//! Lowering: turns each TFLite operator into one call of a generic kernel from
//! `kernels/libjit_int8.h`, with every shape, offset and requantisation constant resolved.
//!
//! The argument lists built here follow the kernels' C signatures exactly (pointers first,
//! then scalars and constant arrays in declaration order); `emit` only prints them.

use crate::quant;
use crate::AotError;
use simbench_profiles::tflite::{Model, OpKind, Options, Tensor, TensorType};

/// A tensor passed to a kernel by pointer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ptr {
    pub tensor: usize,
    /// C element type: `int8_t` or `int32_t`.
    pub ctype: &'static str,
    /// The kernel writes it (the operator's output).
    pub writes: bool,
}

/// A compile-time argument after the pointers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arg {
    Int(&'static str, i64),
    /// A per-channel table, emitted as a `static const int32_t` array in the bundle source.
    Array(&'static str, Vec<i32>),
}

/// One operator as a kernel call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub op_index: usize,
    /// Glow-style operator name used in `libjit_<op_name>_i8_<index>`.
    pub op_name: &'static str,
    /// The generic kernel the specialised function calls.
    pub kernel: &'static str,
    /// `None` is a null pointer (an omitted bias).
    pub ptrs: Vec<Option<Ptr>>,
    pub args: Vec<Arg>,
    /// For RESHAPE: (input, output) tensors, which the planner may alias instead of copying.
    pub reshape: Option<(usize, usize)>,
}

impl Step {
    /// The specialised function's name, e.g. `libjit_conv2d_i8_0`.
    pub fn function_name(&self) -> String {
        format!("libjit_{}_i8_{}", self.op_name, self.op_index)
    }
    /// Every tensor the step reads or writes.
    pub fn tensors(&self) -> impl Iterator<Item = usize> + '_ {
        self.ptrs.iter().flatten().map(|p| p.tensor)
    }
}

fn bad(op: usize, kind: OpKind, msg: impl std::fmt::Display) -> AotError {
    AotError::Unsupported(format!("operator {op} ({}): {msg}", kind.name()))
}

/// Lowers every operator of the model, in execution order.
pub fn lower(model: &Model) -> Result<Vec<Step>, AotError> {
    model.operators.iter().enumerate().map(|(i, _)| lower_op(model, i)).collect()
}

struct Ctx<'a> {
    model: &'a Model,
    index: usize,
    kind: OpKind,
}

impl<'a> Ctx<'a> {
    fn err(&self, msg: impl std::fmt::Display) -> AotError {
        bad(self.index, self.kind, msg)
    }
    fn input(&self, n: usize) -> Result<usize, AotError> {
        self.model.operators[self.index].inputs.get(n).copied().flatten().ok_or_else(|| self.err(format!("input {n} is missing")))
    }
    fn optional_input(&self, n: usize) -> Option<usize> {
        self.model.operators[self.index].inputs.get(n).copied().flatten()
    }
    fn output(&self) -> Result<usize, AotError> {
        let outs = &self.model.operators[self.index].outputs;
        if outs.len() != 1 {
            return Err(self.err(format!("{} outputs, expected 1", outs.len())));
        }
        Ok(outs[0])
    }
    fn tensor(&self, t: usize) -> &'a Tensor {
        &self.model.tensors[t]
    }
    /// An int8 activation tensor with per-tensor quantisation: returns (scale, zero point).
    fn int8(&self, t: usize, role: &str) -> Result<(f32, i32), AotError> {
        let tt = self.tensor(t);
        if tt.dtype != TensorType::Int8 {
            return Err(self.err(format!("{role} '{}' is {}, only INT8 is supported", tt.name, tt.dtype.name())));
        }
        let (s, z) = tt.scale_zp().ok_or_else(|| self.err(format!("{role} '{}' is not quantised", tt.name)))?;
        if !(s > 0.0 && s.is_finite() && (-128..=127).contains(&z)) {
            return Err(self.err(format!("{role} '{}' has scale {s} / zero point {z}", tt.name)));
        }
        Ok((s, z))
    }
    /// A constant tensor of the given type whose data matches its shape.
    fn constant(&self, t: usize, dtype: TensorType, role: &str) -> Result<&'a Tensor, AotError> {
        let tt = self.tensor(t);
        if tt.dtype != dtype {
            return Err(self.err(format!("{role} '{}' is {}, expected {}", tt.name, tt.dtype.name(), dtype.name())));
        }
        let data = self.model.tensor_data(t).ok_or_else(|| self.err(format!("{role} '{}' is not a constant", tt.name)))?;
        if Some(data.len()) != tt.bytes() {
            return Err(self.err(format!("{role} '{}' holds {} bytes, its shape needs {:?}", tt.name, data.len(), tt.bytes())));
        }
        Ok(tt)
    }
    fn dims4(&self, t: usize, role: &str) -> Result<[i32; 4], AotError> {
        let s = &self.tensor(t).shape;
        <[i32; 4]>::try_from(s.as_slice()).map_err(|_| self.err(format!("{role} has shape {s:?}, expected 4 dimensions")))
    }
}

fn ptr(tensor: usize, ctype: &'static str, writes: bool) -> Option<Ptr> {
    Some(Ptr { tensor, ctype, writes })
}

fn lower_op(model: &Model, index: usize) -> Result<Step, AotError> {
    let op = &model.operators[index];
    let c = Ctx { model, index, kind: op.kind };
    match &op.options {
        Options::Conv2d { padding, stride_w, stride_h, activation, dilation_w, dilation_h } => {
            let (input, filter, output) = (c.input(0)?, c.input(1)?, c.output()?);
            let (si, zi) = c.int8(input, "input")?;
            let (so, zo) = c.int8(output, "output")?;
            let w = c.constant(filter, TensorType::Int8, "filter")?;
            let [n, ih, iw, ic] = c.dims4(input, "input")?;
            let [oc, kh, kw, kc] = c.dims4(filter, "filter")?;
            let [on, oh, ow, occ] = c.dims4(output, "output")?;
            if kc != ic || occ != oc || on != n {
                return Err(c.err("input, filter and output shapes disagree"));
            }
            let bias = conv_bias(&c, oc)?;
            check_window(&c, *padding, [ih, iw], [kh, kw], [*stride_h, *stride_w], [*dilation_h, *dilation_w], [oh, ow])?;
            let (mult, shift) = per_channel(&c, w, si, so, oc)?;
            let (amin, amax) = quant::activation_range(*activation, so, zo).map_err(|e| c.err(e))?;
            Ok(Step {
                op_index: index,
                op_name: "conv2d",
                kernel: "libjit_conv2d_i8",
                ptrs: vec![ptr(input, "int8_t", false), ptr(filter, "int8_t", false), bias.and_then(|b| ptr(b, "int32_t", false)), ptr(output, "int8_t", true)],
                args: vec![
                    Arg::Int("batches", n as i64),
                    Arg::Int("in_h", ih as i64),
                    Arg::Int("in_w", iw as i64),
                    Arg::Int("in_c", ic as i64),
                    Arg::Int("out_h", oh as i64),
                    Arg::Int("out_w", ow as i64),
                    Arg::Int("out_c", oc as i64),
                ]
                .into_iter()
                .chain(window_args([ih, iw], [kh, kw], [*stride_h, *stride_w], [*dilation_h, *dilation_w], [oh, ow]))
                .chain(per_channel_args(zi, zo, mult, shift, amin, amax))
                .collect(),
                reshape: None,
            })
        }
        Options::DepthwiseConv2d { padding, stride_w, stride_h, depth_multiplier, activation, dilation_w, dilation_h } => {
            let (input, filter, output) = (c.input(0)?, c.input(1)?, c.output()?);
            let (si, zi) = c.int8(input, "input")?;
            let (so, zo) = c.int8(output, "output")?;
            let w = c.constant(filter, TensorType::Int8, "filter")?;
            let [n, ih, iw, ic] = c.dims4(input, "input")?;
            let [one, kh, kw, oc] = c.dims4(filter, "filter")?;
            let [on, oh, ow, occ] = c.dims4(output, "output")?;
            if one != 1 || occ != oc || on != n || ic <= 0 || oc % ic != 0 {
                return Err(c.err("input, filter and output shapes disagree"));
            }
            let dm = oc / ic;
            if *depth_multiplier != 0 && *depth_multiplier != dm {
                return Err(c.err(format!("depth_multiplier {depth_multiplier} but channels {ic} -> {oc}")));
            }
            let bias = conv_bias(&c, oc)?;
            check_window(&c, *padding, [ih, iw], [kh, kw], [*stride_h, *stride_w], [*dilation_h, *dilation_w], [oh, ow])?;
            let (mult, shift) = per_channel(&c, w, si, so, oc)?;
            let (amin, amax) = quant::activation_range(*activation, so, zo).map_err(|e| c.err(e))?;
            Ok(Step {
                op_index: index,
                op_name: "depthwise_conv2d",
                kernel: "libjit_depthwise_conv2d_i8",
                ptrs: vec![ptr(input, "int8_t", false), ptr(filter, "int8_t", false), bias.and_then(|b| ptr(b, "int32_t", false)), ptr(output, "int8_t", true)],
                args: vec![
                    Arg::Int("batches", n as i64),
                    Arg::Int("in_h", ih as i64),
                    Arg::Int("in_w", iw as i64),
                    Arg::Int("in_c", ic as i64),
                    Arg::Int("out_h", oh as i64),
                    Arg::Int("out_w", ow as i64),
                    Arg::Int("depth_mult", dm as i64),
                ]
                .into_iter()
                .chain(window_args([ih, iw], [kh, kw], [*stride_h, *stride_w], [*dilation_h, *dilation_w], [oh, ow]))
                .chain(per_channel_args(zi, zo, mult, shift, amin, amax))
                .collect(),
                reshape: None,
            })
        }
        Options::FullyConnected { activation, weights_format, .. } => {
            let (input, filter, output) = (c.input(0)?, c.input(1)?, c.output()?);
            if *weights_format != 0 {
                return Err(c.err("only the DEFAULT weights format is supported"));
            }
            let (si, zi) = c.int8(input, "input")?;
            let (so, zo) = c.int8(output, "output")?;
            let w = c.constant(filter, TensorType::Int8, "filter")?;
            let (sw, zw) = w.scale_zp().ok_or_else(|| c.err("filter is not quantised"))?;
            if w.shape.len() != 2 {
                return Err(c.err(format!("filter shape {:?}, expected [out, depth]", w.shape)));
            }
            let (oc, depth) = (w.shape[0] as usize, w.shape[1] as usize);
            let in_elems = c.tensor(input).elements();
            if depth == 0 || oc == 0 || !in_elems.is_multiple_of(depth) || c.tensor(output).elements() != in_elems / depth * oc {
                return Err(c.err("input, filter and output sizes disagree"));
            }
            let bias = c.optional_input(2);
            if let Some(b) = bias {
                let bt = c.constant(b, TensorType::Int32, "bias")?;
                if bt.elements() != oc {
                    return Err(c.err("bias length differs from the output depth"));
                }
            }
            let (m, s) = quant::fully_connected_multiplier(si, sw, so).map_err(|e| c.err(e))?;
            let (amin, amax) = quant::activation_range(*activation, so, zo).map_err(|e| c.err(e))?;
            Ok(Step {
                op_index: index,
                op_name: "fully_connected",
                kernel: "libjit_fully_connected_i8",
                ptrs: vec![ptr(input, "int8_t", false), ptr(filter, "int8_t", false), bias.and_then(|b| ptr(b, "int32_t", false)), ptr(output, "int8_t", true)],
                args: vec![
                    Arg::Int("batches", (in_elems / depth) as i64),
                    Arg::Int("depth", depth as i64),
                    Arg::Int("out_c", oc as i64),
                    Arg::Int("in_offset", -(zi as i64)),
                    Arg::Int("w_offset", -(zw as i64)),
                    Arg::Int("out_offset", zo as i64),
                    Arg::Int("mult", m as i64),
                    Arg::Int("shift", s as i64),
                    Arg::Int("act_min", amin as i64),
                    Arg::Int("act_max", amax as i64),
                ],
                reshape: None,
            })
        }
        Options::Pool2d { padding, stride_w, stride_h, filter_w, filter_h, activation } => {
            let (input, output) = (c.input(0)?, c.output()?);
            c.int8(input, "input")?;
            let (so, zo) = c.int8(output, "output")?;
            let [n, ih, iw, ch] = c.dims4(input, "input")?;
            let [on, oh, ow, oc] = c.dims4(output, "output")?;
            if on != n || oc != ch {
                return Err(c.err("input and output shapes disagree"));
            }
            check_window(&c, *padding, [ih, iw], [*filter_h, *filter_w], [*stride_h, *stride_w], [1, 1], [oh, ow])?;
            let (amin, amax) = quant::activation_range(*activation, so, zo).map_err(|e| c.err(e))?;
            Ok(Step {
                op_index: index,
                op_name: "avg_pool",
                kernel: "libjit_avg_pool_i8",
                ptrs: vec![ptr(input, "int8_t", false), ptr(output, "int8_t", true)],
                args: vec![
                    Arg::Int("batches", n as i64),
                    Arg::Int("in_h", ih as i64),
                    Arg::Int("in_w", iw as i64),
                    Arg::Int("channels", ch as i64),
                    Arg::Int("out_h", oh as i64),
                    Arg::Int("out_w", ow as i64),
                    Arg::Int("f_h", *filter_h as i64),
                    Arg::Int("f_w", *filter_w as i64),
                    Arg::Int("stride_h", *stride_h as i64),
                    Arg::Int("stride_w", *stride_w as i64),
                    Arg::Int("pad_h", quant::padding_before(ih, *filter_h, *stride_h, 1, oh)),
                    Arg::Int("pad_w", quant::padding_before(iw, *filter_w, *stride_w, 1, ow)),
                    Arg::Int("act_min", amin as i64),
                    Arg::Int("act_max", amax as i64),
                ],
                reshape: None,
            })
        }
        Options::Add { activation } => {
            let (a, b, output) = (c.input(0)?, c.input(1)?, c.output()?);
            let (sa, za) = c.int8(a, "input 1")?;
            let (sb, zb) = c.int8(b, "input 2")?;
            let (so, zo) = c.int8(output, "output")?;
            let shape = &c.tensor(output).shape;
            if &c.tensor(a).shape != shape || &c.tensor(b).shape != shape {
                return Err(c.err("broadcasting ADD is not supported (input and output shapes must be equal)"));
            }
            let p = quant::add_params(sa, sb, so).map_err(|e| c.err(e))?;
            let (amin, amax) = quant::activation_range(*activation, so, zo).map_err(|e| c.err(e))?;
            Ok(Step {
                op_index: index,
                op_name: "add",
                kernel: "libjit_add_i8",
                ptrs: vec![ptr(a, "int8_t", false), ptr(b, "int8_t", false), ptr(output, "int8_t", true)],
                args: vec![
                    Arg::Int("size", c.tensor(output).elements() as i64),
                    Arg::Int("in1_offset", -(za as i64)),
                    Arg::Int("in2_offset", -(zb as i64)),
                    Arg::Int("out_offset", zo as i64),
                    Arg::Int("left_shift", p.left_shift as i64),
                    Arg::Int("in1_mult", p.input1.0 as i64),
                    Arg::Int("in1_shift", p.input1.1 as i64),
                    Arg::Int("in2_mult", p.input2.0 as i64),
                    Arg::Int("in2_shift", p.input2.1 as i64),
                    Arg::Int("out_mult", p.output.0 as i64),
                    Arg::Int("out_shift", p.output.1 as i64),
                    Arg::Int("act_min", amin as i64),
                    Arg::Int("act_max", amax as i64),
                ],
                reshape: None,
            })
        }
        Options::Softmax { beta } => {
            let (input, output) = (c.input(0)?, c.output()?);
            let (si, _) = c.int8(input, "input")?;
            let (so, zo) = c.int8(output, "output")?;
            // The fixed-point int8 softmax only produces scale 1/256, zero point -128.
            if so != 1.0 / 256.0 || zo != -128 {
                return Err(c.err(format!("output scale {so} / zero point {zo}; int8 softmax needs 1/256 and -128")));
            }
            let t = c.tensor(input);
            let depth = *t.shape.last().unwrap_or(&1) as usize;
            if depth == 0 || t.shape != c.tensor(output).shape {
                return Err(c.err("input and output shapes disagree"));
            }
            let p = quant::softmax_params(*beta, si).map_err(|e| c.err(e))?;
            Ok(Step {
                op_index: index,
                op_name: "softmax",
                kernel: "libjit_softmax_i8",
                ptrs: vec![ptr(input, "int8_t", false), ptr(output, "int8_t", true)],
                args: vec![
                    Arg::Int("outer", (t.elements() / depth) as i64),
                    Arg::Int("depth", depth as i64),
                    Arg::Int("in_mult", p.input_multiplier as i64),
                    Arg::Int("in_left_shift", p.input_left_shift as i64),
                    Arg::Int("diff_min", p.diff_min as i64),
                ],
                reshape: None,
            })
        }
        Options::Reshape { .. } => {
            let (input, output) = (c.input(0)?, c.output()?);
            let (ti, to) = (c.tensor(input), c.tensor(output));
            if ti.dtype != TensorType::Int8 || to.dtype != TensorType::Int8 {
                return Err(c.err("only INT8 tensors are supported"));
            }
            if ti.elements() != to.elements() {
                return Err(c.err(format!("{:?} and {:?} have different sizes", ti.shape, to.shape)));
            }
            Ok(Step {
                op_index: index,
                op_name: "reshape",
                kernel: "libjit_copy_i8",
                ptrs: vec![ptr(input, "int8_t", false), ptr(output, "int8_t", true)],
                args: vec![Arg::Int("size", ti.elements() as i64)],
                reshape: Some((input, output)),
            })
        }
        Options::CallOnce { .. } | Options::If { .. } | Options::While { .. } => {
            Err(c.err("control-flow operators (other subgraphs) cannot be compiled ahead of time"))
        }
    }
}

/// The optional int32 bias of a convolution, checked against the output depth.
fn conv_bias(c: &Ctx, oc: i32) -> Result<Option<usize>, AotError> {
    match c.optional_input(2) {
        Some(b) => {
            let bt = c.constant(b, TensorType::Int32, "bias")?;
            if bt.elements() != oc as usize {
                return Err(c.err("bias length differs from the output channels"));
            }
            Ok(Some(b))
        }
        None => Ok(None),
    }
}

/// Checks strides/dilations and that the output size is what the padding rule gives.
/// The filter window arguments both convolution kernels take, in their parameter order:
/// k_h, k_w, stride_h, stride_w, dil_h, dil_w, pad_h, pad_w (SAME padding before the
/// first element, `quant::padding_before`).
fn window_args(input: [i32; 2], filter: [i32; 2], stride: [i32; 2], dil: [i32; 2], out: [i32; 2]) -> [Arg; 8] {
    [
        Arg::Int("k_h", filter[0] as i64),
        Arg::Int("k_w", filter[1] as i64),
        Arg::Int("stride_h", stride[0] as i64),
        Arg::Int("stride_w", stride[1] as i64),
        Arg::Int("dil_h", dil[0] as i64),
        Arg::Int("dil_w", dil[1] as i64),
        Arg::Int("pad_h", quant::padding_before(input[0], filter[0], stride[0], dil[0], out[0])),
        Arg::Int("pad_w", quant::padding_before(input[1], filter[1], stride[1], dil[1], out[1])),
    ]
}

/// The per-channel requantisation arguments that end both convolution kernels' lists.
fn per_channel_args(zi: i32, zo: i32, mult: Vec<i32>, shift: Vec<i32>, amin: i32, amax: i32) -> [Arg; 6] {
    [
        Arg::Int("in_offset", -(zi as i64)),
        Arg::Int("out_offset", zo as i64),
        Arg::Array("mult", mult),
        Arg::Array("shift", shift),
        Arg::Int("act_min", amin as i64),
        Arg::Int("act_max", amax as i64),
    ]
}

fn check_window(
    c: &Ctx,
    padding: simbench_profiles::tflite::Padding,
    input: [i32; 2],
    filter: [i32; 2],
    stride: [i32; 2],
    dil: [i32; 2],
    out: [i32; 2],
) -> Result<(), AotError> {
    for a in 0..2 {
        if stride[a] < 1 || dil[a] < 1 || filter[a] < 1 || input[a] < 1 {
            return Err(c.err(format!("stride {stride:?}, dilation {dil:?}, filter {filter:?} and input {input:?} must be positive")));
        }
        let expect = quant::out_size(padding, input[a], filter[a], stride[a], dil[a]);
        if expect != out[a] as i64 {
            return Err(c.err(format!("output size {} along axis {a}, but {padding:?} padding gives {expect}", out[a])));
        }
    }
    Ok(())
}

/// Per-channel multipliers of a convolution; the filter must be symmetric (zero point 0).
fn per_channel(c: &Ctx, w: &Tensor, si: f32, so: f32, oc: i32) -> Result<(Vec<i32>, Vec<i32>), AotError> {
    let q = w.quantization.as_ref().ok_or_else(|| c.err("filter is not quantised"))?;
    if q.zero_point.iter().any(|&z| z != 0) {
        return Err(c.err("filter zero points must be 0 (symmetric per-channel quantisation)"));
    }
    quant::per_channel_multipliers(si, &q.scale, so, oc as usize).map_err(|e| c.err(e))
}
