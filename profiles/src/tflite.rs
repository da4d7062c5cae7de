//! A reader for TensorFlow Lite model files (FlatBuffer schema version 3, identifier `TFL3`).
//!
//! Why it exists: the AOT bundle generator (`runtime/aot`) compiles a model into C, and the
//! profiler names TFLM operators from the model embedded in a firmware. Both need the same
//! small, safe view of subgraph 0: tensors, buffers, operators and their builtin options.
//! The other subgraphs (run by the control-flow operators CALL_ONCE, IF and WHILE) are read
//! too, into [`Model::subgraphs`], so that the profiler can say what such an operator ran.
//!
//! How: the whole file is first checked by the `flatbuffers` crate's `Verifier` against the
//! table layouts declared below (every offset, vector length and string is bounds-checked),
//! and only then read through `flatbuffers::Table`. Field ids are the declaration order of
//! each table in `tensorflow/lite/schema/schema.fbs`; a field's vtable slot is `4 + 2 * id`.
//! Anything the reader does not understand (wrong identifier, truncated data, an index out
//! of range, an operator other than the supported ones) is an [`Error`], never a panic.
//!
//! ```no_run
//! let bytes = std::fs::read("model.tflite").unwrap();
//! let model = simbench_profiles::tflite::parse(&bytes).unwrap();
//! for (i, op) in model.operators.iter().enumerate() {
//!     println!("{i} {} v{}", op.kind.name(), op.version);
//! }
//! ```

use flatbuffers::{ForwardsUOffset, InvalidFlatbuffer, Table, Vector, Verifiable, Verifier, VerifierOptions};
use std::fmt;

/// Why a model could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// Not a TFLite FlatBuffer (too short, or no `TFL3` at byte offset 4).
    NotTflite(String),
    /// The FlatBuffer structure is broken (truncated, offsets out of range, bad strings).
    Malformed(String),
    /// Structurally valid, but the content is inconsistent (an index out of range, …).
    Invalid(String),
    /// A valid model using something this reader does not support.
    Unsupported(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NotTflite(m) => write!(f, "not a TFLite model: {m}"),
            Error::Malformed(m) => write!(f, "malformed TFLite FlatBuffer: {m}"),
            Error::Invalid(m) => write!(f, "invalid TFLite model: {m}"),
            Error::Unsupported(m) => write!(f, "unsupported TFLite model: {m}"),
        }
    }
}

impl std::error::Error for Error {}

/// Element type of a tensor (schema enum `TensorType : byte`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TensorType {
    Float32,
    Float16,
    Int32,
    Uint8,
    Int64,
    Int16,
    Int8,
    /// Any other code (string, bool, complex, …): readable, but no kernel uses it.
    Other(i8),
}

impl TensorType {
    fn from_code(c: i8) -> Self {
        match c {
            0 => TensorType::Float32,
            1 => TensorType::Float16,
            2 => TensorType::Int32,
            3 => TensorType::Uint8,
            4 => TensorType::Int64,
            7 => TensorType::Int16,
            9 => TensorType::Int8,
            o => TensorType::Other(o),
        }
    }
    /// Bytes per element, when fixed.
    pub fn size(self) -> Option<usize> {
        match self {
            TensorType::Float32 | TensorType::Int32 => Some(4),
            TensorType::Float16 | TensorType::Int16 => Some(2),
            TensorType::Uint8 | TensorType::Int8 => Some(1),
            TensorType::Int64 => Some(8),
            TensorType::Other(_) => None,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            TensorType::Float32 => "FLOAT32",
            TensorType::Float16 => "FLOAT16",
            TensorType::Int32 => "INT32",
            TensorType::Uint8 => "UINT8",
            TensorType::Int64 => "INT64",
            TensorType::Int16 => "INT16",
            TensorType::Int8 => "INT8",
            TensorType::Other(_) => "OTHER",
        }
    }
}

/// Affine quantisation: `real = scale * (q - zero_point)`, per tensor (one entry) or per
/// channel along `quantized_dimension`.
#[derive(Debug, Clone, PartialEq)]
pub struct Quantization {
    pub scale: Vec<f32>,
    pub zero_point: Vec<i64>,
    pub quantized_dimension: i32,
}

/// One tensor of subgraph 0.
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    pub name: String,
    pub shape: Vec<i32>,
    pub dtype: TensorType,
    /// Index into [`Model::buffers`]; buffer 0 is the always-empty buffer.
    pub buffer: usize,
    /// `None` when the tensor has no scale (not quantised).
    pub quantization: Option<Quantization>,
}

impl Tensor {
    /// Number of elements (product of the shape; 1 for a scalar).
    /// Saturates instead of overflowing (`parse` rejects shapes larger than 4 GiB of data,
    /// a hand-built `Model` may not).
    pub fn elements(&self) -> usize {
        self.shape.iter().fold(1usize, |n, &d| n.saturating_mul(d.max(0) as usize))
    }
    /// Size in bytes, when the element type has a fixed size (None if it overflows).
    pub fn bytes(&self) -> Option<usize> {
        self.dtype.size()?.checked_mul(self.elements())
    }
    /// Per-tensor scale and zero point (the first entry), if quantised.
    pub fn scale_zp(&self) -> Option<(f32, i32)> {
        let q = self.quantization.as_ref()?;
        Some((*q.scale.first()?, q.zero_point.first().copied().unwrap_or(0) as i32))
    }
}

