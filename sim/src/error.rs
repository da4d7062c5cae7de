//! Errors that stop simbench before or around a run (the application maps them to exit
//! codes).
//!
//! Firmware faults and limits are not errors here: they are run outcomes and still
//! produce a (partial) report; see `run::Outcome`.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SimError {
    /// Wrong command-line use.
    Usage(String),
    /// A file that cannot be read.
    Io(String),
    /// The firmware file is not a usable Cortex-M ELF.
    BadElf(String),
    /// The board description is invalid, or the image does not fit it.
    BadBoard(String),
    /// The emulator could not be set up (a bug or an unsupported host).
    Internal(String),
    /// The GDB server could not listen or lost its connection (`--gdb`).
    Debugger(String),
}

impl SimError {
    pub fn kind(&self) -> &'static str {
        match self {
            SimError::Usage(_) => "usage",
            SimError::Io(_) => "io",
            SimError::BadElf(_) => "bad-elf",
            SimError::BadBoard(_) => "bad-board",
            SimError::Internal(_) => "internal",
            SimError::Debugger(_) => "debugger",
        }
    }
}

impl fmt::Display for SimError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SimError::Usage(m) => write!(f, "usage error: {m}"),
            SimError::Io(m) => write!(f, "{m}"),
            SimError::BadElf(m) => write!(f, "bad firmware ELF: {m}"),
            SimError::BadBoard(m) => write!(f, "bad board: {m}"),
            SimError::Internal(m) => write!(f, "internal error: {m} (please report this)"),
            SimError::Debugger(m) => write!(f, "GDB server: {m}"),
        }
    }
}

impl std::error::Error for SimError {}
