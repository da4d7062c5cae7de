//! How instruction fetches are timed: the path per region and the lines a block requests.

pub use super::accelerator::MAX_CYCLE_BLOCKS;
use super::accelerator::{CycleOutcomes, LoopOutcomes};
use super::{Accelerator, Fidelity, MemorySystem};
use crate::board::RegionKind;

/// How a region's instruction fetches are timed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum FetchPath {
    Free,
    /// `read_wait` per `fetch_line_bytes` line touched: static, precomputed per block.
    Plain,
    ICache,
    /// Through an I-cache that data reads share: their accesses come between fetches.
    SharedICache,
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
    /// Ask [`MemorySystem::fetch`] on every execution. `loops`: whether a loop of
    /// several blocks fetched this way can be timed without the memory system
    /// ([`MemorySystem::cycle_fetch`]: not where data reads share the I-cache).
    Dynamic { loops: bool },
}

/// The fetches of a loop body, one iteration after another, timed without the memory
/// system while nothing but data accesses comes between them
/// ([`MemorySystem::loop_fetch`]); [`MemorySystem::end_loop_fetch`] then leaves the
/// memory system as those fetches would have.
#[derive(Clone, Debug)]
pub enum LoopFetch {
    /// Through the I-cache with every line of the block present: each fetch hits them
    /// all and leaves their LRU order as it is.
    Hits { lines: u64 },
    /// Through an accelerator, from the block's memoised outcomes.
    Accelerator(LoopOutcomes),
}

impl LoopFetch {
    /// The stall of the block's next fetch, entered `since` cycles after the previous
    /// one; `None` when that needs the memory system (`fetch_planned`).
    #[inline]
    pub fn next(&mut self, since: u64) -> Option<u32> {
        match self {
            LoopFetch::Hits { .. } => Some(0),
            LoopFetch::Accelerator(o) => o.next(since),
        }
    }
}

/// The fetches of a loop of several blocks, timed without the memory system while
/// nothing but data accesses comes between them ([`MemorySystem::cycle_fetch`]);
/// [`MemorySystem::end_cycle_fetch`] then leaves the memory system as those fetches
/// would have.
#[derive(Clone, Debug)]
pub enum CycleFetch {
    /// Through the I-cache with every line of the loop's blocks present: each fetch hits.
    Hits(CycleHits),
    /// Through a flash accelerator, from the blocks' memoised outcomes. Boxed: one
    /// allocation per run of a loop of several blocks costs less than moving these
    /// outcomes with every replay state, self-loops' included (the replay's copies were
    /// 20 M host instructions of aot_kws_mimxrt1011).
    Accelerator(Box<CycleOutcomes>),
}

/// What [`MemorySystem::end_cycle_fetch`] needs of a loop's I-cache hits: how many line
/// accesses they were, and which block's fetch was the last.
#[derive(Clone, Debug)]
pub struct CycleHits {
    /// Lines per fetch of each of the loop's blocks.
    lines: [u32; MAX_CYCLE_BLOCKS],
    last: usize,
    fetches: u64,
    accesses: u64,
}

impl CycleFetch {
    /// The stall of the fetch of the loop's block `block` (its index in the loop),
    /// entered `since` cycles after the previous fetch; `None` when that needs the memory
    /// system.
    #[inline]
    pub fn next(&mut self, block: usize, since: u64) -> Option<u32> {
        match self {
            CycleFetch::Hits(h) => {
                h.last = block;
                h.fetches += 1;
                h.accesses += h.lines[block] as u64;
                Some(0)
            }
            CycleFetch::Accelerator(o) => o.next(block, since),
        }
    }

    /// Leave the plan of the loop's block `block` as its replayed fetches would have.
    pub fn leave_plan(&self, block: usize, plan: &mut FetchPlan) {
        if let CycleFetch::Accelerator(o) = self {
            o.leave_memo(block, &mut plan.accel_memo);
        }
    }
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
    /// Through an I-cache: `lines` and where each was after the block's last fetch, and
    /// the cache's generation then. While it is the same, the next fetch hits them all
    /// there (`Cache::hit_slots`); once code fits the cache, that is nearly every fetch.
    icache_slots: Vec<(u32, u32)>,
    icache_generation: Option<u64>,
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
        FetchPlan { shift: Some(shift), lines, ..Default::default() }
    }
}

