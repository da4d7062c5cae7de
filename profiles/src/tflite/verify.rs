//! What the FlatBuffer verifier checks before anything is read: one marker type per table.

use super::schema::*;
use flatbuffers::{ForwardsUOffset, InvalidFlatbuffer, Vector, Verifiable, Verifier};

// ---- verification ----------------------------------------------------------------------
// Marker types: each describes one table's field types to the verifier. The reader below
// accesses exactly these fields with exactly these types, which is what makes the
// `unsafe` `Table::get` calls sound.

type VecOf<T> = ForwardsUOffset<Vector<'static, ForwardsUOffset<T>>>;
type Scalars<T> = ForwardsUOffset<Vector<'static, T>>;
type Str = ForwardsUOffset<&'static str>;

pub(super) struct ModelV;
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