/// The operators this reader understands (schema enum `BuiltinOperator`): seven compute
/// operators, and the three control-flow operators that run another subgraph.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpKind {
    Add,
    AveragePool2d,
    Conv2d,
    DepthwiseConv2d,
    FullyConnected,
    Reshape,
    Softmax,
    /// Runs its init subgraph once (the first Invoke), then nothing.
    CallOnce,
    If,
    While,
}

impl OpKind {
    /// Builtin operator codes from schema.fbs `enum BuiltinOperator`.
    pub fn from_builtin(code: i32) -> Option<Self> {
        Some(match code {
            0 => OpKind::Add,
            1 => OpKind::AveragePool2d,
            3 => OpKind::Conv2d,
            4 => OpKind::DepthwiseConv2d,
            9 => OpKind::FullyConnected,
            22 => OpKind::Reshape,
            25 => OpKind::Softmax,
            118 => OpKind::If,
            119 => OpKind::While,
            129 => OpKind::CallOnce,
            _ => return None,
        })
    }
    /// The schema's name, e.g. `CONV_2D`.
    pub fn name(self) -> &'static str {
        match self {
            OpKind::Add => "ADD",
            OpKind::AveragePool2d => "AVERAGE_POOL_2D",
            OpKind::Conv2d => "CONV_2D",
            OpKind::DepthwiseConv2d => "DEPTHWISE_CONV_2D",
            OpKind::FullyConnected => "FULLY_CONNECTED",
            OpKind::Reshape => "RESHAPE",
            OpKind::Softmax => "SOFTMAX",
            OpKind::CallOnce => "CALL_ONCE",
            OpKind::If => "IF",
            OpKind::While => "WHILE",
        }
    }
    /// A control-flow operator: it runs other subgraphs ([`Options::subgraphs`]).
    pub fn is_control_flow(self) -> bool {
        matches!(self, OpKind::CallOnce | OpKind::If | OpKind::While)
    }
}

/// Schema enum `Padding : byte { SAME, VALID }`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Padding {
    Same,
    Valid,
}

/// Schema enum `ActivationFunctionType : byte`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    None,
    Relu,
    ReluN1To1,
    Relu6,
    Tanh,
    SignBit,
}

/// Builtin options of an operator, already defaulted as the schema says.
#[derive(Debug, Clone, PartialEq)]
pub enum Options {
    Conv2d { padding: Padding, stride_w: i32, stride_h: i32, activation: Activation, dilation_w: i32, dilation_h: i32 },
    DepthwiseConv2d { padding: Padding, stride_w: i32, stride_h: i32, depth_multiplier: i32, activation: Activation, dilation_w: i32, dilation_h: i32 },
    FullyConnected { activation: Activation, weights_format: i8, keep_num_dims: bool },
    Pool2d { padding: Padding, stride_w: i32, stride_h: i32, filter_w: i32, filter_h: i32, activation: Activation },
    Add { activation: Activation },
    Reshape { new_shape: Option<Vec<i32>> },
    Softmax { beta: f32 },
    CallOnce { init_subgraph: i32 },
    If { then_subgraph: i32, else_subgraph: i32 },
    While { cond_subgraph: i32, body_subgraph: i32 },
}

impl Options {
    /// The subgraphs a control-flow operator runs (empty for the others).
    pub fn subgraphs(&self) -> Vec<usize> {
        let v = match *self {
            Options::CallOnce { init_subgraph } => vec![init_subgraph],
            Options::If { then_subgraph, else_subgraph } => vec![then_subgraph, else_subgraph],
            Options::While { cond_subgraph, body_subgraph } => vec![cond_subgraph, body_subgraph],
            _ => vec![],
        };
        v.into_iter().map(|i| i as usize).collect()
    }
}

/// One operator of subgraph 0, in execution order.
#[derive(Debug, Clone, PartialEq)]
pub struct Operator {
    pub kind: OpKind,
    /// The operator code's version (schema default 1).
    pub version: i32,
    /// Input tensor indices; `None` for an omitted optional input (-1 in the file).
    pub inputs: Vec<Option<usize>>,
    pub outputs: Vec<usize>,
    pub options: Options,
}

/// A subgraph other than the first: what a CALL_ONCE, IF or WHILE operator runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Subgraph {
    pub name: String,
    /// The subgraph's own tensors (operator tensor indices refer to these).
    pub tensors: Vec<Tensor>,
    pub operators: Vec<Operator>,
}

/// Subgraph 0 of a TFLite model, with the model's buffers and its other subgraphs.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    /// Schema version (3 for every supported file).
    pub version: u32,
    pub description: String,
    pub tensors: Vec<Tensor>,
    pub operators: Vec<Operator>,
    /// Subgraph inputs (tensor indices).
    pub inputs: Vec<usize>,
    /// Subgraph outputs (tensor indices).
    pub outputs: Vec<usize>,
    /// Raw buffer contents; empty for buffers without data (activations).
    pub buffers: Vec<Vec<u8>>,
    /// Subgraphs 1, 2, … (element `i` is subgraph `i + 1`): run by control-flow operators.
    pub subgraphs: Vec<Subgraph>,
}

