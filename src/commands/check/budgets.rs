//! The budgets file (`simbench.budgets/1`): what a baseline holds, and the tolerance.

use super::*;

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

pub(super) fn is_zero(v: &u32) -> bool {
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
