//! `simbench sweep FW.elf... (--board B,… | --core C,…) [--clock-mhz F,…]`: run every firmware
//! on every board (or generic core) at every clock, in parallel, and print one row per run.
//!
//! The matrix is firmware (in the order given) × board or core (in the order given) × clock
//! (in the order given; the board's own clock when `--clock-mhz` is absent). Its positions
//! are fixed by that order, so `--shard i/n` keeps the positions `p` with `p % n == i - 1`
//! and `simbench merge` can put shards back together (see `merge.rs` and docs/sweep.md).
//! Rows run on a rayon pool of `--jobs` threads, largest firmware first, each thread taking
//! the next run when it is free, and come back in matrix order: everything printed except
//! the host times (`--host-times`) is independent of `--jobs`.

use crate::args::{parse_fidelity, resolve_board, RunControl};
use crate::exit;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use simbench_cores::board::Board;
use simbench_profiles::render::group;
use simbench_profiles::report::{Bounds, BoundsF};
use simbench_sim::runner;
use simbench_sim::SimError;
use simbench_sim::{Echo, Stop};
use std::fmt::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

pub const SCHEMA: &str = "simbench.sweep/1";

/// The outcome of a firmware whose image does not load on a board.
pub const DOES_NOT_FIT: &str = "does not fit";

/// `simbench sweep` options.
#[derive(clap::Args, Debug)]
pub struct SweepArgs {
    /// Firmware ELFs to run (rows keep this order).
    #[arg(required = true)]
    pub firmware: Vec<PathBuf>,
    /// Board presets or board TOML files, comma-separated or repeated.
    #[arg(long, value_delimiter = ',', conflicts_with = "core")]
    pub board: Vec<String>,
    /// Cores (m4, m33, m7), comma-separated or repeated: each selects the zero-wait board
    /// generic-<core>.
    #[arg(long, value_delimiter = ',')]
    pub core: Vec<String>,
    /// Core clocks in MHz, comma-separated or repeated (default: each board's own clock).
    #[arg(long, value_delimiter = ',')]
    pub clock_mhz: Vec<f64>,
    /// Timing fidelity for every run: detailed or fast.
    #[arg(long, default_value = "detailed")]
    pub timing: String,
    /// Runs at once (default: the host's available parallelism).
    #[arg(long)]
    pub jobs: Option<usize>,
    /// Run only shard I of N (1-based): the matrix positions p with p % N == I - 1.
    #[arg(long, value_parser = parse_shard)]
    pub shard: Option<Shard>,
    /// Output format: text, json or csv.
    #[arg(long, default_value = "text")]
    pub format: String,
    /// Add host seconds per run (and the sweep's wall time) to the JSON and CSV; they vary
    /// from run to run, so the output is no longer deterministic.
    #[arg(long)]
    pub host_times: bool,
    /// Write the sweep to this file instead of standard output.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub control: RunControl,
}

/// `--shard I/N`.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Shard {
    /// 1-based.
    pub index: usize,
    pub count: usize,
}

