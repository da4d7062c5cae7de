//! Self-loops without a block hook per iteration, from
//! `patches/unicorn-*-block-counters.patch` (`UC_CTL_BLOCK_COUNTERS`): unicorn's generated
//! code counts every entry into a block in a counter simbench owns and calls the block
//! hook only when the count reaches the counter's limit.
//!
//! The block hook costs ~13 ns per entry, about as much as a 5-instruction block takes
//! to run (docs/speed.md, sections (h) and (i)). When the shortcut
//! (`State::enter_steady`) enters a block from itself, every further iteration would
//! cost exactly the same, until some callback changes the state or a deadline (SysTick,
//! a cycle, instruction or wall-clock-check limit) comes due. So the shortcut sets the
//! block's limit to let unicorn run the iterations before that deadline without calling
//! the hook, and the next callback of any kind first replays the skipped iterations at
//! once (`State::catch_up`): the same cycles, counts, profile and predictor state the
//! hook would have left. Every callback simbench has (block, data, code, interrupt,
//! invalid-access and MMIO) catches up first and so ends the skipping.
//!
//! A loop whose fetch is timed per cache or accelerator line (`detailed` on the boards)
//! is skipped too when no deadline in cycles is due: its iterations are replayed one
//! entry at a time, each followed by the data accesses unicorn logged in it
//! (`access_log.rs` stamps each with the loop's counter).

use super::access_log::Entry;
use super::*;
use rustc_hash::FxHashMap;
use simbench_cores::memsys::LoopFetch;
use std::ffi::c_void;
use unicorn_engine::{uc_ctl, uc_engine, uc_error, ControlType};

/// The control the block-counters patch appends after `UC_CTL_NARROW_MEM_HOOKS` (15).
const UC_CTL_BLOCK_COUNTERS: u32 = 16;

/// A block's counter as the generated code uses it: entries so far and the count from
/// which the block hook runs (0: always).
#[repr(C)]
#[derive(Default)]
pub(super) struct Counter {
    count: u64,
    limit: u64,
}

/// Counters per block start address, handed to unicorn at translation. They never move
/// or go away while the engine exists: translated code holds their addresses.
#[derive(Default)]
pub(super) struct BlockCounters {
    slots: FxHashMap<u32, *mut Counter>,
    chunks: Vec<Box<[Counter]>>,
    used_in_last: usize,
}

const CHUNK: usize = 1024;

impl BlockCounters {
    /// The counter for a block translated at `addr`. A block translated again may hold
    /// other code (rewritten in RAM) or another size: its next entry calls the hook.
    fn slot(&mut self, addr: u32) -> *mut Counter {
        if let Some(&c) = self.slots.get(&addr) {
            // SAFETY: a counter of this store; unicorn is translating, not running it.
            unsafe { (*c).limit = 0 };
            return c;
        }
        if self.chunks.last().is_none_or(|_| self.used_in_last == CHUNK) {
            self.chunks.push((0..CHUNK).map(|_| Counter::default()).collect());
            self.used_in_last = 0;
        }
        let chunk = self.chunks.last_mut().expect("a chunk was just ensured");
        let c: *mut Counter = &mut chunk[self.used_in_last];
        self.used_in_last += 1;
        self.slots.insert(addr, c);
        c
    }
}

/// `uc_cb_block_counter_t`: the counter of the block unicorn translates at `address`.
unsafe extern "C" fn counter_for(_uc: *mut uc_engine, address: u64, user: *mut c_void) -> *mut u64 {
    // SAFETY: `user` is the BlockCounters `enable` registered, owned by State for as long
    // as the engine exists; unicorn translates only inside uc_emu_start, never while a
    // hook holds the state.
    let counters = unsafe { &mut *user.cast::<BlockCounters>() };
    counters.slot(address as u32).cast()
}

/// Turn block counters on, before any code runs; false (nothing changed) when the linked
/// unicorn lacks the patch.
pub(super) fn enable(uc: &mut Unicorn<'static, State>) -> bool {
    let mut counters = Box::<BlockCounters>::default();
    let user: *mut BlockCounters = &mut *counters;
    let control = ControlType(UC_CTL_BLOCK_COUNTERS | ControlType::IO_WRITE.0);
    // SAFETY: a live engine handle; the control takes the callback and its user data,
    // which stays valid while the engine exists (the box is owned by its State).
    let ok = unsafe { uc_ctl(uc.get_handle(), control, counter_for as *mut c_void, user.cast::<c_void>()) == uc_error::OK };
    if ok {
        uc.get_data_mut().counters = Some(counters);
    }
    ok
}

/// The self-loop whose block hooks unicorn is skipping, and what each iteration costs.
pub(super) struct SkippedLoop {
    idx: usize,
    counter: *mut Counter,
    /// The counter when the skipping began (the entry then was timed by the hook).
    base: u64,
    /// The loop edge's cost (`HotBlock::taken_penalty`) and the block's fetch stalls;
    /// `None`: timed per cache or accelerator line at each entry (`FetchMode::Dynamic`).
    edge: u64,
    fetch: Option<u32>,
}

