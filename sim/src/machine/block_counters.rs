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
//! Loops of up to `MAX_LOOP_BLOCKS` blocks are skipped the same way when each block can
//! go on only to the next one or out of the loop: the counters then tell the order of
//! every entry.
//!
//! A loop whose fetch is timed per cache or accelerator line (`detailed` on the boards)
//! is skipped too when no deadline in cycles is due: its entries are replayed one at a
//! time, each followed by the data accesses unicorn logged in it (`access_log.rs` stamps
//! each with the patch's block sequence number, which every counted entry advances).

use super::access_log::Entry;
use super::*;
use rustc_hash::FxHashMap;
use simbench_cores::memsys::{CycleFetch, LoopFetch};
use simbench_cores::{LoopBranch, Prediction};
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
pub(super) struct BlockCounters {
    slots: FxHashMap<u32, *mut Counter>,
    /// Unicorn's block sequence number: entries into counted blocks so far.
    sequence: *const u64,
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
    let mut sequence: *const u64 = std::ptr::null();
    let read = ControlType(UC_CTL_BLOCK_COUNTERS | ControlType::IO_READ.0);
    // SAFETY: a live engine handle; the read control writes one pointer, to a field of
    // the engine that lives as long as it.
    if unsafe { uc_ctl(uc.get_handle(), read, &mut sequence as *mut *const u64) } != uc_error::OK || sequence.is_null() {
        return false;
    }
    let mut counters = Box::new(BlockCounters { slots: FxHashMap::default(), sequence, chunks: Vec::new(), used_in_last: 0 });
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

/// The most blocks a skipped loop may span (as many as the accelerator's replay takes).
/// The TFLM reference kernels' inner loops take three (a bounds check, the
/// multiply-accumulate, the increment): docs/speed.md (m).
const MAX_LOOP_BLOCKS: usize = simbench_cores::memsys::MAX_CYCLE_BLOCKS;

/// Skipped entries of a loop of several blocks below which the skipping costs more than
/// the hooks it saves (`note_run_length`).
const SHORT_RUN: u64 = 8;
/// Short runs in a row after which a loop is not skipped again.
const SHORT_RUNS_LIMIT: u32 = 3;

/// One block of a loop whose block hooks unicorn is skipping, and what entering it costs.
#[derive(Clone, Copy)]
struct Member {
    idx: usize,
    counter: *mut Counter,
    /// The counter when the skipping began.
    base: u64,
    /// The memoised cost of the edge into it from the block before it in the loop
    /// (`HotBlock::taken_penalty` or `fall_cost`).
    edge: u64,
    /// Its static fetch stalls; `None`: timed per cache or accelerator line at each entry
    /// (`FetchMode::Dynamic`).
    fetch: Option<u32>,
    /// Its static cost (`HotBlock::cycles`).
    cycles: u64,
}

const NO_MEMBER: Member = Member { idx: 0, counter: std::ptr::null_mut(), base: 0, edge: 0, fetch: None, cycles: 0 };

/// The loop whose block hooks unicorn is skipping: a self-loop, or a cycle of blocks each
/// of which can go on only to the next one or out of the loop.
pub(super) struct SkippedLoop {
    /// Its blocks in the order the loop runs them; the first is the one whose entry the
    /// hook timed when the skipping began, and the last goes back to it.
    members: [Member; MAX_LOOP_BLOCKS],
    len: usize,
    /// The block sequence number after the entry the hook timed: skipped entry e runs
    /// with `sequence + e`, which stamps the accesses it logs.
    sequence: u64,
    /// How many entries may be skipped before a deadline (`entries_before_deadlines`).
    allowed: u64,
}

/// How a run of a loop's skipped entries is timed without the memory system.
enum FastFetch {
    One(LoopFetch),
    Cycle(CycleFetch),
}

/// A run of skipped entries timed without the memory system: after entry `from`, with
/// the entries and fetch stalls of each of the loop's blocks so far.
struct FastRun {
    fetch: FastFetch,
    from: u64,
    entered: [u64; MAX_LOOP_BLOCKS],
    stalls: [u64; MAX_LOOP_BLOCKS],
}

impl SkippedLoop {
    fn members(&self) -> &[Member] {
        &self.members[..self.len]
    }

