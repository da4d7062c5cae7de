//! `simbench place`: the placement advice (schema `simbench.place/1`) and its text.
//!
//! Kept apart from the run report: the advice is a conclusion drawn from several runs
//! (a baseline with `--stalls`, one what-if per candidate, a final what-if with every
//! chosen move), not one run's measurements. Every field is a function of the ELF and
//! the options, so the JSON is byte-identical from run to run.

use crate::render::group;
use serde::{Deserialize, Serialize};
use std::fmt::Write;

pub const SCHEMA: &str = "simbench.place/1";

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Advice {
    pub schema: String,
    pub simbench_version: String,
    pub firmware: String,
    pub board: String,
    /// `fast` or `detailed`.
    pub timing: String,
    /// What the savings are counted on: `inference_cycles` when the run has an operator
    /// profile with an inference, else `cycles` (the whole run).
    pub metric: String,
    /// The metric in the baseline run (the ELF as linked).
    pub baseline_cycles: u64,
    /// Room in each RAM region of the board, from memory truth.
    pub regions: Vec<RegionRoom>,
    /// Symbols with stalls, each timed in each region it could move to.
    pub candidates: Vec<Candidate>,
    /// The moves chosen, in the order the greedy choice took them (best saving per byte
    /// first).
    pub moves: Vec<Move>,
    /// All chosen moves together, verified by one what-if run with every placement.
    pub total: Total,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// Free room in a RAM region: `free_bytes = limit_bytes - sections - stack - heap`,
/// capped by `--budget`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct RegionRoom {
    pub name: String,
    /// The board region's kind (`sram`, `tcm`, `code`).
    pub kind: String,
    /// Bytes the region can hold as configured: the board's size, or for FlexRAM windows
    /// the banks the image reaches into (more come from `flexram.unassigned_bytes`).
    pub limit_bytes: u64,
    /// Bytes of ELF sections there (run addresses, and load images of copied sections).
    pub section_bytes: u64,
    /// Stack kept free when the stack lives here: the larger of the measured peak and the
    /// linker script's reservation (`__stack_top - __stack_limit__`).
    pub stack_bytes: u64,
    /// Heap bytes the run used, when the heap lives here.
    pub heap_bytes: u64,
    pub free_bytes: u64,
    /// FlexRAM banks no window reaches yet, which this region may take (shared with the
    /// other FlexRAM windows; absent elsewhere).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub shared_bytes: u64,
    /// `--budget REGION=BYTES`, when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget_bytes: Option<u64>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// One symbol timed in one region by a what-if run.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Candidate {
    pub symbol: String,
    /// `function` or `object`.
    pub kind: String,
    pub size: u64,
    pub section: String,
    /// Where the ELF puts it.
    pub region: String,
    /// Its wait cycles in the baseline (`--stalls`), the whole run.
    pub stall_cycles: u64,
    /// The region it was timed in.
    pub to: String,
    /// Metric cycles saved by `--place SYMBOL=TO` alone (negative: slower).
    pub saving_cycles: i64,
    /// `saving_cycles / size`.
    pub saving_per_byte: f64,
    /// Whether the greedy choice took it.
    pub chosen: bool,
    /// Why it was not taken or not timed (absent when chosen).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub why_not: Option<String>,
}

/// A move the advice recommends.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Move {
    pub symbol: String,
    pub kind: String,
    pub size: u64,
    pub section: String,
    pub from: String,
    pub to: String,
    /// Saving of this move alone (its candidate's what-if run).
    pub saving_cycles: i64,
    /// `saving_cycles` as a percentage of `baseline_cycles`.
    pub saving_percent: f64,
    /// What the firmware must change.
    pub change: Change,
}

