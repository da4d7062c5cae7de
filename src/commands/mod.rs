//! The `simbench` command line: one module per subcommand, dispatched from `main`.

pub mod aot;
pub mod boards;
pub mod calibrate;
pub mod check;
pub mod compare;
pub mod merge;
pub mod place;
pub mod run;
pub mod sweep;

use crate::exit;
use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "simbench",
    version,
    about = "Cycle-approximate Cortex-M simulator: runs firmware ELFs and reports modelled cycles",
    args_conflicts_with_subcommands = true,
    after_help = "Exit codes: 0 ok, 1 firmware exited non-zero, 2 usage, 3 bad ELF or board file, 4 firmware fault, 5 limit reached, 6 internal error, 7 parked for good, 8 GDB server cannot listen"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    run: run::RunArgs,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// List the built-in board presets (core, clock, memory regions).
    Boards(boards::BoardsArgs),
    /// Run the calibration microbenchmarks and print expected vs simulated cycles.
    Calibrate(calibrate::CalibrateArgs),
    /// Compile an int8 TFLite model into an ahead-of-time C bundle (Glow-style).
    Aot(aot::AotArgs),
    /// Run two firmware ELFs and compare them per operator (or per function), with totals,
    /// latency, inferences per second and the ratio B/A.
    Compare(compare::CompareArgs),
    /// Run a firmware ELF and check its cycles against a budgets file (CI gate); exit 1
    /// when a budget is exceeded.
    Check(check::CheckArgs),
    /// Run firmware × boards (or cores) × clocks in parallel and print one row per run;
    /// `--shard I/N` runs a slice of the matrix for CI matrices and clusters.
    Sweep(sweep::SweepArgs),
    /// Advise where functions and objects should live: rank the symbols with memory stalls
    /// by cycles saved per byte in a faster RAM region with room, predicted by what-if
    /// runs (no relink), and say what the firmware must change.
    Place(place::PlaceArgs),
    /// Merge the JSON outputs of `simbench sweep --shard I/N` into the unsharded sweep.
    Merge(merge::MergeArgs),
}

/// Run the CLI with the process arguments; returns the exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { exit::USAGE } else { exit::OK };
        }
    };
    let outcome = match &cli.command {
        Some(Command::Boards(args)) => boards::run(args),
        Some(Command::Calibrate(args)) => calibrate::run(args),
        Some(Command::Aot(args)) => aot::run(args),
        Some(Command::Compare(args)) => compare::run(args),
        Some(Command::Check(args)) => check::run(args),
        Some(Command::Sweep(args)) => sweep::run(args),
        Some(Command::Merge(args)) => merge::run(args),
        Some(Command::Place(args)) => place::run(args),
        None => run::run(&cli.run),
    };
    match outcome {
        Ok(code) => code,
        Err(e) => {
            eprintln!("simbench: {e}");
            exit::of_error(&e)
        }
    }
}
