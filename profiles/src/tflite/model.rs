//! The model as the reader gives it: subgraph 0's tensors and operators, the buffers and
//! the other subgraphs, and why a file could not be read.

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
    pub(super) fn from_code(c: i8) -> Self {
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