impl Model {
    /// The operators of subgraph `index` (0 is the main graph).
    pub fn subgraph_operators(&self, index: usize) -> Option<&[Operator]> {
        match index {
            0 => Some(&self.operators),
            i => self.subgraphs.get(i - 1).map(|s| s.operators.as_slice()),
        }
    }

    /// The constant data of tensor `t`, if its buffer holds any.
    pub fn tensor_data(&self, t: usize) -> Option<&[u8]> {
        let b = self.buffers.get(self.tensors.get(t)?.buffer)?;
        if b.is_empty() {
            None
        } else {
            Some(b)
        }
    }
}

/// vtable slot of field number `id` (FlatBuffers: 2 bytes of vtable size + 2 bytes of table
/// size, then one u16 per field).
const fn slot(id: u16) -> u16 {
    4 + 2 * id
}

// ---- field ids from tensorflow/lite/schema/schema.fbs ----------------------------------
// table Model { version:uint; operator_codes:[OperatorCode]; subgraphs:[SubGraph];
//               description:string; buffers:[Buffer]; ... }
const MODEL_VERSION: u16 = slot(0);
const MODEL_OPERATOR_CODES: u16 = slot(1);
const MODEL_SUBGRAPHS: u16 = slot(2);
const MODEL_DESCRIPTION: u16 = slot(3);
const MODEL_BUFFERS: u16 = slot(4);
// table OperatorCode { deprecated_builtin_code:byte; custom_code:string; version:int = 1;
//                      builtin_code:BuiltinOperator (int32, added 2020) }
const OPCODE_DEPRECATED_BUILTIN: u16 = slot(0);
const OPCODE_CUSTOM: u16 = slot(1);
const OPCODE_VERSION: u16 = slot(2);
const OPCODE_BUILTIN: u16 = slot(3);
// table SubGraph { tensors:[Tensor]; inputs:[int]; outputs:[int]; operators:[Operator]; name:string }
const SG_TENSORS: u16 = slot(0);
const SG_INPUTS: u16 = slot(1);
const SG_OUTPUTS: u16 = slot(2);
const SG_OPERATORS: u16 = slot(3);
const SG_NAME: u16 = slot(4);
// table Tensor { shape:[int]; type:TensorType; buffer:uint; name:string;
//                quantization:QuantizationParameters; is_variable:bool; ... }
const T_SHAPE: u16 = slot(0);
const T_TYPE: u16 = slot(1);
const T_BUFFER: u16 = slot(2);
const T_NAME: u16 = slot(3);
const T_QUANT: u16 = slot(4);
// table QuantizationParameters { min:[float]; max:[float]; scale:[float]; zero_point:[long];
//   details:QuantizationDetails (a union: ids 4 = type, 5 = value); quantized_dimension:int }
const Q_MIN: u16 = slot(0);
const Q_MAX: u16 = slot(1);
const Q_SCALE: u16 = slot(2);
const Q_ZERO_POINT: u16 = slot(3);
const Q_QUANTIZED_DIMENSION: u16 = slot(6);
// table Buffer { data:[ubyte] (force_align: 16); ... }
const B_DATA: u16 = slot(0);
// table Operator { opcode_index:uint; inputs:[int]; outputs:[int];
//   builtin_options:BuiltinOptions (union: ids 3 = type, 4 = value); custom_options:[ubyte]; ... }
const OP_OPCODE_INDEX: u16 = slot(0);
const OP_INPUTS: u16 = slot(1);
const OP_OUTPUTS: u16 = slot(2);
const OP_OPTIONS_TYPE: u16 = slot(3);
const OP_OPTIONS: u16 = slot(4);
const OP_CUSTOM_OPTIONS: u16 = slot(5);

// union BuiltinOptions: position in the union's declaration list (NONE = 0).
const BO_CONV2D: u8 = 1;
const BO_DEPTHWISE_CONV2D: u8 = 2;
const BO_POOL2D: u8 = 5;
const BO_FULLY_CONNECTED: u8 = 8;
const BO_SOFTMAX: u8 = 9;
const BO_ADD: u8 = 11;
const BO_RESHAPE: u8 = 17;
const BO_IF: u8 = 92;
const BO_WHILE: u8 = 93;
const BO_CALL_ONCE: u8 = 103;

// table Conv2DOptions { padding; stride_w:int; stride_h:int; fused_activation_function;
//                       dilation_w_factor:int = 1; dilation_h_factor:int = 1 }
// table DepthwiseConv2DOptions { padding; stride_w; stride_h; depth_multiplier:int;
//                       fused_activation_function; dilation_w_factor = 1; dilation_h_factor = 1 }
// table Pool2DOptions { padding; stride_w; stride_h; filter_width; filter_height; fused_activation_function }
// table FullyConnectedOptions { fused_activation_function; weights_format:byte = DEFAULT;
//                               keep_num_dims:bool; asymmetric_quantize_inputs:bool }
// table SoftmaxOptions { beta:float }
// table AddOptions { fused_activation_function; pot_scale_int16:bool = true }
// table ReshapeOptions { new_shape:[int] }
// table IfOptions { then_subgraph_index:int; else_subgraph_index:int }
// table WhileOptions { cond_subgraph_index:int; body_subgraph_index:int }
// table CallOnceOptions { init_subgraph_index:int }