/// How to follow a move in the firmware: the attribute on the symbol's definition and the
/// linker script's output section that takes it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Change {
    /// e.g. `__attribute__((section(".ramfunc")))`.
    pub attribute: String,
    /// The linker-script output section that collects that input section, as written in
    /// the board's script, or one to add.
    pub linker_script: String,
    /// Start-up work and other conditions (copying from flash).
    pub note: String,
    /// The same move without editing the source: the symbol's own input section
    /// (`-ffunction-sections`, `-fdata-sections`) listed in the output section.
    pub without_source_change: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Total {
    /// Sum of the chosen moves' own savings.
    pub predicted_sum_cycles: i64,
    /// The metric in the what-if run with every chosen move (null with no moves).
    pub verified_cycles: Option<u64>,
    /// `baseline_cycles - verified_cycles` (0 with no moves).
    pub verified_saving_cycles: i64,
    pub verified_saving_percent: f64,
    /// Bytes the moves put in each region.
    pub bytes_by_region: Vec<RegionBytes>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct RegionBytes {
    pub region: String,
    pub bytes: u64,
}

/// `-3.9 M`, `-12.4 k`, `-812`: a signed cycle count the way the advice lines read.
pub fn short_cycles(n: i64) -> String {
    let sign = if n < 0 {
        "−"
    } else if n > 0 {
        "+"
    } else {
        ""
    };
    let a = n.unsigned_abs() as f64;
    let body = if a >= 1e6 {
        format!("{:.1} M", a / 1e6)
    } else if a >= 1e4 {
        format!("{:.1} k", a / 1e3)
    } else {
        group(n.unsigned_abs())
    };
    format!("{sign}{body}")
}

/// A signed percentage of the baseline: `−16 %`, `−0.4 %`.
pub fn percent(saving: i64, base: u64) -> f64 {
    if base == 0 {
        0.0
    } else {
        saving as f64 * 100.0 / base as f64
    }
}

fn short_percent(p: f64) -> String {
    let sign = if p > 0.0 {
        "−"
    } else if p < 0.0 {
        "+"
    } else {
        ""
    };
    let a = p.abs();
    if a >= 10.0 {
        format!("{sign}{a:.0} %")
    } else if a >= 1.0 {
        format!("{sign}{a:.1} %")
    } else {
        format!("{sign}{a:.2} %")
    }
}

/// The move line: "move `g_model` (53,936 B, .rodata, flash) to sram: −3.9 M cycles (−16 %)".
pub fn move_line(m: &Move) -> String {
    format!(
        "move `{}` ({} B, {}, {}) to {}: {} cycles ({})",
        definition_name(&m.symbol),
        group(m.size),
        m.section,
        m.from,
        m.to,
        short_cycles(-m.saving_cycles),
        short_percent(m.saving_percent)
    )
}

/// The text advice.
pub fn text(a: &Advice) -> String {
    let mut s = String::new();
    let metric = if a.metric == "inference_cycles" { "inference" } else { "whole run" };
    let _ = writeln!(s, "placement advice for {} on {} ({} timing)", a.firmware, a.board, a.timing);
    let _ = writeln!(s, "  baseline: {} cycles ({metric})", group(a.baseline_cycles));
    let _ = writeln!(s, "  room in RAM (free = limit - sections - stack - heap):");
    for r in &a.regions {
        let budget = r.budget_bytes.map(|b| format!(", --budget {}", group(b))).unwrap_or_default();
        let shared = if r.shared_bytes > 0 { format!(", +{} B of unassigned FlexRAM it may take", group(r.shared_bytes)) } else { String::new() };
        let _ = writeln!(
            s,
            "    {:<10} {:>9} B free of {:>9} ({} sections, {} stack, {} heap{budget}{shared})",
            r.name,
            group(r.free_bytes),
            group(r.limit_bytes),
            group(r.section_bytes),
            group(r.stack_bytes),
            group(r.heap_bytes)
        );
    }
    if a.moves.is_empty() {
        let _ = writeln!(s, "\n  no move saves cycles within the room above ({} candidates timed)", a.candidates.len());
    } else {
        let _ = writeln!(s);
        for (i, m) in a.moves.iter().enumerate() {
            let _ = writeln!(s, "  {:>2}. {}", i + 1, move_line(m));
            let _ = writeln!(s, "        {} on {}", m.change.attribute, definition_name(&m.symbol));
            let _ = writeln!(s, "        or, without a source change: {}", m.change.without_source_change);
        }
        // The linker-script sections and start-up conditions, once each.
        let mut seen: Vec<(&str, &str)> = Vec::new();
        for m in &a.moves {
            let key = (m.change.linker_script.as_str(), m.change.note.as_str());
            if !seen.contains(&key) {
                seen.push(key);
            }
        }
        let _ = writeln!(s, "\n  linker script and start-up:");
        for (line, note) in seen {
            let _ = writeln!(s, "    {line}\n      {note}");
        }
        let t = &a.total;
        let bytes: Vec<String> = t.bytes_by_region.iter().map(|b| format!("{} B to {}", group(b.bytes), b.region)).collect();
        let _ = writeln!(
            s,
            "\n  total, verified by one what-if run with all {} moves: {} cycles ({}), {} → {} ({}; the moves' own savings add up to {})",
            a.moves.len(),
            short_cycles(-t.verified_saving_cycles),
            short_percent(t.verified_saving_percent),
            group(a.baseline_cycles),
            group(t.verified_cycles.unwrap_or(a.baseline_cycles)),
            bytes.join(", "),
            short_cycles(-t.predicted_sum_cycles)
        );
    }
    for n in &a.notes {
        let _ = writeln!(s, "  note: {n}");
    }
    s
}

/// The symbol as its definition names it (a demangled C++ name without its parameters).
fn definition_name(symbol: &str) -> &str {
    symbol.split('(').next().unwrap_or(symbol)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_figures() {
        assert_eq!(short_cycles(-3_912_345), "−3.9 M");
        assert_eq!(short_cycles(12_400), "+12.4 k");
        assert_eq!(short_cycles(-812), "−812");
        assert_eq!(short_percent(16.2), "−16 %");
        assert_eq!(short_percent(-0.42), "+0.42 %");
        assert_eq!(short_percent(3.24), "−3.2 %");
        assert_eq!(percent(5, 0), 0.0);
    }

    #[test]
    fn the_move_line_reads_like_the_issue() {
        let m = Move {
            symbol: "g_model".into(),
            kind: "object".into(),
            size: 53_936,
            section: ".rodata".into(),
            from: "flash".into(),
            to: "sram".into(),
            saving_cycles: 3_900_000,
            saving_percent: 16.0,
            change: Change { attribute: String::new(), linker_script: String::new(), note: String::new(), without_source_change: String::new() },
        };
        assert_eq!(move_line(&m), "move `g_model` (53,936 B, .rodata, flash) to sram: −3.9 M cycles (−16 %)");
    }
}
