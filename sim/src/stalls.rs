//! `--stalls`: memory wait cycles attributed to where they came from.
//!
//! The machine charges every fetch and data wait in one place; with `--stalls` it also
//! hands each one to a [`StallLog`]: fetch waits to the function holding the block,
//! data waits to the object holding the address (else its section, else its region).
//! Waits are summed per epoch, an epoch ending at every call, return or tail call, so
//! that at report time each epoch falls inside one operator's window (operators start
//! at a dispatch call).

use crate::image::Image;
use crate::placement::Placed;
use simbench_cores::board::Board;
use simbench_profiles::profile::OperatorRow;
use simbench_profiles::report::hex32;
use simbench_profiles::stalls::{OperatorStalls, StallCounts, StallReport, StallSymbol, SymbolStalls};
use std::collections::BTreeMap;

/// What an address can be attributed to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bucket {
    pub name: String,
    pub kind: &'static str,
    pub addr: u32,
    pub size: u32,
    pub section: String,
    pub region: String,
}

/// Addresses to buckets: sized symbols first, then sections, then regions, each a sorted
/// list of non-overlapping `(start, end, bucket)` ranges searched by bisection.
#[derive(Clone, Debug, Default)]
pub struct AddressMap {
    pub buckets: Vec<Bucket>,
    layers: [Vec<(u32, u64, u32)>; 3],
}

/// The bucket of addresses nothing covers.
pub const UNKNOWN: u32 = 0;

impl AddressMap {
    pub fn new(image: &Image, board: &Board, placed: &[Placed]) -> AddressMap {
        let mut m = AddressMap::default();
        m.buckets.push(Bucket { name: "(unmapped)".into(), kind: "region", addr: 0, size: 0, section: String::new(), region: String::new() });
        let region_name = |a: u32| match crate::placement::placed_region(placed, a) {
            Some(to) => board.regions[to].name.clone(),
            None => board.region_of(a).map(|(_, r)| r.name.clone()).unwrap_or_default(),
        };
        let section_of =
            |a: u32| image.sections.iter().find(|s| a >= s.addr && (a as u64) < s.addr as u64 + s.size as u64).map(|s| s.name.clone()).unwrap_or_default();
        // Symbols are sorted by address (functions first at one address): keep the first
        // of overlapping ones (aliases, a function's local labels).
        let mut end = 0u64;
        for s in image.symbols.iter().filter(|s| s.size > 0) {
            if (s.addr as u64) < end {
                continue;
            }
            end = s.addr as u64 + s.size as u64;
            let id = m.buckets.len() as u32;
            m.buckets.push(Bucket {
                name: crate::profile::callstack::demangle(&s.name),
                kind: if s.is_func { "function" } else { "object" },
                addr: s.addr,
                size: s.size,
                section: section_of(s.addr),
                region: region_name(s.addr),
            });
            m.layers[0].push((s.addr, end, id));
        }
        let mut end = 0u64;
        for s in &image.sections {
            if (s.addr as u64) < end {
                continue;
            }
            end = s.addr as u64 + s.size as u64;
            let id = m.buckets.len() as u32;
            m.buckets.push(Bucket { name: s.name.clone(), kind: "section", addr: s.addr, size: s.size, section: s.name.clone(), region: region_name(s.addr) });
            m.layers[1].push((s.addr, end, id));
        }
        let mut regions: Vec<_> = board.regions.iter().collect();
        regions.sort_by_key(|r| r.base);
        for r in regions {
            let id = m.buckets.len() as u32;
            m.buckets.push(Bucket { name: r.name.clone(), kind: "region", addr: r.base, size: r.size, section: String::new(), region: r.name.clone() });
            m.layers[2].push((r.base, r.end(), id));
        }
        m
    }

    /// The innermost range holding `addr`: `(start, end, bucket)`.
    pub fn lookup(&self, addr: u32) -> (u32, u64, u32) {
        for layer in &self.layers {
            let i = layer.partition_point(|&(s, _, _)| s <= addr);
            if let Some(&(s, e, id)) = i.checked_sub(1).and_then(|i| layer.get(i)) {
                if (addr as u64) < e {
                    return (s, e, id);
                }
            }
        }
        (0, 0, UNKNOWN)
    }
}

/// The run-time side: waits summed per epoch, kept as `(epoch start cycle, bucket, waits)`.
#[derive(Clone, Debug)]
pub struct StallLog {
    pub map: AddressMap,
    /// The last data range looked up (sequential reads of one array hit it).
    last: (u32, u64, u32),
    epoch_start: u64,
    current: Vec<(u32, StallCounts)>,
    pub records: Vec<(u64, u32, StallCounts)>,
}

