//! Flash accelerators: line buffers and sequential prefetch in front of flash regions.

use crate::board::{AcceleratorConfig, AcceleratorPart};

/// Fully associative lines of one or more flash words, least recently used replaced;
/// each word of a line is marked valid when it is read (a line of 4 × 64 bits on the
/// STM32L4 ART is filled 64 bits at a time [TR §6 STM32L4R5 ART row]). With one word per
/// line it is a plain fully associative LRU buffer (LPC55S69 flash controller).
#[derive(Clone, Debug)]
struct WordLines {
    /// log2(words per line).
    words_shift: u32,
    /// (line number or `u32::MAX` when empty, valid words, last use).
    lines: Vec<(u32, u32, u64)>,
    clock: u64,
}

impl WordLines {
    fn new(lines: u32, words_per_line: u32) -> WordLines {
        WordLines { words_shift: words_per_line.max(1).trailing_zeros(), lines: vec![(u32::MAX, 0, 0); lines as usize], clock: 0 }
    }

    /// Whether flash word `word` is held; a hit makes its line the most recently used.
    #[inline]
    fn lookup(&mut self, word: u32) -> bool {
        self.clock += 1;
        let (line, bit) = (word >> self.words_shift, 1u32 << (word & ((1 << self.words_shift) - 1)));
        match self.lines.iter_mut().find(|l| l.0 == line && l.1 & bit != 0) {
            Some(l) => {
                l.2 = self.clock;
                true
            }
            None => false,
        }
    }

    /// Copy flash word `word` in: into its line if present, else into an empty or the
    /// least recently used line (which loses its other words).
    fn insert(&mut self, word: u32) {
        self.clock += 1;
        let (line, bit) = (word >> self.words_shift, 1u32 << (word & ((1 << self.words_shift) - 1)));
        let clock = self.clock;
        if let Some(l) = self.lines.iter_mut().find(|l| l.0 == line) {
            l.1 |= bit;
            l.2 = clock;
            return;
        }
        if let Some(victim) = self.lines.iter_mut().min_by_key(|l| (l.0 != u32::MAX, l.2)) {
            *victim = (line, bit, clock);
        }
    }

    /// `n` more lookups of `word` right after an access to it: hits that keep its line
    /// the most recently used.
    fn repeat(&mut self, word: u32, n: u64) {
        self.clock += n;
        let line = word >> self.words_shift;
        if let Some(l) = self.lines.iter_mut().find(|l| l.0 == line) {
            l.2 = self.clock;
        }
    }

    /// Look up and copy in on a miss; returns whether it hit.
    #[inline]
    fn access(&mut self, word: u32) -> bool {
        let hit = self.lookup(word);
        if !hit {
            self.insert(word);
        }
        hit
    }
}

/// What decides an accelerator's instruction fetch timing from a block entry on: the
/// one instruction line (tag, valid words; `u32::MAX` with no line), the word being
/// prefetched (`NO_PREFETCH` with none) with its cycles to completion (0 with none), and
/// which parts are on. Packed into three words, as every block entry compares one or two
/// of these.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct FetchState {
    /// The line's tag (low half) and valid words (high half).
    line: u64,
    /// The prefetched word (low half); bit 32 prefetch on, bit 33 instruction lines on.
    prefetch_word: u64,
    prefetch_rel: u64,
}

/// `FetchState::prefetch_word` with no prefetch: flash words are at least 4 bytes
/// (`Board` validation), so word numbers, and the next word after any, stay below 2^30.
const NO_PREFETCH: u32 = u32::MAX;

/// One block's fetch through the accelerator: the state it was entered in, the state
/// it left, and the stall (see [`Accelerator::fetch_lines`]).
#[derive(Clone, Copy, Debug)]
struct FetchOutcome {
    fill: u32,
    before: FetchState,
    after: FetchState,
    stall: u32,
}

/// Outcomes a block remembers: a loop body's entry state often alternates between two
/// (the prefetch still under way or not, by the data stalls of the last pass).
const FETCH_MEMO_ENTRIES: usize = 2;

/// A block's last [`FETCH_MEMO_ENTRIES`] fetch outcomes, the oldest replaced first.
#[derive(Clone, Debug, Default)]
pub struct FetchMemo {
    outcomes: [Option<FetchOutcome>; FETCH_MEMO_ENTRIES],
    next: usize,
    /// Which outcome the block's latest fetch had, if it was memoised.
    latest: Option<usize>,
}

