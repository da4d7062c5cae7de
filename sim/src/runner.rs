//! From a firmware path and run options to a finished report: the one place the run
//! command, `simbench compare` and `simbench check` load, run and report an ELF.

use crate::error::{exit_code, SimError};
use crate::image::Image;
use crate::machine::{self, Echo, RunOptions, Stop};
use simbench_cores::board::Board;
use simbench_cores::Fidelity;
use simbench_profiles::Report;
use std::path::Path;

/// A finished run: the report and how the firmware stopped.
#[derive(Clone, Debug)]
pub struct Finished {
    pub report: Report,
    pub stop: Stop,
}

impl Finished {
    /// The exit code this outcome maps to (README's exit-code table).
    pub fn exit_code(&self) -> i32 {
        stop_exit_code(&self.stop)
    }
}

/// Exit code of a run outcome: 0 exit(0), 1 non-zero exit, 4 fault, 5 limit.
pub fn stop_exit_code(stop: &Stop) -> i32 {
    match stop {
        Stop::Exit(0) => exit_code::OK,
        Stop::Exit(_) => exit_code::FIRMWARE_NONZERO,
        Stop::Fault { .. } => exit_code::FIRMWARE_FAULT,
        Stop::Limit { .. } => exit_code::LIMIT,
    }
}

/// Run options with every optional setting at its default (no limits, no access
/// counting), for commands that run firmware on the user's behalf (compare, check).
pub fn options(board: Board, fidelity: Fidelity, echo: Echo) -> RunOptions {
    RunOptions {
        board,
        fidelity,
        profile: crate::operators::ProfileMode::Auto,
        arena: None,
        model: None,
        vtor: None,
        max_cycles: None,
        max_instructions: None,
        timeout: None,
        count_accesses: false,
        echo,
        entry_shortcut: true,
    }
}

/// Read, parse and run the ELF at `path` with `opts`, and build its report.
pub fn run_to_report(path: &Path, opts: &RunOptions) -> Result<Finished, SimError> {
    let bytes = crate::image::read_firmware(path)?;
    let image = Image::parse(&bytes)?;
    let result = machine::run(image.clone(), opts)?;
    let file_name = path.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
    let report = crate::report::build(&file_name, &bytes, &image, opts, &result);
    Ok(Finished { report, stop: result.stop })
}

/// Profiling and run-control options shared by `compare` and `check` (the run command
/// has its own).
#[derive(clap::Args, Debug, Clone)]
pub struct RunControl {
    /// Operator profile: auto, tflm, aot, markers, functions (function profile only) or off.
    #[arg(long, default_value = "auto")]
    pub profile: String,
    /// Tensor arena / activations buffer to measure: a symbol, or ADDR:SIZE.
    #[arg(long)]
    pub arena: Option<String>,
    /// Address of the vector table (initial SP, reset handler), e.g. 0x60002000.
    #[arg(long, value_parser = parse_address)]
    pub vtor: Option<u32>,
    /// Stop a run after this many modelled cycles (exit code 5).
    #[arg(long)]
    pub max_cycles: Option<u64>,
    /// Stop a run after this many instructions (exit code 5).
    #[arg(long)]
    pub max_instructions: Option<u64>,
    /// Stop a run after this many seconds of host time (exit code 5).
    #[arg(long)]
    pub timeout: Option<f64>,
}

impl RunControl {
    /// Copy the settings into `opts`.
    pub fn apply(&self, opts: &mut RunOptions) -> Result<(), SimError> {
        opts.profile = crate::operators::ProfileMode::parse(&self.profile)
            .ok_or_else(|| SimError::Usage(format!("unknown --profile '{}': auto, tflm, aot, markers, functions or off", self.profile)))?;
        opts.arena = self.arena.clone();
        opts.vtor = self.vtor;
        opts.max_cycles = self.max_cycles;
        opts.max_instructions = self.max_instructions;
        opts.timeout = match self.timeout {
            Some(t) if t.is_finite() && t > 0.0 && t < 1e9 => Some(std::time::Duration::from_secs_f64(t)),
            Some(t) => return Err(SimError::Usage(format!("--timeout {t}: give a positive number of seconds"))),
            None => None,
        };
        Ok(())
    }
}

fn parse_address(s: &str) -> Result<u32, String> {
    let t = s.trim();
    let parsed = match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        Some(hex) => u32::from_str_radix(&hex.replace('_', ""), 16),
        None => t.replace('_', "").parse::<u32>(),
    };
    parsed.map_err(|_| format!("'{s}' is not a 32-bit address (decimal or 0x hex)"))
}

/// A one-line description of how a run ended, for notes and failures.
pub fn describe_stop(stop: &Stop) -> String {
    match stop {
        Stop::Exit(s) => format!("exited with status {s}"),
        Stop::Fault { kind, message, pc } => format!("faulted at {pc:#010x}: [{kind}] {message}"),
        Stop::Limit { message, pc } => format!("stopped at {pc:#010x}: {message}"),
    }
}

/// Thousands separators for cycle counts in tables.
pub fn group(n: u64) -> String {
    let digits = n.to_string();
    let groups: Vec<&str> = digits.as_bytes().rchunks(3).rev().map(|g| std::str::from_utf8(g).unwrap_or_default()).collect();
    groups.join(",")
}
