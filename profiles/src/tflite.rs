//! A reader for TensorFlow Lite model files (FlatBuffer schema version 3, identifier `TFL3`).
//!
//! Why it exists: the AOT bundle generator (`runtime/aot`) compiles a model into C, and the
//! profiler names TFLM operators from the model embedded in a firmware. Both need the same
//! small, safe view of subgraph 0: tensors, buffers, operators and their builtin options.
//! The other subgraphs (run by the control-flow operators CALL_ONCE, IF and WHILE) are read
//! too, into [`Model::subgraphs`], so that the profiler can say what such an operator ran.
//!
//! How: the whole file is first checked by the `flatbuffers` crate's `Verifier` against the
//! table layouts declared in `verify` (every offset, vector length and string is bounds-checked),
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
//!
//! The modules: `model` (the model as read: tensors, operators, options), `schema` (the
//! field ids of the TFLite schema), `verify` (the table layouts the verifier checks) and
//! `read` (reading the verified tables into a [`Model`]).

mod model;
mod read;
mod schema;
mod verify;

pub use model::{Activation, Error, Model, OpKind, Operator, Options, Padding, Quantization, Subgraph, Tensor, TensorType};
pub use read::parse;

#[cfg(test)]
mod tests;
