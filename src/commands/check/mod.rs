//! `simbench check FW.elf --baseline budgets.json`: gate CI on cycle budgets.
//!
//! A budgets file (`simbench.budgets/1`) holds the whole-run total, the inference total,
//! every operator and the top functions by inclusive cycles of one run; `--write-baseline`
//! writes it. A check runs the firmware again and fails (exit 1) when an item exceeds its
//! budget × (1 + tolerance), or when the operator list no longer matches the baseline.
//! Improvements beyond the tolerance are notes, not failures. simbench is deterministic:
//! the same ELF and options give the same cycles, so any difference is a real change.

use crate::args::{parse_fidelity, resolve_board, RunControl};
use crate::exit;
use serde::{Deserialize, Serialize};
use simbench_profiles::flamegraph::xml_escape;
use simbench_profiles::render::group;
use simbench_profiles::Report;
use simbench_sim::runner;
use simbench_sim::SimError;
use simbench_sim::{Echo, Stop};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::{Path, PathBuf};

mod budgets;
mod render;
mod verdict;
use budgets::*;
use render::*;
use verdict::*;

pub const SCHEMA: &str = "simbench.budgets/1";
pub const RESULT_SCHEMA: &str = "simbench.check/1";

/// Functions kept in a baseline (by inclusive cycles).
pub const BASELINE_FUNCTIONS: usize = 20;

/// `simbench check` options.
#[derive(clap::Args, Debug)]
pub struct CheckArgs {
    /// Firmware ELF to run.
    pub firmware: PathBuf,
    /// Budgets file (JSON, schema simbench.budgets/1).
    #[arg(long)]
    pub baseline: PathBuf,
    /// Allowed overrun over each budget: a percentage (`2%`) or a fraction (`0.02`).
    #[arg(long, default_value = "0%")]
    pub tolerance: String,
    /// Run the firmware and (over)write the baseline from this run instead of checking.
    #[arg(long)]
    pub write_baseline: bool,
    /// Write a JUnit XML report (one test case per budget item) to this file.
    #[arg(long)]
    pub junit: Option<PathBuf>,
    /// Append a Markdown summary to this file (e.g. "$GITHUB_STEP_SUMMARY").
    #[arg(long)]
    pub summary: Option<PathBuf>,
    /// Board preset or board TOML file (default: the board recorded in the baseline).
    #[arg(long)]
    pub board: Option<String>,
    /// Core to model (m4, m33, m7); alone it selects generic-<core>.
    #[arg(long)]
    pub core: Option<String>,
    /// Timing fidelity: detailed or fast (default: the one recorded in the baseline,
    /// else detailed).
    #[arg(long)]
    pub timing: Option<String>,
    /// Output format: text or json.
    #[arg(long, default_value = "text")]
    pub format: String,
    #[command(flatten)]
    pub control: RunControl,
}

fn write_file(path: &Path, text: &str, what: &str) -> Result<(), SimError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| SimError::Io(format!("cannot create directory '{}' for the {what}: {e}", dir.display())))?;
    }
    std::fs::write(path, text).map_err(|e| SimError::Io(format!("cannot write the {what} '{}': {e}", path.display())))
}

fn append_file(path: &Path, text: &str) -> Result<(), SimError> {
    use std::io::Write as _;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| SimError::Io(format!("cannot open the summary file '{}': {e}", path.display())))?;
    f.write_all(text.as_bytes()).map_err(|e| SimError::Io(format!("cannot write the summary file '{}': {e}", path.display())))
}

/// `simbench check`: returns the exit code (0 passed, 1 budget exceeded / operator list
/// changed / firmware exited non-zero, 4 firmware fault, 5 limit).
pub fn run(args: &CheckArgs) -> Result<i32, SimError> {
    let tolerance = parse_tolerance(&args.tolerance)?;
    if args.format != "text" && args.format != "json" {
        return Err(SimError::Usage(format!("unknown format '{}' for check: text or json", args.format)));
    }
    // Checking needs the baseline first (fail before running); writing may reuse the
    // board and timing of an existing one.
    let baseline = if args.write_baseline {
        if args.board.is_none() && args.core.is_none() {
            Budgets::load(&args.baseline).ok()
        } else {
            None
        }
    } else {
        Some(Budgets::load(&args.baseline)?)
    };
    let board = match (&args.board, &args.core, &baseline) {
        (None, None, Some(b)) => resolve_board(None, Some(&b.board), None).map_err(|e| {
            SimError::Usage(format!("the baseline was written on board '{}', which is not a built-in preset ({e}): pass --board FILE.toml", b.board))
        })?,
        _ => resolve_board(args.core.as_deref(), args.board.as_deref(), None)?,
    };
    let timing = args.timing.clone().or_else(|| baseline.as_ref().map(|b| b.timing.clone())).unwrap_or_else(|| "detailed".into());
    let fidelity = parse_fidelity(&timing)?;
    if let (false, Some(b)) = (args.write_baseline, &baseline) {
        if b.board != board.name {
            return Err(SimError::Usage(format!(
                "the baseline '{}' holds budgets for board '{}', but this run is on '{}': budgets are per board. Check on --board {} or write a baseline for '{}' (--write-baseline)",
                args.baseline.display(),
                b.board,
                board.name,
                b.board,
                board.name
            )));
        }
        if b.timing != fidelity.name() {
            return Err(SimError::Usage(format!(
                "the baseline '{}' was written with --timing {}, but this run uses --timing {}: budgets are per timing mode",
                args.baseline.display(),
                b.timing,
                fidelity.name()
            )));
        }
    }
    let mut opts = runner::options(board, fidelity, Echo::Quiet);
    args.control.apply(&mut opts)?;
    let finished = runner::run_to_report(&args.firmware, &opts)?;
    let report = &finished.report;
    if args.write_baseline {
        if finished.stop != Stop::Exit(0) {
            eprintln!("simbench: not writing a baseline: the firmware {}", runner::describe_stop(&finished.stop));
            return Ok(exit::of_stop(&finished.stop));
        }
        let b = Budgets::from_report(report);
        write_file(&args.baseline, &b.to_json(), "baseline")?;
        println!(
            "wrote {} ({}): total {} cycles, {} operator budget(s), {} function budget(s), from {} on {} ({} timing)",
            args.baseline.display(),
            SCHEMA,
            group(b.total_cycles),
            b.operators.len(),
            b.functions.len(),
            b.firmware,
            b.board,
            b.timing
        );
        if b.operators.is_empty() {
            eprintln!("simbench: note: the run had no operator rows, so the baseline budgets only the total and functions");
        }
        return Ok(exit::OK);
    }
    let budgets = baseline.expect("loaded above when checking");
    let result = check(report, &budgets, tolerance, &args.baseline.display().to_string());
    if let Some(p) = &args.junit {
        write_file(p, &junit(&result), "JUnit report")?;
    }
    if let Some(p) = &args.summary {
        append_file(p, &markdown(&result))?;
    }
    let out = if args.format == "json" { serde_json::to_string_pretty(&result).map_err(|e| SimError::Internal(e.to_string()))? + "\n" } else { text(&result) };
    print!("{out}");
    Ok(match &finished.stop {
        Stop::Fault { .. } | Stop::Limit { .. } | Stop::Parked { .. } | Stop::Interrupted { .. } => {
            eprintln!("simbench: the firmware {}", runner::describe_stop(&finished.stop));
            exit::of_stop(&finished.stop)
        }
        _ if result.passed => exit::OK,
        _ => exit::FIRMWARE_NONZERO,
    })
}

#[cfg(test)]
mod tests;
