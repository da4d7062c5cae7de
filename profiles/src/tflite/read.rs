//! Reading a verified model: tables into tensors, operators and their options.

use super::schema::*;
use super::verify::ModelV;
use super::{Activation, Error, Model, OpKind, Operator, Options, Padding, Quantization, Subgraph, Tensor, TensorType};
use flatbuffers::{ForwardsUOffset, Table, Vector, Verifiable, Verifier, VerifierOptions};

// ---- reading (after verification) ------------------------------------------------------

/// A verified table. Every accessor reads a field with the type its marker verified.
#[derive(Clone, Copy)]
pub(super) struct T<'a>(pub(super) Table<'a>);

impl<'a> T<'a> {
    fn u32(&self, slot: u16, default: u32) -> u32 {
        // SAFETY: the field was verified as a u32 (see the marker types in `verify`).
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
    pub(super) fn tables(&self, slot: u16) -> Vec<T<'a>> {
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
