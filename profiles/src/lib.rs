//! simbench-profiles: reports built from the simulator's measurements, and renderers.

pub mod advice;
pub mod export;
pub mod flamegraph;
pub mod profile;
pub mod render;
pub mod report;
pub mod stalls;
pub mod tflite;

pub use render::{render, Format};
pub use report::Report;
