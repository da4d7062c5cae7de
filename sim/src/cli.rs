//! Command-line entry: `simbench FIRMWARE.elf [options]` and `simbench boards`.

use crate::error::{exit_code, SimError};
use crate::machine::{Echo, RunOptions, Stop};
use clap::{Args, Parser, Subcommand};
use simbench_cores::board::{Board, PRESETS};
use simbench_cores::{CoreKind, Fidelity};
use simbench_profiles::{render, Format};
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Parser, Debug)]
#[command(
    name = "simbench",
    version,
    about = "Cycle-approximate Cortex-M simulator: runs firmware ELFs and reports modelled cycles",
    args_conflicts_with_subcommands = true,
    after_help = "Exit codes: 0 ok, 1 firmware exited non-zero, 2 usage, 3 bad ELF or board file, 4 firmware fault, 5 limit reached, 6 internal error"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// List the built-in board presets (core, clock, memory regions).
    Boards {
        /// Output format: text or json.
        #[arg(long, default_value = "text")]
        format: String,
    },
    /// Run the calibration microbenchmarks and print expected vs simulated cycles.
    Calibrate {
        /// Calibration manifests (default: fixtures/calib/manifest.json and memory.json).
        manifests: Vec<PathBuf>,
        /// Timing fidelity: fast or detailed.
        #[arg(long, default_value = "detailed")]
        timing: String,
        /// Output format: text or json.
        #[arg(long, default_value = "text")]
        format: String,
        /// Exit with status 1 when a benchmark is outside its tolerance.
        #[arg(long)]
        strict: bool,
    },
    /// Compile an int8 TFLite model into an ahead-of-time C bundle (Glow-style).
    Aot {
        /// The .tflite model.
        model: PathBuf,
        /// Output directory for the bundle files.
        #[arg(short, long)]
        output: PathBuf,
        /// Bundle name (a C identifier; default: the model's file stem).
        #[arg(long)]
        name: Option<String>,
    },
    /// Run two firmware ELFs and compare them per operator (or per function), with totals,
    /// latency, inferences per second and the ratio B/A.
    Compare(crate::compare::CompareArgs),
    /// Run a firmware ELF and check its cycles against a budgets file (CI gate); exit 1
    /// when a budget is exceeded.
    Check(crate::check::CheckArgs),
    /// Run firmware × boards (or cores) × clocks in parallel and print one row per run;
    /// `--shard I/N` runs a slice of the matrix for CI matrices and clusters.
    Sweep(crate::sweep::SweepArgs),
    /// Merge the JSON outputs of `simbench sweep --shard I/N` into the unsharded sweep.
    Merge(crate::merge::MergeArgs),
}

#[derive(Args, Debug)]
struct RunArgs {
    /// Firmware ELF to run.
    firmware: Option<PathBuf>,
    /// Core to model (m4, m33, m7); alone it selects the zero-wait board generic-<core>.
    #[arg(long)]
    core: Option<String>,
    /// Board preset name (see `simbench boards`) or a board TOML file.
    #[arg(long)]
    board: Option<String>,
    /// Override the board's core clock in MHz.
    #[arg(long)]
    clock_mhz: Option<f64>,
    /// Report format: `text` (or `table`, the default readable report), `json` (the versioned
    /// report), `csv` (one row per operator, or per function), `folded` (folded stacks),
    /// `svg` (flame graph), `trace` (Chrome trace JSON for Perfetto / chrome://tracing).
    #[arg(long, default_value = "text")]
    format: String,
    /// Timing fidelity: `detailed` (caches, flash accelerator buffers, operand-dependent
    /// divide, Cortex-M7 branch predictor) or `fast` (static block costs, branch
    /// outcomes, region wait states; caches and accelerators always hit).
    #[arg(long, default_value = "detailed")]
    timing: String,
    /// Operator profile: auto (picks tflm, aot or markers from what the firmware does),
    /// tflm, aot, markers, functions (function profile only) or off.
    #[arg(long, default_value = "auto")]
    profile: String,
    /// Tensor arena / activations buffer to measure: a symbol, or ADDR:SIZE (default:
    /// `tensor_arena` or `activations` when the ELF has one).
    #[arg(long)]
    arena: Option<String>,
    /// The .tflite model the firmware runs, for operator shapes and MACs when the image does
    /// not embed it (AOT bundles).
    #[arg(long)]
    model: Option<PathBuf>,
    /// Write the report to this file instead of standard output.
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// Address of the vector table (initial SP, reset handler), e.g. 0x60002000.
    #[arg(long, value_parser = parse_u32)]
    vtor: Option<u32>,
    /// Stop after this many modelled cycles (exit code 5).
    #[arg(long)]
    max_cycles: Option<u64>,
    /// Stop after this many instructions (exit code 5).
    #[arg(long)]
    max_instructions: Option<u64>,
    /// Stop after this many seconds of host time (exit code 5).
    #[arg(long)]
    timeout: Option<f64>,
    /// Hook every memory region to count data reads and writes (slower).
    #[arg(long)]
    count_accesses: bool,
    /// Do not echo firmware output while it runs (it stays in the report).
    #[arg(short, long)]
    quiet: bool,
}

