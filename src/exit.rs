//! Process exit codes (README, "Exit codes") and how errors and run outcomes map to them.

use simbench_sim::{SimError, Stop};

pub const OK: i32 = 0;
pub const FIRMWARE_NONZERO: i32 = 1;
pub const USAGE: i32 = 2;
pub const BAD_INPUT: i32 = 3;
pub const FIRMWARE_FAULT: i32 = 4;
pub const LIMIT: i32 = 5;
pub const INTERNAL: i32 = 6;
pub const PARKED: i32 = 7;
/// `--gdb`: the GDB server cannot listen (the port is in use, the address not local).
pub const DEBUGGER: i32 = 8;

/// Exit code of an error that stopped simbench before or around a run.
pub fn of_error(e: &SimError) -> i32 {
    match e {
        SimError::Usage(_) => USAGE,
        SimError::Io(_) | SimError::BadElf(_) | SimError::BadBoard(_) => BAD_INPUT,
        SimError::Internal(_) => INTERNAL,
        SimError::Debugger(_) => DEBUGGER,
    }
}

/// Exit code of a run outcome: 0 exit(0), 1 non-zero exit, 4 fault, 5 limit.
pub fn of_stop(stop: &Stop) -> i32 {
    match stop {
        Stop::Exit(0) => OK,
        Stop::Exit(_) => FIRMWARE_NONZERO,
        Stop::Fault { .. } => FIRMWARE_FAULT,
        Stop::Limit { .. } => LIMIT,
        Stop::Parked { .. } => PARKED,
        // The shell's convention: 128 + the signal number (130 for SIGINT, 143 for SIGTERM).
        Stop::Interrupted { signal, .. } => 128 + signal,
    }
}
