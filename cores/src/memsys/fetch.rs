//! How instruction fetches are timed: the path per region and the lines a block requests.

use super::{Accelerator, Cache, Fidelity, MemorySystem};
use crate::board::RegionKind;

/// How a region's instruction fetches are timed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum FetchPath {
    Free,
    /// `read_wait` per `fetch_line_bytes` line touched: static, precomputed per block.
    Plain,
    ICache,
    Accelerator,
}

/// How the simulator times a block's instruction fetch, per region (see
/// [`MemorySystem::fetch_mode`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FetchMode {
    /// Nothing to charge.
    Free,
    /// `read_wait` per line: a constant per block ([`Region::fetch_wait`]).
    Plain,
    /// Ask [`MemorySystem::fetch`] on every execution.
    Dynamic,
}

/// The fetch lines one execution of a block requests, in order, each with the cycle
/// offset (from block entry, before stalls) of the first instruction that needs it.
/// Built once per block and line size, so each execution walks lines, not instructions.
#[derive(Clone, Debug, Default)]
pub struct FetchPlan {
    /// log2 of the line size the plan is for; None: not built yet.
    shift: Option<u32>,
    lines: Vec<(u32, u32)>,
    /// Through a flash accelerator: the block's recent fetch outcomes.
    accel_memo: super::accelerator::FetchMemo,
}

impl FetchPlan {
    fn new(addrs: &[u32], end: u32, offsets: &[u32], shift: u32) -> FetchPlan {
        let mut lines: Vec<(u32, u32)> = Vec::new();
        for (i, &a) in addrs.iter().enumerate() {
            let e = addrs.get(i + 1).copied().unwrap_or(end).max(a + 1);
            let offset = offsets.get(i).copied().unwrap_or(0);
            for line in (a >> shift)..=((e - 1) >> shift) {
                if lines.last().is_none_or(|&(l, _)| l < line) {
                    lines.push((line, offset));
                }
            }
        }
        FetchPlan { shift: Some(shift), lines, accel_memo: Default::default() }
    }
}

impl MemorySystem {
    pub(super) fn update_paths(&mut self) {
        self.paths = (0..self.regions.len()).map(|r| self.fetch_path(r)).collect();
    }

    /// How fetches from `region` are timed now (out-of-range regions are free). Asked on
    /// every block entry.
    #[inline]
    pub fn fetch_mode(&self, region: usize) -> FetchMode {
        match self.paths.get(region) {
            Some(FetchPath::Plain) => FetchMode::Plain,
            Some(FetchPath::ICache | FetchPath::Accelerator) => FetchMode::Dynamic,
            Some(FetchPath::Free) | None => FetchMode::Free,
        }
    }

    fn fetch_path(&self, region: usize) -> FetchPath {
        let Some(r) = self.regions.get(region) else {
            return FetchPath::Free;
        };
        let cached = r.cacheable && self.icache.is_some();
        let accelerated = r.kind == RegionKind::Flash && self.accel.as_ref().is_some_and(Accelerator::fetch_side_on);
        // Fast: caches and accelerators always hit while on. The Cortex-M7 L1 caches
        // count as on even before CCR.IC is set (stated in `fast_mode_ignores`); a SoC
        // cache the firmware left off costs the wait states, like a disabled accelerator.
        let fast_cached = cached && (!self.icache_soc || self.icache_on);
        match self.fidelity {
            Fidelity::Fast if fast_cached || accelerated => FetchPath::Free,
            Fidelity::Detailed if cached && self.icache_on => FetchPath::ICache,
            Fidelity::Detailed if accelerated => FetchPath::Accelerator,
            _ if r.read_wait > 0 => FetchPath::Plain,
            _ => FetchPath::Free,
        }
    }

    /// Wait cycles to fetch one execution of a block: instructions at `addrs` (the block
    /// ends at `end`) that start at cycles `entry + offsets[i]` without fetch stalls.
    /// Each line the block touches is requested when its first instruction is due.
    pub fn fetch(&mut self, region: usize, addrs: &[u32], end: u32, offsets: &[u32], entry: u64) -> u32 {
        self.fetch_planned(region, &mut FetchPlan::default(), addrs, end, offsets, entry)
    }

    /// `fetch`, with the block's lines kept in `plan` between executions (rebuilt when
    /// the line size in use changes): the simulator calls this on every block entry.
    #[inline]
    pub fn fetch_planned(&mut self, region: usize, plan: &mut FetchPlan, addrs: &[u32], end: u32, offsets: &[u32], entry: u64) -> u32 {
        let path = self.paths.get(region).copied().unwrap_or(FetchPath::Free);
        let line_bytes = match path {
            FetchPath::Free => return 0,
            FetchPath::ICache => self.icache.as_ref().map_or(32, Cache::line_bytes),
            FetchPath::Accelerator => self.accel.as_ref().map_or(16, Accelerator::word_bytes),
            FetchPath::Plain => self.regions[region].fetch_line_bytes,
        };
        let shift = line_bytes.trailing_zeros();
        if plan.shift != Some(shift) {
            *plan = FetchPlan::new(addrs, end, offsets, shift);
        }
        let r = &self.regions[region];
        let (fill, plain_wait) = (r.fill, r.read_wait);
        if path == FetchPath::Accelerator {
            return self.accel.as_mut().map_or(0, |acc| acc.fetch_lines(&mut plan.accel_memo, &plan.lines, entry, fill));
        }
        let mut stall = 0u32;
        for &(line, offset) in &plan.lines {
            let now = entry + offset as u64 + stall as u64;
            stall += match path {
                FetchPath::ICache => {
                    let hit = self.icache.as_mut().is_none_or(|c| c.access(line << shift));
                    if hit {
                        0
                    } else {
                        match self.stream.as_mut().filter(|s| s.region == region) {
                            Some(s) => s.fill(line, Some(now), fill),
                            None => fill,
                        }
                    }
                }
                _ => plain_wait,
            };
        }
        stall
    }
}
