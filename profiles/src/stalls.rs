//! Memory stalls by symbol (`--stalls`) and what-if placements (`--place`): the report
//! sections and their text rendering.
//!
//! Kept apart from `report.rs` so that reports without these options are unchanged: both
//! fields are absent from the JSON unless asked for.

use crate::render::{group, name_cell};
use serde::{Deserialize, Serialize};
use std::fmt::Write;

/// Wait cycles the memory system charged, and data accesses that waited.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct StallCounts {
    /// Instruction fetch waits of code in this symbol (flash wait states, accelerator and
    /// I-cache misses, XIP reads).
    pub fetch_wait_cycles: u64,
    /// Data read waits on addresses in this symbol.
    pub read_wait_cycles: u64,
    pub write_wait_cycles: u64,
    /// Data accesses that waited: the misses in a cached or accelerated region, every
    /// access in a region with plain wait states.
    pub data_misses: u64,
}

impl StallCounts {
    pub fn total(&self) -> u64 {
        self.fetch_wait_cycles + self.read_wait_cycles + self.write_wait_cycles
    }
    pub fn add(&mut self, o: &StallCounts) {
        self.fetch_wait_cycles += o.fetch_wait_cycles;
        self.read_wait_cycles += o.read_wait_cycles;
        self.write_wait_cycles += o.write_wait_cycles;
        self.data_misses += o.data_misses;
    }
}

/// Where stalls went: an ELF symbol (function or object), else its section, else the
/// board region.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct StallSymbol {
    pub name: String,
    /// `function`, `object`, `section` or `region`.
    pub kind: String,
    pub address: String,
    pub size: u64,
    /// The ELF section holding it (empty for a region).
    pub section: String,
    /// The board region holding it (where it is timed now, after `--place`).
    pub region: String,
    #[serde(flatten)]
    pub stalls: StallCounts,
}

/// One operator's stalls by symbol.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct OperatorStalls {
    pub index: u32,
    pub op: String,
    #[serde(flatten)]
    pub stalls: StallCounts,
    /// Sorted like `StallReport::symbols`; `name` refers to an entry there.
    pub symbols: Vec<SymbolStalls>,
}

/// A symbol's share of an operator's stalls.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct SymbolStalls {
    pub name: String,
    #[serde(flatten)]
    pub stalls: StallCounts,
}

/// `--stalls`: every wait cycle the memory system charged, by symbol and by operator.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct StallReport {
    /// All stalls; equal to the sums over `regions` in the report.
    pub total: StallCounts,
    /// Symbols with stalls, by total stall cycles (descending), then name.
    pub symbols: Vec<StallSymbol>,
    /// Per operator in execution order (empty without an operator profile); stalls
    /// outside every operator are in `symbols` only.
    pub operators: Vec<OperatorStalls>,
}

/// `--place SYMBOL=REGION`: an address range timed as if it lived in another region.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Placement {
    pub symbol: String,
    pub address: String,
    pub size: u64,
    /// Where the ELF puts it.
    pub from: String,
    /// Whose timing it got.
    pub to: String,
}

/// Symbols the text table lists (JSON has them all).
const SYMBOLS_SHOWN: usize = 20;
/// Symbols per operator the text lists.
const PER_OPERATOR_SHOWN: usize = 3;

/// The "placements" lines.
pub fn placements_text(s: &mut String, placements: &[Placement]) {
    if placements.is_empty() {
        return;
    }
    let _ = writeln!(s, "\n  what-if placements (timing only, the bytes stay where the ELF puts them):");
    for p in placements {
        let _ = writeln!(s, "    {} ({} B at {}) timed as in '{}' instead of '{}'", p.symbol, group(p.size), p.address, p.to, p.from);
    }
}

/// The "stalls by symbol" table and the per-operator lines.
pub fn stalls_text(s: &mut String, r: &StallReport) {
    let total = r.total.total();
    let _ = writeln!(
        s,
        "\n  stalls by symbol: {} wait cycles (fetch {}, data read {}, data write {}), {} data accesses waited",
        group(total),
        group(r.total.fetch_wait_cycles),
        group(r.total.read_wait_cycles),
        group(r.total.write_wait_cycles),
        group(r.total.data_misses)
    );
    let _ = writeln!(
        s,
        "    {:<34} {:<8} {:>9} {:<10} {:<8} {:>12} {:>12} {:>10} {:>10} {:>6}",
        "symbol", "kind", "bytes", "section", "region", "fetch wait", "read wait", "write wait", "misses", "share"
    );
    for sym in r.symbols.iter().take(SYMBOLS_SHOWN) {
        let (name, own_line) = name_cell(&sym.name, 34);
        if let Some(line) = own_line {
            let _ = writeln!(s, "    {line}");
        }
        let c = &sym.stalls;
        let _ = writeln!(
            s,
            "    {:<34} {:<8} {:>9} {:<10} {:<8} {:>12} {:>12} {:>10} {:>10} {:>6}",
            name,
            sym.kind,
            group(sym.size),
            cut(&sym.section, 10),
            cut(&sym.region, 8),
            group(c.fetch_wait_cycles),
            group(c.read_wait_cycles),
            group(c.write_wait_cycles),
            group(c.data_misses),
            share(c.total(), total)
        );
    }
    if r.symbols.len() > SYMBOLS_SHOWN {
        let _ = writeln!(s, "    … {} more in --format json", r.symbols.len() - SYMBOLS_SHOWN);
    }
    if r.operators.iter().any(|o| o.stalls.total() > 0) {
        let _ = writeln!(s, "\n  stalls by operator (the symbols that cost each operator its waits):");
        for o in r.operators.iter().filter(|o| o.stalls.total() > 0) {
            let parts: Vec<String> =
                o.symbols.iter().take(PER_OPERATOR_SHOWN).map(|x| format!("{} {}", crate::render::short_name(&x.name), group(x.stalls.total()))).collect();
            let more = if o.symbols.len() > PER_OPERATOR_SHOWN { format!(", {} others", o.symbols.len() - PER_OPERATOR_SHOWN) } else { String::new() };
            let _ = writeln!(s, "    {:>3}  {:<18} {:>12}  {}{more}", o.index, cut(&o.op, 18), group(o.stalls.total()), parts.join(", "));
        }
    }
}

fn share(part: u64, whole: u64) -> String {
    if whole == 0 {
        "-".into()
    } else {
        format!("{:.1}%", part as f64 * 100.0 / whole as f64)
    }
}

fn cut(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        s.chars().take(n - 1).chain(std::iter::once('…')).collect()
    }
}
