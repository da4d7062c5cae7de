//! `simbench compare A.elf B.elf`: two runs side by side, per operator (or per function
//! when a run has no operators), with the totals, latency and inferences per second at
//! each board's clock, and the ratio B/A.
//!
//! Works for an interpreter against an AOT bundle of one model, one model on two boards,
//! or two builds of one engine. Operators are matched by (invocation, index): the position
//! in the model's operator list; a pair whose `op` differs is flagged, not re-matched.
//! Everything printed comes from the reports outside `host`, so the output is
//! deterministic.

use crate::args::{parse_fidelity, resolve_board, RunControl};
use crate::exit;
use simbench_sim::SimError;
use simbench_sim::Echo;
use simbench_profiles::render::group;
use simbench_sim::runner::{self, Finished};
use serde::Serialize;
use simbench_profiles::profile::{FunctionStat, OperatorRow};
use simbench_profiles::Report;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::PathBuf;

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

/// One side of the comparison.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Side {
    pub firmware: String,
    pub sha256: String,
    pub board: String,
    pub core: String,
    pub clock_mhz: f64,
    pub timing: String,
    /// `exit 0`, `exit 3`, `fault`, `limit`.
    pub outcome: String,
    /// How operators were found (`tflm`, `aot`, `markers`, `functions`), null without a profile.
    pub profile_source: Option<String>,
    pub operators: usize,
    pub functions: usize,
    pub inferences: u32,
}

/// A value on both sides and B/A (null when A is zero or either side is missing).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Pair<T> {
    pub a: Option<T>,
    pub b: Option<T>,
    pub ratio: Option<f64>,
}

fn pair_u64(a: Option<u64>, b: Option<u64>) -> Pair<u64> {
    Pair { a, b, ratio: ratio(a.map(|v| v as f64), b.map(|v| v as f64)) }
}

fn pair_f64(a: Option<f64>, b: Option<f64>) -> Pair<f64> {
    Pair { a, b, ratio: ratio(a, b) }
}

/// B/A, or None when A is zero or a side is missing.
pub fn ratio(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) if a != 0.0 && a.is_finite() && b.is_finite() => Some(b / a),
        _ => None,
    }
}

/// How a pair of operator rows matched.
#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Match {
    /// Same index and same op on both sides.
    Same,
    /// Same index, different op (the models differ there, or an engine fused operators).
    OpDiffers,
    /// Only A ran an operator at this index.
    OnlyA,
    /// Only B ran an operator at this index.
    OnlyB,
}

impl Match {
    pub fn name(self) -> &'static str {
        match self {
            Match::Same => "same",
            Match::OpDiffers => "op-differs",
            Match::OnlyA => "only-a",
            Match::OnlyB => "only-b",
        }
    }
}

/// One operator on both sides.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct OperatorPair {
    pub invocation: u32,
    pub index: u32,
    pub op_a: Option<String>,
    pub op_b: Option<String>,
    pub kernel_a: Option<String>,
    pub kernel_b: Option<String>,
    pub cycles: Pair<u64>,
    /// Share of each side's inference cycles (0–1).
    pub share: Pair<f64>,
    pub macs: Pair<u64>,
    #[serde(rename = "match")]
    pub matched: Match,
}

/// One function on both sides (by name), when comparing by function.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct FunctionPair {
    pub name: String,
    pub exclusive_cycles: Pair<u64>,
    pub inclusive_cycles: Pair<u64>,
    pub calls: Pair<u64>,
}

/// Totals on both sides.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Totals {
    /// Cycles of the inference(s) (the profile's `inference_cycles`; the whole run
    /// when a side has no profile).
    pub inference_cycles: Pair<u64>,
    /// Sum of the operator rows (null when a side has no operators).
    pub operator_cycles: Pair<u64>,
    /// `inference_cycles - operator_cycles`: interpreter or glue overhead.
    pub overhead_cycles: Pair<u64>,
    /// Reset to the end of the run.
    pub run_cycles: Pair<u64>,
    /// One inference at the board clock, milliseconds.
    pub latency_ms: Pair<f64>,
    /// Inferences per second at the board clock.
    pub inferences_per_second: Pair<f64>,
}