    /// The member of skipped entry `e` (from 1: the entries after the one the hook timed).
    fn member_of(&self, e: u64) -> &Member {
        &self.members[(e % self.len as u64) as usize]
    }

    /// How many of the first `n` skipped entries are of member `j`.
    fn entries_of(&self, j: usize, n: u64) -> u64 {
        let (k, j) = (self.len as u64, j as u64);
        match j {
            0 => n / k,
            j if j > n => 0,
            j => (n - j) / k + 1,
        }
    }
}

impl State {
    /// After the shortcut entered block `idx` from itself, with `edge` the memoised cost
    /// of that edge (not issued as a pair) and `fetch` its static fetch stalls (`None`:
    /// timed per line): let unicorn skip the hook on the next iterations.
    pub(super) fn skip_self_loop(&mut self, idx: usize, edge: i32, fetch: Option<u32>) {
        let Ok(edge) = u64::try_from(edge) else { return };
        self.skip_loop(&[(idx, edge, fetch)]);
    }

    /// The start of the block entered `back` entries ago (1: the one just entered).
    #[inline(always)]
    fn entered_back(&self, back: usize) -> u32 {
        self.recent[(self.recent_next + RECENT_BLOCKS - back) % RECENT_BLOCKS]
    }

    /// Whether the block starting at `start`, just entered, was also entered 2 to
    /// `MAX_LOOP_BLOCKS` entries before: the cheap test, inlined into the shortcut, before
    /// `try_skip_cycle`.
    #[inline(always)]
    pub(super) fn closes_short_loop(&self, start: u32) -> bool {
        (3..=MAX_LOOP_BLOCKS + 1).any(|back| self.entered_back(back) == start)
    }

    /// After the shortcut entered block `idx` (not from itself): when the blocks entered
    /// last show a loop of 2 to `MAX_LOOP_BLOCKS` blocks back to it, each of which the
    /// shortcut would enter from the one before (memoised, unpaired edges with quiet
    /// exits, no FP or parking block) and none of which can go to a block of the loop
    /// other than the next (`Block::successors`), let unicorn skip their hooks: the
    /// counters then tell the whole order of the entries. With a branch predictor, every
    /// branch of the loop must be predicted correctly. Not with `--stalls` (its buckets
    /// keep the order of the first wait), and not for blocks fetched through an I-cache
    /// that data reads share (`FetchMode::Dynamic { loops: false }`: replayed entry by
    /// entry, such a loop costs more than its hooks, docs/speed.md (m)).
    #[inline(never)]
    pub(super) fn try_skip_cycle(&mut self, idx: usize) {
        let start = self.hot[idx].start;
        let Some(k) = (2..=MAX_LOOP_BLOCKS).find(|&k| self.entered_back(k + 1) == start) else { return };
        let mut starts = [u32::MAX; MAX_LOOP_BLOCKS];
        let mut cycle = [(0usize, 0u64, None::<u32>); MAX_LOOP_BLOCKS];
        for j in 0..k {
            let s = if j == 0 { start } else { self.entered_back(k + 1 - j) };
            if starts[..j].contains(&s) {
                return;
            }
            let Some(i) = self.index.get(s) else { return };
            starts[j] = s;
            cycle[j].0 = i;
        }
        let (starts, cycle) = (&starts[..k], &mut cycle[..k]);
        for j in 0..k {
            let (x, y) = (&self.hot[cycle[j].0], &self.hot[cycle[(j + 1) % k].0]);
            if x.flags & (USES_FP | PARKS) != 0 || (self.profiler.is_some() && x.flags & QUIET_EXIT == 0) {
                return;
            }
            let taken = y.start != x.end;
            let (next, cost, paired) = match taken {
                true => (x.taken_next, x.taken_penalty, x.taken_paired),
                false => (x.fall_next, x.fall_cost, x.fall_paired),
            };
            if next as usize != cycle[(j + 1) % k].0 || paired {
                return;
            }
            let Ok(cost) = u64::try_from(cost) else { return };
            if let (Some(p), true) = (self.predictor.as_ref(), x.flags & ENDS_IN_CONTROL != 0) {
                if !Prediction::correct(p.predict(x.last_insn_addr()), taken, Some(y.start)) {
                    return;
                }
            }
            let successors = self.blocks[cycle[j].0].successors;
            if successors.is_none_or(|ss| ss.iter().any(|&s| s != y.start && starts.contains(&s))) {
                self.hot[idx].flags |= NO_SHORT_LOOP;
                return;
            }
            let mode = self.mem.fetch_mode(x.region as usize);
            if mode == (FetchMode::Dynamic { loops: false }) {
                return;
            }
            cycle[j].2 = x.static_fetch(mode);
            cycle[(j + 1) % k].1 = cost;
        }
        self.skip_loop(cycle);
    }