/// Which of `outcomes` starts from `before` with flash reads of `fill` cycles, the
/// `latest` tried first: a block usually repeats it. (Outcomes never share a `before` and
/// `fill`: one is memoised only when none matched.)
#[inline(always)]
fn matching(outcomes: &[Option<FetchOutcome>; FETCH_MEMO_ENTRIES], latest: Option<usize>, before: &FetchState, fill: u32) -> Option<usize> {
    let hit = |m: &Option<FetchOutcome>| m.as_ref().is_some_and(|m| m.fill == fill && m.before == *before);
    match latest {
        Some(l) if hit(&outcomes[l]) => Some(l),
        _ => outcomes.iter().position(hit),
    }
}

/// A loop body's fetches, replayed from its memo without the accelerator
/// ([`Accelerator::loop_outcomes`]): the outcomes, which one the latest fetch had and
/// the flash latency they are replayed at (it cannot change while a loop is replayed).
#[derive(Clone, Copy, Debug)]
pub struct LoopOutcomes {
    outcomes: [Option<FetchOutcome>; FETCH_MEMO_ENTRIES],
    latest: usize,
    fill: u32,
    /// Per outcome of the fetch before (of the loop's block `.1`): the `since` the
    /// outcome after it was last found for (`u64::MAX`: none yet) and that outcome
    /// (`.2`). The state a fetch starts from is a function of those three, so the same
    /// three find the same outcome, without building and comparing the state again.
    found: [(u64, usize, usize); FETCH_MEMO_ENTRIES],
}

impl LoopOutcomes {
    fn new(outcomes: [Option<FetchOutcome>; FETCH_MEMO_ENTRIES], latest: usize, fill: u32) -> LoopOutcomes {
        LoopOutcomes { outcomes, latest, fill, found: [(u64::MAX, 0, 0); FETCH_MEMO_ENTRIES] }
    }

    /// The stall of the block's next fetch, entered `since` cycles after the latest one,
    /// when the state the latest left (nothing but data reads between, which use lines
    /// of their own) is one a memoised outcome starts from; `None` otherwise.
    #[inline]
    pub(super) fn next(&mut self, since: u64) -> Option<u32> {
        let latest = self.latest;
        if let Some(stall) = self.found_after(0, latest, since) {
            return Some(stall);
        }
        let after = self.latest_after()?;
        self.find_after(0, latest, &after, since)
    }

    /// The stall of the fetch after one of the loop's block `block` with its outcome
    /// `outcome`, entered `since` cycles after it, if found before (`found`).
    #[inline]
    fn found_after(&mut self, block: usize, outcome: usize, since: u64) -> Option<u32> {
        let (s, b, i) = self.found[outcome];
        if s != since || b != block {
            return None;
        }
        self.latest = i;
        self.outcomes[i].as_ref().map(|o| o.stall)
    }

    /// `found_after` when not found before: from the state that fetch left, `after`.
    fn find_after(&mut self, block: usize, outcome: usize, after: &FetchState, since: u64) -> Option<u32> {
        let stall = self.next_from(after, since)?;
        self.found[outcome] = (since, block, self.latest);
        Some(stall)
    }

    /// The state the block's latest fetch left.
    #[inline]
    fn latest_after(&self) -> Option<FetchState> {
        self.outcomes[self.latest].as_ref().map(|o| o.after)
    }

    /// The stall of the block's next fetch, entered `since` cycles after a fetch that
    /// left `after`.
    #[inline]
    fn next_from(&mut self, after: &FetchState, since: u64) -> Option<u32> {
        let before = FetchState { prefetch_rel: after.prefetch_rel.saturating_sub(since), ..*after };
        let i = matching(&self.outcomes, Some(self.latest), &before, self.fill)?;
        self.latest = i;
        self.outcomes[i].as_ref().map(|o| o.stall)
    }
}

/// The fetches of a loop of several blocks, replayed from the blocks' memos without the
/// accelerator: each block's fetch starts from the state the fetch before it, of
/// whichever block, left.
#[derive(Clone, Debug)]
pub struct CycleOutcomes {
    blocks: [Option<LoopOutcomes>; MAX_CYCLE_BLOCKS],
    /// The block whose fetch was the latest.
    last: usize,
}