impl Shard {
    /// Whether matrix position `p` (0-based) belongs to this shard.
    pub fn keeps(&self, p: usize) -> bool {
        p % self.count == self.index - 1
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// Parse `I/N` with 1 <= I <= N.
pub fn parse_shard(s: &str) -> Result<Shard, String> {
    let bad = || format!("'{s}' is not a shard: give I/N with 1 <= I <= N, e.g. 1/4");
    let (i, n) = s.trim().split_once('/').ok_or_else(bad)?;
    let i: usize = i.trim().parse().map_err(|_| bad())?;
    let n: usize = n.trim().parse().map_err(|_| bad())?;
    if n == 0 || i == 0 || i > n {
        return Err(bad());
    }
    Ok(Shard { index: i, count: n })
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SweepFormat {
    Text,
    Json,
    Csv,
}

impl SweepFormat {
    pub fn parse(s: &str) -> Option<SweepFormat> {
        match s {
            "text" | "table" => Some(SweepFormat::Text),
            "json" => Some(SweepFormat::Json),
            "csv" => Some(SweepFormat::Csv),
            _ => None,
        }
    }
}

/// A firmware of the sweep: the path as given and its content hash.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct FirmwareParam {
    pub path: String,
    pub sha256: String,
}

/// What was swept, as given: shards of one sweep have equal parameters.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Parameters {
    pub firmware: Vec<FirmwareParam>,
    /// `--board` (empty when `--core` chose generic boards).
    pub boards: Vec<String>,
    /// `--core` (empty when `--board` was given).
    pub cores: Vec<String>,
    /// `--clock-mhz` (empty: each board's own clock).
    pub clocks_mhz: Vec<f64>,
    pub timing: String,
    pub profile: String,
    pub arena: Option<String>,
    pub vtor: Option<String>,
    pub max_cycles: Option<u64>,
    pub max_instructions: Option<u64>,
    pub timeout: Option<f64>,
}

/// One run of the matrix.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Row {
    /// 0-based position in the full matrix (firmware, then board, then clock).
    pub position: usize,
    /// The firmware path as given.
    pub firmware: String,
    pub board: String,
    pub core: String,
    pub clock_mhz: f64,
    pub timing: String,
    /// `exit N`, `fault`, `limit`, `does not fit` (the image does not load on the board)
    /// or `error` (the run could not be set up).
    pub outcome: String,
    pub exit_status: Option<i64>,
    /// The fault kind (outcome `fault`).
    pub fault_kind: Option<String>,
    /// What went wrong (fault, limit, does not fit, error).
    pub message: Option<String>,
    pub cycles: Option<u64>,
    pub instructions: Option<u64>,
    /// The whole run at the board clock, microseconds.
    pub latency_us: Option<f64>,
    /// How operators were found (`tflm`, `aot`, `markers`, `functions`); null without a profile.
    pub profile_source: Option<String>,
    /// The profile's inference cycles (null without an operator profile).
    pub inference_cycles: Option<u64>,
    /// Operator rows (null without an operator profile).
    pub operators: Option<usize>,
    /// Whole-run cycles at the low and high ends of the board's assumption ranges
    /// (absent: the board has none, `--no-ranges`, or the ends took another path).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cycles_range: Option<Bounds>,
    /// `latency_us` at the low and high ends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_us_range: Option<BoundsF>,
    /// `inference_cycles` at the low and high ends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inference_cycles_range: Option<Bounds>,
    /// Host seconds of this run (only with `--host-times`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_seconds: Option<f64>,
}

/// Host-dependent figures of a sweep (only with `--host-times`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct SweepHost {
    pub jobs: usize,
    pub wall_seconds: f64,
}

/// A sweep, or one shard of it, as printed (`--format json` serialises this).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Sweep {
    pub schema: String,
    pub simbench_version: String,
    pub parameters: Parameters,
    /// Runs in the full matrix (all shards together).
    pub matrix_size: usize,
    /// The shard these rows are (null: the whole matrix).
    pub shard: Option<Shard>,
    pub rows: Vec<Row>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<SweepHost>,
}

/// Whole-run latency at a clock: the report's `latency_us`, recomputed the same way.
pub fn latency_us(cycles: u64, clock_mhz: f64) -> f64 {
    cycles as f64 / clock_mhz
}

/// One cell of the matrix, ready to run.
struct Cell<'a> {
    position: usize,
    path: &'a Path,
    label: &'a str,
    board: &'a Board,
}

fn row_base(cell: &Cell, timing: &str) -> Row {
    Row {
        position: cell.position,
        firmware: cell.label.to_string(),
        board: cell.board.name.clone(),
        core: cell.board.core.name().to_string(),
        clock_mhz: cell.board.clock_mhz,
        timing: timing.to_string(),
        outcome: String::new(),
        exit_status: None,
        fault_kind: None,
        message: None,
        cycles: None,
        instructions: None,
        latency_us: None,
        profile_source: None,
        inference_cycles: None,
        operators: None,
        cycles_range: None,
        latency_us_range: None,
        inference_cycles_range: None,
        host_seconds: None,
    }
}

