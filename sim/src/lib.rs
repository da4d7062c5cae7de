//! simbench-sim: the emulator side of simbench.
//!
//! `image` parses firmware ELFs, `machine` runs them on unicorn with the timing models of
//! `simbench-cores` attached, `ppb`, `nvic` and `scs` model the System Control Space and `semihost` the debugger's
//! file and console calls,
//! `report` assembles the measurements, `cli` is the command line.

mod block_index;
pub mod calibrate;
pub mod check;
pub mod cli;
pub mod compare;
pub mod error;
pub mod image;
pub mod machine;
pub mod memtruth;
pub mod merge;
pub mod nvic;
pub mod operators;
pub mod peripherals;
pub mod ppb;
pub mod profiler;
pub mod report;
pub mod runner;
pub mod scs;
pub mod semihost;
pub mod sweep;

pub use error::SimError;
pub use image::Image;
pub use machine::{run, Echo, RunOptions, RunResult, Stop};
