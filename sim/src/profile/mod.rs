//! Profiles of a run: the shadow call stack (`callstack`: functions, call edges, stack
//! samples) and, on top of it, which operator of an inference cost what (`operators`, one
//! module per engine).

pub mod callstack;
pub mod operators;