/// Run one cell; returns the row and, for an `error` row, the error's exit code.
fn run_cell(cell: &Cell, template: &simbench_sim::RunOptions, host_times: bool, ranges: bool) -> (Row, Option<i32>) {
    let mut opts = template.clone();
    opts.board = cell.board.clone();
    let timing = opts.fidelity.name();
    let mut row = row_base(cell, timing);
    let started = Instant::now();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| simbench_sim::retime::run_with_range(cell.path, &opts, ranges)))
        .unwrap_or_else(|_| Err(SimError::Internal(format!("the run of {} on {} panicked", cell.label, cell.board.name))));
    if host_times {
        row.host_seconds = Some(started.elapsed().as_secs_f64());
    }
    let mut code = None;
    match result {
        Ok(f) => {
            let r = &f.report;
            match &f.stop {
                Stop::Exit(s) => {
                    row.outcome = format!("exit {s}");
                    row.exit_status = Some(*s);
                }
                Stop::Fault { kind, .. } => {
                    row.outcome = "fault".into();
                    row.fault_kind = Some(kind.clone());
                    row.message = Some(runner::describe_stop(&f.stop));
                }
                Stop::Limit { .. } | Stop::Parked { .. } | Stop::Interrupted { .. } => {
                    row.outcome = f.report.outcome.kind.clone();
                    row.message = Some(runner::describe_stop(&f.stop));
                }
            }
            row.cycles = Some(r.cycles);
            row.instructions = Some(r.instructions);
            row.latency_us = Some(latency_us(r.cycles, cell.board.clock_mhz));
            let range = r.range.as_ref();
            row.cycles_range = range.and_then(|g| g.cycles);
            row.latency_us_range =
                row.cycles_range.map(|b| BoundsF { low: latency_us(b.low, cell.board.clock_mhz), high: latency_us(b.high, cell.board.clock_mhz) });
            if let Some(p) = &r.profile {
                row.profile_source = Some(p.source.clone());
                // A function profile only has no inference and no operators.
                if p.source != "functions" {
                    row.inference_cycles = Some(p.inference_cycles);
                    row.operators = Some(r.operators.len());
                    row.inference_cycles_range = range.and_then(|g| g.inference_cycles);
                }
            }
        }
        // The ELF parsed before the sweep started: a load failure now is about this board.
        Err(SimError::BadBoard(m)) | Err(SimError::BadElf(m)) => {
            row.outcome = DOES_NOT_FIT.into();
            row.message = Some(m);
        }
        Err(e) => {
            row.outcome = "error".into();
            row.message = Some(e.to_string());
            code = Some(exit::of_error(&e));
        }
    }
    (row, code)
}

fn progress(len: usize) -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let pb = indicatif::ProgressBar::with_draw_target(Some(len as u64), indicatif::ProgressDrawTarget::stderr());
    if let Ok(style) = indicatif::ProgressStyle::with_template("sweep {bar:32} {pos}/{len} runs  {elapsed} elapsed, eta {eta}  {wide_msg}") {
        pb.set_style(style);
    }
    pb
}

/// `simbench sweep`: run the matrix (or one shard of it) and print it; returns the exit
/// code: 0 when every row has a result (whatever the firmware did, and `does not fit` rows
/// included), else the exit code of the first run that could not be set up.
pub fn run(args: &SweepArgs) -> Result<i32, SimError> {
    let format = SweepFormat::parse(&args.format).ok_or_else(|| SimError::Usage(format!("unknown format '{}' for sweep: text, json or csv", args.format)))?;
    let fidelity = parse_fidelity(&args.timing)?;
    let jobs = match args.jobs {
        Some(0) => return Err(SimError::Usage("--jobs 0: give at least one job".into())),
        Some(n) => n,
        None => std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
    };
    if args.board.is_empty() && args.core.is_empty() {
        return Err(SimError::Usage("choose what to sweep: --core m4,m33,m7 (generic boards) or --board NAME,… (see `simbench boards`)".into()));
    }
    let boards = board_matrix(args)?;
    let firmware = check_firmware(&args.firmware)?;
    let mut template = runner::options(boards[0].clone(), fidelity, Echo::Quiet);
    args.control.apply(&mut template)?;
    let parameters = Parameters {
        firmware,
        boards: args.board.iter().map(|b| b.trim().to_string()).collect(),
        cores: if args.board.is_empty() { args.core.iter().map(|c| c.trim().to_string()).collect() } else { Vec::new() },
        clocks_mhz: args.clock_mhz.clone(),
        timing: fidelity.name().into(),
        profile: args.control.profile.clone(),
        arena: args.control.arena.clone(),
        vtor: args.control.vtor.map(simbench_profiles::report::hex32),
        max_cycles: args.control.max_cycles,
        max_instructions: args.control.max_instructions,
        timeout: args.control.timeout,
    };
    let matrix_size = args.firmware.len() * boards.len();
    let cells: Vec<Cell> = args
        .firmware
        .iter()
        .zip(&parameters.firmware)
        .flat_map(|(path, fw)| boards.iter().map(move |b| (path, fw, b)))
        .enumerate()
        .filter(|(p, _)| args.shard.iter().all(|s| s.keeps(*p)))
        .map(|(position, (path, fw, board))| Cell { position, path: path.as_path(), label: fw.path.as_str(), board })
        .collect();

    let started = Instant::now();
    let results = run_cells(&cells, &template, jobs, args.host_times, !args.control.no_ranges)?;
    let wall = started.elapsed().as_secs_f64();
    let code = results.iter().find_map(|(_, c)| *c).unwrap_or(exit::OK);
    let sweep = Sweep {
        schema: SCHEMA.into(),
        simbench_version: env!("CARGO_PKG_VERSION").into(),
        parameters,
        matrix_size,
        shard: args.shard,
        rows: results.into_iter().map(|(r, _)| r).collect(),
        host: args.host_times.then_some(SweepHost { jobs, wall_seconds: wall }),
    };
    write_output(&render(&sweep, format), args.output.as_deref())?;
    for r in sweep.rows.iter().filter(|r| r.outcome == "error") {
        eprintln!("simbench: {} on {}: {}", r.firmware, r.board, r.message.as_deref().unwrap_or(""));
    }
    Ok(code)
}