    /// Let unicorn skip the hooks of the loop `cycle` (block, edge into it, static fetch),
    /// whose first block was just entered, for as many entries as can run before the
    /// shortcut would refuse one (`enter_steady`'s deadline checks).
    fn skip_loop(&mut self, cycle: &[(usize, u64, Option<u32>)]) {
        let Some(counters) = self.counters.as_ref() else { return };
        // SAFETY: the engine's field, valid while it exists; unicorn is not running.
        let sequence = unsafe { *counters.sequence };
        let stamp = counters.sequence;
        let mut s = SkippedLoop { members: [NO_MEMBER; MAX_LOOP_BLOCKS], len: cycle.len(), sequence, allowed: 0 };
        for (m, &(idx, edge, fetch)) in s.members.iter_mut().zip(cycle) {
            let Some(&counter) = counters.slots.get(&self.hot[idx].start) else { return };
            *m = Member { idx, counter, base: 0, edge, fetch, cycles: self.hot[idx].cycles as u64 };
        }
        let timed_per_line = s.members().iter().any(|m| m.fetch.is_none());
        // An entry's cycles are known only once its fetch and data accesses are timed,
        // so a loop timed per line is skipped only without a deadline in cycles.
        if timed_per_line && (self.exc.next_systick != u64::MAX || self.max_cycles != u64::MAX) {
            return;
        }
        let n = self.entries_before_deadlines(&s, timed_per_line);
        if n == 0 {
            return;
        }
        s.allowed = n;
        for j in 0..s.len {
            let limit = s.entries_of(j, n) + 1;
            let m = &mut s.members[j];
            // SAFETY: a counter from `BlockCounters`, alive as long as the engine; unicorn
            // does not run while a hook runs.
            unsafe {
                m.base = (*m.counter).count;
                (*m.counter).limit = m.base + limit;
            }
        }
        self.skipping = Some(s);
        match timed_per_line {
            // Replayed entry by entry, each with the accesses logged in it.
            true => self.stamp_access_log(stamp),
            // Closed-form replay: a hooked access ends the skipping (its data waits
            // would move the deadlines).
            false => self.pause_access_log(true),
        }
    }