/// The most blocks a [`CycleOutcomes`] holds (kept on the stack: one is made after every
/// fetch a replayed loop times through the accelerator).
pub const MAX_CYCLE_BLOCKS: usize = 4;

impl CycleOutcomes {
    /// The loop's blocks' memos, the latest fetch being block `last`'s: `None` when a
    /// block's latest fetch was not memoised or the blocks were fetched at different
    /// flash latencies.
    pub(super) fn new<'a>(memos: impl Iterator<Item = &'a FetchMemo>, last: usize) -> Option<CycleOutcomes> {
        let mut blocks = [None; MAX_CYCLE_BLOCKS];
        let mut fill = None;
        for (i, memo) in memos.enumerate() {
            let b = Accelerator::loop_outcomes(memo)?;
            if *fill.get_or_insert(b.fill) != b.fill {
                return None;
            }
            *blocks.get_mut(i)? = Some(b);
        }
        blocks.get(last)?.as_ref()?;
        Some(CycleOutcomes { blocks, last })
    }

    /// The stall of block `block`'s fetch, entered `since` cycles after the latest fetch;
    /// `None` when its memo has no outcome from the state that fetch left.
    #[inline]
    pub(super) fn next(&mut self, block: usize, since: u64) -> Option<u32> {
        let (last, outcome) = (self.last, self.blocks[self.last].as_ref()?.latest);
        let stall = match self.blocks.get_mut(block)?.as_mut()?.found_after(last, outcome, since) {
            Some(stall) => stall,
            None => {
                let after = self.blocks[last].as_ref()?.latest_after()?;
                self.blocks[block].as_mut()?.find_after(last, outcome, &after, since)?
            }
        };
        self.last = block;
        Some(stall)
    }

    /// Leave block `block`'s memo with the latest outcome replayed.
    pub(super) fn leave_memo(&self, block: usize, memo: &mut FetchMemo) {
        if let Some(Some(b)) = self.blocks.get(block) {
            memo.latest = Some(b.latest);
        }
    }
}

/// A flash accelerator: instruction and data lines plus sequential prefetch of the next
/// flash word, each part switched on or off by the firmware on its own (STM32
/// FLASH_ACR.PRFTEN / ICEN / DCEN). Works in flash words (`word_bytes`).
#[derive(Clone, Debug)]
pub struct Accelerator {
    word_shift: u32,
    instr: Option<WordLines>,
    data: Option<WordLines>,
    prefetch: bool,
    /// The word being prefetched and the cycle it is in the buffer.
    prefetched: Option<(u32, u64)>,
    /// A demand read waits for a prefetch under way to complete (no prefetch override).
    prefetch_completes: bool,
    /// Prefetched words are copied into the instruction lines too.
    cache_prefetched: bool,
    prefetch_on: bool,
    icache_on: bool,
    dcache_on: bool,
}

impl Accelerator {
    pub fn new(c: &AcceleratorConfig) -> Accelerator {
        let word = c.word_bytes();
        let per_line = (c.line_bytes / word).max(1);
        let lines = |n: u32| (n > 0).then(|| WordLines::new(n, per_line));
        Accelerator {
            word_shift: word.trailing_zeros(),
            instr: lines(c.instruction_lines),
            data: lines(c.data_lines),
            prefetch: c.prefetch,
            prefetched: None,
            prefetch_completes: c.prefetch_completes,
            cache_prefetched: c.cache_prefetched,
            prefetch_on: true,
            icache_on: true,
            dcache_on: true,
        }
    }

    /// Bytes one flash read delivers: the unit instruction fetches are timed in.
    pub fn word_bytes(&self) -> u32 {
        1 << self.word_shift
    }

    /// Whether anything on the instruction side is on (prefetch or instruction lines);
    /// if not, fetches pay the plain wait states. An accelerator with neither still reads
    /// whole lines (one per `word_bytes`) while switched on.
    pub(super) fn fetch_side_on(&self) -> bool {
        let bare = !self.prefetch && self.instr.is_none();
        (self.prefetch && self.prefetch_on) || (!bare && self.instr.is_some() && self.icache_on) || (bare && self.icache_on)
    }

    /// Whether flash data reads go through the data lines.
    pub(super) fn data_side_on(&self) -> bool {
        self.data.is_some() && self.dcache_on
    }