// ---- verification ----------------------------------------------------------------------
// Marker types: each describes one table's field types to the verifier. The reader below
// accesses exactly these fields with exactly these types, which is what makes the
// `unsafe` `Table::get` calls sound.

type VecOf<T> = ForwardsUOffset<Vector<'static, ForwardsUOffset<T>>>;
type Scalars<T> = ForwardsUOffset<Vector<'static, T>>;
type Str = ForwardsUOffset<&'static str>;

struct ModelV;
struct OperatorCodeV;
struct SubGraphV;
struct TensorV;
struct QuantV;
struct BufferV;
struct OperatorV;
/// Every supported options table only holds scalars (and `ReshapeOptions.new_shape`).
struct ConvOptsV;
struct DwOptsV;
struct PoolOptsV;
struct FcOptsV;
struct SoftmaxOptsV;
struct AddOptsV;
struct ReshapeOptsV;
/// IfOptions, WhileOptions (two ints) and CallOnceOptions (one).
struct TwoIntOptsV;
struct OneIntOptsV;

impl Verifiable for ModelV {
    fn run_verifier(v: &mut Verifier, pos: usize) -> Result<(), InvalidFlatbuffer> {
        v.visit_table(pos)?
            .visit_field::<u32>("version", MODEL_VERSION, false)?
            .visit_field::<VecOf<OperatorCodeV>>("operator_codes", MODEL_OPERATOR_CODES, false)?
            .visit_field::<VecOf<SubGraphV>>("subgraphs", MODEL_SUBGRAPHS, false)?
            .visit_field::<Str>("description", MODEL_DESCRIPTION, false)?
            .visit_field::<VecOf<BufferV>>("buffers", MODEL_BUFFERS, false)?
            .finish();
        Ok(())
    }
}

impl Verifiable for OperatorCodeV {
    fn run_verifier(v: &mut Verifier, pos: usize) -> Result<(), InvalidFlatbuffer> {
        v.visit_table(pos)?
            .visit_field::<i8>("deprecated_builtin_code", OPCODE_DEPRECATED_BUILTIN, false)?
            .visit_field::<Str>("custom_code", OPCODE_CUSTOM, false)?
            .visit_field::<i32>("version", OPCODE_VERSION, false)?
            .visit_field::<i32>("builtin_code", OPCODE_BUILTIN, false)?
            .finish();
        Ok(())
    }
}

impl Verifiable for SubGraphV {
    fn run_verifier(v: &mut Verifier, pos: usize) -> Result<(), InvalidFlatbuffer> {
        v.visit_table(pos)?
            .visit_field::<VecOf<TensorV>>("tensors", SG_TENSORS, false)?
            .visit_field::<Scalars<i32>>("inputs", SG_INPUTS, false)?
            .visit_field::<Scalars<i32>>("outputs", SG_OUTPUTS, false)?
            .visit_field::<VecOf<OperatorV>>("operators", SG_OPERATORS, false)?
            .visit_field::<Str>("name", SG_NAME, false)?
            .finish();
        Ok(())
    }
}

impl Verifiable for TensorV {
    fn run_verifier(v: &mut Verifier, pos: usize) -> Result<(), InvalidFlatbuffer> {
        v.visit_table(pos)?
            .visit_field::<Scalars<i32>>("shape", T_SHAPE, false)?
            .visit_field::<i8>("type", T_TYPE, false)?
            .visit_field::<u32>("buffer", T_BUFFER, false)?
            .visit_field::<Str>("name", T_NAME, false)?
            .visit_field::<ForwardsUOffset<QuantV>>("quantization", T_QUANT, false)?
            .finish();
        Ok(())
    }
}

impl Verifiable for QuantV {
    fn run_verifier(v: &mut Verifier, pos: usize) -> Result<(), InvalidFlatbuffer> {
        v.visit_table(pos)?
            .visit_field::<Scalars<f32>>("min", Q_MIN, false)?
            .visit_field::<Scalars<f32>>("max", Q_MAX, false)?
            .visit_field::<Scalars<f32>>("scale", Q_SCALE, false)?
            .visit_field::<Scalars<i64>>("zero_point", Q_ZERO_POINT, false)?
            .visit_field::<i32>("quantized_dimension", Q_QUANTIZED_DIMENSION, false)?
            .finish();
        Ok(())
    }
}

impl Verifiable for BufferV {
    fn run_verifier(v: &mut Verifier, pos: usize) -> Result<(), InvalidFlatbuffer> {
        v.visit_table(pos)?.visit_field::<Scalars<u8>>("data", B_DATA, false)?.finish();
        Ok(())
    }
}

