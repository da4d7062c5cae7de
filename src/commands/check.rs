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
use simbench_sim::SimError;
use simbench_sim::{Echo, Stop};
use simbench_profiles::render::group;
use simbench_sim::runner;
use serde::{Deserialize, Serialize};
use simbench_profiles::flamegraph::xml_escape;
use simbench_profiles::Report;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::{Path, PathBuf};

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

/// The budgets file.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Budgets {
    pub schema: String,
    /// File name of the ELF the baseline was written from.
    pub firmware: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub firmware_sha256: Option<String>,
    /// simbench version that wrote it (timing models evolve between versions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub simbench_version: Option<String>,
    /// Board name (`report.board.name`).
    pub board: String,
    /// Timing mode (`fast` or `detailed`).
    pub timing: String,
    /// Whole-run cycles (the report's `cycles`).
    pub total_cycles: u64,
    /// Inference cycles (the profile's `inference_cycles`), when the run had a profile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inference_cycles: Option<u64>,
    #[serde(default)]
    pub operators: Vec<OperatorBudget>,
    /// Inclusive cycles per function name.
    #[serde(default)]
    pub functions: BTreeMap<String, u64>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct OperatorBudget {
    pub index: u32,
    pub op: String,
    /// Which inference (0-based), when the firmware runs several.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub invocation: u32,
    pub cycles: u64,
}

fn is_zero(v: &u32) -> bool {
    *v == 0
}

impl Budgets {
    /// Budgets from a run: its total, inference total, every operator, and the top
    /// functions by inclusive cycles.
    pub fn from_report(r: &Report) -> Budgets {
        let mut inclusive: BTreeMap<String, u64> = BTreeMap::new();
        for f in &r.functions {
            *inclusive.entry(f.name.clone()).or_default() += f.inclusive_cycles;
        }
        let mut top: Vec<(String, u64)> = inclusive.into_iter().collect();
        top.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        top.truncate(BASELINE_FUNCTIONS);
        Budgets {
            schema: SCHEMA.into(),
            firmware: r.firmware.file.clone(),
            firmware_sha256: Some(r.firmware.sha256.clone()),
            simbench_version: Some(r.simbench_version.clone()),
            board: r.board.name.clone(),
            timing: r.timing.mode.clone(),
            total_cycles: r.cycles,
            inference_cycles: r.profile.as_ref().map(|p| p.inference_cycles),
            operators: r.operators.iter().map(|o| OperatorBudget { index: o.index, op: o.op.clone(), invocation: o.invocation, cycles: o.cycles }).collect(),
            functions: top.into_iter().collect(),
        }
    }

    /// Parse a budgets file's text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Budgets, SimError> {
        let v: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| SimError::Io(format!("baseline '{origin}' is not valid JSON ({e}): fix it or write a new one with --write-baseline")))?;
        match v.get("schema").and_then(|s| s.as_str()) {
            Some(SCHEMA) => {}
            Some(other) => {
                return Err(SimError::Io(format!(
                    "baseline '{origin}' has schema '{other}'; this simbench reads '{SCHEMA}': write a new one with --write-baseline"
                )))
            }
            None => {
                return Err(SimError::Io(format!(
                    "baseline '{origin}' has no \"schema\": \"{SCHEMA}\" field: is it a simbench budgets file? Write one with --write-baseline"
                )))
            }
        }
        serde_json::from_value(v)
            .map_err(|e| SimError::Io(format!("baseline '{origin}' is not a valid {SCHEMA} file ({e}): fix it or write a new one with --write-baseline")))
    }

    /// Read a budgets file.
    pub fn load(path: &Path) -> Result<Budgets, SimError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            SimError::Io(format!(
                "cannot read baseline '{}': {e}. Write one from a run with `simbench check FW.elf --baseline {} --write-baseline --board NAME`",
                path.display(),
                path.display()
            ))
        })?;
        Budgets::parse(&text, &path.display().to_string())
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("budgets serialise") + "\n"
    }
}

