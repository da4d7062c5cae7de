//! `simbench calibrate`: run the calibration microbenchmarks and compare the simulated
//! cycles with the documented ones.
//!
//! A calibration manifest (`fixtures/calib/*.json`, schema `simbench.calibration/1`)
//! names one firmware ELF and board per core and a list of benchmarks. Benchmark `id`
//! runs its body `repeat` times between ITM markers `2·id` and `2·repeat` times between
//! markers `2·id + 1`; the difference over `repeat` is the cost of one body with the
//! harness overhead cancelled. Each expected value carries its source and a tolerance in
//! cycles per body.

use crate::args::{existing_or_default, parse_fidelity};
use crate::exit;
use serde::{Deserialize, Serialize};
use simbench_cores::board::Board;
use simbench_cores::Fidelity;
use simbench_profiles::Format;
use simbench_sim::machine::MarkerEvent;
use simbench_sim::operators::ProfileMode;
use simbench_sim::runner::options;
use simbench_sim::{Echo, Image, SimError, Stop};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(clap::Args, Debug)]
pub struct CalibrateArgs {
    /// Calibration manifests (default: fixtures/calib/manifest.json, memory.json and
    /// memory_stm32.json).
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
}

pub fn run(args: &CalibrateArgs) -> Result<i32, SimError> {
    let fidelity = parse_fidelity(&args.timing)?;
    let format = match args.format.as_str() {
        "text" | "table" => Format::Text,
        "json" => Format::Json,
        other => return Err(SimError::Usage(format!("unknown format '{other}' for calibrate: text or json"))),
    };
    let paths = existing_or_default(&args.manifests, &DEFAULT_MANIFESTS);
    if paths.is_empty() {
        return Err(SimError::Usage("no calibration manifest: run from the repository root or pass fixtures/calib/manifest.json".into()));
    }
    let mut rows = Vec::new();
    for p in &paths {
        rows.extend(run_manifest(p, fidelity)?);
    }
    let text = match format {
        Format::Json => serde_json::to_string_pretty(&rows).map_err(|e| SimError::Internal(e.to_string()))? + "\n",
        _ => render_table(&rows),
    };
    print!("{text}");
    let outside = rows.iter().any(|r| r.within_tolerance == Some(false));
    Ok(if args.strict && outside { exit::FIRMWARE_NONZERO } else { exit::OK })
}

pub const SCHEMA: &str = "simbench.calibration/1";

