//! simbench-sim: the engine as a library. No command line here: the `simbench`
//! application (`src/`) and library users (tests, benches, a GDB stub) drive the same
//! machine.
//!
//! - `image`: the firmware ELF (segments, symbols, vector table, embedded models);
//! - `machine`: unicorn set up as the board's Cortex-M with the timing models of
//!   `simbench-cores` attached: set-up, block entry, the run loop, faults, exceptions;
//! - `peripherals`: the System Control Space (NVIC, SCB, SysTick, DWT, ITM, MPU, FPU
//!   context) and the vendor registers a board preset models;
//! - `semihosting`: the debugger's console, clock and file calls;
//! - `profile`: the shadow call stack and the per-engine operator profiles;
//! - `memtruth`: flash, RAM, stack, heap and arena use;
//! - `report` and `runner`: from a run to the report, the library's public face;
//! - `retime`: the estimate's range, from re-timing runs on the board's corners;
//! - `gdb`: a GDB remote serial protocol server driving the machine (`--gdb`).

pub mod advisor;
pub mod error;
pub mod gdb;
pub mod image;
pub mod machine;
pub mod memtruth;
pub mod peripherals;
pub mod placement;
pub mod profile;
pub mod report;
pub mod retime;
pub mod runner;
pub mod semihosting;
pub mod stalls;

pub use error::SimError;
pub use image::Image;
pub use machine::{run, Echo, RunOptions, RunResult, Stop};
pub use profile::operators;