fn parse_u32(s: &str) -> Result<u32, String> {
    let t = s.trim();
    let parsed = match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        Some(hex) => u32::from_str_radix(&hex.replace('_', ""), 16),
        None => t.replace('_', "").parse::<u32>(),
    };
    parsed.map_err(|_| format!("'{s}' is not a 32-bit address (decimal or 0x hex)"))
}

/// Resolve `--core`, `--board` and `--clock-mhz` into a board.
pub fn resolve_board(core: Option<&str>, board: Option<&str>, clock_mhz: Option<f64>) -> Result<Board, SimError> {
    let core = match core {
        Some(c) => Some(CoreKind::parse(c).ok_or_else(|| SimError::Usage(format!("unknown core '{c}': choose m4, m33 or m7")))?),
        None => None,
    };
    let mut b = match (board, core) {
        (Some(name), _) => match Board::preset(name) {
            Some(b) => b,
            None if Path::new(name).exists() || name.ends_with(".toml") => {
                let text = std::fs::read_to_string(name).map_err(|e| SimError::Io(format!("cannot read board file '{name}': {e}")))?;
                Board::from_toml(&text).map_err(|e| SimError::BadBoard(format!("{name}: {e}")))?
            }
            None => {
                let names: Vec<&str> = PRESETS.iter().map(|(n, _)| *n).collect();
                return Err(SimError::Usage(format!("unknown board '{name}': built-in presets are {} (or pass a .toml file)", names.join(", "))));
            }
        },
        (None, Some(c)) => Board::generic(c),
        (None, None) => {
            return Err(SimError::Usage(
                "choose what to simulate: --core m4|m33|m7 (zero-wait generic board) or --board NAME|FILE.toml (see `simbench boards`)".into(),
            ))
        }
    };
    if let (Some(c), Some(_)) = (core, board) {
        if c != b.core {
            return Err(SimError::Usage(format!("board '{}' has a Cortex-{} core, but --core {} was given", b.name, b.core.name().to_uppercase(), c.name())));
        }
    }
    if let Some(mhz) = clock_mhz {
        b.clock_mhz = mhz;
        b.validate().map_err(SimError::Usage)?;
    }
    Ok(b)
}