impl Verifiable for OperatorV {
    fn run_verifier(v: &mut Verifier, pos: usize) -> Result<(), InvalidFlatbuffer> {
        v.visit_table(pos)?
            .visit_field::<u32>("opcode_index", OP_OPCODE_INDEX, false)?
            .visit_field::<Scalars<i32>>("inputs", OP_INPUTS, false)?
            .visit_field::<Scalars<i32>>("outputs", OP_OUTPUTS, false)?
            .visit_union::<u8, _>("builtin_options_type", OP_OPTIONS_TYPE, "builtin_options", OP_OPTIONS, false, |key, v, pos| {
                match key {
                    BO_CONV2D => v.verify_union_variant::<ForwardsUOffset<ConvOptsV>>("Conv2DOptions", pos),
                    BO_DEPTHWISE_CONV2D => v.verify_union_variant::<ForwardsUOffset<DwOptsV>>("DepthwiseConv2DOptions", pos),
                    BO_POOL2D => v.verify_union_variant::<ForwardsUOffset<PoolOptsV>>("Pool2DOptions", pos),
                    BO_FULLY_CONNECTED => v.verify_union_variant::<ForwardsUOffset<FcOptsV>>("FullyConnectedOptions", pos),
                    BO_SOFTMAX => v.verify_union_variant::<ForwardsUOffset<SoftmaxOptsV>>("SoftmaxOptions", pos),
                    BO_ADD => v.verify_union_variant::<ForwardsUOffset<AddOptsV>>("AddOptions", pos),
                    BO_RESHAPE => v.verify_union_variant::<ForwardsUOffset<ReshapeOptsV>>("ReshapeOptions", pos),
                    BO_IF | BO_WHILE => v.verify_union_variant::<ForwardsUOffset<TwoIntOptsV>>("IfOptions/WhileOptions", pos),
                    BO_CALL_ONCE => v.verify_union_variant::<ForwardsUOffset<OneIntOptsV>>("CallOnceOptions", pos),
                    // Other option tables are never read (their operators are rejected).
                    _ => Ok(()),
                }
            })?
            .visit_field::<Scalars<u8>>("custom_options", OP_CUSTOM_OPTIONS, false)?
            .finish();
        Ok(())
    }
}

/// Verifies a table made of the scalar fields `(id, size)` given.
fn verify_scalar_table(v: &mut Verifier, pos: usize, fields: &[(u16, usize)]) -> Result<(), InvalidFlatbuffer> {
    let mut t = v.visit_table(pos)?;
    for &(id, size) in fields {
        t = match size {
            1 => t.visit_field::<u8>("option", slot(id), false)?,
            _ => t.visit_field::<i32>("option", slot(id), false)?,
        };
    }
    t.finish();
    Ok(())
}

impl Verifiable for ConvOptsV {
    fn run_verifier(v: &mut Verifier, pos: usize) -> Result<(), InvalidFlatbuffer> {
        verify_scalar_table(v, pos, &[(0, 1), (1, 4), (2, 4), (3, 1), (4, 4), (5, 4)])
    }
}
impl Verifiable for DwOptsV {
    fn run_verifier(v: &mut Verifier, pos: usize) -> Result<(), InvalidFlatbuffer> {
        verify_scalar_table(v, pos, &[(0, 1), (1, 4), (2, 4), (3, 4), (4, 1), (5, 4), (6, 4)])
    }
}
impl Verifiable for PoolOptsV {
    fn run_verifier(v: &mut Verifier, pos: usize) -> Result<(), InvalidFlatbuffer> {
        verify_scalar_table(v, pos, &[(0, 1), (1, 4), (2, 4), (3, 4), (4, 4), (5, 1)])
    }
}
impl Verifiable for FcOptsV {
    fn run_verifier(v: &mut Verifier, pos: usize) -> Result<(), InvalidFlatbuffer> {
        verify_scalar_table(v, pos, &[(0, 1), (1, 1), (2, 1)])
    }
}
impl Verifiable for SoftmaxOptsV {
    fn run_verifier(v: &mut Verifier, pos: usize) -> Result<(), InvalidFlatbuffer> {
        // beta:float has the size and alignment of an i32.
        verify_scalar_table(v, pos, &[(0, 4)])
    }
}
impl Verifiable for AddOptsV {
    fn run_verifier(v: &mut Verifier, pos: usize) -> Result<(), InvalidFlatbuffer> {
        verify_scalar_table(v, pos, &[(0, 1)])
    }
}
impl Verifiable for TwoIntOptsV {
    fn run_verifier(v: &mut Verifier, pos: usize) -> Result<(), InvalidFlatbuffer> {
        verify_scalar_table(v, pos, &[(0, 4), (1, 4)])
    }
}
impl Verifiable for OneIntOptsV {
    fn run_verifier(v: &mut Verifier, pos: usize) -> Result<(), InvalidFlatbuffer> {
        verify_scalar_table(v, pos, &[(0, 4)])
    }
}
impl Verifiable for ReshapeOptsV {
    fn run_verifier(v: &mut Verifier, pos: usize) -> Result<(), InvalidFlatbuffer> {
        v.visit_table(pos)?.visit_field::<Scalars<i32>>("new_shape", slot(0), false)?.finish();
        Ok(())
    }
}

// ---- reading (after verification) ------------------------------------------------------

/// A verified table. Every accessor reads a field with the type its marker verified.
#[derive(Clone, Copy)]
struct T<'a>(Table<'a>);

