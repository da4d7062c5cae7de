//! `simbench merge A.json B.json …`: put the JSON outputs of `simbench sweep --shard i/n`
//! back together into the output of the unsharded sweep.
//!
//! The inputs must come from one sweep (same schema, simbench version, parameters —
//! firmware paths and hashes included — and matrix size), be shards of one `n`, be
//! disjoint, and together cover every position of the matrix; otherwise the merge fails
//! with exit code 3 and says what is wrong. Rows are re-sorted by matrix position, and
//! `latency_us` is recomputed from `cycles` and `clock_mhz` exactly as the sweep computes
//! it, so the merged JSON is byte-identical to the unsharded sweep's.

use crate::commands::sweep::{self, Row, Sweep, SweepFormat};
use crate::exit;
use simbench_sim::SimError;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// `simbench merge` options.
#[derive(clap::Args, Debug)]
pub struct MergeArgs {
    /// JSON outputs of `simbench sweep --shard I/N --format json`.
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
    /// Output format: text, json or csv.
    #[arg(long, default_value = "text")]
    pub format: String,
    /// Write the merged sweep to this file instead of standard output.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
}

/// A merge that cannot be done: exit code 3.
fn fail(msg: String) -> SimError {
    SimError::Io(format!("merge: {msg}"))
}

/// Parse one input.
pub fn read(path: &std::path::Path) -> Result<Sweep, SimError> {
    let text = std::fs::read_to_string(path).map_err(|e| fail(format!("cannot read '{}': {e}", path.display())))?;
    let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| fail(format!("'{}' is not JSON: {e}", path.display())))?;
    if v.get("schema").and_then(|s| s.as_str()) != Some(sweep::SCHEMA) {
        return Err(fail(format!(
            "'{}' is not a sweep output (schema {} expected, found {}): run `simbench sweep … --format json`",
            path.display(),
            sweep::SCHEMA,
            v.get("schema").map(|s| s.to_string()).unwrap_or_else(|| "none".into())
        )));
    }
    serde_json::from_value(v).map_err(|e| fail(format!("'{}' is not a valid {} document: {e}", path.display(), sweep::SCHEMA)))
}

/// Merge parsed shards (`names` label them in errors).
pub fn merge(inputs: &[(String, Sweep)]) -> Result<Sweep, SimError> {
    let (first_name, first) = inputs.first().ok_or_else(|| fail("no input".into()))?;
    for (name, s) in &inputs[1..] {
        if s.simbench_version != first.simbench_version {
            return Err(fail(format!(
                "'{name}' was made by simbench {} but '{first_name}' by {}: run every shard with one build",
                s.simbench_version, first.simbench_version
            )));
        }
        if s.parameters != first.parameters || s.matrix_size != first.matrix_size {
            let a = serde_json::to_value(&first.parameters).unwrap_or_default();
            let b = serde_json::to_value(&s.parameters).unwrap_or_default();
            let mut fields: Vec<String> =
                a.as_object().map(|o| o.keys().filter(|k| a.get(k.as_str()) != b.get(k.as_str())).cloned().collect()).unwrap_or_default();
            if s.matrix_size != first.matrix_size {
                fields.push("matrix_size".into());
            }
            return Err(fail(format!(
                "'{name}' and '{first_name}' are not shards of one sweep: their {} differ (firmware paths and contents, boards or cores, clocks, timing, profile and limits must be equal)",
                fields.join(", ")
            )));
        }
    }
    let count = first.shard.map_or(1, |s| s.count);
    let mut by_shard: BTreeMap<usize, &str> = BTreeMap::new();
    for (name, s) in inputs {
        let shard = s.shard.unwrap_or(sweep::Shard { index: 1, count: 1 });
        if shard.count != count {
            return Err(fail(format!("'{name}' is shard {shard} but '{first_name}' is one of {count}: give the shards of one --shard I/N split")));
        }
        if let Some(other) = by_shard.insert(shard.index, name) {
            return Err(fail(format!("shards overlap: '{other}' and '{name}' are both shard {shard}")));
        }
    }
    let mut rows: BTreeMap<usize, (Row, &str)> = BTreeMap::new();
    for (name, s) in inputs {
        let shard = s.shard.unwrap_or(sweep::Shard { index: 1, count: 1 });
        for r in &s.rows {
            if r.position >= first.matrix_size || !shard.keeps(r.position) {
                return Err(fail(format!(
                    "'{name}' holds position {} which is not in shard {shard} of a {}-run matrix: the file was edited or mixed",
                    r.position, first.matrix_size
                )));
            }
            if let Some((_, other)) = rows.get(&r.position) {
                return Err(fail(format!("shards overlap: '{other}' and '{name}' both hold matrix position {}", r.position)));
            }
            let mut r = r.clone();
            r.latency_us = r.cycles.map(|c| sweep::latency_us(c, r.clock_mhz));
            rows.insert(r.position, (r, name));
        }
    }
    let missing_shards: Vec<String> = (1..=count).filter(|i| !by_shard.contains_key(i)).map(|i| format!("{i}/{count}")).collect();
    if !missing_shards.is_empty() {
        return Err(fail(format!("incomplete: shard(s) {} missing ({} of {} runs present)", missing_shards.join(", "), rows.len(), first.matrix_size)));
    }
    let missing: Vec<String> = (0..first.matrix_size).filter(|p| !rows.contains_key(p)).map(|p| p.to_string()).collect();
    if !missing.is_empty() {
        return Err(fail(format!("incomplete: matrix position(s) {} missing from the shards", missing.join(", "))));
    }
    Ok(Sweep {
        schema: sweep::SCHEMA.into(),
        simbench_version: first.simbench_version.clone(),
        parameters: first.parameters.clone(),
        matrix_size: first.matrix_size,
        shard: None,
        rows: rows.into_values().map(|(r, _)| r).collect(),
        host: None,
    })
}