#[derive(Clone, Debug, Deserialize)]
pub struct Manifest {
    pub schema: String,
    /// Core name → ELF path (relative to the repository root, i.e. the manifest's `../..`).
    pub elfs: BTreeMap<String, String>,
    /// Core name → board preset.
    pub boards: BTreeMap<String, String>,
    pub benchmarks: Vec<Benchmark>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Benchmark {
    pub id: u32,
    pub name: String,
    #[serde(default)]
    pub effect: String,
    pub repeat: u32,
    /// Core name → expectation (null where no document gives a number).
    pub expected: BTreeMap<String, Option<Expected>>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Expected {
    pub cycles_per_body: f64,
    pub tolerance: f64,
    pub source: String,
}

/// One benchmark on one core.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Row {
    pub manifest: String,
    pub benchmark: String,
    pub core: String,
    pub board: String,
    pub expected: Option<f64>,
    pub tolerance: Option<f64>,
    pub simulated: f64,
    /// `None` where nothing is expected.
    pub within_tolerance: Option<bool>,
    pub source: Option<String>,
}

impl Manifest {
    pub fn load(path: &Path) -> Result<Manifest, SimError> {
        let text = std::fs::read_to_string(path).map_err(|e| SimError::Io(format!("cannot read calibration manifest '{}': {e}", path.display())))?;
        let m: Manifest = serde_json::from_str(&text).map_err(|e| SimError::Io(format!("calibration manifest '{}' is not valid: {e}", path.display())))?;
        if m.schema != SCHEMA {
            return Err(SimError::Io(format!("calibration manifest '{}': schema '{}', expected '{SCHEMA}'", path.display(), m.schema)));
        }
        Ok(m)
    }
}

/// Cycles between the begin and end markers of region `id` (ports 1 and 2).
fn region_cycles(markers: &[MarkerEvent], id: u32) -> Option<u64> {
    let begin = markers.iter().find(|m| m.port == 1 && m.value == id)?;
    let end = markers.iter().find(|m| m.port == 2 && m.value == id && m.cycles >= begin.cycles)?;
    Some(end.cycles - begin.cycles)
}

/// Run every core of one manifest. ELF paths are relative to the repository root, two
/// directories above the manifest (`fixtures/calib/x.json` → `.`).
pub fn run_manifest(path: &Path, fidelity: Fidelity) -> Result<Vec<Row>, SimError> {
    let manifest = Manifest::load(path)?;
    let root = path.parent().and_then(Path::parent).and_then(Path::parent).unwrap_or(Path::new("."));
    let name = path.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
    let mut rows = Vec::new();
    for (core, elf) in &manifest.elfs {
        let board_name = manifest.boards.get(core).ok_or_else(|| SimError::Io(format!("calibration manifest {name}: no board for core '{core}'")))?;
        let board = Board::preset(board_name).ok_or_else(|| SimError::BadBoard(format!("{name}: unknown board preset '{board_name}'")))?;
        let image = Image::from_file(&root.join(elf))?;
        let mut opts = options(board, fidelity, Echo::Quiet);
        opts.profile = ProfileMode::Off;
        opts.max_cycles = Some(1 << 32);
        let result = simbench_sim::run(image, &opts)?;
        if result.stop != Stop::Exit(0) {
            return Err(SimError::BadElf(format!("{name}: {elf} did not exit 0 on {board_name}: {:?}", result.stop)));
        }
        for b in &manifest.benchmarks {
            let (Some(once), Some(twice)) = (region_cycles(&result.markers, 2 * b.id), region_cycles(&result.markers, 2 * b.id + 1)) else {
                continue; // not built for this core
            };
            let simulated = (twice as f64 - once as f64) / b.repeat.max(1) as f64;
            let expected = b.expected.get(core).cloned().flatten();
            rows.push(Row {
                manifest: name.clone(),
                benchmark: b.name.clone(),
                core: core.clone(),
                board: board_name.clone(),
                expected: expected.as_ref().map(|e| e.cycles_per_body),
                tolerance: expected.as_ref().map(|e| e.tolerance),
                simulated,
                within_tolerance: expected.as_ref().map(|e| (simulated - e.cycles_per_body).abs() <= e.tolerance + 1e-9),
                source: expected.map(|e| e.source),
            });
        }
    }
    Ok(rows)
}

/// The default manifests, relative to the repository root.
pub const DEFAULT_MANIFESTS: [&str; 3] = ["fixtures/calib/manifest.json", "fixtures/calib/memory.json", "fixtures/calib/memory_stm32.json"];

/// The table `simbench calibrate` prints.
pub fn render_table(rows: &[Row]) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let _ = writeln!(s, "{:<22} {:<5} {:<11} {:>9} {:>9} {:>9} {:>7}  status", "benchmark", "core", "board", "expected", "simulated", "tolerance", "error");
    for r in rows {
        let (exp, tol, err) = match (r.expected, r.tolerance) {
            (Some(e), Some(t)) => {
                (format!("{e:.2}"), format!("±{t:.2}"), if e != 0.0 { format!("{:+.0}%", (r.simulated - e) / e * 100.0) } else { "-".into() })
            }
            _ => ("-".into(), "-".into(), "-".into()),
        };
        let status = match r.within_tolerance {
            Some(true) => "ok",
            Some(false) => "OUTSIDE",
            None => "no reference",
        };
        let _ = writeln!(s, "{:<22} {:<5} {:<11} {:>9} {:>9.2} {:>9} {:>7}  {status}", r.benchmark, r.core, r.board, exp, r.simulated, tol, err);
    }
    let checked = rows.iter().filter(|r| r.within_tolerance.is_some()).count();
    let ok = rows.iter().filter(|r| r.within_tolerance == Some(true)).count();
    let mean_abs: f64 = {
        let errs: Vec<f64> = rows.iter().filter_map(|r| r.expected.filter(|e| *e > 0.0).map(|e| ((r.simulated - e) / e).abs())).collect();
        if errs.is_empty() {
            0.0
        } else {
            errs.iter().sum::<f64>() / errs.len() as f64 * 100.0
        }
    };
    let _ = writeln!(s, "\n{ok} of {checked} within tolerance; mean absolute error {mean_abs:.1}% over benchmarks with a reference");
    s
}