impl State {
    /// After the shortcut entered block `idx` from itself, with `edge` the memoised cost
    /// of that edge (not issued as a pair) and `fetch` its static fetch stalls (`None`:
    /// timed per line): let unicorn skip the hook on the next iterations, as many as can
    /// run before the shortcut would refuse one (`enter_steady`'s deadline checks).
    pub(super) fn skip_self_loop(&mut self, idx: usize, edge: i32, fetch: Option<u32>) {
        let Ok(edge) = u64::try_from(edge) else { return };
        let b = &self.hot[idx];
        let Some(counter) = self.counters.as_mut().and_then(|c| c.slots.get(&b.start).copied()) else {
            return;
        };
        let insns = b.insns as u64;
        // Iteration i (from 1) passes enter_steady's checks while the deadline countdown
        // is still ≥ 2, its entry (cycles + (i-1)·step + edge) is before the next SysTick
        // event, and its end is within the cycle and instruction limits.
        let mut n = (self.deadline_countdown as u64).saturating_sub(1);
        if let Some(fetch) = fetch {
            let step = edge + b.cycles as u64 + fetch as u64;
            let first_entry = self.cycles.saturating_add(edge);
            if first_entry >= self.exc.next_systick {
                return;
            }
            // (A step of 0 cycles never reaches either.)
            if let Some(to_systick) = (self.exc.next_systick - first_entry - 1).checked_div(step) {
                n = n.min(to_systick + 1);
            }
            if let Some(to_limit) = self.max_cycles.saturating_sub(self.cycles).checked_div(step) {
                n = n.min(to_limit);
            }
        } else if self.exc.next_systick != u64::MAX || self.max_cycles != u64::MAX {
            // An iteration's cycles are known only once its fetch and data accesses are
            // timed, so only without a deadline in cycles.
            return;
        }
        n = n.min(self.max_instructions.saturating_sub(self.instructions) / insns.max(1));
        if n == 0 {
            return;
        }
        // SAFETY: a counter from `BlockCounters`, alive as long as the engine; unicorn
        // does not run while a hook runs.
        let base = unsafe {
            let base = (*counter).count;
            (*counter).limit = base + n + 1;
            base
        };
        self.skipping = Some(SkippedLoop { idx, counter, base, edge, fetch });
        match fetch {
            // Closed-form replay: a hooked access ends the skipping (its data waits
            // would move the deadlines above).
            Some(_) => self.pause_access_log(true),
            // Replayed entry by entry, each with the accesses logged in it.
            // SAFETY: as above; `count` stays where it is while the engine exists.
            None => self.stamp_access_log(unsafe { std::ptr::addr_of!((*counter).count) }),
        }
    }

    /// First thing in every callback: account the iterations unicorn ran without the
    /// block hook, exactly as the shortcut would have, and end the skipping; then time
    /// the data accesses unicorn logged (`access_log.rs`). `entering` is the block a
    /// block hook is entering (that entry is timed by the hook itself).
    #[inline(always)]
    pub(super) fn catch_up(&mut self, entering: Option<u32>) {
        if self.skipping.is_some() {
            self.replay_skipped(entering);
        }
        if self.access_log_pending() {
            self.drain_access_log();
        }
        self.settle_access_log(entering.is_some());
    }

    #[inline(never)]
    fn replay_skipped(&mut self, entering: Option<u32>) {
        let Some(s) = self.skipping.take() else { return };
        self.pause_access_log(false);
        let b = &self.hot[s.idx];
        // SAFETY: as in `skip_self_loop`.
        let count = unsafe {
            (*s.counter).limit = 0;
            (*s.counter).count
        };
        let n = count - s.base - u64::from(entering == Some(b.start));
        if n == 0 {
            return;
        }
        let (start, end, insns, cycles) = (b.start, b.end, b.insns as u64, b.cycles as u64);
        let branch = (b.flags & ENDS_IN_CONTROL != 0).then(|| b.last_insn_addr());
        self.block_entries_replayed += n;
        if let Some(p) = self.profiler.as_mut() {
            p.block(n * insns, end);
            self.sp_sample_due = false;
        }
        if let (Some(p), Some(pc)) = (self.predictor.as_mut(), branch) {
            let repeated = p.repeat_taken(pc, start, n);
            debug_assert!(repeated, "a skipped loop's branch was predicted correctly when the skipping began");
        }
        let Some(fetch) = s.fetch else {
            self.replay_timed_iterations(&s, n);
            return;
        };
        // What n more `enter_steady` calls for this block from itself do.
        let step = s.edge + cycles + fetch as u64;
        self.block_entry = self.cycles + (n - 1) * step + s.edge;
        self.cycles += n * step;
        self.count_entries(s.idx, n, n * fetch as u64);
        self.access_cursor = 0;
        self.dyn_in_block = fetch as i64;
        if fetch > 0 {
            if let Some(st) = self.stalls.as_mut() {
                st.fetch(self.blocks[s.idx].bucket, n * fetch as u64);
            }
        }
    }