fn list_boards(format: &str) -> Result<String, SimError> {
    let boards: Vec<Board> = PRESETS.iter().filter_map(|(n, _)| Board::preset(n)).collect();
    match format {
        "json" => Ok(serde_json::to_string_pretty(&boards).expect("boards serialise") + "\n"),
        "text" => {
            let mut s = String::new();
            for b in &boards {
                s.push_str(&format!("{:<12} Cortex-{:<4} {:>6} MHz  {}\n", b.name, b.core.name().to_uppercase(), b.clock_mhz, b.description));
                for r in &b.regions {
                    s.push_str(&format!(
                        "    {:<18} {:#010x}  {:>8} KiB  {:<17} read ws {:<3} write ws {:<3} fetch line {} B\n",
                        r.name,
                        r.base,
                        r.size / 1024,
                        r.kind.name(),
                        r.read_wait,
                        r.write_wait,
                        r.fetch_line_bytes
                    ));
                }
            }
            Ok(s)
        }
        other => Err(SimError::Usage(format!("unknown format '{other}' for boards: text or json"))),
    }
}

/// The fault context after the one-line message: instruction, call stack, recent blocks.
fn print_error_context(report: &simbench_profiles::Report) {
    let Some(e) = &report.error else { return };
    eprintln!("  at {} {}: {}   ({} cycles so far)", e.pc, e.symbol, e.instruction, e.cycles);
    if !e.call_stack.is_empty() {
        eprintln!("  call stack (innermost first):");
        for f in &e.call_stack {
            eprintln!("    {f}");
        }
    }
    if !e.recent_blocks.is_empty() {
        eprintln!("  last blocks executed (oldest first): {}", e.recent_blocks.join(", "));
    }
}

pub fn parse_fidelity(s: &str) -> Result<Fidelity, SimError> {
    Fidelity::parse(s).ok_or_else(|| SimError::Usage(format!("unknown --timing '{s}': fast or detailed")))
}

fn run_firmware(args: &RunArgs) -> Result<i32, SimError> {
    let path = args.firmware.as_ref().ok_or_else(|| SimError::Usage("no firmware given: simbench FIRMWARE.elf --core m7 (or `simbench --help`)".into()))?;
    let format = Format::parse(&args.format).ok_or_else(|| SimError::Usage(format!("unknown format '{}': {}", args.format, Format::NAMES)))?;
    let board = resolve_board(args.core.as_deref(), args.board.as_deref(), args.clock_mhz)?;
    let fidelity = parse_fidelity(&args.timing)?;
    let timeout = match args.timeout {
        Some(t) if t.is_finite() && t > 0.0 && t < 1e9 => Some(Duration::from_secs_f64(t)),
        Some(t) => return Err(SimError::Usage(format!("--timeout {t}: give a positive number of seconds"))),
        None => None,
    };
    let echo = if args.quiet {
        Echo::Quiet
    } else if format.is_machine_readable() && args.output.is_none() {
        Echo::Stderr
    } else {
        Echo::Stdout
    };
    let profile = crate::operators::ProfileMode::parse(&args.profile)
        .ok_or_else(|| SimError::Usage(format!("unknown --profile '{}': auto, tflm, aot, markers, functions or off", args.profile)))?;
    let opts = RunOptions {
        board,
        fidelity,
        profile,
        arena: args.arena.clone(),
        model: match &args.model {
            Some(p) => {
                let bytes = std::fs::read(p).map_err(|e| SimError::Io(format!("cannot read --model '{}': {e}", p.display())))?;
                Some(simbench_profiles::tflite::parse(&bytes).map_err(|e| SimError::Io(format!("--model '{}' is not a usable TFLite model: {e}", p.display())))?)
            }
            None => None,
        },
        vtor: args.vtor,
        max_cycles: args.max_cycles,
        max_instructions: args.max_instructions,
        timeout,
        count_accesses: args.count_accesses,
        echo,
        entry_shortcut: true,
    };
    let crate::runner::Finished { report, stop } = crate::runner::run_to_report(path, &opts)?;
    let text = render(&report, format);
    match &args.output {
        Some(out) => std::fs::write(out, &text).map_err(|e| SimError::Io(format!("cannot write report '{}': {e}", out.display())))?,
        None => print!("{text}"),
    }
    Ok(match &stop {
        Stop::Exit(0) => exit_code::OK,
        Stop::Exit(_) => exit_code::FIRMWARE_NONZERO,
        Stop::Fault { message, .. } => {
            eprintln!("simbench: {message}");
            print_error_context(&report);
            exit_code::FIRMWARE_FAULT
        }
        Stop::Limit { message, .. } => {
            eprintln!("simbench: {message}");
            print_error_context(&report);
            exit_code::LIMIT
        }
    })
}