impl<'a> T<'a> {
    fn u32(&self, slot: u16, default: u32) -> u32 {
        // SAFETY: the field was verified as a u32 (see the marker types above).
        unsafe { self.0.get::<u32>(slot, Some(default)) }.unwrap_or(default)
    }
    fn i32(&self, slot: u16, default: i32) -> i32 {
        // SAFETY: verified as an i32.
        unsafe { self.0.get::<i32>(slot, Some(default)) }.unwrap_or(default)
    }
    fn i8(&self, slot: u16, default: i8) -> i8 {
        // SAFETY: verified as a one-byte scalar.
        unsafe { self.0.get::<i8>(slot, Some(default)) }.unwrap_or(default)
    }
    fn u8(&self, slot: u16, default: u8) -> u8 {
        // SAFETY: verified as a one-byte scalar.
        unsafe { self.0.get::<u8>(slot, Some(default)) }.unwrap_or(default)
    }
    fn f32(&self, slot: u16, default: f32) -> f32 {
        // SAFETY: verified as a four-byte scalar.
        unsafe { self.0.get::<f32>(slot, Some(default)) }.unwrap_or(default)
    }
    fn str(&self, slot: u16) -> Option<&'a str> {
        // SAFETY: verified as a string (UTF-8, in bounds).
        unsafe { self.0.get::<ForwardsUOffset<&'a str>>(slot, None) }
    }
    fn table(&self, slot: u16) -> Option<T<'a>> {
        // SAFETY: verified as an offset to a table of the expected kind.
        unsafe { self.0.get::<ForwardsUOffset<Table<'a>>>(slot, None) }.map(T)
    }
    fn tables(&self, slot: u16) -> Vec<T<'a>> {
        // SAFETY: verified as a vector of offsets to tables of the expected kind.
        match unsafe { self.0.get::<ForwardsUOffset<Vector<'a, ForwardsUOffset<Table<'a>>>>>(slot, None) } {
            Some(v) => v.iter().map(T).collect(),
            None => Vec::new(),
        }
    }
    fn scalars<S: flatbuffers::Follow<'a, Inner = S> + 'a>(&self, slot: u16) -> Option<Vec<S>> {
        // SAFETY: verified as a vector of `S` (the callers pass the verified element type).
        unsafe { self.0.get::<ForwardsUOffset<Vector<'a, S>>>(slot, None) }.map(|v| v.iter().collect())
    }
    fn bytes(&self, slot: u16) -> Option<&'a [u8]> {
        // SAFETY: verified as a vector of u8.
        unsafe { self.0.get::<ForwardsUOffset<Vector<'a, u8>>>(slot, None) }.map(|v| v.bytes())
    }
}

/// Parses a `.tflite` file: verifies the FlatBuffer, then reads subgraph 0.
pub fn parse(bytes: &[u8]) -> Result<Model, Error> {
    if bytes.len() < 8 {
        return Err(Error::NotTflite(format!("{} bytes is too short for a FlatBuffer header", bytes.len())));
    }
    if &bytes[4..8] != b"TFL3" {
        return Err(Error::NotTflite(format!("file identifier is {:?}, expected \"TFL3\" at offset 4", String::from_utf8_lossy(&bytes[4..8]))));
    }
    let opts = VerifierOptions::default();
    let mut v = Verifier::new(&opts, bytes);
    <ForwardsUOffset<ModelV>>::run_verifier(&mut v, 0).map_err(|e| Error::Malformed(e.to_string().trim_end().to_string()))?;
    // SAFETY: the root offset and the Model table were verified just above.
    let root = T(unsafe { flatbuffers::root_unchecked::<Table>(bytes) });
    read_model(root)
}

fn read_model(root: T) -> Result<Model, Error> {
    let version = root.u32(MODEL_VERSION, 0);
    if version != 3 {
        return Err(Error::Unsupported(format!("schema version {version}; only version 3 is supported")));
    }
    let buffers: Vec<Vec<u8>> = root.tables(MODEL_BUFFERS).iter().map(|b| b.bytes(B_DATA).unwrap_or(&[]).to_vec()).collect();
    let codes = root.tables(MODEL_OPERATOR_CODES);
    let subgraphs = root.tables(MODEL_SUBGRAPHS);
    if subgraphs.is_empty() {
        return Err(Error::Invalid("the model has no subgraph".into()));
    }
    let mut read = Vec::new();
    for (g, sg) in subgraphs.iter().enumerate() {
        read.push(read_subgraph(g, *sg, &codes, buffers.len(), subgraphs.len())?);
    }
    let mut read = read.into_iter();
    let main = read.next().expect("at least one subgraph");
    Ok(Model {
        version,
        description: root.str(MODEL_DESCRIPTION).unwrap_or("").to_string(),
        tensors: main.tensors,
        operators: main.operators,
        inputs: main.inputs,
        outputs: main.outputs,
        buffers,
        subgraphs: read.map(|s| Subgraph { name: s.name, tensors: s.tensors, operators: s.operators }).collect(),
    })
}

struct ReadSubgraph {
    name: String,
    tensors: Vec<Tensor>,
    operators: Vec<Operator>,
    inputs: Vec<usize>,
    outputs: Vec<usize>,
}