impl StallLog {
    pub fn new(map: AddressMap) -> StallLog {
        StallLog { map, last: (0, 0, UNKNOWN), epoch_start: 0, current: Vec::new(), records: Vec::new() }
    }

    fn counts(&mut self, bucket: u32) -> &mut StallCounts {
        let i = match self.current.iter().position(|(b, _)| *b == bucket) {
            Some(i) => i,
            None => {
                self.current.push((bucket, StallCounts::default()));
                self.current.len() - 1
            }
        };
        &mut self.current[i].1
    }

    /// Fetch waits of a block whose code is in `bucket`.
    pub fn fetch(&mut self, bucket: u32, wait: u64) {
        self.counts(bucket).fetch_wait_cycles += wait;
    }

    /// A data access to `addr` that waited `wait` cycles.
    pub fn data(&mut self, addr: u32, write: bool, wait: u64) {
        let (s, e, _) = self.last;
        let bucket = if addr >= s && (addr as u64) < e {
            self.last.2
        } else {
            let found = self.map.lookup(addr);
            // Only a symbol's range can be reused for the next access: a section's or
            // region's range also covers the symbols inside it, which a later access to
            // them must still find (a `.data` copy read from flash would otherwise make
            // every later flash read the region's).
            let symbol = matches!(self.map.buckets[found.2 as usize].kind, "function" | "object");
            self.last = if symbol { found } else { (0, 0, UNKNOWN) };
            found.2
        };
        let c = self.counts(bucket);
        if write {
            c.write_wait_cycles += wait;
        } else {
            c.read_wait_cycles += wait;
        }
        c.data_misses += 1;
    }

    /// End the epoch at cycle `now` (a call, return or tail call, or the end of the run).
    pub fn flush(&mut self, now: u64) {
        let start = std::mem::replace(&mut self.epoch_start, now);
        for (b, c) in self.current.drain(..) {
            self.records.push((start, b, c));
        }
    }
}

/// Sum the log by symbol, and by operator when the run has operators.
pub fn report(log: &StallLog, operators: &[OperatorRow]) -> StallReport {
    let mut total = StallCounts::default();
    let mut by_bucket = vec![StallCounts::default(); log.map.buckets.len()];
    let mut by_op: Vec<BTreeMap<u32, StallCounts>> = vec![BTreeMap::new(); operators.len()];
    for (cycle, b, c) in &log.records {
        total.add(c);
        by_bucket[*b as usize].add(c);
        let i = operators.partition_point(|o| o.start_cycle <= *cycle);
        if let Some(o) = i.checked_sub(1).filter(|&i| *cycle < operators[i].start_cycle + operators[i].cycles) {
            by_op[o].entry(*b).or_default().add(c);
        }
    }
    let name = |b: u32| log.map.buckets[b as usize].name.clone();
    let mut symbols: Vec<StallSymbol> = by_bucket
        .iter()
        .enumerate()
        .filter(|(_, c)| c.total() > 0)
        .map(|(i, c)| {
            let b = &log.map.buckets[i];
            StallSymbol {
                name: b.name.clone(),
                kind: b.kind.into(),
                address: hex32(b.addr),
                size: b.size as u64,
                section: b.section.clone(),
                region: b.region.clone(),
                stalls: *c,
            }
        })
        .collect();
    symbols.sort_by(|a, b| b.stalls.total().cmp(&a.stalls.total()).then_with(|| a.name.cmp(&b.name)).then_with(|| a.address.cmp(&b.address)));
    let operators = operators
        .iter()
        .zip(by_op)
        .map(|(o, m)| {
            let mut stalls = StallCounts::default();
            let mut list: Vec<SymbolStalls> = m
                .into_iter()
                .map(|(b, c)| {
                    stalls.add(&c);
                    SymbolStalls { name: name(b), stalls: c }
                })
                .collect();
            list.sort_by(|a, b| b.stalls.total().cmp(&a.stalls.total()).then_with(|| a.name.cmp(&b.name)));
            OperatorStalls { index: o.index, op: o.op.clone(), stalls, symbols: list }
        })
        .collect();
    StallReport { total, symbols, operators }
}

/// The report's list of placements.
pub fn placements(board: &Board, placed: &[Placed]) -> Vec<simbench_profiles::stalls::Placement> {
    placed
        .iter()
        .map(|p| simbench_profiles::stalls::Placement {
            symbol: p.symbol.clone(),
            address: hex32(p.start),
            size: (p.end - p.start) as u64,
            from: p.from.clone(),
            to: board.regions[p.to].name.clone(),
        })
        .collect()
}
