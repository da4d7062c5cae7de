//! Checking a report against budgets: one item per budget, with its status.

use super::*;

/// What a budget item came to.
#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Within budget × (1 + tolerance), and not below budget × (1 − tolerance).
    Ok,
    /// Below budget × (1 − tolerance): a note, not a failure.
    Improved,
    /// Above budget × (1 + tolerance): a failure.
    Exceeded,
    /// The budgeted operator did not run (failure), or the run did not finish.
    Missing,
    /// A different op runs at this operator index: the model changed (failure).
    Changed,
    /// An operator the baseline does not have (failure).
    New,
    /// A budgeted function that did not run in this build (a note: renamed or inlined).
    Gone,
    /// The run itself failed (firmware fault, limit, non-zero exit).
    RunFailed,
}

impl Status {
    pub fn is_failure(self) -> bool {
        matches!(self, Status::Exceeded | Status::Missing | Status::Changed | Status::New | Status::RunFailed)
    }
    pub fn label(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Improved => "better",
            Status::Exceeded => "FAIL",
            Status::Missing => "MISSING",
            Status::Changed => "CHANGED",
            Status::New => "NEW",
            Status::Gone => "gone",
            Status::RunFailed => "FAIL",
        }
    }
}

/// One budget item checked.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Item {
    /// `run`, `total`, `inference`, `operator` or `function`.
    pub kind: String,
    /// Human name: `total cycles`, `operator #3 CONV_2D`, `function arm_convolve_s8`.
    pub name: String,
    pub budget: Option<u64>,
    pub actual: Option<u64>,
    /// Largest value that passes: budget × (1 + tolerance), rounded down.
    pub limit: Option<u64>,
    /// (actual − budget) / budget.
    pub change: Option<f64>,
    pub status: Status,
    pub message: String,
}

/// The result of a check (`--format json` prints this).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct CheckResult {
    pub schema: String,
    pub firmware: String,
    pub board: String,
    pub timing: String,
    pub baseline: String,
    pub tolerance: f64,
    pub passed: bool,
    pub failures: usize,
    pub items: Vec<Item>,
    pub notes: Vec<String>,
}

pub(super) fn pct(change: f64) -> String {
    if change.is_infinite() {
        "new cycles".into()
    } else {
        format!("{:+.2} %", change * 100.0)
    }
}

pub(super) fn tolerance_text(t: f64) -> String {
    let p = t * 100.0;
    if (p - p.round()).abs() < 1e-9 {
        format!("{} %", p.round())
    } else {
        format!("{p} %")
    }
}

/// Compare `actual` with `budget` at `tolerance`.
pub(super) fn budget_item(kind: &str, name: String, budget: u64, actual: u64, tolerance: f64) -> Item {
    let limit_f = budget as f64 * (1.0 + tolerance);
    let limit = limit_f.floor().min(u64::MAX as f64) as u64;
    let change = if budget > 0 {
        (actual as f64 - budget as f64) / budget as f64
    } else if actual > 0 {
        f64::INFINITY
    } else {
        0.0
    };
    let (status, message) = if actual as f64 > limit_f {
        (
            Status::Exceeded,
            format!(
                "{name}: {} cycles exceed the budget of {} by {} (limit {} at {} tolerance)",
                group(actual),
                group(budget),
                pct(change),
                group(limit),
                tolerance_text(tolerance)
            ),
        )
    } else if (actual as f64) < budget as f64 * (1.0 - tolerance) {
        (
            Status::Improved,
            format!(
                "{name}: {} cycles, {} against the budget of {}: refresh the baseline (--write-baseline) to lock the gain in",
                group(actual),
                pct(change),
                group(budget)
            ),
        )
    } else {
        (Status::Ok, format!("{name}: {} cycles within the budget of {} ({})", group(actual), group(budget), pct(change)))
    };
    Item { kind: kind.into(), name, budget: Some(budget), actual: Some(actual), limit: Some(limit), change: Some(change), status, message }
}

pub(super) fn operator_name(invocation: u32, index: u32, op: &str) -> String {
    if invocation > 0 {
        format!("operator {invocation}:#{index} {op}")
    } else {
        format!("operator #{index} {op}")
    }
}

/// Check a run's report against budgets. `stop` is how the run ended (a failed run is a
/// failure item of its own).
pub fn check(report: &Report, budgets: &Budgets, tolerance: f64, baseline_name: &str) -> CheckResult {
    let mut items = Vec::new();
    let mut notes = Vec::new();
    let clean = report.outcome.kind == "exit" && report.outcome.exit_status == Some(0);
    if !clean {
        items.push(run_failed(report));
    }
    baseline_notes(report, budgets, &mut notes);
    items.push(budget_item("total", "total cycles".into(), budgets.total_cycles, report.cycles, tolerance));
    if let Some(b) = budgets.inference_cycles {
        match &report.profile {
            Some(p) => items.push(budget_item("inference", "inference cycles".into(), b, p.inference_cycles, tolerance)),
            None => items.push(Item {
                kind: "inference".into(),
                name: "inference cycles".into(),
                budget: Some(b),
                actual: None,
                limit: None,
                change: None,
                status: Status::Missing,
                message: "inference cycles: this run has no inference profile (was it run with --profile off, or did the firmware change engine?)".into(),
            }),
        }
    }
    operator_items(report, budgets, tolerance, &mut items);
    function_items(report, budgets, tolerance, &mut items);
    // A failed run's figures are not improvements: only the failure is worth reading.
    for it in items.iter().filter(|_| clean) {
        if matches!(it.status, Status::Improved | Status::Gone) {
            notes.push(it.message.clone());
        }
    }
    let failures = items.iter().filter(|i| i.status.is_failure()).count();
    CheckResult {
        schema: RESULT_SCHEMA.into(),
        firmware: report.firmware.file.clone(),
        board: report.board.name.clone(),
        timing: report.timing.mode.clone(),
        baseline: baseline_name.into(),
        tolerance,
        passed: failures == 0,
        failures,
        items,
        notes,
    }
}

