//! `simbench FIRMWARE.elf ...`: run one firmware and print its report.

use crate::args::{parse_fidelity, parse_gdb_address, read_model, resolve_board, RunControl};
use crate::exit;
use simbench_profiles::{render, Format};
use simbench_sim::retime::{run_with_range, withheld};
use simbench_sim::runner::{options, Finished};
use simbench_sim::{Echo, SimError};
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct RunArgs {
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
    #[command(flatten)]
    control: RunControl,
    /// The .tflite model the firmware runs, for operator shapes and MACs when the image does
    /// not embed it (AOT bundles).
    #[arg(long)]
    model: Option<PathBuf>,
    /// Write the report to this file instead of standard output.
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// Hook every memory region to count data reads and writes (slower).
    #[arg(long)]
    count_accesses: bool,
    /// Do not echo firmware output while it runs (it stays in the report).
    #[arg(short, long)]
    quiet: bool,
    /// Serve GDB's remote protocol on [ADDR:]PORT (127.0.0.1 unless ADDR is given; port 0
    /// picks a free one) and halt at the reset vector until a client attaches: `target
    /// remote :PORT` in gdb-multiarch. Timing is unchanged; the report follows the run.
    #[arg(long, value_name = "[ADDR:]PORT", value_parser = parse_gdb_address)]
    gdb: Option<std::net::SocketAddr>,
}

pub fn run(args: &RunArgs) -> Result<i32, SimError> {
    let path = args.firmware.as_ref().ok_or_else(|| SimError::Usage("no firmware given: simbench FIRMWARE.elf --core m7 (or `simbench --help`)".into()))?;
    let format = Format::parse(&args.format).ok_or_else(|| SimError::Usage(format!("unknown format '{}': {}", args.format, Format::NAMES)))?;
    let board = resolve_board(args.core.as_deref(), args.board.as_deref(), args.clock_mhz)?;
    let fidelity = parse_fidelity(&args.timing)?;
    let echo = if args.quiet {
        Echo::Quiet
    } else if format.is_machine_readable() && args.output.is_none() {
        Echo::Stderr
    } else {
        Echo::Stdout
    };
    let mut opts = options(board, fidelity, echo);
    args.control.apply(&mut opts)?;
    opts.model = args.model.as_deref().map(read_model).transpose()?;
    opts.count_accesses = args.count_accesses;
    let Finished { report, stop } = match args.gdb {
        Some(addr) => {
            let server = simbench_sim::gdb::GdbServer::new(addr, path, &opts)?;
            let at = server.local_addr();
            eprintln!(
                "simbench: GDB server listening on {at}; halted at the reset vector (pc {:#010x}) until a client attaches: gdb-multiarch {} -ex 'target remote {at}'",
                server.reset_pc(),
                path.display()
            );
            let mut finished = server.serve()?;
            let why = "the run was under GDB, which can change registers and memory; re-timing runs would not repeat that";
            finished.report.range = withheld(&opts, !args.control.no_ranges, why);
            finished
        }
        None => run_with_range(path, &opts, !args.control.no_ranges)?,
    };
    let mut text = render(&report, format);
    if format == Format::Text && args.output.is_none() {
        if let Some(columns) = terminal_columns() {
            text = simbench_profiles::render::fit_lines(&text, columns);
        }
    }
    // Firmware output echoed without a final newline must not run into the report.
    if echo == Echo::Stdout && args.output.is_none() && !report.firmware_output.is_empty() && !report.firmware_output.ends_with('\n') {
        println!();
    }
    match &args.output {
        Some(out) => std::fs::write(out, &text).map_err(|e| SimError::Io(format!("cannot write report '{}': {e}", out.display())))?,
        None => print!("{text}"),
    }
    if let Some(message) = stop.message() {
        eprintln!("simbench: {message}");
        print_error_context(&report);
    }
    Ok(exit::of_stop(&stop))
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

/// The width of the terminal standard output is, when it is one narrower than the text
/// report's 120 columns.
fn terminal_columns() -> Option<usize> {
    use std::io::IsTerminal;
    if !std::io::stdout().is_terminal() {
        return None;
    }
    let (terminal_size::Width(w), _) = terminal_size::terminal_size()?;
    (usize::from(w) < 120).then_some(usize::from(w))
}