/// The comparison, as printed (`--format json` serialises this).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Comparison {
    pub schema: String,
    pub a: Side,
    pub b: Side,
    /// `operators`, `functions` (a side has no operators) or `totals` (neither has a profile).
    pub basis: String,
    pub operators: Vec<OperatorPair>,
    pub functions: Vec<FunctionPair>,
    pub totals: Totals,
    pub notes: Vec<String>,
}

fn outcome(r: &Report) -> String {
    match (r.outcome.kind.as_str(), r.outcome.exit_status) {
        ("exit", Some(s)) => format!("exit {s}"),
        (k, _) => k.to_string(),
    }
}

fn side(r: &Report) -> Side {
    Side {
        firmware: r.firmware.file.clone(),
        sha256: r.firmware.sha256.clone(),
        board: r.board.name.clone(),
        core: r.board.core.clone(),
        clock_mhz: r.board.clock_mhz,
        timing: r.timing.mode.clone(),
        outcome: outcome(r),
        profile_source: r.profile.as_ref().map(|p| p.source.clone()),
        operators: r.operators.len(),
        functions: r.functions.len(),
        inferences: r.profile.as_ref().map(|p| p.inferences).unwrap_or(0),
    }
}

/// Inference cycles, operator cycles (sum of rows) and the number of inferences of one side.
fn side_totals(r: &Report, label: &str, notes: &mut Vec<String>) -> (u64, Option<u64>, u32) {
    let op_sum: u64 = r.operators.iter().map(|o| o.cycles).sum();
    match &r.profile {
        Some(p) if p.inference_cycles > 0 => {
            if !r.operators.is_empty() && p.operator_cycles != op_sum {
                notes.push(format!(
                    "{label}: the profile's operator_cycles ({}) differ from the sum of its operator rows ({}); the rows are used",
                    p.operator_cycles, op_sum
                ));
            }
            (p.inference_cycles, (!r.operators.is_empty()).then_some(op_sum), p.inferences.max(1))
        }
        _ => {
            notes.push(format!("{label}: no inference profile: the whole run ({} cycles) counts as one inference", r.cycles));
            (r.cycles, (!r.operators.is_empty()).then_some(op_sum), 1)
        }
    }
}

fn latency_ms(cycles: u64, inferences: u32, clock_mhz: f64) -> Option<f64> {
    (clock_mhz > 0.0 && inferences > 0).then(|| cycles as f64 / inferences as f64 / clock_mhz / 1000.0)
}

fn operator_pairs(a: &[OperatorRow], b: &[OperatorRow]) -> Vec<OperatorPair> {
    type Rows<'r> = Vec<&'r OperatorRow>;
    let mut keys: BTreeMap<(u32, u32), (Rows, Rows)> = BTreeMap::new();
    for o in a {
        keys.entry((o.invocation, o.index)).or_default().0.push(o);
    }
    for o in b {
        keys.entry((o.invocation, o.index)).or_default().1.push(o);
    }
    let mut out = Vec::new();
    for ((invocation, index), (ra, rb)) in keys {
        for i in 0..ra.len().max(rb.len()) {
            let (x, y) = (ra.get(i).copied(), rb.get(i).copied());
            let matched = match (x, y) {
                (Some(x), Some(y)) if x.op == y.op => Match::Same,
                (Some(_), Some(_)) => Match::OpDiffers,
                (Some(_), None) => Match::OnlyA,
                _ => Match::OnlyB,
            };
            out.push(OperatorPair {
                invocation,
                index,
                op_a: x.map(|o| o.op.clone()),
                op_b: y.map(|o| o.op.clone()),
                kernel_a: x.and_then(|o| o.kernel.clone()),
                kernel_b: y.and_then(|o| o.kernel.clone()),
                cycles: pair_u64(x.map(|o| o.cycles), y.map(|o| o.cycles)),
                share: pair_f64(x.map(|o| o.share), y.map(|o| o.share)),
                macs: pair_u64(x.and_then(|o| o.macs), y.and_then(|o| o.macs)),
                matched,
            });
        }
    }
    out
}

#[derive(Default, Clone, Copy)]
struct FnSum {
    exclusive: u64,
    inclusive: u64,
    calls: u64,
}

fn by_name(fs: &[FunctionStat]) -> BTreeMap<&str, FnSum> {
    let mut m: BTreeMap<&str, FnSum> = BTreeMap::new();
    for f in fs {
        let e = m.entry(f.name.as_str()).or_default();
        e.exclusive += f.exclusive_cycles;
        e.inclusive += f.inclusive_cycles;
        e.calls += f.calls;
    }
    m
}