/// Boards × clocks, in the order given (boards, or generic cores).
fn board_matrix(args: &SweepArgs) -> Result<Vec<Board>, SimError> {
    let clocks: Vec<Option<f64>> = if args.clock_mhz.is_empty() { vec![None] } else { args.clock_mhz.iter().copied().map(Some).collect() };
    let mut boards = Vec::new();
    if args.board.is_empty() {
        for c in &args.core {
            for clk in &clocks {
                boards.push(resolve_board(Some(c.trim()), None, *clk)?);
            }
        }
    } else {
        for b in &args.board {
            for clk in &clocks {
                boards.push(resolve_board(None, Some(b.trim()), *clk)?);
            }
        }
    }
    Ok(boards)
}

/// Every firmware must be a usable ELF before anything runs: its path and SHA-256.
fn check_firmware(paths: &[PathBuf]) -> Result<Vec<FirmwareParam>, SimError> {
    let mut firmware = Vec::new();
    for p in paths {
        let bytes = simbench_sim::image::read_firmware(p)?;
        simbench_sim::image::Image::parse(&bytes).map_err(|e| match e {
            SimError::BadElf(m) => SimError::BadElf(format!("{}: {m}", p.display())),
            other => other,
        })?;
        firmware.push(FirmwareParam { path: p.display().to_string(), sha256: format!("{:x}", Sha256::digest(&bytes)) });
    }
    Ok(firmware)
}

/// Run the cells on `jobs` threads; results in matrix order, whatever order they ran in.
fn run_cells(cells: &[Cell], template: &simbench_sim::RunOptions, jobs: usize, host_times: bool, ranges: bool) -> Result<Vec<(Row, Option<i32>)>, SimError> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs)
        .thread_name(|i| format!("simbench-sweep-{i}"))
        .build()
        .map_err(|e| SimError::Internal(format!("cannot start {jobs} sweep threads: {e}")))?;
    let pb = progress(cells.len());
    // Longest runs first, then whichever worker is free takes the next (greedy list
    // scheduling): a long run started last would leave the other threads idle. Firmware
    // size stands in for run length (inference firmware with its model runs longest).
    let weight = |c: &Cell| std::fs::metadata(c.path).map_or(0, |m| m.len());
    let mut order: Vec<usize> = (0..cells.len()).collect();
    order.sort_by_cached_key(|&i| std::cmp::Reverse(weight(&cells[i])));
    let next = std::sync::atomic::AtomicUsize::new(0);
    let slots: Vec<std::sync::Mutex<Option<(Row, Option<i32>)>>> = cells.iter().map(|_| std::sync::Mutex::new(None)).collect();
    pool.scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|_| loop {
                let k = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(&i) = order.get(k) else { break };
                let cell = &cells[i];
                let out = run_cell(cell, template, host_times, ranges);
                pb.set_message(format!("{} on {}", cell.label, cell.board.name));
                pb.inc(1);
                *slots[i].lock().unwrap_or_else(|e| e.into_inner()) = Some(out);
            });
        }
    });
    let results: Vec<(Row, Option<i32>)> = slots.into_iter().filter_map(|m| m.into_inner().unwrap_or_else(|e| e.into_inner())).collect();
    pb.finish_and_clear();
    Ok(results)
}

