//! A branch target address cache (BTAC) with two-bit counters, for Cortex-M7.
//!
//! The Cortex-M7 predicts branches with a BTAC "for single-cycle turn-around of branch
//! predictor state and target address" [TR §3 PFU bullet]; Arm publishes neither its size,
//! organisation nor update rule. This model is the textbook design, stated as an
//! assumption in docs/timing-model.md: 128 entries (the size of the ARM1176's BTAC, an Arm
//! core of the same generation [TR §3 PFU bullet]) in 4-way sets with least-recently-used
//! replacement, each holding the last target and a two-bit saturating taken counter, so a
//! loop-closing branch mispredicts once per loop exit rather than also on re-entry. Until
//! issue 17 the table was direct-mapped by halfword address: any two branches 256 bytes
//! apart evicted each other, an artefact of the assumption (CoreMark/MHz 3.90 direct-mapped
//! against 3.97–4.04 for every associative table of 32 to 256 entries).

/// What the predictor guessed for a branch it had an entry for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Prediction {
    pub taken: bool,
    pub target: u32,
}

impl Prediction {
    /// Whether the branch went as predicted: its direction, and its target when taken
    /// (`target` None: not known, counts as right). Without an entry (`prediction`
    /// None) fetch ran on sequentially, which is right for a branch not taken.
    pub fn correct(prediction: Option<Prediction>, taken: bool, target: Option<u32>) -> bool {
        match prediction {
            Some(p) => p.taken == taken && (!taken || target.is_none_or(|t| t == p.target)),
            None => !taken,
        }
    }
}

/// A branch's entry in the table, between [`BranchPredictor::lookup`] and the update.
#[derive(Clone, Copy, Debug)]
pub struct Lookup {
    pc: u32,
    found: Option<usize>,
    pub prediction: Option<Prediction>,
}

impl Lookup {
    /// Where the branch's entry is, if it has one: a hint for its next lookup
    /// ([`BranchPredictor::lookup_at`]).
    pub fn slot(&self) -> Option<usize> {
        self.found
    }
}

/// An empty entry's branch address: odd, so no Thumb instruction's.
const NO_BRANCH: u32 = u32::MAX;

/// Ways per set of the modelled BTAC [assumption, see the module text].
pub const BTAC_WAYS: usize = 4;

#[derive(Clone, Copy, Debug, Default)]
struct Entry {
    target: u32,
    /// 0–1 predict not taken, 2–3 predict taken.
    counter: u8,
    /// Last use, for least-recently-used replacement within a set.
    used: u64,
}

impl Entry {
    /// `times` outcomes, all `taken` or all not, on the two-bit counter.
    fn count(&mut self, taken: bool, times: u64) {
        let c = self.counter as u64;
        self.counter = if taken { (c + times).min(3) } else { c.saturating_sub(times) } as u8;
    }
}

#[derive(Clone, Debug)]
pub struct BranchPredictor {
    entries: Vec<Entry>,
    /// Each entry's branch address, `NO_BRANCH` while it is empty: kept apart from the
    /// entries so that a set's search reads four words (every block entry after a branch
    /// asks).
    pcs: Vec<u32>,
    ways: usize,
    /// Sets - 1 (a power of two).
    set_mask: usize,
    clock: u64,
    pub lookups: u64,
    pub mispredictions: u64,
}

impl BranchPredictor {
    /// `entries` (a power of two) in sets of [`BTAC_WAYS`].
    pub fn new(entries: usize) -> BranchPredictor {
        BranchPredictor::with_ways(entries, BTAC_WAYS)
    }

    /// `entries` in sets of `ways` (both powers of two; `ways == entries`: fully
    /// associative), least-recently-used replacement within a set.
    pub fn with_ways(entries: usize, ways: usize) -> BranchPredictor {
        let entries = entries.next_power_of_two().max(1);
        let ways = ways.next_power_of_two().clamp(1, entries);
        BranchPredictor {
            entries: vec![Entry::default(); entries],
            pcs: vec![NO_BRANCH; entries],
            ways,
            set_mask: entries / ways - 1,
            clock: 0,
            lookups: 0,
            mispredictions: 0,
        }
    }