    /// The n skipped iterations of a loop whose fetch is timed per line, one entry at a
    /// time as `enter_steady` does it (but for the profiler and predictor, replayed
    /// above), each followed by the data accesses unicorn logged in it: the log stamps
    /// each with the loop's counter, `base` in the entry the hook timed, `base + i` in
    /// iteration i. Once an iteration's fetch has been timed, the next ones are timed from
    /// what it left (`LoopFetch`) as long as that can be done without the memory system,
    /// and only the cycles and the data accesses are kept per iteration; the rest of the
    /// entries' accounting is done once (`end_loop_fetch`). With `--stalls` every entry is
    /// timed in full (the stall log orders its buckets by first wait).
    fn replay_timed_iterations(&mut self, s: &SkippedLoop, n: u64) {
        let logged = self.take_logged();
        let (entries, ranges) = logged.as_ref().map_or((&[][..], &[][..]), |l| (l.entries(), l.ranges()));
        // Entry e belongs to iteration e.stamp - base (0: the entry the hook timed); with
        // done < n, `iteration <= done` is `stamp <= base + done`.
        let in_done = |e: &&Entry, done: u64| e.stamp <= s.base + done;
        let (region, cycles) = (self.hot[s.idx].region as usize, self.hot[s.idx].cycles as u64);
        let (mut done, mut next) = (0, 0);
        let mut fast: Option<(LoopFetch, u64, u64)> = None;
        while done < n {
            while let Some(e) = entries.get(next).filter(|e| in_done(e, done)) {
                self.time_logged(e, ranges);
                next += 1;
            }
            done += 1;
            if let Some((lf, entered, stalls)) = fast.as_mut() {
                let entry = self.cycles + s.edge;
                if let Some(fetch) = lf.next(entry - self.block_entry) {
                    self.block_entry = entry;
                    self.cycles = entry + cycles + fetch as u64;
                    self.dyn_in_block = fetch as i64;
                    *entered += 1;
                    *stalls += fetch as u64;
                    continue;
                }
                self.end_loop_fetch(s.idx, fast.take());
            }
            self.replay_timed_entry(s.idx, s.edge);
            if self.stalls.is_none() && done < n {
                let plan = &self.plans[s.idx];
                fast = self.mem.loop_fetch(region, plan).map(|lf| (lf, 0, 0));
            }
        }
        self.end_loop_fetch(s.idx, fast);
        for e in &entries[next..] {
            self.time_logged(e, ranges);
        }
    }

    /// One entry of block `idx` from itself: `enter_steady` without its checks.
    fn replay_timed_entry(&mut self, idx: usize, edge: u64) {
        self.deadline_countdown -= 1;
        self.cycles += edge;
        self.account_entry(idx);
        let fetch = self.timed_fetch(idx);
        self.charge_fetch(fetch);
    }

    /// The accounting of the `entered` entries of loop block `idx` that `lf` timed
    /// (`replay_timed_iterations`; their cycles, block entry and dynamic stalls are
    /// already counted), with `stalls` fetch stalls among them, and the memory system
    /// left as their fetches would have.
    fn end_loop_fetch(&mut self, idx: usize, fast: Option<(LoopFetch, u64, u64)>) {
        let Some((lf, entered, stalls)) = fast else { return };
        self.count_entries(idx, entered, stalls);
        let (region, plan) = (self.hot[idx].region as usize, &mut self.plans[idx]);
        self.mem.end_loop_fetch(region, plan, &lf, entered, self.block_entry);
    }

    /// The counts of `n` more entries of block `idx` whose cycles are accounted already
    /// (both replays): executions, instructions, the deadline countdown, the recent-block
    /// ring and the region's fetch wait cycles.
    fn count_entries(&mut self, idx: usize, n: u64, fetch_waits: u64) {
        let b = &mut self.hot[idx];
        b.executions += n;
        let (start, insns, region) = (b.start, b.insns as u64, b.region as usize);
        self.deadline_countdown -= n as u32;
        self.instructions += n * insns;
        self.insns_before_block = self.instructions - insns;
        self.regions[region].fetch_wait_cycles += fetch_waits;
        let shown = n.min(RECENT_BLOCKS as u64) as usize;
        self.recent_next = (self.recent_next + (n as usize - shown)) % RECENT_BLOCKS;
        for _ in 0..shown {
            self.recent[self.recent_next] = start;
            self.recent_next = (self.recent_next + 1) % RECENT_BLOCKS;
        }
    }
}
