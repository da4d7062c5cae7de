//! A branch target address cache (BTAC) with two-bit counters, for Cortex-M7.
//!
//! The Cortex-M7 predicts branches with a BTAC (the Armv7-M cache and branch-predictor
//! maintenance block exists for it [TR §3]); Arm publishes neither its size nor its
//! update rule. This model is the textbook design, stated as an assumption in
//! docs/timing-model.md: a direct-mapped table indexed by the branch address holding the
//! last target and a two-bit saturating taken counter, so a loop-closing branch
//! mispredicts once per loop exit rather than also on re-entry.

/// What the predictor guessed for a branch it had an entry for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Prediction {
    pub taken: bool,
    pub target: u32,
}

#[derive(Clone, Copy, Debug, Default)]
struct Entry {
    pc: u32,
    target: u32,
    /// 0–1 predict not taken, 2–3 predict taken.
    counter: u8,
    valid: bool,
}

#[derive(Clone, Debug)]
pub struct BranchPredictor {
    entries: Vec<Entry>,
    pub lookups: u64,
    pub mispredictions: u64,
}

impl BranchPredictor {
    /// Entries: a power of two (128 in simbench: the size is not published [TR §3]).
    pub fn new(entries: usize) -> BranchPredictor {
        BranchPredictor { entries: vec![Entry::default(); entries.next_power_of_two().max(1)], lookups: 0, mispredictions: 0 }
    }

    fn slot(&self, pc: u32) -> usize {
        ((pc >> 1) as usize) & (self.entries.len() - 1)
    }

    pub fn predict(&self, pc: u32) -> Option<Prediction> {
        let e = self.entries[self.slot(pc)];
        (e.valid && e.pc == pc).then_some(Prediction { taken: e.counter >= 2, target: e.target })
    }

    /// Record the outcome of the branch at `pc`; returns whether it was predicted
    /// correctly (direction, and target when taken). Not-taken branches without an entry
    /// count as predicted (fetch simply continued) and allocate nothing.
    pub fn update(&mut self, pc: u32, taken: bool, target: u32) -> bool {
        self.lookups += 1;
        let predicted = self.predict(pc);
        let correct = match predicted {
            Some(p) => p.taken == taken && (!taken || p.target == target),
            None => !taken,
        };
        let slot = self.slot(pc);
        let e = &mut self.entries[slot];
        if e.valid && e.pc == pc {
            e.counter = if taken { (e.counter + 1).min(3) } else { e.counter.saturating_sub(1) };
            if taken {
                e.target = target;
            }
        } else if taken {
            *e = Entry { pc, target, counter: 2, valid: true };
        }
        self.mispredictions += !correct as u64;
        correct
    }
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
    fn changed_target_is_a_misprediction() {
        let mut p = BranchPredictor::new(16);
        assert!(!p.update(0x200, true, 0x400));
        assert!(p.update(0x200, true, 0x400));
        assert!(!p.update(0x200, true, 0x500)); // BX LR returning elsewhere
        assert_eq!(p.predict(0x200), Some(Prediction { taken: true, target: 0x500 }));
    }
}