/// Parse a tolerance: `2%`, `2 %`, `0.5%` (percent) or `0.02` (a fraction, 0–1).
pub fn parse_tolerance(s: &str) -> Result<f64, SimError> {
    let t = s.trim();
    let bad = |why: &str| SimError::Usage(format!("--tolerance '{s}': {why} (e.g. 2% or 0.02)"));
    let value = if let Some(p) = t.strip_suffix('%') {
        let v: f64 = p.trim().parse().map_err(|_| bad("not a number"))?;
        v / 100.0
    } else {
        let v: f64 = t.parse().map_err(|_| bad("not a number"))?;
        if v > 1.0 {
            return Err(bad(&format!("a bare number is a fraction from 0 to 1; write {v}% for a percentage")));
        }
        v
    };
    if !value.is_finite() || value < 0.0 {
        return Err(bad("give a non-negative tolerance"));
    }
    Ok(value)
}

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

fn pct(change: f64) -> String {
    if change.is_infinite() {
        "new cycles".into()
    } else {
        format!("{:+.2} %", change * 100.0)
    }
}

fn tolerance_text(t: f64) -> String {
    let p = t * 100.0;
    if (p - p.round()).abs() < 1e-9 {
        format!("{} %", p.round())
    } else {
        format!("{p} %")
    }
}

/// Compare `actual` with `budget` at `tolerance`.
fn budget_item(kind: &str, name: String, budget: u64, actual: u64, tolerance: f64) -> Item {
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

fn operator_name(invocation: u32, index: u32, op: &str) -> String {
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
        let what = match (&report.outcome.message, report.outcome.exit_status) {
            (Some(m), _) => m.clone(),
            (None, Some(s)) => format!("exited with status {s}"),
            (None, None) => report.outcome.kind.clone(),
        };
        items.push(Item {
            kind: "run".into(),
            name: "run".into(),
            budget: None,
            actual: Some(report.cycles),
            limit: None,
            change: None,
            status: Status::RunFailed,
            message: format!("the firmware did not finish cleanly ({what}): its cycles are not comparable with the budgets"),
        });
    }
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
    // Operators by (invocation, index).
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
    // Functions by name (inclusive cycles).
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

fn opt(v: Option<u64>) -> String {
    v.map(group).unwrap_or_else(|| "-".into())
}

/// The text report.
pub fn text(r: &CheckResult) -> String {
    let mut s = String::new();
    let _ =
        writeln!(s, "simbench check: {} on {} ({} timing) against {}, tolerance {}", r.firmware, r.board, r.timing, r.baseline, tolerance_text(r.tolerance));
    let _ = writeln!(s, "  {:<8} {:<44} {:>14} {:>14} {:>14} {:>10}", "status", "item", "cycles", "budget", "limit", "change");
    for it in &r.items {
        let change = it.change.map(pct).unwrap_or_else(|| "-".into());
        let name = if it.name.chars().count() > 44 { it.name.chars().take(43).collect::<String>() + "…" } else { it.name.clone() };
        let _ = writeln!(s, "  {:<8} {:<44} {:>14} {:>14} {:>14} {:>10}", it.status.label(), name, opt(it.actual), opt(it.budget), opt(it.limit), change);
    }
    let failing: Vec<&Item> = r.items.iter().filter(|i| i.status.is_failure()).collect();
    if !failing.is_empty() {
        s.push_str("\nviolations:\n");
        for it in &failing {
            let _ = writeln!(s, "  {}", it.message);
        }
    }
    if !r.notes.is_empty() {
        s.push('\n');
        for n in &r.notes {
            let _ = writeln!(s, "  note: {n}");
        }
    }
    s.push('\n');
    if r.passed {
        let _ = writeln!(s, "PASSED: {} budget items within {} tolerance", r.items.len(), tolerance_text(r.tolerance));
    } else {
        let names: Vec<&str> = failing.iter().map(|i| i.name.as_str()).collect();
        let _ = writeln!(s, "FAILED: {} of {} budget items: {}", r.failures, r.items.len(), names.join(", "));
    }
    s
}


/// JUnit XML: one test case per budget item, a `<failure>` on each failing one.
pub fn junit(r: &CheckResult) -> String {
    let suite = format!("simbench check {} on {}", r.firmware, r.board);
    let mut s = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(s, "<testsuites name=\"simbench check\" tests=\"{}\" failures=\"{}\" errors=\"0\">", r.items.len(), r.failures);
    let _ = writeln!(s, "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"0\">", xml_escape(&suite), r.items.len(), r.failures);
    let _ = writeln!(s, "    <properties>");
    for (k, v) in [("firmware", r.firmware.as_str()), ("board", r.board.as_str()), ("timing", r.timing.as_str()), ("baseline", r.baseline.as_str())] {
        let _ = writeln!(s, "      <property name=\"{k}\" value=\"{}\"/>", xml_escape(v));
    }
    let _ = writeln!(s, "      <property name=\"tolerance\" value=\"{}\"/>", r.tolerance);
    let _ = writeln!(s, "    </properties>");
    for it in &r.items {
        let class = format!("simbench.{}", it.kind);
        if it.status.is_failure() {
            let _ = writeln!(s, "    <testcase classname=\"{}\" name=\"{}\">", xml_escape(&class), xml_escape(&it.name));
            let kind = match it.status {
                Status::Exceeded => "budget-exceeded",
                Status::Missing => "missing",
                Status::Changed => "operator-changed",
                Status::New => "operator-not-in-baseline",
                _ => "run-failed",
            };
            let _ = writeln!(s, "      <failure type=\"{kind}\" message=\"{}\">{}</failure>", xml_escape(&it.message), xml_escape(&it.message));
            let _ = writeln!(s, "    </testcase>");
        } else if matches!(it.status, Status::Improved | Status::Gone) {
            let _ = writeln!(s, "    <testcase classname=\"{}\" name=\"{}\">", xml_escape(&class), xml_escape(&it.name));
            let _ = writeln!(s, "      <system-out>{}</system-out>", xml_escape(&it.message));
            let _ = writeln!(s, "    </testcase>");
        } else {
            let _ = writeln!(s, "    <testcase classname=\"{}\" name=\"{}\"/>", xml_escape(&class), xml_escape(&it.name));
        }
    }
    let _ = writeln!(s, "  </testsuite>");
    s.push_str("</testsuites>\n");
    s
}

fn md_escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('|', "\\|").replace('`', "\\`").replace('<', "&lt;").replace('>', "&gt;").replace('\n', " ")
}