    #[inline]
    fn set_start(&self, pc: u32) -> usize {
        (((pc >> 1) as usize) & self.set_mask) * self.ways
    }

    #[inline(always)]
    fn find(&self, pc: u32) -> Option<usize> {
        let s = self.set_start(pc);
        // The set as one slice: a bounds check per lookup, not per way.
        self.pcs[s..s + self.ways].iter().position(|&p| p == pc).map(|w| s + w)
    }

    /// `lookup`, trying slot `hint` (where the branch was found last time, from
    /// [`Lookup::slot`]) before searching the set: a branch has at most one entry, so
    /// an entry for `pc` there is its entry.
    #[inline(always)]
    pub fn lookup_at(&self, pc: u32, hint: usize) -> Lookup {
        let found = match self.pcs.get(hint) {
            Some(&p) if p == pc => Some(hint),
            _ => self.find(pc),
        };
        self.looked_up(pc, found)
    }

    /// The lookup of the branch at `pc`, whose entry is `found`.
    #[inline(always)]
    fn looked_up(&self, pc: u32, found: Option<usize>) -> Lookup {
        let prediction = found.map(|i| {
            let e = self.entries[i];
            Prediction { taken: e.counter >= 2, target: e.target }
        });
        Lookup { pc, found, prediction }
    }

    pub fn predict(&self, pc: u32) -> Option<Prediction> {
        self.lookup(pc).prediction
    }

    /// The entry for the branch at `pc` and what it predicts, to be passed to
    /// [`BranchPredictor::update_looked_up`] (the simulator's block entry asks for the
    /// prediction first and records the outcome after, with one search of the set).
    #[inline(always)]
    pub fn lookup(&self, pc: u32) -> Lookup {
        self.looked_up(pc, self.find(pc))
    }

    /// Record the outcome of the branch at `pc`; returns whether it was predicted
    /// correctly (direction, and target when taken). Not-taken branches without an entry
    /// count as predicted (fetch simply continued) and allocate nothing.
    pub fn update(&mut self, pc: u32, taken: bool, target: u32) -> bool {
        self.update_looked_up(self.lookup(pc), taken, target)
    }

    /// [`BranchPredictor::update`] with the branch's `lookup`, made since the last update.
    #[inline(always)]
    pub fn update_looked_up(&mut self, lookup: Lookup, taken: bool, target: u32) -> bool {
        self.lookups += 1;
        self.clock += 1;
        let (pc, found) = (lookup.pc, lookup.found);
        let correct = Prediction::correct(lookup.prediction, taken, Some(target));
        match found {
            Some(i) => {
                let e = &mut self.entries[i];
                // `Entry::count(taken, 1)` in u8: this runs on every block entry.
                e.counter = if taken { (e.counter + 1).min(3) } else { e.counter.saturating_sub(1) };
                if taken {
                    e.target = target;
                }
                e.used = self.clock;
            }
            None if taken => {
                let s = self.set_start(pc);
                // An empty way first, else the least recently used.
                let victim = (s..s + self.ways).min_by_key(|&i| (self.pcs[i] != NO_BRANCH, self.entries[i].used)).unwrap_or(s);
                self.entries[victim] = Entry { target, counter: 2, used: self.clock };
                self.pcs[victim] = pc;
            }
            None => {}
        }
        self.mispredictions += !correct as u64;
        correct
    }

