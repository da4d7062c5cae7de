//! From a firmware path and run options to a finished report: the one place every
//! command (run, compare, check, sweep) loads, runs and reports an ELF.

use crate::error::SimError;
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

/// Run options with every optional setting at its default (no limits, no access
/// counting), for commands that run firmware on the user's behalf (compare, check).
pub fn options(board: Board, fidelity: Fidelity, echo: Echo) -> RunOptions {
    RunOptions {
        board,
        fidelity,
        profile: crate::profile::operators::ProfileMode::Auto,
        arena: None,
        model: None,
        vtor: None,
        max_cycles: None,
        max_instructions: None,
        timeout: None,
        count_accesses: false,
        echo,
        semihosting: Default::default(),
        entry_shortcut: true,
        narrow_mem_hooks: true,
        block_counters: true,
        access_log: true,
        interrupt: None,
        placements: Vec::new(),
        stalls: false,
    }
}

/// Read, parse and run the ELF at `path` with `opts`, and build its report.
pub fn run_to_report(path: &Path, opts: &RunOptions) -> Result<Finished, SimError> {
    let bytes = crate::image::read_firmware(path)?;
    let image = Image::parse(&bytes)?;
    let file_name = path.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
    // SYS_GET_CMDLINE without --args: the firmware's file name, as QEMU gives.
    let result = if opts.semihosting.args.is_none() && !file_name.is_empty() {
        let mut named = opts.clone();
        named.semihosting.args = Some(file_name.clone());
        machine::run(image.clone(), &named)?
    } else {
        machine::run(image.clone(), opts)?
    };
    let report = crate::report::build(&file_name, &bytes, &image, opts, &result);
    Ok(Finished { report, stop: result.stop })
}

/// A one-line description of how a run ended, for notes and failures.
pub fn describe_stop(stop: &Stop) -> String {
    match stop {
        Stop::Exit(s) => format!("exited with status {s}"),
        Stop::Fault { kind, message, pc } => format!("faulted at {pc:#010x}: [{kind}] {message}"),
        Stop::Limit { message, pc } | Stop::Parked { message, pc } | Stop::Interrupted { message, pc, .. } => format!("stopped at {pc:#010x}: {message}"),
    }
}