fn function_pairs(a: &[FunctionStat], b: &[FunctionStat]) -> Vec<FunctionPair> {
    let (ma, mb) = (by_name(a), by_name(b));
    let mut names: Vec<&str> = ma.keys().chain(mb.keys()).copied().collect();
    names.sort_unstable();
    names.dedup();
    let excl = |m: &BTreeMap<&str, FnSum>, n: &str| m.get(n).map(|f| f.exclusive).unwrap_or(0);
    names.sort_by(|x, y| excl(&ma, y).max(excl(&mb, y)).cmp(&excl(&ma, x).max(excl(&mb, x))).then(x.cmp(y)));
    names
        .into_iter()
        .take(TOP_FUNCTIONS)
        .map(|n| {
            let (x, y) = (ma.get(n), mb.get(n));
            FunctionPair {
                name: n.to_string(),
                exclusive_cycles: pair_u64(x.map(|f| f.exclusive), y.map(|f| f.exclusive)),
                inclusive_cycles: pair_u64(x.map(|f| f.inclusive), y.map(|f| f.inclusive)),
                calls: pair_u64(x.map(|f| f.calls), y.map(|f| f.calls)),
            }
        })
        .collect()
}

/// Compare two reports (A is the reference: ratios are B/A).
pub fn compare(a: &Report, b: &Report) -> Comparison {
    let mut notes = Vec::new();
    for (label, r) in [("A", a), ("B", b)] {
        if !(r.outcome.kind == "exit" && r.outcome.exit_status == Some(0)) {
            let what = r.outcome.message.clone().unwrap_or_else(|| outcome(r));
            notes.push(format!("{label} ({}) did not exit cleanly ({what}): its figures cover a partial or failed run", r.firmware.file));
        }
    }
    let (inf_a, ops_a, n_a) = side_totals(a, "A", &mut notes);
    let (inf_b, ops_b, n_b) = side_totals(b, "B", &mut notes);
    let basis = if !a.operators.is_empty() && !b.operators.is_empty() {
        "operators"
    } else if !a.functions.is_empty() || !b.functions.is_empty() {
        for (label, r) in [("A", a), ("B", b)] {
            if r.operators.is_empty() {
                notes.push(format!("{label} has no operator rows: comparing functions by name (top {TOP_FUNCTIONS} by exclusive cycles)"));
            }
        }
        "functions"
    } else {
        notes.push("neither run has operator or function profiles: comparing totals only".into());
        "totals"
    };
    let operators = if basis == "operators" { operator_pairs(&a.operators, &b.operators) } else { Vec::new() };
    let functions = if basis == "functions" { function_pairs(&a.functions, &b.functions) } else { Vec::new() };
    let differs = operators.iter().filter(|p| p.matched != Match::Same).count();
    if differs > 0 {
        notes.push(format!("{differs} operator row(s) do not match by index and op (flagged): the operator lists differ"));
    }
    if a.board.name != b.board.name || a.board.clock_mhz != b.board.clock_mhz {
        let clocks = if a.board.clock_mhz != b.board.clock_mhz {
            format!(": latency and inferences per second are at each board's clock ({} MHz vs {} MHz)", a.board.clock_mhz, b.board.clock_mhz)
        } else {
            String::new()
        };
        notes.push(format!("different boards ({} vs {}){clocks}", a.board.name, b.board.name));
    }
    if a.timing.mode != b.timing.mode {
        notes.push(format!("different timing modes: A {} vs B {}", a.timing.mode, b.timing.mode));
    }
    let overhead = |inf: u64, ops: Option<u64>| ops.map(|o| inf.saturating_sub(o));
    let lat_a = latency_ms(inf_a, n_a, a.board.clock_mhz);
    let lat_b = latency_ms(inf_b, n_b, b.board.clock_mhz);
    let ips = |l: Option<f64>| l.filter(|l| *l > 0.0).map(|l| 1000.0 / l);
    let totals = Totals {
        inference_cycles: pair_u64(Some(inf_a), Some(inf_b)),
        operator_cycles: pair_u64(ops_a, ops_b),
        overhead_cycles: pair_u64(overhead(inf_a, ops_a), overhead(inf_b, ops_b)),
        run_cycles: pair_u64(Some(a.cycles), Some(b.cycles)),
        latency_ms: pair_f64(lat_a, lat_b),
        inferences_per_second: pair_f64(ips(lat_a), ips(lat_b)),
    };
    Comparison { schema: SCHEMA.into(), a: side(a), b: side(b), basis: basis.into(), operators, functions, totals, notes }
}

