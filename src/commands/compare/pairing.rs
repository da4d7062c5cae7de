//! Lining two reports up: operators by index, functions by name, totals, latency.

use super::*;

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

pub(super) fn pair_u64(a: Option<u64>, b: Option<u64>) -> Pair<u64> {
    Pair { a, b, ratio: ratio(a.map(|v| v as f64), b.map(|v| v as f64)) }
}

pub(super) fn pair_f64(a: Option<f64>, b: Option<f64>) -> Pair<f64> {
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
    /// `inference_cycles - operator_cycles` (minus instrumentation callbacks): interpreter
    /// or glue overhead.
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
    /// Both sides' ranges from their boards' assumptions (absent when neither has one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ranges: Option<super::ranges::RangeComparison>,
    pub notes: Vec<String>,
}

pub(super) fn outcome(r: &Report) -> String {
    match (r.outcome.kind.as_str(), r.outcome.exit_status) {
        ("exit", Some(s)) => format!("exit {s}"),
        (k, _) => k.to_string(),
    }
}

pub(super) fn side(r: &Report) -> Side {
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
pub(super) fn side_totals(r: &Report, label: &str, notes: &mut Vec<String>) -> (u64, Option<u64>, u32) {
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

pub(super) fn latency_ms(cycles: u64, inferences: u32, clock_mhz: f64) -> Option<f64> {
    (clock_mhz > 0.0 && inferences > 0).then(|| cycles as f64 / inferences as f64 / clock_mhz / 1000.0)
}

pub(super) fn operator_pairs(a: &[OperatorRow], b: &[OperatorRow]) -> Vec<OperatorPair> {
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
pub(super) struct FnSum {
    exclusive: u64,
    inclusive: u64,
    calls: u64,
}

pub(super) fn by_name(fs: &[FunctionStat]) -> BTreeMap<&str, FnSum> {
    let mut m: BTreeMap<&str, FnSum> = BTreeMap::new();
    for f in fs {
        let e = m.entry(f.name.as_str()).or_default();
        e.exclusive += f.exclusive_cycles;
        e.inclusive += f.inclusive_cycles;
        e.calls += f.calls;
    }
    m
}

pub(super) fn function_pairs(a: &[FunctionStat], b: &[FunctionStat]) -> Vec<FunctionPair> {
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
    // Instrumentation callbacks (Glow -instrument-ir) are neither operators nor overhead.
    let instr = |r: &Report| r.profile.as_ref().and_then(|p| p.instrumentation_cycles).unwrap_or(0);
    for (label, r) in [("A", a), ("B", b)] {
        if instr(r) > 0 {
            notes.push(format!("{label}: {} cycles of instrumentation callbacks are left out of its operators and overhead", instr(r)));
        }
    }
    let (ins_a, ins_b) = (instr(a), instr(b));
    let overhead = |inf: u64, ops: Option<u64>, ins: u64| ops.map(|o| inf.saturating_sub(o).saturating_sub(ins));
    let lat_a = latency_ms(inf_a, n_a, a.board.clock_mhz);
    let lat_b = latency_ms(inf_b, n_b, b.board.clock_mhz);
    let ips = |l: Option<f64>| l.filter(|l| *l > 0.0).map(|l| 1000.0 / l);
    let totals = Totals {
        inference_cycles: pair_u64(Some(inf_a), Some(inf_b)),
        operator_cycles: pair_u64(ops_a, ops_b),
        overhead_cycles: pair_u64(overhead(inf_a, ops_a, ins_a), overhead(inf_b, ops_b, ins_b)),
        run_cycles: pair_u64(Some(a.cycles), Some(b.cycles)),
        latency_ms: pair_f64(lat_a, lat_b),
        inferences_per_second: pair_f64(ips(lat_a), ips(lat_b)),
    };
    let ranges = super::ranges::compare_ranges(a, b, (n_a, n_b), totals.latency_ms.ratio);
    Comparison { schema: SCHEMA.into(), a: side(a), b: side(b), basis: basis.into(), operators, functions, totals, ranges, notes }
}