    /// What `n` block entries along a loop of `branches.len()` blocks do when every
    /// branch is predicted correctly: the simulator's replay of a loop whose block entries
    /// it skipped. Block j's branch (`None`: the block does not end in one) is looked up
    /// when the loop enters the block after it, so entry e (from 1) looks up block
    /// `(e - 1) % k`'s. False, having changed nothing, when a branch is not predicted
    /// correctly now; each correct outcome moves a counter further the same way, so all
    /// then stay correct.
    pub fn repeat_loop(&mut self, branches: &[Option<LoopBranch>], n: u64) -> bool {
        let k = branches.len() as u64;
        if let [Some(b)] = branches {
            // A self-loop (most replays): every entry looks its branch up.
            return self.repeat_one(b, n);
        }
        let correct = |b: &LoopBranch| Prediction::correct(self.predict(b.pc), b.taken, Some(b.target));
        if k == 0 || !branches.iter().flatten().all(correct) {
            return false;
        }
        // Lookups among the edges x = 0..=last (edge x enters entry x + 1).
        let looked_up = |last: u64| -> u64 { (0..k).filter(|&j| branches[j as usize].is_some() && j <= last).map(|j| (last - j) / k + 1).sum() };
        for (j, b) in (0..k).zip(branches) {
            let (Some(b), true) = (b, j < n) else { continue };
            let times = (n - 1 - j) / k + 1;
            let last = j + k * (times - 1);
            if let Some(i) = self.find(b.pc) {
                let e = &mut self.entries[i];
                e.count(b.taken, times);
                e.used = self.clock + looked_up(last);
            }
        }
        let lookups = n.checked_sub(1).map_or(0, looked_up);
        self.lookups += lookups;
        self.clock += lookups;
        true
    }

    /// `repeat_loop` for one block whose branch every entry looks up.
    fn repeat_one(&mut self, b: &LoopBranch, n: u64) -> bool {
        let lookup = self.lookup(b.pc);
        if !Prediction::correct(lookup.prediction, b.taken, Some(b.target)) {
            return false;
        }
        self.lookups += n;
        self.clock += n;
        if let Some(i) = lookup.found.filter(|_| n > 0) {
            let e = &mut self.entries[i];
            e.count(b.taken, n);
            e.used = self.clock;
        }
        true
    }
}

/// A loop block's final branch, as [`BranchPredictor::repeat_loop`] replays it: at `pc`,
/// `taken` to `target` or not, on every round.
#[derive(Clone, Copy, Debug)]
pub struct LoopBranch {
    pub pc: u32,
    pub taken: bool,
    pub target: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loop_branch_mispredicts_on_first_taken_and_on_exit_only() {
        let mut p = BranchPredictor::new(128);
        // A loop of 4 iterations run twice: taken ×3, not taken, taken ×3, not taken.
        let outcomes = [true, true, true, false, true, true, true, false];
        let correct: Vec<bool> = outcomes.iter().map(|&t| p.update(0x100, t, 0x80)).collect();
        // First taken: no entry (miss). Then hits; exit mispredicts; the re-entry is still
        // predicted taken (counter 3 → 2); the second exit mispredicts again.
        assert_eq!(correct, [false, true, true, false, true, true, true, false]);
        assert_eq!(p.mispredictions, 3);
    }

    #[test]
    fn a_replayed_loop_matches_single_updates() {
        // A loop of three blocks: the first ends in a branch at 0x120 that is not taken
        // (its counter worn down to 0 after being taken once), the second in none, the
        // third in the loop-closing branch at 0x100 back to 0x80; a fourth branch in
        // 0x100's set makes the LRU stamps matter. Every count of entries, whole rounds
        // and partial ones, must leave what updates one by one leave.
        let branches = [Some(LoopBranch { pc: 0x120, taken: false, target: 0x200 }), None, Some(LoopBranch { pc: 0x100, taken: true, target: 0x80 })];
        let train = || {
            let mut p = BranchPredictor::new(128);
            p.update(0x120, true, 0x200);
            for _ in 0..2 {
                p.update(0x100, true, 0x80);
                p.update(0x100 + 2 * 128, true, 0x40);
                p.update(0x120, false, 0x200);
            }
            p
        };
        for n in 0..10u64 {
            let (mut one, mut all) = (train(), train());
            for e in 1..=n {
                if let Some(b) = branches[((e - 1) % 3) as usize] {
                    assert!(one.update(b.pc, b.taken, b.target));
                }
            }
            assert!(all.repeat_loop(&branches, n));
            assert_eq!(format!("{:?}", one.entries), format!("{:?}", all.entries), "{n} entries");
            assert_eq!((one.clock, one.lookups, one.mispredictions), (all.clock, all.lookups, all.mispredictions), "{n} entries");
        }
        // A self-loop: its one branch looked up at every entry.
        let (mut one, mut all) = (train(), train());
        for _ in 0..5 {
            assert!(one.update(0x100, true, 0x80));
        }
        assert!(all.repeat_loop(&[branches[2]], 5));
        assert_eq!(format!("{:?}", one.entries), format!("{:?}", all.entries));
        assert_eq!((one.clock, one.lookups), (all.clock, all.lookups));
        // A wrong target or direction is not a correct prediction: nothing changes.
        let mut p = train();
        let before = format!("{:?}", p.entries);
        assert!(!p.repeat_loop(&[Some(LoopBranch { pc: 0x100, taken: true, target: 0x90 })], 3));
        assert!(!p.repeat_loop(&[None, Some(LoopBranch { pc: 0x120, taken: true, target: 0x200 })], 3));
        assert_eq!((format!("{:?}", p.entries), p.clock), (before, train().clock));
    }