/// Subgraph `g` (of `n_subgraphs`): its tensors, inputs, outputs and operators.
fn read_subgraph(g: usize, sg: T, codes: &[T], n_buffers: usize, n_subgraphs: usize) -> Result<ReadSubgraph, Error> {
    let tensors = sg.tables(SG_TENSORS).iter().enumerate().map(|(i, t)| read_tensor(i, *t, n_buffers)).collect::<Result<Vec<_>, _>>()?;
    let index = |what: &str, i: i32| -> Result<usize, Error> {
        if i >= 0 && (i as usize) < tensors.len() {
            Ok(i as usize)
        } else {
            Err(Error::Invalid(format!("{what} refers to tensor {i}, but subgraph {g} has {} tensors", tensors.len())))
        }
    };
    let inputs = sg.scalars::<i32>(SG_INPUTS).unwrap_or_default().into_iter().map(|i| index("a subgraph input", i)).collect::<Result<Vec<_>, _>>()?;
    let outputs = sg.scalars::<i32>(SG_OUTPUTS).unwrap_or_default().into_iter().map(|i| index("a subgraph output", i)).collect::<Result<Vec<_>, _>>()?;
    // Operators of subgraphs after the first are named "subgraph G operator N" in errors.
    let at = |n: usize| if g == 0 { format!("{n}") } else { format!("{n} of subgraph {g}") };

    let mut operators = Vec::new();
    for (n, op) in sg.tables(SG_OPERATORS).iter().enumerate() {
        let code_index = op.u32(OP_OPCODE_INDEX, 0) as usize;
        let code = codes
            .get(code_index)
            .ok_or_else(|| Error::Invalid(format!("operator {} uses operator code {code_index}, but the model has {}", at(n), codes.len())))?;
        // The builtin code moved from a byte (field 0, now `deprecated_builtin_code`) to an
        // int32 (field 3) when the op count passed 127; writers fill both, old files only the
        // first, so the larger of the two is the real code.
        let builtin = (code.i8(OPCODE_DEPRECATED_BUILTIN, 0) as i32).max(code.i32(OPCODE_BUILTIN, 0));
        let op_version = code.i32(OPCODE_VERSION, 1);
        let kind = OpKind::from_builtin(builtin).ok_or_else(|| {
            let custom = code.str(OPCODE_CUSTOM).map(|c| format!(" (custom '{c}')")).unwrap_or_default();
            Error::Unsupported(format!(
                "operator {} has builtin code {builtin}{custom}; supported: ADD, AVERAGE_POOL_2D, CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, RESHAPE, SOFTMAX, CALL_ONCE, IF, WHILE",
                at(n)
            ))
        })?;
        let op_inputs = op
            .scalars::<i32>(OP_INPUTS)
            .unwrap_or_default()
            .into_iter()
            .map(|i| if i == -1 { Ok(None) } else { index(&format!("an input of operator {}", at(n)), i).map(Some) })
            .collect::<Result<Vec<_>, _>>()?;
        let op_outputs = op
            .scalars::<i32>(OP_OUTPUTS)
            .unwrap_or_default()
            .into_iter()
            .map(|i| index(&format!("an output of operator {}", at(n)), i))
            .collect::<Result<Vec<_>, _>>()?;
        let options = read_options(n, kind, *op)?;
        if let Some(bad) = options.subgraphs().into_iter().find(|&s| s == g || s >= n_subgraphs) {
            return Err(Error::Invalid(format!(
                "operator {} ({}) runs subgraph {bad}, but the model has {n_subgraphs} (and it is in subgraph {g})",
                at(n),
                kind.name()
            )));
        }
        operators.push(Operator { kind, version: op_version, inputs: op_inputs, outputs: op_outputs, options });
    }
    Ok(ReadSubgraph { name: sg.str(SG_NAME).unwrap_or("").to_string(), tensors, operators, inputs, outputs })
}

fn read_tensor(i: usize, t: T, n_buffers: usize) -> Result<Tensor, Error> {
    let buffer = t.u32(T_BUFFER, 0) as usize;
    if buffer >= n_buffers && !(buffer == 0 && n_buffers == 0) {
        return Err(Error::Invalid(format!("tensor {i} uses buffer {buffer}, but the model has {n_buffers} buffers")));
    }
    let shape = t.scalars::<i32>(T_SHAPE).unwrap_or_default();
    if let Some(d) = shape.iter().find(|&&d| d < 0) {
        return Err(Error::Unsupported(format!("tensor {i} has a dynamic dimension ({d})")));
    }
    // A tensor's data must fit a 32-bit target's address space; larger shapes overflowed
    // element counts downstream (found by fuzzing: fuzz/README.md).
    let dtype = TensorType::from_code(t.i8(T_TYPE, 0));
    let elem_bytes = dtype.size().unwrap_or(1) as u64;
    if shape.iter().try_fold(elem_bytes, |n, &d| n.checked_mul(d as u64).filter(|&b| b <= u32::MAX as u64)).is_none() {
        return Err(Error::Invalid(format!("tensor {i} has shape {shape:?}: its {} data does not fit in 4 GiB", dtype.name())));
    }
    let quantization = t.table(T_QUANT).and_then(|q| {
        let scale = q.scalars::<f32>(Q_SCALE).unwrap_or_default();
        if scale.is_empty() {
            return None;
        }
        Some(Quantization { scale, zero_point: q.scalars::<i64>(Q_ZERO_POINT).unwrap_or_default(), quantized_dimension: q.i32(Q_QUANTIZED_DIMENSION, 0) })
    });
    Ok(Tensor { name: t.str(T_NAME).unwrap_or("").to_string(), shape, dtype, buffer, quantization })
}