/// Write to `path`, or standard output.
pub fn write_output(text: &str, path: Option<&Path>) -> Result<(), SimError> {
    match path {
        Some(p) => std::fs::write(p, text).map_err(|e| SimError::Io(format!("cannot write '{}': {e}", p.display()))),
        None => {
            print!("{text}");
            Ok(())
        }
    }
}

pub fn render(s: &Sweep, format: SweepFormat) -> String {
    match format {
        SweepFormat::Text => text(s),
        SweepFormat::Json => json(s),
        SweepFormat::Csv => csv(s),
    }
}

pub fn json(s: &Sweep) -> String {
    serde_json::to_string_pretty(s).expect("sweeps serialise") + "\n"
}

/// A CSV field, quoted when it holds a comma, quote or line break.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

pub const CSV_HEADER: &str =
    "position,firmware,board,core,clock_mhz,timing,outcome,exit_status,fault_kind,cycles,instructions,latency_us,profile_source,inference_cycles,operators,message";

/// CSV: one row per run ([`CSV_HEADER`], plus the range columns when a row has a
/// range, and `host_seconds` when the rows have them).
pub fn csv(s: &Sweep) -> String {
    let host = s.rows.iter().any(|r| r.host_seconds.is_some());
    let ranged = s.rows.iter().any(|r| r.cycles_range.is_some());
    let mut out = String::from(CSV_HEADER);
    if ranged {
        out.push_str(",cycles_low,cycles_high,latency_us_low,latency_us_high,inference_cycles_low,inference_cycles_high");
    }
    out.push_str(if host { ",host_seconds\n" } else { "\n" });
    let o = |v: Option<String>| v.unwrap_or_default();
    for r in &s.rows {
        let mut cols = vec![
            r.position.to_string(),
            csv_field(&r.firmware),
            csv_field(&r.board),
            r.core.clone(),
            r.clock_mhz.to_string(),
            r.timing.clone(),
            csv_field(&r.outcome),
            o(r.exit_status.map(|x| x.to_string())),
            csv_field(&o(r.fault_kind.clone())),
            o(r.cycles.map(|x| x.to_string())),
            o(r.instructions.map(|x| x.to_string())),
            o(r.latency_us.map(|x| format!("{x:.3}"))),
            o(r.profile_source.clone()),
            o(r.inference_cycles.map(|x| x.to_string())),
            o(r.operators.map(|x| x.to_string())),
            csv_field(&o(r.message.clone())),
        ];
        if ranged {
            let (c, l, i) = (r.cycles_range, r.latency_us_range, r.inference_cycles_range);
            cols.extend([
                o(c.map(|b| b.low.to_string())),
                o(c.map(|b| b.high.to_string())),
                o(l.map(|b| format!("{:.3}", b.low))),
                o(l.map(|b| format!("{:.3}", b.high))),
                o(i.map(|b| b.low.to_string())),
                o(i.map(|b| b.high.to_string())),
            ]);
        }
        if host {
            cols.push(o(r.host_seconds.map(|x| format!("{x:.3}"))));
        }
        out.push_str(&cols.join(","));
        out.push('\n');
    }
    out
}

/// Truncate for a fixed-width column, keeping the end (file names differ at the end).
fn fit_tail(s: &str, width: usize) -> String {
    let n = s.chars().count();
    if n <= width {
        s.to_string()
    } else {
        let mut t = String::from("…");
        t.extend(s.chars().skip(n - width + 1));
        t
    }
}