    /// Switch one part (or all) on or off.
    pub(super) fn set_part(&mut self, part: AcceleratorPart, on: bool) {
        match part {
            AcceleratorPart::All => {
                self.prefetch_on = on;
                self.icache_on = on;
                self.dcache_on = on;
            }
            AcceleratorPart::Prefetch => self.prefetch_on = on,
            AcceleratorPart::InstructionCache => self.icache_on = on,
            AcceleratorPart::DataCache => self.dcache_on = on,
        }
        if !self.prefetch_on {
            self.prefetched = None;
        }
    }

    /// Wait cycles for the core to get flash word `word` at cycle `t`, when a flash
    /// read takes `fill` cycles.
    pub(super) fn fetch_word(&mut self, word: u32, t: u64, fill: u32) -> u32 {
        let cached = self.icache_on && self.instr.is_some();
        let hit = cached
            && match self.instr.as_mut() {
                Some(c) if self.cache_prefetched => c.access(word),
                Some(c) => c.lookup(word),
                None => false,
            };
        let prefetching = self.prefetch && self.prefetch_on;
        let mut from_prefetch = false;
        let wait = if hit {
            0
        } else {
            match self.prefetched {
                Some((w, ready)) if w == word && prefetching => {
                    from_prefetch = true;
                    ready.saturating_sub(t) as u32
                }
                // The flash array reads one line at a time: a prefetch of another line that
                // is still under way is completed first ("any previously initiated prefetch
                // will be completed", LPC55S6x FMCCR.PREFOVR = 0 [TR §6 LPC55S69 FMC row]),
                // then the demand read starts. A taken branch out of a loop's last line
                // therefore waits for the useless prefetch of the line after it.
                Some((_, ready)) if prefetching && self.prefetch_completes && ready > t + 1 => (ready - 1 - t) as u32 + fill,
                _ => fill,
            }
        };
        // ST: a word that was neither cached nor the prefetched one is a miss, and only
        // then is it copied into the instruction cache [TR §6 STM32L4R5 ART row].
        if cached && !self.cache_prefetched && !hit && !from_prefetch {
            if let Some(c) = self.instr.as_mut() {
                c.insert(word);
            }
        }
        if prefetching {
            // The next sequential word is read as soon as this one has arrived; a flash
            // read takes the wait states plus one cycle.
            let arrived = t + wait as u64;
            let next = word.wrapping_add(1);
            match self.prefetched {
                Some((w, _)) if w == next => {}
                _ => self.prefetched = Some((next, arrived + fill as u64 + 1)),
            }
        }
        wait
    }

    /// The instruction side's state at cycle `t`, when it is small enough to stand for
    /// the whole of it (at most one instruction line): the key and value of a block's
    /// fetch memo ([`FetchMemo`]). A prefetch that completed by `t` counts as completing
    /// at `t`: for every later cycle the two behave the same, and block entries never go
    /// back in time.
    #[inline]
    fn fetch_state(&self, t: u64) -> Option<FetchState> {
        let (tag, valid) = match self.instr.as_ref().map(|c| c.lines.as_slice()) {
            None => (u32::MAX, 0),
            Some(&[(tag, valid, _)]) => (tag, valid),
            Some(_) => return None,
        };
        let (word, prefetch_rel) = self.prefetched.map_or((NO_PREFETCH, 0), |(w, ready)| (w, ready.saturating_sub(t)));
        let parts = u64::from(self.prefetch_on) | u64::from(self.icache_on) << 1;
        Some(FetchState { line: u64::from(tag) | u64::from(valid) << 32, prefetch_word: u64::from(word) | parts << 32, prefetch_rel })
    }

    /// Put back a state `fetch_state(t)` returned.
    #[inline]
    fn set_fetch_state(&mut self, s: &FetchState, t: u64) {
        if let Some([line]) = self.instr.as_mut().map(|c| c.lines.as_mut_slice()) {
            line.0 = s.line as u32;
            line.1 = (s.line >> 32) as u32;
        }
        let word = s.prefetch_word as u32;
        self.prefetched = (word != NO_PREFETCH).then_some((word, t + s.prefetch_rel));
    }