impl MemorySystem {
    pub(super) fn update_paths(&mut self) {
        self.paths = (0..self.regions.len()).map(|r| self.fetch_path(r)).collect();
        self.data_paths = (0..self.regions.len()).map(|r| self.data_path(r)).collect();
    }

    /// How fetches from `region` are timed now (out-of-range regions are free). Asked on
    /// every block entry.
    #[inline]
    pub fn fetch_mode(&self, region: usize) -> FetchMode {
        match self.paths.get(region) {
            Some(FetchPath::Plain) => FetchMode::Plain,
            Some(FetchPath::ICache) => FetchMode::Dynamic { loops: true },
            Some(FetchPath::SharedICache) => FetchMode::Dynamic { loops: false },
            Some(FetchPath::Accelerator) => FetchMode::Dynamic { loops: true },
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
            Fidelity::Detailed if cached && self.icache_on && self.icache_data => FetchPath::SharedICache,
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
    /// the line size in use changes).
    pub fn fetch_planned(&mut self, region: usize, plan: &mut FetchPlan, addrs: &[u32], end: u32, offsets: &[u32], entry: u64) -> u32 {
        self.fetch_with_plan(region, plan, || (addrs, end, offsets), entry)
    }

    /// `fetch_planned` with the block's instructions (`addrs`, `end`, `offsets`) asked of
    /// `block` only when the plan must be built: the simulator calls this on every block
    /// entry, and its plans sit apart from the rest of what it knows about a block, which
    /// then stays out of the host's caches.
    ///
    /// The common case, a fetch through an I-cache that its plan remembers, is inlined
    /// into the callers; the rest is not (inlining the accelerator's memo the same way
    /// changed host instructions by under 1 %).
    #[inline(always)]
    pub fn fetch_with_plan<'a>(&mut self, region: usize, plan: &mut FetchPlan, block: impl FnOnce() -> (&'a [u32], u32, &'a [u32]), entry: u64) -> u32 {
        if let Some(FetchPath::ICache | FetchPath::SharedICache) = self.paths.get(region) {
            if let Some(c) = self.icache.as_mut().filter(|c| plan.icache_generation == Some(c.generation())) {
                c.hit_slots(&plan.icache_slots);
                return 0;
            }
        }
        self.fetch_unremembered(region, plan, block, entry)
    }

    /// `fetch_with_plan` when the plan's I-cache slots do not answer.
    #[inline(never)]
    fn fetch_unremembered<'a>(&mut self, region: usize, plan: &mut FetchPlan, block: impl FnOnce() -> (&'a [u32], u32, &'a [u32]), entry: u64) -> u32 {
        let path = self.paths.get(region).copied().unwrap_or(FetchPath::Free);
        let line_bytes = match path {
            FetchPath::Free => return 0,
            FetchPath::ICache | FetchPath::SharedICache => self.icache.as_ref().map_or(32, |c| c.line_bytes()),
            FetchPath::Accelerator => self.accel.as_ref().map_or(16, Accelerator::word_bytes),
            FetchPath::Plain => self.regions[region].fetch_line_bytes,
        };
        let shift = line_bytes.trailing_zeros();
        if plan.shift != Some(shift) {
            let (addrs, end, offsets) = block();
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
                FetchPath::ICache | FetchPath::SharedICache => {
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
        if let (Some(c), FetchPath::ICache | FetchPath::SharedICache) = (self.icache.as_ref(), path) {
            plan.icache_slots.clear();
            plan.icache_slots.extend(plan.lines.iter().map_while(|&(line, _)| Some((line, c.slot_of(line << shift)?))));
            plan.icache_generation = (plan.icache_slots.len() == plan.lines.len()).then(|| c.generation());
        }
        stall
    }

    /// How to time further fetches of the block whose fetch `fetch_planned` just timed
    /// with `plan` (a loop body, entered again with only data accesses between), if that
    /// can be done without the memory system: `None` otherwise. Not where data reads
    /// share the instruction cache.
    pub fn loop_fetch(&self, region: usize, plan: &FetchPlan) -> Option<LoopFetch> {
        match self.paths.get(region)? {
            FetchPath::ICache => {
                let (c, shift) = (self.icache.as_ref()?, plan.shift?);
                plan.lines.iter().all(|&(line, _)| c.contains(line << shift)).then_some(LoopFetch::Hits { lines: plan.lines.len() as u64 })
            }
            FetchPath::Accelerator => Accelerator::loop_outcomes(&plan.accel_memo).map(LoopFetch::Accelerator),
            _ => None,
        }
    }

    /// `loop_fetch` for a loop of several blocks in `region` with the fetch `plans` of its
    /// blocks in loop order, the latest fetch being block `last`'s. Through an I-cache
    /// only while every line of the loop is present (the fetches then all hit) and not
    /// where data reads share it.
    pub fn cycle_fetch<'a>(&self, region: usize, plans: impl Iterator<Item = &'a FetchPlan>, last: usize) -> Option<CycleFetch> {
        match self.paths.get(region)? {
            FetchPath::ICache => {
                let c = self.icache.as_ref()?;
                let mut lines = [0; MAX_CYCLE_BLOCKS];
                for (n, p) in lines.iter_mut().zip(plans) {
                    let shift = p.shift?;
                    if !p.lines.iter().all(|&(line, _)| c.contains(line << shift)) {
                        return None;
                    }
                    *n = p.lines.len() as u32;
                }
                Some(CycleFetch::Hits(CycleHits { lines, last, fetches: 0, accesses: 0 }))
            }
            FetchPath::Accelerator => CycleOutcomes::new(plans.map(|p| &p.accel_memo), last).map(|o| CycleFetch::Accelerator(Box::new(o))),
            _ => None,
        }
    }

    /// Leave the memory system as the fetches that `cf` timed would have, the last entered
    /// at cycle `entry`; `plans`: the loop's blocks' in loop order (the accelerator's
    /// memos in them: [`CycleFetch::leave_plan`]).
    ///
    /// Through the I-cache every one of those line accesses hit, so the set of present
    /// lines is as it was, and each set's LRU order is that of the lines' last accesses.
    /// Once the loop has gone round, the last round (the last fetch of every block)
    /// touches each of its lines, and decides their order alone: only that round is
    /// accessed, after counting the hits before it.
    pub fn end_cycle_fetch<'a>(&mut self, cf: &CycleFetch, plans: impl Iterator<Item = &'a FetchPlan>, entry: u64) {
        match cf {
            CycleFetch::Hits(h) => {
                let Some(c) = self.icache.as_mut() else { return };
                let mut blocks: [&[(u32, u32)]; MAX_CYCLE_BLOCKS] = [&[]; MAX_CYCLE_BLOCKS];
                let mut k = 0;
                for (b, p) in blocks.iter_mut().zip(plans) {
                    *b = &p.lines;
                    k += 1;
                }
                let round = h.fetches.min(k as u64) as usize;
                let last_round = (0..round).map(|i| (h.last + k + 1 - round + i) % k);
                let round_accesses: u64 = last_round.clone().map(|b| blocks[b].len() as u64).sum();
                c.repeat_hits(h.accesses - round_accesses);
                let shift = c.line_bytes().trailing_zeros();
                for b in last_round {
                    for &(line, _) in blocks[b] {
                        let hit = c.access(line << shift);
                        debug_assert!(hit, "a line of the replayed loop went missing");
                    }
                }
            }
            CycleFetch::Accelerator(o) => {
                if let Some(a) = self.accel.as_mut() {
                    a.end_cycle(o, entry);
                }
            }
        }
    }

