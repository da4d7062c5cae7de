//! `simbench place FW.elf --board B`: the placement advisor. Which functions and objects to
//! move into faster RAM, with the saving of each move predicted by `--place` what-if runs
//! (no relink) and what the firmware must change to follow it. The work is in
//! `simbench_sim::advisor`; this module reads the options and prints the advice.

use crate::args::{parse_address, parse_fidelity, parse_profile, parse_timeout, read_model, resolve_board};
use crate::exit;
use simbench_profiles::advice::text;
use simbench_sim::advisor::{advise, AdviceOptions};
use simbench_sim::runner::options;
use simbench_sim::{Echo, SimError};
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct PlaceArgs {
    /// Firmware ELF to advise on.
    firmware: PathBuf,
    /// Board preset name (see `simbench boards`) or a board TOML file.
    #[arg(long)]
    board: Option<String>,
    /// Core (m4, m33, m7): alone it selects a zero-wait generic board, where nothing can
    /// get faster.
    #[arg(long)]
    core: Option<String>,
    /// Override the board's core clock in MHz.
    #[arg(long)]
    clock_mhz: Option<f64>,
    /// Timing fidelity: detailed or fast.
    #[arg(long, default_value = "detailed")]
    timing: String,
    /// Output format: text or json (schema `simbench.place/1`, docs/report-schema.md).
    #[arg(long, default_value = "text")]
    format: String,
    /// Write the advice to this file instead of standard output.
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// Symbols (those with the most wait cycles) to time in each RAM region.
    #[arg(long, default_value_t = 12)]
    candidates: usize,
    /// Use at most BYTES of REGION for the moves (e.g. `sram=16K`, `itcm=0x2000`);
    /// repeatable. Default: all the free room.
    #[arg(long, value_name = "REGION=BYTES", value_parser = parse_budget)]
    budget: Vec<(String, u64)>,
    /// Threads for the what-if runs (default: all host CPUs); the advice does not depend
    /// on it.
    #[arg(long)]
    jobs: Option<usize>,
    /// Operator profile: auto, tflm, aot, markers, functions or off.
    #[arg(long, default_value = "auto")]
    profile: String,
    /// Tensor arena / activations buffer to measure: a symbol, or ADDR:SIZE.
    #[arg(long)]
    arena: Option<String>,
    /// Address of the vector table, e.g. 0x60002000.
    #[arg(long, value_parser = parse_address)]
    vtor: Option<u32>,
    /// The .tflite model the firmware runs (AOT bundles).
    #[arg(long)]
    model: Option<PathBuf>,
    /// Stop each run after this many modelled cycles (exit code 5).
    #[arg(long)]
    max_cycles: Option<u64>,
    /// Stop each run after this many seconds of host time (exit code 5).
    #[arg(long)]
    timeout: Option<f64>,
}

/// `REGION=BYTES`, BYTES decimal or 0x hex with an optional K/KiB or M/MiB suffix.
fn parse_budget(s: &str) -> Result<(String, u64), String> {
    let bad = || format!("--budget '{s}': expected REGION=BYTES, e.g. sram=16K or itcm=0x2000");
    let (region, amount) = s.split_once('=').ok_or_else(bad)?;
    let a = amount.trim();
    let (digits, scale) = match a.find(|c: char| c.is_ascii_alphabetic() && c != 'x' && c != 'X') {
        _ if a.starts_with("0x") || a.starts_with("0X") => (a, 1),
        Some(i) => match &a[i..] {
            "K" | "k" | "KiB" => (&a[..i], 1024),
            "M" | "MiB" => (&a[..i], 1 << 20),
            "B" => (&a[..i], 1),
            _ => return Err(bad()),
        },
        None => (a, 1),
    };
    let n = parse_address(digits).map_err(|_| bad())? as u64;
    let region = region.trim();
    if region.is_empty() {
        return Err(bad());
    }
    Ok((region.to_string(), n * scale))
}

pub fn run(args: &PlaceArgs) -> Result<i32, SimError> {
    let json = match args.format.as_str() {
        "json" => true,
        "text" => false,
        other => return Err(SimError::Usage(format!("unknown format '{other}' for place: text or json"))),
    };
    if args.candidates == 0 {
        return Err(SimError::Usage("--candidates 0: time at least one symbol".into()));
    }
    let jobs = match args.jobs {
        Some(0) => return Err(SimError::Usage("--jobs 0: give at least one job".into())),
        Some(n) => n,
        None => std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
    };
    let board = resolve_board(args.core.as_deref(), args.board.as_deref(), args.clock_mhz)?;
    let mut opts = options(board, parse_fidelity(&args.timing)?, Echo::Quiet);
    opts.profile = parse_profile(&args.profile)?;
    opts.arena = args.arena.clone();
    opts.vtor = args.vtor;
    opts.max_cycles = args.max_cycles;
    opts.timeout = parse_timeout(args.timeout)?;
    opts.model = args.model.as_deref().map(read_model).transpose()?;
    opts.interrupt = Some(crate::args::interrupt_flag());
    let advice = match advise(&args.firmware, &opts, &AdviceOptions { candidates: args.candidates, budgets: args.budget.clone(), jobs })? {
        Ok(a) => a,
        Err(stopped) => {
            // No advice on a run that did not finish: say how it ended, exit as a run would.
            eprintln!("simbench: place: the firmware must run to exit(0) to be advised on; it {}", simbench_sim::runner::describe_stop(&stopped.stop));
            let code = exit::of_stop(&stopped.stop);
            return Ok(if code == exit::OK { exit::FIRMWARE_NONZERO } else { code });
        }
    };
    let out = if json { serde_json::to_string_pretty(&advice).map_err(|e| SimError::Internal(format!("advice JSON: {e}")))? + "\n" } else { text(&advice) };
    match &args.output {
        Some(path) => std::fs::write(path, &out).map_err(|e| SimError::Io(format!("cannot write '{}': {e}", path.display())))?,
        None => print!("{out}"),
    }
    Ok(exit::OK)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budgets_parse_with_units() {
        assert_eq!(parse_budget("sram=16K"), Ok(("sram".into(), 16384)));
        assert_eq!(parse_budget("itcm=0x2000"), Ok(("itcm".into(), 8192)));
        assert_eq!(parse_budget("dtcm=1MiB"), Ok(("dtcm".into(), 1 << 20)));
        assert_eq!(parse_budget("sramx=100"), Ok(("sramx".into(), 100)));
        for bad in ["sram", "=4K", "sram=4Q", "sram=", "sram=-1"] {
            assert!(parse_budget(bad).is_err(), "{bad}");
        }
    }
}