    /// Wait cycles to fetch one execution of a block that requests flash words `lines`
    /// (each with the cycle offset from `entry` of the first instruction needing it).
    /// Each result is a pure function of the instruction side's state at entry, so a
    /// block entered in the state of its previous execution replays that execution's
    /// outcome from `memo` instead of walking its words: loops do, and the walk showed
    /// in every profile of flash-resident code.
    ///
    /// Inlined into every block entry: the memo hit is the common case (99.99 % of the
    /// blocks of TFLM IC on LPC55S69), the walk of `walk_lines` the rare one.
    #[inline]
    pub(super) fn fetch_lines(&mut self, memo: &mut FetchMemo, lines: &[(u32, u32)], entry: u64, fill: u32) -> u32 {
        let before = self.fetch_state(entry);
        if let Some(b) = before.as_ref() {
            if let Some(i) = matching(&memo.outcomes, memo.latest, b, fill) {
                let m = memo.outcomes[i].as_ref().expect("just found");
                let (after, stall) = (m.after, m.stall);
                memo.latest = Some(i);
                self.set_fetch_state(&after, entry);
                return stall;
            }
        }
        self.walk_lines(memo, before, lines, entry, fill)
    }

    /// `fetch_lines` without a memoised outcome: fetch word by word, then memoise.
    #[inline(never)]
    fn walk_lines(&mut self, memo: &mut FetchMemo, before: Option<FetchState>, lines: &[(u32, u32)], entry: u64, fill: u32) -> u32 {
        let mut stall = 0u32;
        for &(word, offset) in lines {
            stall += self.fetch_word(word, entry + offset as u64 + stall as u64, fill);
        }
        memo.latest = None;
        if let Some(before) = before {
            let after = self.fetch_state(entry).expect("same geometry");
            memo.outcomes[memo.next] = Some(FetchOutcome { fill, before, after, stall });
            memo.latest = Some(memo.next);
            memo.next = (memo.next + 1) % FETCH_MEMO_ENTRIES;
        }
        stall
    }

    /// A block's memoised fetches, to replay a loop of it from the state its latest fetch
    /// left, at that fetch's flash latency: `None` when that fetch was not memoised.
    pub(super) fn loop_outcomes(memo: &FetchMemo) -> Option<LoopOutcomes> {
        let latest = memo.latest?;
        let fill = memo.outcomes[latest].as_ref()?.fill;
        Some(LoopOutcomes::new(memo.outcomes, latest, fill))
    }

    /// The state after the replayed loop's last fetch, entered at cycle `entry`.
    pub(super) fn end_loop(&mut self, memo: &mut FetchMemo, lo: &LoopOutcomes, entry: u64) {
        if let Some(o) = lo.outcomes[lo.latest].as_ref() {
            self.set_fetch_state(&o.after, entry);
            memo.latest = Some(lo.latest);
        }
    }

    /// The state after a replayed loop of several blocks, its last fetch entered at cycle
    /// `entry` (the blocks' memos: `CycleOutcomes::leave_memo`).
    pub(super) fn end_cycle(&mut self, co: &CycleOutcomes, entry: u64) {
        if let Some(after) = co.blocks[co.last].as_ref().and_then(LoopOutcomes::latest_after) {
            self.set_fetch_state(&after, entry);
        }
    }

    /// `n` more data reads of the flash word `data_read` just read at `addr`: hits that
    /// wait nothing.
    pub(super) fn repeat_data_reads(&mut self, addr: u32, n: u64) {
        if let Some(c) = self.data.as_mut() {
            c.repeat(addr >> self.word_shift, n);
        }
    }

