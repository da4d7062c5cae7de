//! A GDB remote serial protocol server (`simbench --gdb [ADDR:]PORT`): gdb-multiarch, or
//! an IDE front-end such as VS Code's cortex-debug, debugs the firmware on the modelled
//! core as it would through a probe, and `monitor cycles` tells where in modelled time
//! the core stands.
//!
//! - `packet`: framing, checksums, escaping (pure, unit-tested);
//! - `command`: a packet as a command (pure; anything parses to something);
//! - `target`: the target description (registers) and the memory map;
//! - `monitor`: the `monitor` commands;
//! - `session`: one client's session over a `Target` (unit-tested with a mock);
//! - `server`: TCP, and the machine (`machine::debug::Debuggee`) as the target.
//!
//! Timing is unaffected: see `machine::debug`.

pub mod command;
pub mod monitor;
pub mod packet;
pub mod server;
pub mod session;
pub mod target;

pub use server::GdbServer;
