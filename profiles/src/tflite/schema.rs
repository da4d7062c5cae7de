//! Field ids and union tags of the TFLite FlatBuffer schema that the reader uses.

/// vtable slot of field number `id` (FlatBuffers: 2 bytes of vtable size + 2 bytes of table
/// size, then one u16 per field).
pub(super) const fn slot(id: u16) -> u16 {
    4 + 2 * id
}

// ---- field ids from tensorflow/lite/schema/schema.fbs ----------------------------------
// table Model { version:uint; operator_codes:[OperatorCode]; subgraphs:[SubGraph];
//               description:string; buffers:[Buffer]; ... }
pub(super) const MODEL_VERSION: u16 = slot(0);
pub(super) const MODEL_OPERATOR_CODES: u16 = slot(1);
pub(super) const MODEL_SUBGRAPHS: u16 = slot(2);
pub(super) const MODEL_DESCRIPTION: u16 = slot(3);
pub(super) const MODEL_BUFFERS: u16 = slot(4);
// table OperatorCode { deprecated_builtin_code:byte; custom_code:string; version:int = 1;
//                      builtin_code:BuiltinOperator (int32, added 2020) }
pub(super) const OPCODE_DEPRECATED_BUILTIN: u16 = slot(0);
pub(super) const OPCODE_CUSTOM: u16 = slot(1);
pub(super) const OPCODE_VERSION: u16 = slot(2);
pub(super) const OPCODE_BUILTIN: u16 = slot(3);
// table SubGraph { tensors:[Tensor]; inputs:[int]; outputs:[int]; operators:[Operator]; name:string }
pub(super) const SG_TENSORS: u16 = slot(0);
pub(super) const SG_INPUTS: u16 = slot(1);
pub(super) const SG_OUTPUTS: u16 = slot(2);
pub(super) const SG_OPERATORS: u16 = slot(3);
pub(super) const SG_NAME: u16 = slot(4);
// table Tensor { shape:[int]; type:TensorType; buffer:uint; name:string;
//                quantization:QuantizationParameters; is_variable:bool; ... }
pub(super) const T_SHAPE: u16 = slot(0);
pub(super) const T_TYPE: u16 = slot(1);
pub(super) const T_BUFFER: u16 = slot(2);
pub(super) const T_NAME: u16 = slot(3);
pub(super) const T_QUANT: u16 = slot(4);
// table QuantizationParameters { min:[float]; max:[float]; scale:[float]; zero_point:[long];
//   details:QuantizationDetails (a union: ids 4 = type, 5 = value); quantized_dimension:int }
pub(super) const Q_MIN: u16 = slot(0);
pub(super) const Q_MAX: u16 = slot(1);
pub(super) const Q_SCALE: u16 = slot(2);
pub(super) const Q_ZERO_POINT: u16 = slot(3);
pub(super) const Q_QUANTIZED_DIMENSION: u16 = slot(6);
// table Buffer { data:[ubyte] (force_align: 16); ... }
pub(super) const B_DATA: u16 = slot(0);
// table Operator { opcode_index:uint; inputs:[int]; outputs:[int];
//   builtin_options:BuiltinOptions (union: ids 3 = type, 4 = value); custom_options:[ubyte]; ... }
pub(super) const OP_OPCODE_INDEX: u16 = slot(0);
pub(super) const OP_INPUTS: u16 = slot(1);
pub(super) const OP_OUTPUTS: u16 = slot(2);
pub(super) const OP_OPTIONS_TYPE: u16 = slot(3);
pub(super) const OP_OPTIONS: u16 = slot(4);
pub(super) const OP_CUSTOM_OPTIONS: u16 = slot(5);

// union BuiltinOptions: position in the union's declaration list (NONE = 0).
pub(super) const BO_CONV2D: u8 = 1;
pub(super) const BO_DEPTHWISE_CONV2D: u8 = 2;
pub(super) const BO_POOL2D: u8 = 5;
pub(super) const BO_FULLY_CONNECTED: u8 = 8;
pub(super) const BO_SOFTMAX: u8 = 9;
pub(super) const BO_ADD: u8 = 11;
pub(super) const BO_RESHAPE: u8 = 17;
pub(super) const BO_IF: u8 = 92;
pub(super) const BO_WHILE: u8 = 93;
pub(super) const BO_CALL_ONCE: u8 = 103;

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