/// The item for a run that did not exit 0: its cycles are not comparable.
fn run_failed(report: &Report) -> Item {
    let what = match (&report.outcome.message, report.outcome.exit_status) {
        (Some(m), _) => m.clone(),
        (None, Some(s)) => format!("exited with status {s}"),
        (None, None) => report.outcome.kind.clone(),
    };
    Item {
        kind: "run".into(),
        name: "run".into(),
        budget: None,
        actual: Some(report.cycles),
        limit: None,
        change: None,
        status: Status::RunFailed,
        message: format!("the firmware did not finish cleanly ({what}): its cycles are not comparable with the budgets"),
    }
}

/// Notes on how this run relates to the baseline's (other ELF, same ELF, other version).
fn baseline_notes(report: &Report, budgets: &Budgets, notes: &mut Vec<String>) {
    if report.firmware.file != budgets.firmware {
        notes.push(format!("the baseline was written from '{}', this run is '{}'", budgets.firmware, report.firmware.file));
    } else if budgets.firmware_sha256.as_deref() == Some(report.firmware.sha256.as_str()) {
        notes.push("same ELF as the baseline (identical SHA-256): simbench is deterministic, so with the same options and simbench version every item equals the cycles the baseline was written from".into());
    }
    if let Some(v) = &budgets.simbench_version {
        if *v != report.simbench_version {
            notes.push(format!(
                "the baseline was written by simbench {v}, this is simbench {}: a newer timing model can move cycles by itself",
                report.simbench_version
            ));
        }
    }
}

/// One item per budgeted operator, matched by (invocation, index), and one per new one.
fn operator_items(report: &Report, budgets: &Budgets, tolerance: f64, items: &mut Vec<Item>) {
    let mut actual: BTreeMap<(u32, u32), (&str, u64)> = BTreeMap::new();
    for o in &report.operators {
        let e = actual.entry((o.invocation, o.index)).or_insert((o.op.as_str(), 0));
        e.1 += o.cycles;
    }
    let mut budgeted = std::collections::BTreeSet::new();
    for ob in &budgets.operators {
        let name = operator_name(ob.invocation, ob.index, &ob.op);
        budgeted.insert((ob.invocation, ob.index));
        match actual.get(&(ob.invocation, ob.index)) {
            None => items.push(Item {
                kind: "operator".into(),
                name: name.clone(),
                budget: Some(ob.cycles),
                actual: None,
                limit: None,
                change: None,
                status: Status::Missing,
                message: format!("{name}: not run by this firmware (the operator list changed: refresh the baseline with --write-baseline)"),
            }),
            Some((op, cycles)) if *op != ob.op => items.push(Item {
                kind: "operator".into(),
                name: name.clone(),
                budget: Some(ob.cycles),
                actual: Some(*cycles),
                limit: None,
                change: None,
                status: Status::Changed,
                message: format!("{name}: this firmware runs {op} at this index (the model changed: refresh the baseline with --write-baseline)"),
            }),
            Some((_, cycles)) => items.push(budget_item("operator", name, ob.cycles, *cycles, tolerance)),
        }
    }
    for (&(inv, idx), &(op, cycles)) in &actual {
        if !budgeted.contains(&(inv, idx)) {
            let name = operator_name(inv, idx, op);
            items.push(Item {
                kind: "operator".into(),
                name: name.clone(),
                budget: None,
                actual: Some(cycles),
                limit: None,
                change: None,
                status: Status::New,
                message: format!(
                    "{name}: {} cycles, not in the baseline (the operator list changed: refresh the baseline with --write-baseline)",
                    group(cycles)
                ),
            });
        }
    }
}

/// One item per budgeted function, by inclusive cycles.
fn function_items(report: &Report, budgets: &Budgets, tolerance: f64, items: &mut Vec<Item>) {
    let mut inclusive: BTreeMap<&str, u64> = BTreeMap::new();
    for f in &report.functions {
        *inclusive.entry(f.name.as_str()).or_default() += f.inclusive_cycles;
    }
    if !budgets.functions.is_empty() && report.functions.is_empty() {
        items.push(Item {
            kind: "function".into(),
            name: "functions".into(),
            budget: None,
            actual: None,
            limit: None,
            change: None,
            status: Status::Missing,
            message: format!(
                "functions: the baseline budgets {} functions but this run has no function profile (was it run with --profile off?)",
                budgets.functions.len()
            ),
        });
    } else {
        for (fname, &b) in &budgets.functions {
            let name = format!("function {fname}");
            match inclusive.get(fname.as_str()) {
                Some(&a) => items.push(budget_item("function", name, b, a, tolerance)),
                None => items.push(Item {
                    kind: "function".into(),
                    name: name.clone(),
                    budget: Some(b),
                    actual: None,
                    limit: None,
                    change: None,
                    status: Status::Gone,
                    message: format!("{name}: not called in this run (renamed or inlined?); the totals still apply"),
                }),
            }
        }
    }
}