    /// How many entries after the one just timed pass `enter_steady`'s checks: the
    /// deadline countdown stays ≥ 2 before each, each entry is before the next SysTick
    /// event and ends within the cycle limit (unless `timed_per_line`: none is due then),
    /// and within the instruction limit.
    fn entries_before_deadlines(&self, s: &SkippedLoop, timed_per_line: bool) -> u64 {
        let n = (self.deadline_countdown as u64).saturating_sub(1);
        let k = s.len as u64;
        let cost = |m: &Member| (m.edge + m.cycles + m.fetch.unwrap_or(0) as u64, self.hot[m.idx].insns as u64);
        let (step, step_insns) = s.members().iter().map(cost).fold((0, 0), |(c, i), (mc, mi)| (c + mc, i + mi));
        // Whole rounds of the loop that surely pass, then entry by entry.
        let mut rounds = n / k;
        if !timed_per_line {
            rounds = match step {
                0 => 0,
                step => rounds.min(self.exc.next_systick.saturating_sub(self.cycles) / step).min(self.max_cycles.saturating_sub(self.cycles) / step),
            };
        }
        if let Some(r) = self.max_instructions.saturating_sub(self.instructions).checked_div(step_insns) {
            rounds = rounds.min(r);
        }
        let rounds = rounds.saturating_sub(1);
        let (mut cycles, mut insns, mut e) = (self.cycles + rounds * step, self.instructions + rounds * step_insns, rounds * k);
        while e < n {
            let m = s.member_of(e + 1);
            let (c, i) = cost(m);
            let entry = cycles + m.edge;
            if (!timed_per_line && (entry >= self.exc.next_systick || cycles + c > self.max_cycles)) || insns + i > self.max_instructions {
                break;
            }
            cycles += c;
            insns += i;
            e += 1;
        }
        e
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
        let mut n = 0;
        for m in s.members() {
            // SAFETY: as in `skip_loop`.
            unsafe {
                (*m.counter).limit = 0;
                n += (*m.counter).count - m.base;
            }
        }
        // Only a hook can enter the loop from outside, so an entering member came from the
        // loop: its entry is counted but timed by the hook.
        if entering.is_some_and(|a| s.members().iter().any(|m| self.hot[m.idx].start == a)) {
            n -= 1;
        }
        if n == 0 {
            return;
        }
        self.block_entries_replayed += n;
        if s.len > 1 && n < s.allowed {
            self.note_run_length(s.members[0].idx, n);
        }
        if let Some(p) = self.profiler.as_mut() {
            for (j, m) in s.members().iter().enumerate() {
                let (b, entries) = (&self.hot[m.idx], s.entries_of(j, n));
                if entries > 0 {
                    p.block(entries * b.insns as u64, b.end);
                }
            }
            self.sp_sample_due = false;
        }
        if self.predictor.is_some() {
            self.replay_predictions(&s, n);
        }
        if s.members().iter().any(|m| m.fetch.is_none()) {
            self.replay_timed_iterations(&s, n);
            return;
        }
        // What n more `enter_steady` calls along the loop do.
        for (j, m) in s.members().iter().enumerate() {
            let entries = s.entries_of(j, n);
            let fetch = m.fetch.unwrap_or(0) as u64;
            self.cycles += entries * (m.edge + m.cycles + fetch);
            if entries > 0 {
                self.count_entries(m.idx, entries, entries * fetch);
                if let Some(st) = self.stalls.as_mut().filter(|_| fetch > 0) {
                    st.fetch(self.blocks[m.idx].bucket, entries * fetch);
                }
            }
        }
        let last = *s.member_of(n);
        let (b, fetch) = (&self.hot[last.idx], last.fetch.unwrap_or(0));
        self.block_entry = self.cycles - b.cycles as u64 - fetch as u64;
        self.insns_before_block = self.instructions - b.insns as u64;
        self.cur = last.idx;
        self.access_cursor = 0;
        self.dyn_in_block = fetch as i64;
        self.note_recent(&s, 0, n);
    }

    /// After a loop of several blocks back to block `idx` was skipped for `n` entries
    /// and left (not stopped by a deadline): after `SHORT_RUNS_LIMIT` runs in a row
    /// shorter than `SHORT_RUN`, its hooks cost less than setting the skipping up and
    /// ending it, so it is not tried again until the next wall-clock check
    /// (`SHORT_RUNS_OFF`): the same loop code may run longer later (another layer).
    fn note_run_length(&mut self, idx: usize, n: u64) {
        let flags = &mut self.hot[idx].flags;
        if n >= SHORT_RUN {
            *flags &= !SHORT_RUNS;
            return;
        }
        let runs = (*flags & SHORT_RUNS) / SHORT_RUNS_ONE + 1;
        if runs < SHORT_RUNS_LIMIT {
            *flags = (*flags & !SHORT_RUNS) | (runs * SHORT_RUNS_ONE);
            return;
        }
        *flags = (*flags & !SHORT_RUNS) | SHORT_RUNS_OFF;
        self.short_runs_off.push(idx);
    }