pub fn text(s: &Sweep) -> String {
    let p = &s.parameters;
    let what = if p.boards.is_empty() { format!("{} core(s) [{}]", p.cores.len(), p.cores.join(", ")) } else { format!("{} board(s)", p.boards.len()) };
    let clocks = if p.clocks_mhz.is_empty() { "the board clock".to_string() } else { format!("{} clock(s)", p.clocks_mhz.len()) };
    let mut out = format!("simbench sweep: {} firmware × {what} × {clocks} = {} runs, {} timing", p.firmware.len(), s.matrix_size, p.timing);
    if let Some(sh) = s.shard {
        let _ = write!(out, "; shard {sh}: {} runs", s.rows.len());
    }
    out.push_str("\n\n");
    let host = s.rows.iter().any(|r| r.host_seconds.is_some());
    let width = s.rows.iter().map(|r| file_name(&r.firmware).chars().count()).max().unwrap_or(8).clamp(8, 40);
    let _ = write!(
        out,
        "  {:>4}  {:<width$}  {:<12} {:<4} {:>7}  {:<22} {:>14} {:>14} {:>12} {:>14} {:>4}",
        "#", "firmware", "board", "core", "MHz", "outcome", "cycles", "instructions", "latency ms", "inference cyc", "ops"
    );
    let ranged = s.rows.iter().any(|r| r.latency_us_range.is_some());
    if ranged {
        let _ = write!(out, "  {:<w$}", "latency range ms", w = if host { 19 } else { 0 });
    }
    out.push_str(if host { "   host s\n" } else { "\n" });
    let dash = || "-".to_string();
    for r in &s.rows {
        let _ = write!(
            out,
            "  {:>4}  {:<width$}  {:<12} {:<4} {:>7}  {:<22} {:>14} {:>14} {:>12} {:>14} {:>4}",
            r.position,
            fit_tail(file_name(&r.firmware), width),
            fit_tail(&r.board, 12),
            r.core,
            r.clock_mhz,
            match &r.fault_kind {
                Some(k) => fit_tail(&format!("fault {k}"), 22),
                None => r.outcome.clone(),
            },
            r.cycles.map(group).unwrap_or_else(dash),
            r.instructions.map(group).unwrap_or_else(dash),
            r.latency_us.map(|l| format!("{:.3}", l / 1000.0)).unwrap_or_else(dash),
            r.inference_cycles.map(group).unwrap_or_else(dash),
            r.operators.map(|o| o.to_string()).unwrap_or_else(dash),
        );
        if ranged {
            let span = r.latency_us_range.map(|b| format!("{:.3}–{:.3}", b.low / 1000.0, b.high / 1000.0)).unwrap_or_else(dash);
            let _ = write!(out, "  {span:<w$}", w = if host { 19 } else { 0 });
        }
        match r.host_seconds {
            Some(h) => {
                let _ = writeln!(out, " {h:>8.2}");
            }
            None => out.push('\n'),
        }
    }
    let notes: Vec<&Row> = s.rows.iter().filter(|r| r.message.is_some()).collect();
    if !notes.is_empty() {
        out.push('\n');
        for r in notes {
            let _ = writeln!(out, "  #{} {} on {}: {}", r.position, file_name(&r.firmware), r.board, r.message.as_deref().unwrap_or(""));
        }
    }
    if let Some(h) = &s.host {
        let _ = writeln!(out, "\n  {} runs in {:.2} s on {} job(s)", s.rows.len(), h.wall_seconds, h.jobs);
    }
    out
}

fn file_name(path: &str) -> &str {
    path.rsplit(['/', '\\']).next().unwrap_or(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_parse_and_partition_positions() {
        assert_eq!(parse_shard("1/2"), Ok(Shard { index: 1, count: 2 }));
        assert_eq!(parse_shard(" 3/3 "), Ok(Shard { index: 3, count: 3 }));
        for bad in ["0/2", "3/2", "1/0", "1", "a/b", "1/2/3", "-1/2", ""] {
            assert!(parse_shard(bad).is_err(), "{bad}");
        }
        let shards: Vec<Shard> = (1..=3).map(|i| Shard { index: i, count: 3 }).collect();
        for p in 0..10 {
            assert_eq!(shards.iter().filter(|s| s.keeps(p)).count(), 1, "position {p} is in exactly one shard");
        }
        assert!(Shard { index: 1, count: 1 }.keeps(7));
    }

    #[test]
    fn csv_quotes_and_text_truncates() {
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(fit_tail("abcdef", 4), "…def");
        assert_eq!(file_name("fixtures/micro/dot_m4.elf"), "dot_m4.elf");
    }
}