fn padding(n: usize, code: u8) -> Result<Padding, Error> {
    match code {
        0 => Ok(Padding::Same),
        1 => Ok(Padding::Valid),
        c => Err(Error::Invalid(format!("operator {n} has padding code {c} (0 SAME, 1 VALID)"))),
    }
}

fn activation(n: usize, code: u8) -> Result<Activation, Error> {
    Ok(match code {
        0 => Activation::None,
        1 => Activation::Relu,
        2 => Activation::ReluN1To1,
        3 => Activation::Relu6,
        4 => Activation::Tanh,
        5 => Activation::SignBit,
        c => return Err(Error::Invalid(format!("operator {n} has fused activation code {c}"))),
    })
}

/// Reads the builtin options of operator `n`. Missing options take the schema's defaults.
fn read_options(n: usize, kind: OpKind, op: T) -> Result<Options, Error> {
    let ty = op.u8(OP_OPTIONS_TYPE, 0);
    let expected = match kind {
        OpKind::Conv2d => BO_CONV2D,
        OpKind::DepthwiseConv2d => BO_DEPTHWISE_CONV2D,
        OpKind::AveragePool2d => BO_POOL2D,
        OpKind::FullyConnected => BO_FULLY_CONNECTED,
        OpKind::Softmax => BO_SOFTMAX,
        OpKind::Add => BO_ADD,
        OpKind::Reshape => BO_RESHAPE,
        OpKind::CallOnce => BO_CALL_ONCE,
        OpKind::If => BO_IF,
        OpKind::While => BO_WHILE,
    };
    // Follow the options offset only when its union type is the one expected: the verifier
    // checks the tables of the known option types alone, so for any other type (NONE
    // included) the offset is unverified and may point anywhere. Found by fuzzing
    // (fuzz/README.md, tests/fuzz_regressions.rs).
    let table = if op.0.vtable().get(OP_OPTIONS) == 0 {
        None
    } else if ty == expected {
        op.table(OP_OPTIONS)
    } else {
        return Err(Error::Invalid(format!("operator {n} ({}) carries builtin options of type {ty}, expected {expected}", kind.name())));
    };
    // An absent table reads every field as its default: read through an empty view.
    let f_u8 = |id: u16, d: u8| table.map(|t| t.u8(slot(id), d)).unwrap_or(d);
    let f_i32 = |id: u16, d: i32| table.map(|t| t.i32(slot(id), d)).unwrap_or(d);
    Ok(match kind {
        OpKind::Conv2d => Options::Conv2d {
            padding: padding(n, f_u8(0, 0))?,
            stride_w: f_i32(1, 0),
            stride_h: f_i32(2, 0),
            activation: activation(n, f_u8(3, 0))?,
            dilation_w: f_i32(4, 1),
            dilation_h: f_i32(5, 1),
        },
        OpKind::DepthwiseConv2d => Options::DepthwiseConv2d {
            padding: padding(n, f_u8(0, 0))?,
            stride_w: f_i32(1, 0),
            stride_h: f_i32(2, 0),
            depth_multiplier: f_i32(3, 0),
            activation: activation(n, f_u8(4, 0))?,
            dilation_w: f_i32(5, 1),
            dilation_h: f_i32(6, 1),
        },
        OpKind::AveragePool2d => Options::Pool2d {
            padding: padding(n, f_u8(0, 0))?,
            stride_w: f_i32(1, 0),
            stride_h: f_i32(2, 0),
            filter_w: f_i32(3, 0),
            filter_h: f_i32(4, 0),
            activation: activation(n, f_u8(5, 0))?,
        },
        OpKind::FullyConnected => {
            Options::FullyConnected { activation: activation(n, f_u8(0, 0))?, weights_format: f_u8(1, 0) as i8, keep_num_dims: f_u8(2, 0) != 0 }
        }
        OpKind::Softmax => Options::Softmax { beta: table.map(|t| t.f32(slot(0), 0.0)).unwrap_or(0.0) },
        OpKind::Add => Options::Add { activation: activation(n, f_u8(0, 0))? },
        OpKind::Reshape => Options::Reshape { new_shape: table.and_then(|t| t.scalars::<i32>(slot(0))) },
        OpKind::CallOnce => Options::CallOnce { init_subgraph: f_i32(0, 0) },
        OpKind::If => Options::If { then_subgraph: f_i32(0, 0), else_subgraph: f_i32(1, 0) },
        OpKind::While => Options::While { cond_subgraph: f_i32(0, 0), body_subgraph: f_i32(1, 0) },
    })
}

#[cfg(test)]
mod tests;
