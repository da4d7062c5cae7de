//! The range of an estimate: the point run plus two re-timing runs of the same firmware
//! on the board's optimistic and pessimistic corners (`cores::ranges`), on threads, so
//! that every report can say `184 ms (150–230 ms)`.
//!
//! Execution is functional and the corners only change latencies, so the three runs
//! normally execute the same instructions; firmware that reads a cycle counter can take
//! another path on a corner, and then the range says so instead of pairing unlike runs.

use crate::error::SimError;
use crate::machine::{Echo, RunOptions};
use crate::runner::{describe_stop, run_to_report, Finished};
use simbench_cores::ranges::Corner;
use simbench_profiles::report::{Bounds, BoundsF, EstimateRange, RangedValue};
use simbench_profiles::Report;
use std::path::Path;

/// Run `path` with `opts` and, when `ranges` is on and the board has ranged values, add
/// the range the assumptions imply to the report. The point run is `run_to_report`'s.
pub fn run_with_range(path: &Path, opts: &RunOptions, ranges: bool) -> Result<Finished, SimError> {
    if !ranges || !opts.board.has_ranges() {
        return run_to_report(path, opts);
    }
    if opts.semihosting.write {
        // A re-timing run would create and write the host files a second and third time.
        let mut finished = run_to_report(path, opts)?;
        let note = "not computed: --semihosting-write lets the firmware change host files, which the re-timing runs would repeat";
        finished.report.range = Some(unavailable(opts, note.into()));
        return Ok(finished);
    }
    let corner_opts = |c: Corner| RunOptions { board: opts.board.corner(c), echo: Echo::Quiet, ..opts.clone() };
    let (low_opts, high_opts) = (corner_opts(Corner::Optimistic), corner_opts(Corner::Pessimistic));
    let (point, low, high) = std::thread::scope(|s| {
        let low = s.spawn(|| run_to_report(path, &low_opts));
        let high = s.spawn(|| run_to_report(path, &high_opts));
        let point = run_to_report(path, opts);
        (point, low.join(), high.join())
    });
    let mut finished = point?;
    let corner = |r: std::thread::Result<Result<Finished, SimError>>| match r {
        Ok(Ok(f)) => Ok(f),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("the re-timing run panicked".to_string()),
    };
    let range = match (corner(low), corner(high)) {
        (Ok(low), Ok(high)) => pair(opts, &finished, &low, &high),
        (Err(e), _) | (_, Err(e)) => unavailable(opts, format!("not computed: {e}")),
    };
    finished.report.range = Some(range);
    Ok(finished)
}

/// The range of a run that could not be re-timed (a run under GDB: the debugger can
/// change registers and memory, which corner runs would not repeat), with why; `None`
/// when the board has no ranges or they are off.
pub fn withheld(opts: &RunOptions, ranges: bool, why: &str) -> Option<EstimateRange> {
    (ranges && opts.board.has_ranges()).then(|| unavailable(opts, format!("not computed: {why}")))
}

/// The board's ranged values, as the report lists them.
fn assumptions(opts: &RunOptions) -> Vec<RangedValue> {
    opts.board.assumptions().into_iter().map(|a| RangedValue { path: a.path, value: a.value, low: a.low, high: a.high, kind: a.kind }).collect()
}

fn unavailable(opts: &RunOptions, note: String) -> EstimateRange {
    EstimateRange {
        assumptions: assumptions(opts),
        cycles: None,
        latency_us: None,
        inference_cycles: None,
        operators: vec![],
        contains_estimate: false,
        note: Some(note),
    }
}

/// Instructions a corner may execute beyond or short of the point run and still be
/// paired with it, in millionths (0.1 %): firmware that formats a cycle count it read
/// prints other digits on each corner, which is not another program.
const PAIRING_PPM: u64 = 1000;

/// Whether a run of `b` instructions can be paired with one of `a`: within
/// [`PAIRING_PPM`], the same program path with another cycle count printed.
pub fn same_path_instructions(a: u64, b: u64) -> bool {
    a.abs_diff(b).saturating_mul(1_000_000) <= a.saturating_mul(PAIRING_PPM)
}

/// How a corner run differs from the point run: `Err` when they are not the same program
/// path, `Ok(Some(note))` when they differ by a few instructions only.
fn divergence(point: &Finished, other: &Finished, which: &str) -> Result<Option<String>, String> {
    if point.stop != other.stop {
        return Err(format!("at the {which} end the firmware {} (the estimate's run {})", describe_stop(&other.stop), describe_stop(&point.stop)));
    }
    let (a, b) = (point.report.instructions, other.report.instructions);
    if a == b {
        Ok(None)
    } else if same_path_instructions(a, b) {
        Ok(Some(format!("the {which} end executed {b} instructions, not {a} (the firmware reads a cycle counter; paired, within 0.1 %)")))
    } else {
        Err(format!("at the {which} end the firmware executed {b} instructions, not {a}: it reads a cycle or time counter and takes another path, so the runs cannot be paired"))
    }
}

/// The range from the point run and the two corner runs, or why there is none.
fn pair(opts: &RunOptions, point: &Finished, low: &Finished, high: &Finished) -> EstimateRange {
    let mut notes = Vec::new();
    for (run, which) in [(low, "low"), (high, "high")] {
        match divergence(point, run, which) {
            Err(why) => return unavailable(opts, why),
            Ok(note) => notes.extend(note),
        }
    }
    let (p, l, h) = (&point.report, &low.report, &high.report);
    let cycles = Bounds { low: l.cycles, high: h.cycles };
    let contains_estimate = cycles.low <= p.cycles && p.cycles <= cycles.high;
    let inference_cycles = match (&l.profile, &h.profile) {
        (Some(lp), Some(hp)) if p.profile.as_ref().is_some_and(|pp| pp.inference_cycles > 0) => {
            Some(Bounds { low: lp.inference_cycles, high: hp.inference_cycles })
        }
        _ => None,
    };
    let (operators, op_notes) = operator_bounds(p, l, h);
    notes.extend(op_notes);
    if !contains_estimate {
        notes.push("an assumption moved cycles against its kind: the estimate lies outside low–high".into());
    }
    EstimateRange {
        assumptions: assumptions(opts),
        cycles: Some(cycles),
        latency_us: Some(BoundsF { low: l.latency_us, high: h.latency_us }),
        inference_cycles,
        operators,
        contains_estimate,
        note: (!notes.is_empty()).then(|| notes.join("; ")),
    }
}

/// Operator rows paired by position, when all three runs found the same operators.
fn operator_bounds(p: &Report, l: &Report, h: &Report) -> (Vec<Bounds>, Vec<String>) {
    let same = |o: &Report| o.operators.len() == p.operators.len() && o.operators.iter().zip(&p.operators).all(|(a, b)| a.op == b.op && a.index == b.index);
    if same(l) && same(h) {
        (l.operators.iter().zip(&h.operators).map(|(a, b)| Bounds { low: a.cycles, high: b.cycles }).collect(), vec![])
    } else {
        (vec![], vec!["the corners found other operator rows, so operators carry no range".into()])
    }
}
