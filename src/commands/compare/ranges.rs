//! The two sides' ranges (the boards' assumptions at their low and high ends) and whether
//! B differs from A by more than they allow.
//!
//! On one board both sides share the assumptions, so their corners pair up: B/A at the
//! low corner and at the high corner bound the ratio. On two boards the assumptions are
//! independent: B/A runs from B's low over A's high to B's high over A's low.

use super::*;
use simbench_profiles::report::{Bounds, BoundsF};

/// Ranges of both sides (`ranges` in `simbench.compare/1`; absent when neither run has one).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct RangeComparison {
    /// Inference cycles at each side's low and high corner (null: that side has no range).
    pub inference_cycles_a: Option<Bounds>,
    pub inference_cycles_b: Option<Bounds>,
    /// Latency per inference, milliseconds.
    pub latency_ms_a: Option<BoundsF>,
    pub latency_ms_b: Option<BoundsF>,
    /// The least and the most B/A latency the ranges allow (null unless both sides have one).
    pub ratio: Option<BoundsF>,
    /// `paired` (one board: corners share assumptions) or `independent` (two boards).
    pub ratio_basis: String,
    /// B is faster or slower than A at every end of the ranges (null unless both sides
    /// have one).
    pub difference_exceeds_ranges: Option<bool>,
}

/// Inference cycles at each corner of one side, as `side_totals` counts them.
fn inference_bounds(r: &Report) -> Option<Bounds> {
    let g = r.range.as_ref()?;
    match &r.profile {
        Some(p) if p.inference_cycles > 0 => g.inference_cycles,
        _ => g.cycles,
    }
}

fn latency_bounds(b: Option<Bounds>, inferences: u32, clock_mhz: f64) -> Option<BoundsF> {
    let b = b?;
    Some(BoundsF { low: latency_ms(b.low, inferences, clock_mhz)?, high: latency_ms(b.high, inferences, clock_mhz)? })
}

/// The range comparison, or None when neither side has a range.
pub(super) fn compare_ranges(a: &Report, b: &Report, (n_a, n_b): (u32, u32), point_ratio: Option<f64>) -> Option<RangeComparison> {
    if a.range.is_none() && b.range.is_none() {
        return None;
    }
    let (ia, ib) = (inference_bounds(a), inference_bounds(b));
    let (la, lb) = (latency_bounds(ia, n_a, a.board.clock_mhz), latency_bounds(ib, n_b, b.board.clock_mhz));
    let paired = a.board.name == b.board.name && a.range.as_ref().map(|g| &g.assumptions) == b.range.as_ref().map(|g| &g.assumptions);
    let ratio = match (la, lb) {
        (Some(x), Some(y)) if paired => {
            let (r1, r2) = (ratio(Some(x.low), Some(y.low)), ratio(Some(x.high), Some(y.high)));
            r1.zip(r2).map(|(r1, r2)| BoundsF { low: r1.min(r2), high: r1.max(r2) })
        }
        (Some(x), Some(y)) => ratio(Some(x.high), Some(y.low)).zip(ratio(Some(x.low), Some(y.high))).map(|(low, high)| BoundsF { low, high }),
        _ => None,
    };
    // Exceeds: every ratio the ranges allow (the point's included) is on one side of 1.
    let exceeds = ratio.map(|r| {
        let (lo, hi) = (r.low.min(point_ratio.unwrap_or(r.low)), r.high.max(point_ratio.unwrap_or(r.high)));
        lo > 1.0 || hi < 1.0
    });
    Some(RangeComparison {
        inference_cycles_a: ia,
        inference_cycles_b: ib,
        latency_ms_a: la,
        latency_ms_b: lb,
        ratio,
        ratio_basis: if paired { "paired" } else { "independent" }.into(),
        difference_exceeds_ranges: exceeds,
    })
}

/// The text block under the totals.
pub(super) fn text(s: &mut String, g: &RangeComparison) {
    let cyc = |b: Option<Bounds>| b.map(|b| format!("{}–{}", group(b.low), group(b.high))).unwrap_or_else(|| "-".into());
    let ms = |b: Option<BoundsF>| b.map(|b| format!("{:.3}–{:.3} ms", b.low, b.high)).unwrap_or_else(|| "-".into());
    let _ = writeln!(s, "\n  ranges (each board's assumptions at their low and high ends):");
    let _ = writeln!(s, "    {:<24} A {:<31} B {}", "inference cycles", cyc(g.inference_cycles_a), cyc(g.inference_cycles_b));
    let _ = writeln!(s, "    {:<24} A {:<31} B {}", "latency per inference", ms(g.latency_ms_a), ms(g.latency_ms_b));
    if let Some(r) = g.ratio {
        let how = if g.ratio_basis == "paired" { "same assumptions on both sides, paired end by end" } else { "independent assumptions" };
        let verdict = match g.difference_exceeds_ranges {
            Some(true) => "the difference exceeds the ranges",
            _ => "the difference is within the ranges",
        };
        let _ = writeln!(s, "    {:<24} {:.3}–{:.3} ({how}): {verdict}", "B/A latency", r.low, r.high);
    }
}

/// CSV `total` rows: each side's low and high.
pub(super) fn csv_rows(g: &RangeComparison) -> Vec<(String, String, String, String)> {
    let u = |b: Option<Bounds>, hi: bool| b.map(|b| if hi { b.high } else { b.low }.to_string()).unwrap_or_default();
    let f = |b: Option<BoundsF>, hi: bool| b.map(|b| format!("{:.6}", if hi { b.high } else { b.low })).unwrap_or_default();
    let r = |hi: bool| g.ratio.map(|b| format!("{:.6}", if hi { b.high } else { b.low })).unwrap_or_default();
    vec![
        ("inference_cycles_low".into(), u(g.inference_cycles_a, false), u(g.inference_cycles_b, false), String::new()),
        ("inference_cycles_high".into(), u(g.inference_cycles_a, true), u(g.inference_cycles_b, true), String::new()),
        ("latency_ms_low".into(), f(g.latency_ms_a, false), f(g.latency_ms_b, false), r(false)),
        ("latency_ms_high".into(), f(g.latency_ms_a, true), f(g.latency_ms_b, true), r(true)),
    ]
}