/// A Markdown summary for CI (GitHub step summary).
pub fn markdown(r: &CheckResult) -> String {
    let mut s = String::new();
    let verdict = if r.passed { "✅ passed".to_string() } else { format!("❌ {} budget item(s) failed", r.failures) };
    let _ = writeln!(s, "### simbench check: {verdict}\n");
    let _ = writeln!(
        s,
        "`{}` on `{}` ({} timing) against `{}`, tolerance {}.\n",
        md_escape(&r.firmware),
        md_escape(&r.board),
        md_escape(&r.timing),
        md_escape(&r.baseline),
        tolerance_text(r.tolerance)
    );
    let failing: Vec<&Item> = r.items.iter().filter(|i| i.status.is_failure()).collect();
    if !failing.is_empty() {
        s.push_str("**Violations**\n\n");
        for it in &failing {
            let _ = writeln!(s, "- {}", md_escape(&it.message));
        }
        s.push('\n');
    }
    if !r.notes.is_empty() {
        s.push_str("**Notes**\n\n");
        for n in &r.notes {
            let _ = writeln!(s, "- {}", md_escape(n));
        }
        s.push('\n');
    }
    let _ = writeln!(s, "<details{}><summary>All {} budget items</summary>\n", if failing.is_empty() { "" } else { " open" }, r.items.len());
    s.push_str("| status | item | cycles | budget | limit | change |\n|---|---|---:|---:|---:|---:|\n");
    for it in &r.items {
        let status = match it.status {
            Status::Ok => "✅ ok",
            Status::Improved => "🟢 better",
            Status::Gone => "⚪ gone",
            Status::Exceeded => "❌ exceeded",
            Status::Missing => "❌ missing",
            Status::Changed => "❌ changed",
            Status::New => "❌ new",
            Status::RunFailed => "❌ run failed",
        };
        let change = it.change.map(pct).unwrap_or_else(|| "-".into());
        let _ = writeln!(s, "| {status} | {} | {} | {} | {} | {change} |", md_escape(&it.name), opt(it.actual), opt(it.budget), opt(it.limit));
    }
    s.push_str("\n</details>\n");
    s.push('\n');
    s
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
        Stop::Fault { .. } | Stop::Limit { .. } => {
            eprintln!("simbench: the firmware {}", runner::describe_stop(&finished.stop));
            exit::of_stop(&finished.stop)
        }
        _ if result.passed => exit::OK,
        _ => exit::FIRMWARE_NONZERO,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::compare::tests::report;

    fn kws() -> Report {
        report("kws.elf", "mimxrt1011", 500.0, &[("CONV_2D", 10_000), ("DEPTHWISE_CONV_2D", 5_000), ("SOFTMAX", 100)], 400)
    }

    #[test]
    fn tolerance_accepts_percent_and_fraction() {
        assert_eq!(parse_tolerance("2%").unwrap(), 0.02);
        assert_eq!(parse_tolerance(" 2 % ").unwrap(), 0.02);
        assert_eq!(parse_tolerance("0.02").unwrap(), 0.02);
        assert_eq!(parse_tolerance("0").unwrap(), 0.0);
        assert_eq!(parse_tolerance("0%").unwrap(), 0.0);
        assert_eq!(parse_tolerance("0.5%").unwrap(), 0.005);
        assert_eq!(parse_tolerance("1").unwrap(), 1.0);
        assert_eq!(parse_tolerance("150%").unwrap(), 1.5);
        for bad in ["", "%", "two", "2", "-1%", "-0.1", "NaN", "inf%"] {
            assert!(matches!(parse_tolerance(bad), Err(SimError::Usage(_))), "{bad:?} should be rejected");
        }
        assert!(parse_tolerance("2").unwrap_err().to_string().contains("2%"));
    }

    #[test]
    fn baseline_round_trips_and_passes_against_itself() {
        let r = kws();
        let b = Budgets::from_report(&r);
        assert_eq!(b.schema, SCHEMA);
        assert_eq!(b.total_cycles, r.cycles);
        assert_eq!(b.inference_cycles, Some(15_500));
        assert_eq!(b.operators.len(), 3);
        assert_eq!(b.functions.len(), 3);
        let text = b.to_json();
        assert!(!text.contains("invocation"), "invocation 0 is omitted: {text}");
        assert_eq!(Budgets::parse(&text, "x").unwrap(), b);
        let res = check(&r, &b, 0.0, "b.json");
        assert!(res.passed, "{}", super::text(&res));
        assert!(res.items.iter().all(|i| i.status == Status::Ok));
        // total, inference, 3 operators, 3 functions
        assert_eq!(res.items.len(), 8);
    }

    #[test]
    fn a_lowered_operator_budget_fails_and_is_named() {
        let r = kws();
        let mut b = Budgets::from_report(&r);
        b.operators[1].cycles = 4_500; // 10 % below 5,000
        let res = check(&r, &b, 0.02, "b.json");
        assert!(!res.passed);
        assert_eq!(res.failures, 1);
        let bad = res.items.iter().find(|i| i.status == Status::Exceeded).unwrap();
        assert_eq!(bad.name, "operator #1 DEPTHWISE_CONV_2D");
        assert_eq!(bad.limit, Some(4_590));
        let t = text(&res);
        assert!(t.contains("FAILED: 1 of 8 budget items: operator #1 DEPTHWISE_CONV_2D"), "{t}");
        let x = junit(&res);
        assert_eq!(x.matches("<testcase ").count(), 8);
        assert_eq!(x.matches("<failure ").count(), 1);
        assert!(x.contains("name=\"operator #1 DEPTHWISE_CONV_2D\">\n      <failure type=\"budget-exceeded\""), "{x}");
        let md = markdown(&res);
        assert!(md.contains("| ❌ exceeded | operator #1 DEPTHWISE_CONV_2D | 5,000 | 4,500 | 4,590 | +11.11 % |"), "{md}");
    }

    #[test]
    fn tolerance_lets_a_small_overrun_pass_and_reports_improvements() {
        let r = kws();
        let mut b = Budgets::from_report(&r);
        b.operators[0].cycles = 9_901; // 10,000 is a 1 % overrun
        assert!(check(&r, &b, 0.02, "b").passed);
        assert!(!check(&r, &b, 0.005, "b").passed);
        assert!(!check(&r, &b, 0.0, "b").passed);
        b.operators[0].cycles = 11_000; // 9 % better
        let res = check(&r, &b, 0.02, "b");
        assert!(res.passed);
        assert_eq!(res.items.iter().find(|i| i.name == "operator #0 CONV_2D").unwrap().status, Status::Improved);
        assert!(res.notes.iter().any(|n| n.contains("operator #0 CONV_2D") && n.contains("-9.09 %")), "{:?}", res.notes);
        b.operators[0].cycles = 10_100; // 1 % better: within tolerance
        assert_eq!(check(&r, &b, 0.02, "b").items.iter().find(|i| i.name == "operator #0 CONV_2D").unwrap().status, Status::Ok);
    }

    #[test]
    fn operator_list_changes_fail_and_missing_functions_are_notes() {
        let r = kws();
        let mut b = Budgets::from_report(&r);
        b.operators[2].op = "LOGISTIC".into();
        b.operators.push(OperatorBudget { index: 7, op: "ADD".into(), invocation: 0, cycles: 5 });
        b.functions.insert("old_kernel".into(), 1234);
        b.functions.remove("kernel_conv_2d");
        let res = check(&r, &b, 0.0, "b");
        let st = |n: &str| res.items.iter().find(|i| i.name == n).unwrap().status;
        assert_eq!(st("operator #2 LOGISTIC"), Status::Changed);
        assert_eq!(st("operator #7 ADD"), Status::Missing);
        assert_eq!(st("function old_kernel"), Status::Gone);
        assert_eq!(res.failures, 2);
        b.operators.truncate(2);
        let res = check(&r, &b, 0.0, "b");
        assert_eq!(res.items.iter().find(|i| i.name == "operator #2 SOFTMAX").unwrap().status, Status::New);
        // A run without a function profile fails once, not per function.
        let mut r2 = r.clone();
        r2.functions.clear();
        let res = check(&r2, &Budgets::from_report(&r), 0.0, "b");
        assert_eq!(res.failures, 1);
        assert_eq!(res.items.last().unwrap().name, "functions");
    }

    #[test]
    fn failed_runs_fail_the_check() {
        let mut r = kws();
        let b = Budgets::from_report(&r);
        r.outcome = simbench_profiles::report::Outcome { kind: "exit".into(), exit_status: Some(3), message: None, pc: None, symbol: None };
        let res = check(&r, &b, 0.0, "b");
        assert!(!res.passed);
        assert_eq!(res.items[0].status, Status::RunFailed);
    }

    #[test]
    fn bad_baselines_are_clear_errors() {
        for (text, want) in [
            ("{", "not valid JSON"),
            ("{\"schema\": \"simbench.budgets/9\"}", "has schema 'simbench.budgets/9'"),
            ("[1,2]", "no \"schema\""),
            ("{\"schema\": \"simbench.budgets/1\", \"firmware\": \"x\"}", "not a valid simbench.budgets/1 file"),
        ] {
            let e = Budgets::parse(text, "b.json").unwrap_err();
            assert_eq!(exit::of_error(&e), exit::BAD_INPUT);
            assert!(e.to_string().contains(want), "{e}");
        }
        let e = Budgets::load(Path::new("/nonexistent/budgets.json")).unwrap_err();
        assert!(e.to_string().contains("cannot read baseline") && e.to_string().contains("--write-baseline"), "{e}");
    }

    #[test]
    fn xml_and_markdown_escape_names() {
        assert_eq!(xml_escape("a<b>&\"c'\u{1}"), "a&lt;b&gt;&amp;&quot;c&apos; ");
        assert_eq!(md_escape("operator|(a)"), "operator\\|(a)");
    }
}
