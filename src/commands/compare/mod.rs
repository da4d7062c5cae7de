//! `simbench compare A.elf B.elf`: two runs side by side, per operator (or per function
//! when a run has no operators), with the totals, latency and inferences per second at
//! each board's clock, and the ratio B/A.
//!
//! Works for an interpreter against an AOT bundle of one model, one model on two boards,
//! or two builds of one engine. Operators are matched by (invocation, index): the position
//! in the model's operator list; a pair whose `op` differs is flagged, not re-matched. A
//! bundle that does not embed its model (Glow) needs it (`--model`, or `--model-a` /
//! `--model-b`) to put its calls at the model's operator positions.
//! Everything printed comes from the reports outside `host`, so the output is
//! deterministic.

use crate::args::{parse_fidelity, read_model, resolve_board, RunControl};
use crate::exit;
use serde::Serialize;
use simbench_profiles::profile::{FunctionStat, OperatorRow};
use simbench_profiles::render::group;
use simbench_profiles::Report;
use simbench_sim::retime::run_with_range;
use simbench_sim::runner::{self, Finished};
use simbench_sim::Echo;
use simbench_sim::SimError;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::PathBuf;

mod pairing;
mod ranges;
mod render;
use pairing::*;
use render::*;

pub const SCHEMA: &str = "simbench.compare/1";

/// Functions listed when comparing by function.
pub const TOP_FUNCTIONS: usize = 30;

/// `simbench compare` options.
#[derive(clap::Args, Debug)]
pub struct CompareArgs {
    /// Firmware ELF A (the reference: ratios are B/A).
    pub a: PathBuf,
    /// Firmware ELF B.
    pub b: PathBuf,
    /// Board for both runs: a preset name (see `simbench boards`) or a board TOML file.
    #[arg(long)]
    pub board: Option<String>,
    /// Board for A (overrides --board).
    #[arg(long)]
    pub board_a: Option<String>,
    /// Board for B (overrides --board).
    #[arg(long)]
    pub board_b: Option<String>,
    /// Core to model (m4, m33, m7): alone it selects generic-<core> for both runs; with a
    /// board it must match the board's core.
    #[arg(long)]
    pub core: Option<String>,
    /// Override both boards' clock in MHz (changes latency, not cycles).
    #[arg(long)]
    pub clock_mhz: Option<f64>,
    /// Timing fidelity for both runs: detailed or fast.
    #[arg(long, default_value = "detailed")]
    pub timing: String,
    /// The .tflite model the firmware runs, for operator names, shapes and MACs when an
    /// image does not embed it (AOT and Glow bundles): once for both runs, or twice (A,
    /// then B).
    #[arg(long, action = clap::ArgAction::Append)]
    pub model: Vec<PathBuf>,
    /// The model of A (overrides --model).
    #[arg(long)]
    pub model_a: Option<PathBuf>,
    /// The model of B (overrides --model).
    #[arg(long)]
    pub model_b: Option<PathBuf>,
    /// Output format: text, json or csv.
    #[arg(long, default_value = "text")]
    pub format: String,
    /// Write the comparison to this file instead of standard output.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub control: RunControl,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompareFormat {
    Text,
    Json,
    Csv,
}

impl CompareFormat {
    pub fn parse(s: &str) -> Option<CompareFormat> {
        match s {
            "text" | "table" => Some(CompareFormat::Text),
            "json" => Some(CompareFormat::Json),
            "csv" => Some(CompareFormat::Csv),
            _ => None,
        }
    }
}

/// `simbench compare`: run both ELFs, print the comparison; returns the exit code (0,
/// or the first non-zero run outcome code: 1 non-zero firmware exit, 4 fault, 5 limit —
/// the comparison is printed in every case).
pub fn run(args: &CompareArgs) -> Result<i32, SimError> {
    let format =
        CompareFormat::parse(&args.format).ok_or_else(|| SimError::Usage(format!("unknown format '{}' for compare: text, json or csv", args.format)))?;
    let fidelity = parse_fidelity(&args.timing)?;
    let board_for = |label: &str, specific: &Option<String>| {
        let name = specific.as_deref().or(args.board.as_deref());
        if name.is_none() && args.core.is_none() {
            return Err(SimError::Usage(format!(
                "no board for {label}: give --board NAME (both runs), --board-a NAME and --board-b NAME, or --core m4|m33|m7 (see `simbench boards`)"
            )));
        }
        resolve_board(args.core.as_deref(), name, args.clock_mhz)
    };
    let mut opts_a = runner::options(board_for("A", &args.board_a)?, fidelity, Echo::Quiet);
    let mut opts_b = runner::options(board_for("B", &args.board_b)?, fidelity, Echo::Quiet);
    args.control.apply(&mut opts_a)?;
    args.control.apply(&mut opts_b)?;
    let (model_a, model_b) = models(args)?;
    opts_a.model = model_a.as_deref().map(read_model).transpose()?;
    opts_b.model = model_b.as_deref().map(read_model).transpose()?;
    // Both runs at once: they share nothing, and the reports do not depend on timing.
    let (ra, rb) = std::thread::scope(|s| {
        let with_ranges = !args.control.no_ranges;
        let ha = s.spawn(move || run_with_range(&args.a, &opts_a, with_ranges));
        let rb = run_with_range(&args.b, &opts_b, with_ranges);
        (ha.join().unwrap_or_else(|_| Err(SimError::Internal("the run of A panicked".into()))), rb)
    });
    let label = |which: &str, p: &PathBuf, e: SimError| -> SimError {
        let m = |inner: String| format!("{which} ({}): {inner}", p.display());
        match e {
            SimError::Usage(i) => SimError::Usage(m(i)),
            SimError::Io(i) => SimError::Io(m(i)),
            SimError::BadElf(i) => SimError::BadElf(m(i)),
            SimError::BadBoard(i) => SimError::BadBoard(m(i)),
            SimError::Internal(i) => SimError::Internal(m(i)),
            SimError::Debugger(i) => SimError::Debugger(m(i)),
        }
    };
    let fa: Finished = ra.map_err(|e| label("A", &args.a, e))?;
    let fb: Finished = rb.map_err(|e| label("B", &args.b, e))?;
    let c = compare(&fa.report, &fb.report);
    let out = render(&c, format);
    match &args.output {
        Some(p) => std::fs::write(p, &out).map_err(|e| SimError::Io(format!("cannot write comparison '{}': {e}", p.display())))?,
        None => print!("{out}"),
    }
    for (which, f, p) in [("A", &fa, &args.a), ("B", &fb, &args.b)] {
        if exit::of_stop(&f.stop) != exit::OK {
            eprintln!("simbench: {which} ({}) {}", p.display(), runner::describe_stop(&f.stop));
        }
    }
    Ok([exit::of_stop(&fa.stop), exit::of_stop(&fb.stop)].into_iter().find(|c| *c != exit::OK).unwrap_or(exit::OK))
}

/// The model files of A and B: `--model-a`/`--model-b`, else `--model` given once (both
/// runs) or twice (A, then B).
pub(crate) fn models(args: &CompareArgs) -> Result<(Option<PathBuf>, Option<PathBuf>), SimError> {
    if args.model.len() > 2 {
        return Err(SimError::Usage(format!("--model given {} times: once (both runs) or twice (A, then B)", args.model.len())));
    }
    let a = args.model_a.clone().or_else(|| args.model.first().cloned());
    let b = args.model_b.clone().or_else(|| args.model.get(1).or(args.model.first()).cloned());
    Ok((a, b))
}

#[cfg(test)]
pub(crate) mod tests;
