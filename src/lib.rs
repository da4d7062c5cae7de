//! The `simbench` application: the command line over the `simbench-sim` engine.
//!
//! `commands` holds one module per subcommand, `args` the argument types they share, and
//! `exit` the documented exit codes. Nothing else in the workspace knows about the
//! command line.

pub mod args;
pub mod commands;
pub mod exit;