    /// At each wall-clock check: try the loops `note_run_length` set aside again.
    pub(super) fn retry_short_runs(&mut self) {
        for idx in self.short_runs_off.drain(..) {
            self.hot[idx].flags &= !SHORT_RUNS_OFF;
        }
    }

    /// The branch predictor after `n` skipped entries, every branch of the loop predicted
    /// correctly (`try_skip_cycle` checked).
    fn replay_predictions(&mut self, s: &SkippedLoop, n: u64) {
        let mut branches = [None; MAX_LOOP_BLOCKS];
        for (j, m) in s.members().iter().enumerate() {
            let (b, next) = (&self.hot[m.idx], &self.hot[s.members[(j + 1) % s.len].idx]);
            if b.flags & ENDS_IN_CONTROL != 0 {
                branches[j] = Some(LoopBranch { pc: b.last_insn_addr(), taken: next.start != b.end, target: next.start });
            }
        }
        if let Some(p) = self.predictor.as_mut() {
            let repeated = p.repeat_loop(&branches[..s.len], n);
            debug_assert!(repeated, "a skipped loop's branches were predicted correctly when the skipping began");
        }
    }

    /// The n skipped entries of a loop with a block timed per line, one entry at a time
    /// as `enter_steady` does it (but for the profiler and predictor, replayed above),
    /// each followed by the data accesses unicorn logged in it: the log stamps each with
    /// the block sequence number, `sequence` in the entry the hook timed and
    /// `sequence + e` in skipped entry e. Once an entry's fetch has been timed, the next
    /// ones are timed from what it left (`LoopFetch`, `CycleFetch`) as long as that can be
    /// done without the memory system, and only the cycles and the data accesses are kept
    /// per entry; the rest of the entries' accounting is done once per such run
    /// (`end_fast_run`). With `--stalls` every entry is timed in full (the stall log
    /// orders its buckets by first wait).
    fn replay_timed_iterations(&mut self, s: &SkippedLoop, n: u64) {
        // Compiled twice: self-loops are most of the entries replayed on AOT fixtures.
        match s.len {
            1 => self.replay_timed::<true>(s, n),
            _ => self.replay_timed::<false>(s, n),
        }
    }

    /// `replay_timed_iterations`, for a self-loop if `SELF_LOOP`.
    fn replay_timed<const SELF_LOOP: bool>(&mut self, s: &SkippedLoop, n: u64) {
        let logged = self.take_logged();
        let (entries, ranges) = logged.as_ref().map_or((&[][..], &[][..]), |l| (l.entries(), l.ranges()));
        let in_done = |e: &&Entry, done: u64| e.stamp <= s.sequence + done;
        // Entry `done` is of the loop's block `pos`.
        let (mut done, mut next, mut pos) = (0, 0, 0);
        let mut fast: Option<FastRun> = None;
        while done < n {
            while let Some(e) = entries.get(next).filter(|e| in_done(e, done)) {
                self.time_logged(e, ranges);
                next += 1;
            }
            done += 1;
            if !SELF_LOOP {
                pos += 1;
                if pos == s.len {
                    pos = 0;
                }
            }
            let m = &s.members[pos];
            if let Some(run) = fast.as_mut() {
                let entry = self.cycles + m.edge;
                let since = entry - self.block_entry;
                let stall = match &mut run.fetch {
                    FastFetch::One(lf) if SELF_LOOP => lf.next(since),
                    FastFetch::Cycle(cf) if !SELF_LOOP => cf.next(pos, since),
                    _ => None,
                };
                if let Some(fetch) = stall {
                    self.block_entry = entry;
                    self.cycles = entry + m.cycles + fetch as u64;
                    self.dyn_in_block = fetch as i64;
                    run.entered[pos] += 1;
                    run.stalls[pos] += fetch as u64;
                    continue;
                }
                self.end_fast_run(s, run, done - 1);
                fast = None;
            }
            self.replay_timed_entry(m.idx, m.edge, m.fetch);
            if self.stalls.is_none() && done < n {
                fast = self.start_fast_run(s, pos, done);
            }
        }
        if let Some(run) = &fast {
            self.end_fast_run(s, run, done);
        }
        for e in &entries[next..] {
            self.time_logged(e, ranges);
        }
    }