fn calibrate(manifests: &[PathBuf], timing: &str, format: &str, strict: bool) -> Result<i32, SimError> {
    let fidelity = parse_fidelity(timing)?;
    let format = match format {
        "text" | "table" => Format::Text,
        "json" => Format::Json,
        other => return Err(SimError::Usage(format!("unknown format '{other}' for calibrate: text or json"))),
    };
    let paths: Vec<PathBuf> = if manifests.is_empty() {
        crate::calibrate::DEFAULT_MANIFESTS.iter().map(PathBuf::from).filter(|p| p.exists()).collect()
    } else {
        manifests.to_vec()
    };
    if paths.is_empty() {
        return Err(SimError::Usage("no calibration manifest: run from the repository root or pass fixtures/calib/manifest.json".into()));
    }
    let mut rows = Vec::new();
    for p in &paths {
        rows.extend(crate::calibrate::run_manifest(p, fidelity)?);
    }
    let text = match format {
        Format::Json => serde_json::to_string_pretty(&rows).map_err(|e| SimError::Internal(e.to_string()))? + "\n",
        _ => crate::calibrate::render_table(&rows),
    };
    print!("{text}");
    let outside = rows.iter().any(|r| r.within_tolerance == Some(false));
    Ok(if strict && outside { exit_code::FIRMWARE_NONZERO } else { exit_code::OK })
}

/// Run the CLI with the process arguments; returns the exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { exit_code::USAGE } else { exit_code::OK };
        }
    };
    let outcome = match &cli.command {
        Some(Command::Boards { format }) => list_boards(format).map(|s| {
            print!("{s}");
            exit_code::OK
        }),
        Some(Command::Calibrate { manifests, timing, format, strict }) => calibrate(manifests, timing, format, *strict),
        Some(Command::Aot { model, output, name }) => simbench_aot::run(model, output, name.as_deref())
            .map(|summary| {
                print!("{summary}");
                exit_code::OK
            })
            .map_err(|e| if e.is_usage() { SimError::Usage(e.to_string()) } else { SimError::Io(format!("aot: {e}")) }),
        Some(Command::Compare(args)) => crate::compare::run(args),
        Some(Command::Check(args)) => crate::check::run(args),
        Some(Command::Sweep(args)) => crate::sweep::run(args),
        Some(Command::Merge(args)) => crate::merge::run(args),
        None => run_firmware(&cli.run),
    };
    match outcome {
        Ok(code) => code,
        Err(e) => {
            eprintln!("simbench: {e}");
            e.exit_code()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn board_resolution() {
        assert_eq!(resolve_board(Some("m7"), None, None).unwrap().name, "generic-m7");
        assert_eq!(resolve_board(None, Some("lpc55s69"), Some(96.0)).unwrap().clock_mhz, 96.0);
        assert!(matches!(resolve_board(Some("m7"), Some("lpc55s69"), None), Err(SimError::Usage(_))));
        assert!(matches!(resolve_board(Some("m99"), None, None), Err(SimError::Usage(_))));
        assert!(matches!(resolve_board(None, None, None), Err(SimError::Usage(_))));
        assert!(matches!(resolve_board(None, Some("nope"), None), Err(SimError::Usage(_))));
        assert!(matches!(resolve_board(Some("m4"), None, Some(-1.0)), Err(SimError::Usage(_))));
    }

    #[test]
    fn addresses_parse_in_hex_and_decimal() {
        assert_eq!(parse_u32("0x60002000"), Ok(0x6000_2000));
        assert_eq!(parse_u32("4096"), Ok(4096));
        assert!(parse_u32("0x1_0000_0000").is_err());
    }
}