/// `simbench merge`: exit 0 with the merged sweep printed, 3 when the inputs are not the
/// complete, disjoint shards of one sweep.
pub fn run(args: &MergeArgs) -> Result<i32, SimError> {
    let format = SweepFormat::parse(&args.format).ok_or_else(|| SimError::Usage(format!("unknown format '{}' for merge: text, json or csv", args.format)))?;
    let mut inputs = Vec::new();
    for p in &args.inputs {
        inputs.push((p.display().to_string(), read(p)?));
    }
    let merged = merge(&inputs)?;
    sweep::write_output(&sweep::render(&merged, format), args.output.as_deref())?;
    Ok(exit::OK)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::sweep::{FirmwareParam, Parameters, Shard};

    fn row(position: usize, cycles: u64, clock: f64) -> Row {
        Row {
            position,
            firmware: "fw.elf".into(),
            board: "generic-m4".into(),
            core: "m4".into(),
            clock_mhz: clock,
            timing: "fast".into(),
            outcome: "exit 0".into(),
            exit_status: Some(0),
            fault_kind: None,
            message: None,
            cycles: Some(cycles),
            instructions: Some(cycles),
            latency_us: Some(sweep::latency_us(cycles, clock)),
            profile_source: None,
            inference_cycles: None,
            operators: None,
            cycles_range: None,
            latency_us_range: None,
            inference_cycles_range: None,
            host_seconds: None,
        }
    }

    fn full(n: usize) -> Sweep {
        Sweep {
            schema: sweep::SCHEMA.into(),
            simbench_version: "0.1.0".into(),
            parameters: Parameters {
                firmware: vec![FirmwareParam { path: "fw.elf".into(), sha256: "00".into() }],
                boards: vec![],
                cores: vec!["m4".into()],
                clocks_mhz: vec![],
                timing: "fast".into(),
                profile: "auto".into(),
                arena: None,
                vtor: None,
                max_cycles: None,
                max_instructions: None,
                timeout: None,
            },
            matrix_size: n,
            shard: None,
            // Awkward latencies: cycles / 7 MHz, 13 MHz.
            rows: (0..n).map(|p| row(p, 1_234_567 + 7919 * p as u64, if p % 2 == 0 { 7.0 } else { 13.3 })).collect(),
            host: None,
        }
    }

    fn shard(s: &Sweep, index: usize, count: usize) -> Sweep {
        let sh = Shard { index, count };
        Sweep { shard: Some(sh), rows: s.rows.iter().filter(|r| sh.keeps(r.position)).cloned().collect(), ..s.clone() }
    }

    /// Through JSON text and back, as `simbench merge` reads its inputs.
    fn reparse(s: &Sweep) -> Sweep {
        serde_json::from_str(&sweep::json(s)).unwrap()
    }

    #[test]
    fn shards_merge_to_the_unsharded_json() {
        let all = full(7);
        for n in 1..=4 {
            let mut parts: Vec<(String, Sweep)> = (1..=n).map(|i| (format!("s{i}"), reparse(&shard(&all, i, n)))).collect();
            parts.reverse();
            let merged = merge(&parts).unwrap();
            assert_eq!(sweep::json(&merged), sweep::json(&all), "{n} shards");
            assert_eq!(sweep::csv(&merged), sweep::csv(&all));
        }
    }

    #[test]
    fn incomplete_overlapping_and_foreign_shards_fail() {
        let all = full(5);
        let (a, b, c) = (shard(&all, 1, 3), shard(&all, 2, 3), shard(&all, 3, 3));
        let err = |parts: Vec<Sweep>| {
            let named: Vec<(String, Sweep)> = parts.into_iter().enumerate().map(|(i, s)| (format!("in{i}"), s)).collect();
            let e = merge(&named).unwrap_err();
            assert_eq!(exit::of_error(&e), exit::BAD_INPUT);
            e.to_string()
        };
        assert!(err(vec![a.clone(), b.clone()]).contains("shard(s) 3/3 missing"));
        assert!(err(vec![a.clone(), b.clone(), b.clone(), c.clone()]).contains("overlap"));
        assert!(err(vec![a.clone(), shard(&all, 2, 2)]).contains("one of 3"));
        assert!(err(vec![all.clone(), a.clone()]).contains("one of 1"));
        let mut other = b.clone();
        other.parameters.timing = "detailed".into();
        assert!(err(vec![a.clone(), other, c.clone()]).contains("timing"));
        let mut edited = c.clone();
        edited.rows.pop();
        assert!(err(vec![a.clone(), b.clone(), edited]).contains("position(s) 2 missing"));
        let mut moved = c.clone();
        moved.rows[0].position = 0;
        assert!(err(vec![a, b, moved]).contains("not in shard 3/3"));
        // An unsharded sweep merges to itself.
        assert_eq!(merge(&[("all".into(), all.clone())]).unwrap(), all);
    }
}