    /// One entry of block `idx` from the loop block before it, over an edge costing
    /// `edge`: `enter_steady` without its checks.
    fn replay_timed_entry(&mut self, idx: usize, edge: u64, fetch: Option<u32>) {
        self.deadline_countdown -= 1;
        self.cycles += edge;
        self.account_entry(idx);
        let fetch = match fetch {
            Some(f) => f,
            None => self.timed_fetch(idx),
        };
        self.charge_fetch(fetch);
    }

    /// After entry `done` (of the loop's block `pos`) was timed through the memory
    /// system: time the next ones without it, if that can be done. A loop of several
    /// blocks only when all are fetched per line from the same region (`cycle_fetch`).
    fn start_fast_run(&self, s: &SkippedLoop, pos: usize, done: u64) -> Option<FastRun> {
        let region = self.hot[s.members[0].idx].region;
        let fetch = match s.len {
            1 => FastFetch::One(self.mem.loop_fetch(region as usize, &self.plans[s.members[0].idx])?),
            _ => {
                if s.members().iter().any(|m| m.fetch.is_some() || self.hot[m.idx].region != region) {
                    return None;
                }
                let plans = s.members().iter().map(|m| &self.plans[m.idx]);
                FastFetch::Cycle(self.mem.cycle_fetch(region as usize, plans, pos)?)
            }
        };
        Some(FastRun { fetch, from: done, entered: [0; MAX_LOOP_BLOCKS], stalls: [0; MAX_LOOP_BLOCKS] })
    }

    /// The accounting of the entries after `run.from` up to `to` that `run` timed (their
    /// cycles, block entry and dynamic stalls are already counted), and the memory system
    /// left as their fetches would have.
    fn end_fast_run(&mut self, s: &SkippedLoop, run: &FastRun, to: u64) {
        for (j, m) in s.members().iter().enumerate() {
            if run.entered[j] > 0 {
                self.count_entries(m.idx, run.entered[j], run.stalls[j]);
            }
        }
        self.note_recent(s, run.from, to);
        let last = s.member_of(to).idx;
        self.cur = last;
        self.insns_before_block = self.instructions - self.hot[last].insns as u64;
        match &run.fetch {
            FastFetch::One(lf) => {
                let idx = s.members[0].idx;
                let (region, plan) = (self.hot[idx].region as usize, &mut self.plans[idx]);
                self.mem.end_loop_fetch(region, plan, lf, run.entered[0], self.block_entry);
            }
            FastFetch::Cycle(cf) => {
                for (j, m) in s.members().iter().enumerate() {
                    cf.leave_plan(j, &mut self.plans[m.idx]);
                }
                self.mem.end_cycle_fetch(cf, s.members().iter().map(|m| &self.plans[m.idx]), self.block_entry);
            }
        }
    }

    /// The counts of `n` more entries of block `idx` whose cycles are accounted already
    /// (both replays): executions, instructions, the deadline countdown and the region's
    /// fetch wait cycles.
    fn count_entries(&mut self, idx: usize, n: u64, fetch_waits: u64) {
        let b = &mut self.hot[idx];
        b.executions += n;
        let (insns, region) = (b.insns as u64, b.region as usize);
        self.deadline_countdown -= n as u32;
        self.instructions += n * insns;
        self.insns_before_block = self.instructions - insns;
        self.regions[region].fetch_wait_cycles += fetch_waits;
    }

    /// The recent-block ring after skipped entries `from + 1` to `to` of loop `s`.
    fn note_recent(&mut self, s: &SkippedLoop, from: u64, to: u64) {
        let n = to - from;
        let shown = n.min(RECENT_BLOCKS as u64);
        self.recent_next = (self.recent_next + ((n - shown) % RECENT_BLOCKS as u64) as usize) % RECENT_BLOCKS;
        for e in to - shown + 1..=to {
            self.recent[self.recent_next] = self.hot[s.member_of(e).idx].start;
            self.recent_next = (self.recent_next + 1) % RECENT_BLOCKS;
        }
    }
}