fn opt_u64(v: Option<u64>) -> String {
    v.map(group).unwrap_or_else(|| "-".into())
}

fn opt_ratio(v: Option<f64>) -> String {
    v.map(|r| format!("{r:.3}")).unwrap_or_else(|| "-".into())
}

fn opt_share(v: Option<f64>) -> String {
    v.map(|s| format!("{:.1} %", s * 100.0)).unwrap_or_else(|| "-".into())
}

fn side_line(label: &str, s: &Side) -> String {
    let source = match s.profile_source.as_deref() {
        Some("functions") => "function profile only".to_string(),
        Some(src) => format!("operators from {src}"),
        None => "no profile".into(),
    };
    format!(
        "  {label}  {} on {} (Cortex-{}, {} MHz, {} timing), {}, {}\n",
        s.firmware,
        s.board,
        s.core.to_uppercase(),
        s.clock_mhz,
        s.timing,
        source,
        s.outcome
    )
}

/// Truncate a name for a fixed-width column (the JSON and CSV keep it whole).
fn fit(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(width.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

pub fn text(c: &Comparison) -> String {
    let mut s = String::from("simbench compare (ratios are B/A)\n");
    s.push_str(&side_line("A", &c.a));
    s.push_str(&side_line("B", &c.b));
    s.push('\n');
    let multi = c.operators.iter().any(|p| p.invocation > 0);
    match c.basis.as_str() {
        "operators" => {
            let _ = writeln!(s, "  {:>5}  {:<24} {:>14} {:>8} {:>14} {:>8} {:>8}", "#", "op", "A cycles", "A share", "B cycles", "B share", "B/A");
            for p in &c.operators {
                let idx = if multi { format!("{}:{}", p.invocation, p.index) } else { p.index.to_string() };
                let op = p.op_a.as_deref().or(p.op_b.as_deref()).unwrap_or("");
                let flag = match p.matched {
                    Match::Same => String::new(),
                    Match::OpDiffers => format!("  ! op differs: B runs {}", p.op_b.as_deref().unwrap_or("")),
                    Match::OnlyA => "  ! only in A".into(),
                    Match::OnlyB => "  ! only in B".into(),
                };
                let _ = writeln!(
                    s,
                    "  {:>5}  {:<24} {:>14} {:>8} {:>14} {:>8} {:>8}{}",
                    idx,
                    fit(op, 24),
                    opt_u64(p.cycles.a),
                    opt_share(p.share.a),
                    opt_u64(p.cycles.b),
                    opt_share(p.share.b),
                    opt_ratio(p.cycles.ratio),
                    flag
                );
            }
            s.push('\n');
        }
        "functions" => {
            let _ = writeln!(s, "  {:<48} {:>14} {:>14} {:>8}   (exclusive cycles, top {TOP_FUNCTIONS})", "function", "A cycles", "B cycles", "B/A");
            for f in &c.functions {
                let _ = writeln!(
                    s,
                    "  {:<48} {:>14} {:>14} {:>8}",
                    fit(&f.name, 48),
                    opt_u64(f.exclusive_cycles.a),
                    opt_u64(f.exclusive_cycles.b),
                    opt_ratio(f.exclusive_cycles.ratio)
                );
            }
            s.push('\n');
        }
        _ => {}
    }
    let t = &c.totals;
    let _ = writeln!(s, "  {:<31} {:>14}          {:>14}          {:>8}", "", "A", "B", "B/A");
    let cyc = |s: &mut String, name: &str, p: &Pair<u64>| {
        let _ = writeln!(s, "  {:<31} {:>14}          {:>14}          {:>8}", name, opt_u64(p.a), opt_u64(p.b), opt_ratio(p.ratio));
    };
    if c.basis == "operators" {
        cyc(&mut s, "operators (sum of rows)", &t.operator_cycles);
        cyc(&mut s, "overhead", &t.overhead_cycles);
    }
    cyc(&mut s, "inference cycles", &t.inference_cycles);
    cyc(&mut s, "whole run cycles", &t.run_cycles);
    let fl = |v: Option<f64>, unit: &str| v.map(|x| format!("{x:.3} {unit}")).unwrap_or_else(|| "-".into());
    let _ = writeln!(
        s,
        "  {:<31} {:>17}       {:>17}       {:>8}",
        "latency per inference",
        fl(t.latency_ms.a, "ms"),
        fl(t.latency_ms.b, "ms"),
        opt_ratio(t.latency_ms.ratio)
    );
    let _ = writeln!(
        s,
        "  {:<31} {:>14}          {:>14}          {:>8}",
        "inferences per second",
        t.inferences_per_second.a.map(|x| format!("{x:.2}")).unwrap_or_else(|| "-".into()),
        t.inferences_per_second.b.map(|x| format!("{x:.2}")).unwrap_or_else(|| "-".into()),
        opt_ratio(t.inferences_per_second.ratio)
    );
    if !c.notes.is_empty() {
        s.push('\n');
        for n in &c.notes {
            let _ = writeln!(s, "  note: {n}");
        }
    }
    s
}

pub fn json(c: &Comparison) -> String {
    serde_json::to_string_pretty(c).expect("comparisons serialise") + "\n"
}

/// A CSV field, quoted when it holds a comma, quote or line break.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// CSV: `section,invocation,index,name_a,name_b,kernel_a,kernel_b,a,b,ratio_b_a,match`;
/// sections `operator`, `function` (exclusive cycles) and `total`.
pub fn csv(c: &Comparison) -> String {
    let mut s = String::from("section,invocation,index,name_a,name_b,kernel_a,kernel_b,a,b,ratio_b_a,match\n");
    let u = |v: Option<u64>| v.map(|x| x.to_string()).unwrap_or_default();
    let f = |v: Option<f64>| v.map(|x| format!("{x:.6}")).unwrap_or_default();
    for p in &c.operators {
        let cols = [
            "operator".to_string(),
            p.invocation.to_string(),
            p.index.to_string(),
            csv_field(p.op_a.as_deref().unwrap_or("")),
            csv_field(p.op_b.as_deref().unwrap_or("")),
            csv_field(p.kernel_a.as_deref().unwrap_or("")),
            csv_field(p.kernel_b.as_deref().unwrap_or("")),
            u(p.cycles.a),
            u(p.cycles.b),
            f(p.cycles.ratio),
            p.matched.name().to_string(),
        ];
        s.push_str(&cols.join(","));
        s.push('\n');
    }
    for fp in &c.functions {
        let name = csv_field(&fp.name);
        let cols = [
            "function".to_string(),
            String::new(),
            String::new(),
            name.clone(),
            name,
            String::new(),
            String::new(),
            u(fp.exclusive_cycles.a),
            u(fp.exclusive_cycles.b),
            f(fp.exclusive_cycles.ratio),
            String::new(),
        ];
        s.push_str(&cols.join(","));
        s.push('\n');
    }
    let t = &c.totals;
    let mut total = |name: &str, a: String, b: String, r: Option<f64>| {
        let _ = writeln!(s, "total,,,{name},{name},,,{a},{b},{},", f(r));
    };
    if c.basis == "operators" {
        total("operator_cycles", u(t.operator_cycles.a), u(t.operator_cycles.b), t.operator_cycles.ratio);
        total("overhead_cycles", u(t.overhead_cycles.a), u(t.overhead_cycles.b), t.overhead_cycles.ratio);
    }
    total("inference_cycles", u(t.inference_cycles.a), u(t.inference_cycles.b), t.inference_cycles.ratio);
    total("run_cycles", u(t.run_cycles.a), u(t.run_cycles.b), t.run_cycles.ratio);
    total("latency_ms", f(t.latency_ms.a), f(t.latency_ms.b), t.latency_ms.ratio);
    total("inferences_per_second", f(t.inferences_per_second.a), f(t.inferences_per_second.b), t.inferences_per_second.ratio);
    s
}

pub fn render(c: &Comparison, format: CompareFormat) -> String {
    match format {
        CompareFormat::Text => text(c),
        CompareFormat::Json => json(c),
        CompareFormat::Csv => csv(c),
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
    // Both runs at once: they share nothing, and the reports do not depend on timing.
    let (ra, rb) = std::thread::scope(|s| {
        let ha = s.spawn(|| runner::run_to_report(&args.a, &opts_a));
        let rb = runner::run_to_report(&args.b, &opts_b);
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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use simbench_profiles::profile::OperatorSummary;
    use simbench_profiles::report::{BoardInfo, FirmwareInfo, HostInfo, Outcome, TimingInfo};

    /// A report with the given operators (op, cycles) and overhead, for unit tests.
    pub(crate) fn report(file: &str, board: &str, clock_mhz: f64, ops: &[(&str, u64)], overhead: u64) -> Report {
        let op_sum: u64 = ops.iter().map(|o| o.1).sum();
        let inference = op_sum + overhead;
        let operators: Vec<OperatorRow> = ops
            .iter()
            .enumerate()
            .map(|(i, (op, cycles))| OperatorRow {
                index: i as u32,
                op: op.to_string(),
                kernel: Some(format!("kernel_{}", op.to_lowercase())),
                cycles: *cycles,
                share: *cycles as f64 / inference.max(1) as f64,
                macs: None,
                cycles_per_mac: None,
                latency_us: *cycles as f64 / clock_mhz,
                start_cycle: 0,
                inputs: vec![],
                outputs: vec![],
                invocation: 0,
            })
            .collect();
        let functions: Vec<FunctionStat> = ops
            .iter()
            .map(|(op, cycles)| FunctionStat {
                name: format!("kernel_{}", op.to_lowercase()),
                address: "0x00000000".into(),
                calls: 1,
                inclusive_cycles: *cycles,
                exclusive_cycles: *cycles,
                instructions: *cycles,
            })
            .collect();
        Report {
            schema: simbench_profiles::report::SCHEMA.into(),
            simbench_version: "0.0.0".into(),
            firmware: FirmwareInfo { file: file.into(), bytes: 1, sha256: "00".into(), entry: "0x00000000".into(), initial_sp: "0x20000000".into() },
            board: BoardInfo { name: board.into(), core: "m7".into(), clock_mhz },
            timing: TimingInfo {
                model: "m7-block-v2".into(),
                mode: "detailed".into(),
                description: String::new(),
                icache: None,
                dcache: None,
                branch_predictor: None,
                divides_timed: 0,
            },
            outcome: Outcome { kind: "exit".into(), exit_status: Some(0), message: None, pc: None, symbol: None },
            instructions: inference,
            cycles: inference + 1000,
            cpi: 1.0,
            latency_us: (inference + 1000) as f64 / clock_mhz,
            regions: vec![],
            instruction_mix: Default::default(),
            markers: vec![],
            markers_dropped: 0,
            unmodelled_registers: vec![],
            exceptions: None,
            configuration: vec![],
            firmware_output: String::new(),
            firmware_output_truncated: false,
            profile: Some(OperatorSummary {
                source: "tflm".into(),
                inference_cycles: inference,
                operator_cycles: op_sum,
                overhead_cycles: overhead,
                inferences: 1,
                notes: vec![],
            }),
            operators,
            functions,
            call_edges: vec![],
            stacks: vec![],
            memory: None,
            error: None,
            trace: vec![],
            host: HostInfo { wall_seconds: 0.0, simulated_mips: 0.0, blocks_decoded: 0 },
        }
    }

    #[test]
    fn operators_match_by_index_and_flag_op_differences() {
        let a = report("a.elf", "mimxrt1011", 500.0, &[("CONV_2D", 1000), ("RELU", 100), ("SOFTMAX", 50)], 150);
        let b = report("b.elf", "mimxrt1011", 500.0, &[("CONV_2D", 500), ("ADD", 100)], 0);
        let c = compare(&a, &b);
        assert_eq!(c.basis, "operators");
        assert_eq!(c.operators.len(), 3);
        assert_eq!(c.operators[0].matched, Match::Same);
        assert_eq!(c.operators[0].cycles.ratio, Some(0.5));
        assert_eq!(c.operators[1].matched, Match::OpDiffers);
        assert_eq!(c.operators[2].matched, Match::OnlyA);
        assert_eq!(c.operators[2].cycles.ratio, None);
        assert_eq!(c.totals.inference_cycles.a, Some(1300));
        assert_eq!(c.totals.operator_cycles.a, Some(1150));
        assert_eq!(c.totals.overhead_cycles.a, Some(150));
        assert_eq!(c.totals.inference_cycles.b, Some(600));
        assert!((c.totals.inference_cycles.ratio.unwrap() - 600.0 / 1300.0).abs() < 1e-12);
        // 1300 cycles at 500 MHz = 2.6 µs
        assert!((c.totals.latency_ms.a.unwrap() - 0.0026).abs() < 1e-12);
        assert!((c.totals.inferences_per_second.a.unwrap() - 1e6 / 2.6).abs() < 1e-6);
        let t = text(&c);
        assert!(t.contains("! op differs: B runs ADD"), "{t}");
        assert!(t.contains("! only in A"), "{t}");
        assert!(c.notes.iter().any(|n| n.contains("2 operator row(s)")));
    }

    #[test]
    fn latency_is_at_each_boards_clock() {
        let a = report("a.elf", "lpc55s69", 150.0, &[("CONV_2D", 1500)], 0);
        let b = report("a.elf", "mimxrt1011", 500.0, &[("CONV_2D", 1500)], 0);
        let c = compare(&a, &b);
        assert_eq!(c.totals.inference_cycles.ratio, Some(1.0));
        assert!((c.totals.latency_ms.a.unwrap() - 0.01).abs() < 1e-12);
        assert!((c.totals.latency_ms.b.unwrap() - 0.003).abs() < 1e-12);
        assert!((c.totals.latency_ms.ratio.unwrap() - 0.3).abs() < 1e-12);
        assert!(c.notes.iter().any(|n| n.contains("different boards")));
    }

    #[test]
    fn without_operators_functions_are_compared_by_name() {
        let mut a = report("a.elf", "x", 100.0, &[("CONV_2D", 1000), ("RELU", 10)], 0);
        let mut b = report("b.elf", "x", 100.0, &[("CONV_2D", 2000), ("POOL", 5)], 0);
        a.operators.clear();
        b.operators.clear();
        let c = compare(&a, &b);
        assert_eq!(c.basis, "functions");
        let names: Vec<&str> = c.functions.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["kernel_conv_2d", "kernel_relu", "kernel_pool"]);
        assert_eq!(c.functions[0].exclusive_cycles.ratio, Some(2.0));
        assert_eq!(c.functions[1].exclusive_cycles.b, None);
        assert_eq!(c.totals.operator_cycles.a, None);
        // Many functions: only the top 30.
        a.functions = (0..50)
            .map(|i| FunctionStat { name: format!("f{i:02}"), address: "0x0".into(), calls: 1, inclusive_cycles: i, exclusive_cycles: i, instructions: i })
            .collect();
        let c = compare(&a, &b);
        assert_eq!(c.functions.len(), TOP_FUNCTIONS);
        assert_eq!(c.functions[0].name, "kernel_conv_2d");
        assert_eq!(c.functions[1].name, "f49");
    }

    #[test]
    fn no_profile_compares_whole_runs() {
        let mut a = report("a.elf", "x", 100.0, &[], 0);
        a.profile = None;
        a.functions.clear();
        let b = a.clone();
        let c = compare(&a, &b);
        assert_eq!(c.basis, "totals");
        assert_eq!(c.totals.inference_cycles.a, Some(a.cycles));
        assert!(c.notes.iter().any(|n| n.contains("no inference profile")));
    }

    #[test]
    fn csv_quotes_names_and_output_is_deterministic() {
        let a = report("a.elf", "x", 100.0, &[("CONV_2D", 1000)], 10);
        let mut b = a.clone();
        b.operators[0].kernel = Some("f(int, char)".into());
        b.host.wall_seconds = 99.0;
        let c = compare(&a, &b);
        let out = csv(&c);
        assert!(out.contains("\"f(int, char)\""), "{out}");
        assert!(out.lines().all(|l| l.split(',').count() >= 11), "{out}");
        let mut b2 = b.clone();
        b2.host.wall_seconds = 1.0;
        assert_eq!(render(&c, CompareFormat::Json), render(&compare(&a, &b2), CompareFormat::Json));
        assert_eq!(text(&c), text(&compare(&a, &b2)));
    }
}