    /// Leave the memory system as the `fetches` that `lf` timed would have, the last
    /// entered at cycle `entry`: the I-cache's hits, the accelerator's state.
    pub fn end_loop_fetch(&mut self, region: usize, plan: &mut FetchPlan, lf: &LoopFetch, fetches: u64, entry: u64) {
        match (self.paths.get(region), lf) {
            (Some(FetchPath::ICache), LoopFetch::Hits { lines }) => {
                if let Some(c) = self.icache.as_mut() {
                    c.repeat_hits(lines * fetches);
                }
            }
            (Some(FetchPath::Accelerator), LoopFetch::Accelerator(o)) => {
                if let Some(a) = self.accel.as_mut() {
                    a.end_loop(&mut plan.accel_memo, o, entry);
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{CycleFetch, FetchPlan, LoopFetch};
    use crate::memsys::test_support::board;
    use crate::memsys::{Fidelity, MemorySystem};

    /// LPC55S69-like flash: 12-cycle reads, one 16-byte instruction line, prefetch that
    /// completes.
    fn flash_board() -> crate::Board {
        board(
            "[accelerator]\nline_bytes=16\ninstruction_lines=1\ndata_lines=1\nprefetch=true\nprefetch_completes=true",
            "name='flash'\nbase=0\nsize=0x10000\nkind='flash'\nread_wait=11",
        )
    }

    /// XIP flash behind a 2-way, 1 KiB I-cache of 32-byte lines (fills of 20 cycles).
    fn xip_board() -> crate::Board {
        board(
            "[icache]\nsize_bytes=1024\nways=2\nline_bytes=32",
            "name='xip'\nbase=0\nsize=0x10000\nkind='xip'\ncacheable=true\nread_wait=5\nline_fill_cycles=20",
        )
    }

    /// A block of `n` 16-bit instructions from `from`: their addresses and its end.
    fn block(from: u32, n: u32) -> (Vec<u32>, u32) {
        ((0..n).map(|i| from + i * 2).collect(), from + n * 2)
    }

    /// How many different values `stalls` holds.
    fn distinct(stalls: &[u32]) -> usize {
        let mut d = stalls.to_vec();
        d.sort_unstable();
        d.dedup();
        d.len()
    }

    /// After a replay: `m` (replayed) and `timed` (every fetch timed) fetch `blocks` alike
    /// from cycle `t` on, and their I-caches counted the same hits and misses.
    fn assert_left_alike<'a>(m: &mut MemorySystem, timed: &mut MemorySystem, blocks: impl Iterator<Item = (&'a [u32], u32)>, mut t: u64) {
        for (a, e) in blocks {
            let offs: Vec<u32> = (0..a.len() as u32).collect();
            assert_eq!(m.fetch(0, a, e, &offs, t), timed.fetch(0, a, e, &offs, t), "after the loop, block at {:#x}", a[0]);
            t += 40;
        }
        assert_eq!(m.icache_stats().map(|s| (s.hits, s.misses)), timed.icache_stats().map(|s| (s.hits, s.misses)));
    }

    /// Passes of a one-block loop with `data` cycles of data waits after each: one memory
    /// system times every fetch (`fetch_planned`), the other times the first and then
    /// the rest through `LoopFetch` as long as it answers, falling back as the
    /// simulator's replay does. Returns each pass's stall (both must agree) and how many
    /// passes `LoopFetch` timed.
    fn replay(m: &mut MemorySystem, addrs: &[u32], end: u32, data: &[u64], passes: usize) -> (Vec<u32>, usize) {
        let mut timed = m.clone();
        let offsets: Vec<u32> = (0..addrs.len() as u32).collect();
        let (mut plan, mut timed_plan) = (FetchPlan::default(), FetchPlan::default());
        let (mut t, mut lf, mut entry, mut by_loop, mut since_timed) = (0u64, None::<LoopFetch>, 0u64, 0, 0);
        let mut stalls = Vec::new();
        for pass in 0..passes {
            let want = timed.fetch_planned(0, &mut timed_plan, addrs, end, &offsets, t);
            let got = match lf.as_mut().and_then(|l| l.next(t - entry)) {
                Some(s) => {
                    by_loop += 1;
                    since_timed += 1;
                    s
                }
                None => {
                    if let Some(l) = lf.take() {
                        m.end_loop_fetch(0, &mut plan, &l, std::mem::take(&mut since_timed), entry);
                    }
                    let s = m.fetch_planned(0, &mut plan, addrs, end, &offsets, t);
                    lf = m.loop_fetch(0, &plan);
                    s
                }
            };
            assert_eq!(got, want, "pass {pass}: the loop's replay stalled {got}, timing the fetch {want}");
            stalls.push(got);
            entry = t;
            t += offsets.len() as u64 + got as u64 + data[pass % data.len()];
        }
        if let Some(l) = lf.take() {
            m.end_loop_fetch(0, &mut plan, &l, since_timed, entry);
        }
        // Left in the same state: a block elsewhere and the loop again fetch alike.
        let other: Vec<u32> = addrs.iter().map(|a| a + 0x400).collect();
        assert_left_alike(m, &mut timed, [(&other[..], end + 0x400), (addrs, end)].into_iter(), t);
        (stalls, by_loop)
    }

    #[test]
    fn a_loop_replayed_from_its_last_fetch_waits_exactly_what_timing_each_fetch_does() {
        // The LPC55S69-like flash (`flash_board`). A loop over two flash words (its
        // second word comes from the prefetch, which the branch back restarts), with data
        // waits of 0 or 12 cycles between passes: the entry state alternates, as in the
        // AOT convolution loops. The last pass has no data wait, so the prefetch it
        // restarts is still under way when the checks after the loop fetch.
        let b = flash_board();
        let body: Vec<u32> = (0..8).map(|i| 0x10C + i * 2).collect();
        let (stalls, by_loop) = replay(&mut MemorySystem::new(&b, Fidelity::Detailed), &body, 0x11C, &[0, 0, 0, 12, 0, 12, 24], 71);
        assert!(distinct(&stalls) >= 2, "one entry state only: {stalls:?}");
        assert!(by_loop >= 50, "only {by_loop} of 71 passes replayed");

        // Through a 2-way I-cache whose loop lines all stay present: every pass after the
        // first (two line fills of 20) hits.
        let b = xip_board();
        let mut m = MemorySystem::new(&b, Fidelity::Detailed);
        m.set_caches_enabled(true, false);
        let body: Vec<u32> = (0..16).map(|i| 0x3C + i * 2).collect();
        let (stalls, by_loop) = replay(&mut m, &body, 0x5C, &[0, 7], 20);
        assert_eq!((stalls[0], stalls[1..].iter().sum::<u32>(), by_loop), (40, 0, 19));
    }

    /// Entries along a loop of several blocks (`blocks`: addresses and end of each), with
    /// `data` cycles of data waits after each: one memory system times every fetch, the
    /// other times one and then the next through `CycleFetch` as long as it answers,
    /// falling back as the simulator's replay does. Returns each entry's stall (both must
    /// agree) and how many entries `CycleFetch` timed.
    fn replay_cycle(m: &mut MemorySystem, blocks: &[(Vec<u32>, u32)], data: &[u64], entries: usize) -> (Vec<u32>, usize) {
        let mut timed = m.clone();
        let k = blocks.len();
        let offsets: Vec<Vec<u32>> = blocks.iter().map(|(a, _)| (0..a.len() as u32).collect()).collect();
        let (mut plans, mut timed_plans) = (vec![FetchPlan::default(); k], vec![FetchPlan::default(); k]);
        let (mut t, mut cf, mut entry, mut by_loop) = (0u64, None::<CycleFetch>, 0u64, 0);
        let mut stalls = Vec::new();
        let end_run = |m: &mut MemorySystem, plans: &mut [FetchPlan], cf: CycleFetch, entry: u64| {
            for (j, plan) in plans.iter_mut().enumerate() {
                cf.leave_plan(j, plan);
            }
            m.end_cycle_fetch(&cf, plans.iter(), entry);
        };
        for e in 0..entries {
            let j = e % k;
            let (addrs, end) = (&blocks[j].0, blocks[j].1);
            let want = timed.fetch_planned(0, &mut timed_plans[j], addrs, end, &offsets[j], t);
            let got = match cf.as_mut().and_then(|c| c.next(j, t - entry)) {
                Some(s) => {
                    by_loop += 1;
                    s
                }
                None => {
                    if let Some(c) = cf.take() {
                        end_run(m, &mut plans, c, entry);
                    }
                    let s = m.fetch_planned(0, &mut plans[j], addrs, end, &offsets[j], t);
                    cf = m.cycle_fetch(0, plans.iter(), j);
                    s
                }
            };
            assert_eq!(got, want, "entry {e} (block {j}): the loop's replay stalled {got}, timing the fetch {want}");
            stalls.push(got);
            entry = t;
            t += addrs.len() as u64 + got as u64 + data[e % data.len()];
        }
        if let Some(c) = cf.take() {
            end_run(m, &mut plans, c, entry);
        }
        // Left in the same state: a block elsewhere (in the I-cache set of 0x100 and 0x300)
        // and the loop's blocks again fetch alike.
        let other = block(0x900, 4);
        let all = std::iter::once(&other).chain(blocks).map(|(a, e)| (&a[..], *e));
        assert_left_alike(m, &mut timed, all, t);
        (stalls, by_loop)
    }

    #[test]
    fn a_loop_of_several_blocks_replayed_from_their_memos_waits_exactly_what_timing_each_fetch_does() {
        // The LPC55S69-like flash of the test above. A TFLM-style loop of three blocks: a
        // check in one flash word, the multiply-accumulate in the next two words (reached
        // by a branch, so the prefetch restarts), the increment in a word of its own, back
        // to the check; data waits of 0, 12 or 24 cycles between entries, so each block is
        // entered in more than one state.
        let b = flash_board();
        let blocks = [block(0x100, 4), block(0x120, 12), block(0x144, 3)];
        let (stalls, by_loop) = replay_cycle(&mut MemorySystem::new(&b, Fidelity::Detailed), &blocks, &[0, 0, 12, 0, 0, 0, 24, 12], 150);
        assert!(distinct(&stalls) >= 3, "too few distinct stalls: {stalls:?}");
        assert!(by_loop >= 100, "only {by_loop} of 150 entries replayed");
    }

    #[test]
    fn a_loop_of_several_blocks_through_the_icache_leaves_its_lru_order_as_timing_each_fetch_does() {
        // `xip_board`: 16 sets of two 32-byte lines. The check at 0x100 and the increment
        // at 0x300 share set 8 (the body at 0x120 is in set 9), so after the loop the set's
        // LRU way is whichever of the two the last round fetched first, and the block at
        // 0x900 (set 8 too) evicts it: the checks after the loop miss differently for each
        // block the loop ends on. The first round fills three lines (60 cycles); every
        // later fetch hits.
        let b = xip_board();
        let blocks = [block(0x100, 4), block(0x120, 12), block(0x300, 3)];
        for entries in [30, 31, 32] {
            let mut m = MemorySystem::new(&b, Fidelity::Detailed);
            m.set_caches_enabled(true, false);
            let (stalls, by_loop) = replay_cycle(&mut m, &blocks, &[0, 9], entries);
            assert_eq!((stalls[..3].iter().sum::<u32>(), stalls[3..].iter().sum::<u32>(), by_loop), (60, 0, entries - 3), "{entries} entries");
        }
    }

    #[test]
    fn fetches_remembered_by_their_plans_hit_and_miss_as_fetches_timed_line_by_line() {
        // `xip_board`: 16 sets of two 32-byte lines. Seven blocks, of one to three lines,
        // five of them with a line in set 8, so the set's LRU order decides what misses.
        // A pseudo-random walk over them that often repeats the block before or returns to
        // the one before that, and now and then invalidates a line or the whole I-cache
        // (CMSIS's SCB_InvalidateICache): one memory system keeps each block's plan, and
        // with it where the block's lines were (`Cache::hit_slots`), the other times every
        // fetch line by line with a new plan.
        use crate::memsys::CacheMaintenance;
        let b = xip_board();
        let blocks = [block(0x100, 10), block(0x11C, 6), block(0x300, 4), block(0x500, 20), block(0x140, 48), block(0x700, 2), block(0x904, 8)];
        let (mut m, mut timed) = (MemorySystem::new(&b, Fidelity::Detailed), MemorySystem::new(&b, Fidelity::Detailed));
        m.set_caches_enabled(true, false);
        timed.set_caches_enabled(true, false);
        let mut plans = vec![FetchPlan::default(); blocks.len()];
        let (mut x, mut j, mut before, mut t) = (777u32, 0usize, 1usize, 0u64);
        let (mut remembered, mut misses) = (0, 0);
        for i in 0..5_000 {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            match (x >> 16) % 20 {
                0..=5 => {}
                6..=10 => std::mem::swap(&mut j, &mut before),
                11 => {
                    let op = match (x >> 8) % 3 {
                        0 => CacheMaintenance::InvalidateICache,
                        _ => CacheMaintenance::InvalidateICacheLine(blocks[(x >> 4) as usize % blocks.len()].0[0]),
                    };
                    m.maintain(op);
                    timed.maintain(op);
                    continue;
                }
                _ => before = std::mem::replace(&mut j, (x >> 20) as usize % blocks.len()),
            }
            let (a, e) = (&blocks[j].0, blocks[j].1);
            let offsets: Vec<u32> = (0..a.len() as u32).collect();
            remembered += usize::from(plans[j].icache_generation == m.icache.as_ref().map(|c| c.generation()));
            let want = timed.fetch(0, a, e, &offsets, t);
            misses += usize::from(want > 0);
            assert_eq!(m.fetch_planned(0, &mut plans[j], a, e, &offsets, t), want, "fetch {i}, block at {:#x}", a[0]);
            t += 50;
        }
        assert_eq!(m.icache_stats().map(|s| (s.hits, s.misses)), timed.icache_stats().map(|s| (s.hits, s.misses)));
        assert!(remembered > 2_000 && misses > 300, "{remembered} fetches remembered, {misses} missed");
    }
}