    /// Wait cycles of a data read through the data lines (a miss reads one flash word).
    #[inline]
    pub(super) fn data_read(&mut self, addr: u32, fill: u32) -> u32 {
        let word = addr >> self.word_shift;
        let hit = self.data.as_mut().is_some_and(|c| c.access(word));
        if hit {
            0
        } else {
            fill
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::board::AcceleratorPart;
    use crate::memsys::test_support::{board, l4r5, loop_stalls};
    use crate::memsys::{FetchMode, FetchPlan, Fidelity, MemorySystem};

    #[test]
    fn accelerator_prefetch_hides_wait_states_for_slow_enough_code() {
        // 5 wait states, 8-byte lines, prefetch, no line cache. Straight-line 16-bit code,
        // one instruction per cycle: a line holds 4 instructions = 4 cycles, and a flash
        // read takes 5 + 1 = 6 cycles, so each sequential line arrives 6 cycles after the
        // previous one: 2 stall cycles per line after the first (which pays the full 5).
        let b = board("[accelerator]\nline_bytes=8\ninstruction_lines=0\nprefetch=true", "name='flash'\nbase=0\nsize=0x10000\nkind='flash'\nread_wait=5");
        let mut m = MemorySystem::new(&b, Fidelity::Detailed);
        let addrs: Vec<u32> = (0..16).map(|i| i * 2).collect();
        let offsets: Vec<u32> = (0..16).collect();
        // Line 0 at t=0: 5 (arrives 5). Line 1 needed at 4+5 = 9, ready at 5+6 = 11: 2.
        // Line 2 needed at 8+7 = 15, ready at 11+6 = 17: 2. Line 3 at 12+9 = 21, ready 23: 2.
        assert_eq!(m.fetch(0, &addrs, 32, &offsets, 0), 11);
        // Without prefetch every line pays 5.
        let b = board("[accelerator]\nline_bytes=8\ninstruction_lines=0", "name='flash'\nbase=0\nsize=0x10000\nkind='flash'\nread_wait=5");
        let mut m = MemorySystem::new(&b, Fidelity::Detailed);
        assert_eq!(m.fetch(0, &addrs, 32, &offsets, 0), 20);
    }

    #[test]
    fn a_block_replaying_its_memoised_fetch_waits_exactly_what_walking_its_words_does() {
        // A 3-line loop body and a 1-line block between passes, entered after 0–13
        // cycles of data stalls in a repeating pattern, so that each block meets the
        // same entry states again (memo hits) and different ones (memo misses). One
        // memory system keeps each block's plan and memo (as the simulator does), the
        // other fetches with a fresh plan every time (walks every word). Two flash
        // fronts: LPC55S69-like (12-cycle reads, one 16-byte line, prefetch that
        // completes), and one line of four 8-byte words filled word by word (the line's
        // valid words are part of the state). Every 11th pass switches the prefetch or
        // the instruction line off or on, in both systems: a memoised outcome must not
        // stand for another set of parts.
        let fronts = [
            "[accelerator]\nline_bytes=16\ninstruction_lines=1\nprefetch=true\nprefetch_completes=true",
            "[accelerator]\nline_bytes=32\nword_bytes=8\ninstruction_lines=1\nprefetch=true",
        ];
        for front in fronts {
            let b = board(front, "name='flash'\nbase=0\nsize=0x10000\nkind='flash'\nread_wait=11");
            let (mut kept, mut walked) = (MemorySystem::new(&b, Fidelity::Detailed), MemorySystem::new(&b, Fidelity::Detailed));
            let body: Vec<u32> = (0..24).map(|i| 0x100 + i * 2).collect();
            let tail: Vec<u32> = (0..8).map(|i| 0x200 + i * 2).collect();
            let (body_off, tail_off): (Vec<u32>, Vec<u32>) = ((0..24).collect(), (0..8).collect());
            let (mut body_plan, mut tail_plan) = (FetchPlan::default(), FetchPlan::default());
            let (mut t_kept, mut t_walked) = (0u64, 0u64);
            let mut stalls = Vec::new();
            for pass in 0..90u64 {
                let data = [0, 13, 0, 2, 7][pass as usize % 5];
                if pass % 11 == 10 {
                    let (part, on) = [
                        (AcceleratorPart::Prefetch, false),
                        (AcceleratorPart::Prefetch, true),
                        (AcceleratorPart::InstructionCache, false),
                        (AcceleratorPart::InstructionCache, true),
                    ][(pass / 11) as usize % 4];
                    kept.set_accelerator_part(part, on);
                    walked.set_accelerator_part(part, on);
                }
                for (addrs, offsets, end, plan) in [(&body, &body_off, 0x130, &mut body_plan), (&tail, &tail_off, 0x210, &mut tail_plan)] {
                    let a = kept.fetch_planned(0, plan, addrs, end, offsets, t_kept);
                    let w = walked.fetch(0, addrs, end, offsets, t_walked);
                    assert_eq!(a, w, "{front}: pass {pass}, block at {:#x}: memoised fetch stalled {a}, walking {w}", addrs[0]);
                    stalls.push(a);
                    t_kept += offsets.len() as u64 + a as u64 + data;
                    t_walked += offsets.len() as u64 + w as u64 + data;
                }
            }
            // The pattern exercises more than one entry state per block.
            stalls.sort_unstable();
            stalls.dedup();
            assert!(stalls.len() >= 3, "{front}: too few distinct stalls to exercise the memo: {stalls:?}");
        }
    }

    #[test]
    fn the_memo_tells_apart_entry_states_that_differ_only_in_the_lines_valid_words() {
        // One line of four 8-byte words, filled word by word, and prefetch. X (the
        // line's second word, entered by a jump) and Y (its first two words: the first
        // a miss, the second from the prefetch, which is not copied into the line) both
        // leave the line's tag at 0x200 and the prefetch on 0x210, complete after the
        // 30-cycle gap, but X leaves word 1 valid and Y word 0. Z then reads the line
        // from word 0: a hit after Y, a miss after X. Its memo must not replay one for
        // the other.
        let b = board(
            "[accelerator]\nline_bytes=32\nword_bytes=8\ninstruction_lines=1\nprefetch=true",
            "name='flash'\nbase=0\nsize=0x10000\nkind='flash'\nread_wait=11",
        );
        let (mut kept, mut walked) = (MemorySystem::new(&b, Fidelity::Detailed), MemorySystem::new(&b, Fidelity::Detailed));
        let insns = |from: u32, to: u32| -> (Vec<u32>, Vec<u32>) { ((from..to).step_by(2).collect(), (0..(to - from) / 2).collect()) };
        let (x, y, z) = (insns(0x208, 0x210), insns(0x200, 0x210), insns(0x200, 0x218));
        let mut z_plan = FetchPlan::default();
        let (mut t, mut z_stalls) = (0u64, Vec::new());
        for pass in 0..8 {
            let (before, end) = if pass % 2 == 0 { (&x, 0x210) } else { (&y, 0x210) };
            let w = kept.fetch(0, &before.0, end, &before.1, t);
            assert_eq!(w, walked.fetch(0, &before.0, end, &before.1, t));
            t += before.1.len() as u64 + w as u64 + 30;
            let a = kept.fetch_planned(0, &mut z_plan, &z.0, 0x218, &z.1, t);
            let w = walked.fetch(0, &z.0, 0x218, &z.1, t);
            assert_eq!(a, w, "pass {pass}: Z's memoised fetch stalled {a}, walking its words {w}");
            z_stalls.push(a);
            t += z.1.len() as u64 + a as u64 + 30;
        }
        assert_ne!(z_stalls[0], z_stalls[1], "Z waits alike after X and after Y: {z_stalls:?}");
    }

    #[test]
    fn a_demand_read_waits_for_the_prefetch_under_way_when_it_completes_first() {
        // 11 wait states (12-cycle reads), 16-byte lines, one line buffer, prefetch. A loop
        // over lines 0 and 1, 8 cycles of work in each: line 0 pays 11 (arrives at 11) and
        // starts the prefetch of line 1 (ready at 23), needed at 19: 4; line 1 starts the
        // prefetch of line 2 (ready at 35). Branching back at 30, line 0 first waits for
        // line 2's read to finish (34), then its own 11: 15 with `prefetch_completes`,
        // 11 without (the prefetch is abandoned).
        let run = |completes: bool| {
            let b = board(
                &format!("[accelerator]\nline_bytes=16\ninstruction_lines=1\nprefetch=true\nprefetch_completes={completes}"),
                "name='flash'\nbase=0\nsize=0x10000\nkind='flash'\nread_wait=11",
            );
            let mut m = MemorySystem::new(&b, Fidelity::Detailed);
            let addrs: Vec<u32> = (0..16).map(|i| i * 2).collect();
            let offsets: Vec<u32> = (0..16).collect();
            let first = m.fetch(0, &addrs, 32, &offsets, 0);
            (first, m.fetch(0, &addrs, 32, &offsets, 16 + first as u64 - 1))
        };
        assert_eq!(run(true).0, 11 + 4);
        // The second pass enters at 30 (15 stall + 16 cycles of work - 1): line 2's prefetch
        // is ready at 35.
        assert_eq!(run(true).1, (35 - 1 - 30) + 11 + 4);
        assert_eq!(run(false).1, 11 + 4);
    }

    #[test]
    fn accelerator_line_cache_makes_loops_free_after_the_first_pass() {
        let b = board("[accelerator]\nline_bytes=16\ninstruction_lines=4\nprefetch=false", "name='flash'\nbase=0\nsize=0x10000\nkind='flash'\nread_wait=3");
        let mut m = MemorySystem::new(&b, Fidelity::Detailed);
        let addrs = [0x100, 0x104, 0x108, 0x10C, 0x110];
        let offsets = [0, 1, 2, 3, 4];
        assert_eq!(m.fetch(0, &addrs, 0x114, &offsets, 0), 6); // two lines, 3 each
        assert_eq!(m.fetch(0, &addrs, 0x114, &offsets, 100), 0);
        // Fast fidelity treats the accelerator as always hitting.
        let mut f = MemorySystem::new(&b, Fidelity::Fast);
        assert_eq!(f.fetch_mode(0), FetchMode::Free);
        assert_eq!(f.fetch(0, &addrs, 0x114, &offsets, 0), 0);
    }

    #[test]
    fn stm32l4_art_bits_each_switch_their_own_part() {
        // [TR §6 STM32L4R5 rows] 5 wait states, 64-bit flash words (reads of 5 + 1
        // cycles). A two-word loop with 9 cycles of work per pass (the calibration
        // benchmark art_loop_*), steady state: everything off, 5 per word; prefetch alone,
        // the head 5 (the prefetch holds the word after the loop) and the second word 2
        // (arrives 6 after the head, needed after 4); I-cache alone, both words cached;
        // D-cache alone, as off; all on, the head is a cached branch target and the second
        // word streams from the prefetch: 2.
        let cases = [
            (AcceleratorPart::All, false, 10),
            (AcceleratorPart::Prefetch, true, 7),
            (AcceleratorPart::InstructionCache, true, 0),
            (AcceleratorPart::DataCache, true, 10),
        ];
        for (part, alone, stall) in cases {
            let mut m = l4r5();
            m.set_accelerator_enabled(false);
            if alone {
                m.set_accelerator_part(part, true);
            }
            assert_eq!(loop_stalls(&mut m, 2, 9, 4), stall, "{part:?} alone");
        }
        assert_eq!(loop_stalls(&mut l4r5(), 2, 9, 4), 2, "all on (the preset)");
        // Flash data reads: 5 without the data cache, a hit with it (after one miss).
        let mut m = l4r5();
        m.set_accelerator_part(AcceleratorPart::DataCache, false);
        assert_eq!((m.data(0, 0x0800_1000, false), m.data(0, 0x0800_1000, false)), (5, 5));
        m.set_accelerator_part(AcceleratorPart::DataCache, true);
        assert_eq!((m.data(0, 0x0800_1000, false), m.data(0, 0x0800_1004, false)), (5, 0));
        // Switching the prefetch off leaves the I-cache on: still the accelerator path.
        m.set_accelerator_part(AcceleratorPart::Prefetch, false);
        assert_eq!(m.fetch_mode(0), FetchMode::Dynamic { loops: true });
        m.set_accelerator_part(AcceleratorPart::InstructionCache, false);
        assert_eq!(m.fetch_mode(0), FetchMode::Plain);
    }

    #[test]
    fn stm32l4_art_has_no_capacity_cliff_with_prefetch_but_thrashes_without() {
        // All on: only misses are copied into the 32 × 32-byte I-cache, so a loop costs
        // 2 per word after its (cached) head whatever its size: 512 bytes (64 words) and
        // 2304 bytes (288 words, more than the 1 KiB cache) alike. The work per word is 4
        // cycles, plus 4 for the loop's last word (ADDS, SUBS, BNE.W).
        assert_eq!(loop_stalls(&mut l4r5(), 64, 4 * 64, 4), 2 * 63);
        assert_eq!(loop_stalls(&mut l4r5(), 288, 4 * 288, 4), 2 * 287);
        // The I-cache alone holds 128 words: the 512-byte loop fits, the 2304-byte one
        // misses every word under LRU (5 each).
        let alone = || {
            let mut m = l4r5();
            m.set_accelerator_part(AcceleratorPart::Prefetch, false);
            m.set_accelerator_part(AcceleratorPart::DataCache, false);
            m
        };
        assert_eq!(loop_stalls(&mut alone(), 64, 256, 4), 0);
        assert_eq!(loop_stalls(&mut alone(), 288, 1152, 4), 5 * 288);
    }
}