    #[test]
    fn branches_that_share_an_index_do_not_evict_each_other() {
        // Two loops 256 bytes apart map to the same set of a 128-entry table; with 4 ways
        // both stay (a direct-mapped table would lose one on every switch).
        let mut p = BranchPredictor::new(128);
        p.update(0x100, true, 0x80);
        p.update(0x200, true, 0x180);
        assert!(p.update(0x100, true, 0x80) && p.update(0x200, true, 0x180));
        let mut direct = BranchPredictor::with_ways(128, 1);
        direct.update(0x100, true, 0x80);
        direct.update(0x200, true, 0x180);
        assert!(!direct.update(0x100, true, 0x80));
        // Least recently used goes first: 5 branches in one 4-way set.
        let mut p = BranchPredictor::new(128);
        for pc in [0x100, 0x200, 0x300, 0x400, 0x500] {
            p.update(pc, true, 0x10);
        }
        assert_eq!(p.predict(0x100), None);
        assert!(p.predict(0x500).is_some() && p.predict(0x200).is_some());
    }

    #[test]
    fn changed_target_is_a_misprediction() {
        let mut p = BranchPredictor::new(16);
        assert!(!p.update(0x200, true, 0x400));
        assert!(p.update(0x200, true, 0x400));
        assert!(!p.update(0x200, true, 0x500)); // BX LR returning elsewhere
        assert_eq!(p.predict(0x200), Some(Prediction { taken: true, target: 0x500 }));
    }

    #[test]
    fn a_lookup_from_a_stale_hint_finds_what_a_search_finds() {
        // Seven branches over two 4-way sets of a 16-entry table (pc >> 1 picks the set,
        // so 0x100 + 16k share one): taken branches that miss allocate, evicting the least
        // recently used, so the slot each branch was last found in often holds another
        // branch now. Each lookup starts from that slot and must agree with a search; the
        // branch at address 0 starts from slot 0, whose empty entry also says pc 0.
        let mut p = BranchPredictor::with_ways(16, 4);
        let pcs = [0x100u32, 0x110, 0x120, 0x130, 0x140, 0x102, 0];
        let mut hints = [0usize; 7];
        for pc in pcs {
            assert_eq!(p.lookup_at(pc, 0).slot(), None, "{pc:#x} in an empty table");
        }
        let (mut x, mut moved) = (99u32, 0);
        for i in 0..4_000 {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            let b = (x >> 16) as usize % pcs.len();
            let (hinted, searched) = (p.lookup_at(pcs[b], hints[b]), p.lookup(pcs[b]));
            assert_eq!((hinted.slot(), hinted.prediction), (searched.slot(), searched.prediction), "lookup {i} of {:#x}", pcs[b]);
            if let Some(s) = hinted.slot() {
                moved += usize::from(s != hints[b]);
                hints[b] = s;
            }
            p.update_looked_up(hinted, (x >> 8) % 3 != 0, 0x80 + (x >> 12) % 4 * 2);
        }
        assert!(p.mispredictions > 500 && moved > 100, "{} mispredictions, {moved} moves", p.mispredictions);
    }
}
