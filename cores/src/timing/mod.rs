//! Core timing models: from a decoded block to cycles.
//!
//! Each model answers two questions the simulator asks:
//! 1. `block_cycles`: when does each instruction of a straight-line block issue, relative
//!    to the block start, and how long does the whole block take (static cost)?
//! 2. `branch_penalty`: how many extra cycles does the block's last instruction cost once
//!    the next block shows whether it was taken (refill, misprediction)?
//!
//! Every number comes from a row of `docs/timing-references.md` (cited as
//! `[TR §x.y]`), or is a hand count explained where it is used.

mod m33;
mod m4;
mod m7;
mod predictor;

use crate::insn::{Class, Insn, RegSet};
use serde::{Deserialize, Serialize};

pub use m33::CortexM33;
pub use m4::CortexM4;
pub use m7::CortexM7;
pub use predictor::{BranchPredictor, Lookup, LoopBranch, Prediction};

/// The cores simbench models.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CoreKind {
    M4,
    M33,
    M7,
}

impl CoreKind {
    pub const ALL: [CoreKind; 3] = [CoreKind::M4, CoreKind::M33, CoreKind::M7];

    pub fn name(self) -> &'static str {
        match self {
            CoreKind::M4 => "m4",
            CoreKind::M33 => "m33",
            CoreKind::M7 => "m7",
        }
    }

    pub fn parse(s: &str) -> Option<CoreKind> {
        match s.to_ascii_lowercase().trim_start_matches("cortex-") {
            "m4" | "m4f" => Some(CoreKind::M4),
            "m33" => Some(CoreKind::M33),
            "m7" => Some(CoreKind::M7),
            _ => None,
        }
    }

    /// SCB CPUID reset value: implementer 0x41 (Arm), variant, architecture 0xF,
    /// part number, revision. Values of the revisions the reference boards carry:
    /// Cortex-M4 r0p1 (TRM 100166), Cortex-M33 r0p4 (TRM 100230), Cortex-M7 r1p2
    /// (TRM DDI 0489F, the revision of i.MX RT1010 and STM32H7 parts).
    pub fn cpuid(self) -> u32 {
        match self {
            CoreKind::M4 => 0x410F_C241,
            CoreKind::M33 => 0x410F_D214,
            CoreKind::M7 => 0x411F_C272,
        }
    }

    /// The timing model for this core.
    pub fn model(self) -> Box<dyn CoreModel> {
        match self {
            CoreKind::M4 => Box::new(CortexM4),
            CoreKind::M33 => Box::new(CortexM33),
            CoreKind::M7 => Box::new(CortexM7),
        }
    }
}

/// Issue times of a block's instructions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockTiming {
    /// `start[i]` = cycle (from the block start) at which instruction `i` begins;
    /// `start[n]` = the block's total static cost.
    pub start: Vec<u32>,
    /// Facts about the block's final branch that its penalty depends on.
    pub hints: BranchHints,
    /// What the block leaves in flight for the next one and what it needs from the one
    /// before (see [`CoreModel::boundary_cycles`]).
    pub edges: BlockEdges,
}

/// The cost of a block boundary ([`CoreModel::boundary_cycles`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Boundary {
    /// Cycles to add to the next block's static cost (negative: it starts early).
    pub cycles: i32,
    /// The next block's first instruction issued together with the previous block's
    /// final branch.
    pub paired: bool,
}

/// How an instruction consumes a register, which decides the result latency that applies
/// (an index into [`BlockEdges::pending`]'s arrays).
pub mod uses {
    /// An ordinary operand (the late ALU on Cortex-M7).
    pub const LATE: u8 = 0;
    /// An address or shifted operand, read a stage earlier (Cortex-M7 early ALU / AGU).
    pub const EARLY: u8 = 1;
    /// The accumulator of a multiply-accumulate, read a stage later.
    pub const ACC: u8 = 2;
    /// A multiplier operand (Cortex-M7 MUL/MAC cannot take a load result from the
    /// previous cycle).
    pub const MUL: u8 = 3;
    /// The data register of a store, read late (Cortex-M7 EX4; Cortex-M33 stage 3).
    pub const STORE: u8 = 4;
    pub const KINDS: usize = 5;
}

/// The pipeline state at a translation block's boundaries, so that result latencies and
/// issue slots carry from one block to the next: a loop-carried load-use or MAC-result
/// stall in a single-block loop is charged, and on Cortex-M7 a correctly predicted branch
/// issues together with the first instruction after it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BlockEdges {
    /// Registers the block reads before writing them: (register, cycle offset at which the
    /// first reader of that kind issues in the block's own schedule, kind from [`uses`]).
    pub needs: Vec<(u8, u32, u8)>,
    /// Results still in flight when the block ends: (register, cycles after the block's
    /// last cycle until a consumer of each kind in [`uses`] can use it).
    pub pending: Vec<(u8, [u32; uses::KINDS])>,
    /// Cortex-M7: the final branch issued alone in its cycle and may take a partner from
    /// the next block when it was predicted correctly [TR §3 jnk0le bullet].
    pub branch_slot_open: bool,
    /// The same when the block's own first instruction issued with the branch before it
    /// (the schedule then shifts, and the final branch may find its slot taken).
    pub branch_slot_open_if_paired: bool,
    /// Cortex-M7: cycles the block saves (0 or negative) when its first instruction
    /// issues as the younger partner of the branch that ended the previous block.
    pub pair_delta: i32,
    /// Cortex-M7: the two instructions before the final branch are 16-bit, which a
    /// predicted-taken branch needs to pair with its target (jnk0le, [TR §3]).
    pub narrow_before_branch: bool,
    /// Cortex-M33: cycles the block loses when a taken branch reaches it (0 or 1). Its
    /// first instruction is 16-bit in the upper half of a word and dual-issues with the
    /// next 16-bit one, which is in the following word and not fetched yet: "dual issue
    /// pair doesn't need to be aligned at word boundary (but the second op needs to be
    /// pre fetched)" [TR §2 jnk0le].
    pub taken_entry_delay: u32,
}

impl BlockEdges {
    /// Cycles the next block is held up by results of this one still in flight, after
    /// `gap` cycles of branch penalty, when it starts `shift` cycles after this one ends
    /// (-1: its first instruction issued in this block's last cycle). In-order issue: the
    /// first instruction that waits holds up everything after it.
    pub fn stall_before(&self, next: &BlockEdges, gap: u32, shift: i32) -> i32 {
        let mut stall = 0i32;
        if self.pending.is_empty() {
            return stall;
        }
        for &(r, off, kind) in &next.needs {
            if let Some((_, ready)) = self.pending.iter().find(|(p, _)| *p == r) {
                stall = stall.max(ready[kind as usize] as i32 - gap as i32 - (off as i32 + shift));
            }
        }
        stall
    }
}

/// Builds [`BlockEdges`] while a model schedules a block: record each read and write in
/// program order, then `finish` with the block's total.
#[derive(Default)]
pub(crate) struct EdgeRecorder {
    written: RegSet,
    needs: Vec<(u8, u32, u8)>,
    /// Absolute ready time per register and use kind (0: nothing in flight).
    ready: Vec<(u8, [u32; uses::KINDS])>,
}

impl EdgeRecorder {
    /// Instruction issuing at `at` reads `regs` as `kind`.
    pub(crate) fn read(&mut self, regs: RegSet, at: u32, kind: u8) {
        for r in RegSet(regs.0 & !self.written.0).iter() {
            if !self.needs.iter().any(|&(x, _, k)| x == r && k == kind) {
                self.needs.push((r, at, kind));
            }
        }
    }
    /// `regs` are written, usable by each kind of consumer at the given absolute cycles.
    pub(crate) fn write(&mut self, regs: RegSet, ready: [u32; uses::KINDS]) {
        for r in regs.iter() {
            self.written = self.written.with(r);
            match self.ready.iter_mut().find(|(x, _)| *x == r) {
                Some(e) => e.1 = ready,
                None => self.ready.push((r, ready)),
            }
        }
    }
    pub(crate) fn finish(self, total: u32) -> BlockEdges {
        let pending = self.ready.into_iter().filter(|(_, t)| t.iter().any(|&c| c > total)).map(|(r, t)| (r, t.map(|c| c.saturating_sub(total)))).collect();
        BlockEdges { needs: self.needs, pending, ..BlockEdges::default() }
    }
}

/// What the block schedule knows about its final branch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BranchHints {
    /// The flags were set at least 3 cycles before the branch issued (or before the
    /// block), which shortens a misprediction on Cortex-M7 [TR §3].
    pub early_flags: bool,
    /// A 16-bit branch issued together with the 16-bit instruction before it, which did
    /// not set flags (Cortex-M33: such a taken branch costs 1 cycle instead of 2 [TR §2]).
    pub paired_with_previous: bool,
    /// Cortex-M33: the final 16-bit conditional branch issued in the cycle of the 16-bit
    /// instruction before it, so it cost nothing when not taken [TR §2].
    pub dual_issued: bool,
    /// The instruction before a `BX LR` / `BLX LR` / `MOV PC, LR` writes LR, so the M3/M4
    /// cannot issue the return target from decode and waits for execute [TR §1.5].
    pub lr_written_by_previous: bool,
}

impl BlockTiming {
    pub fn total(&self) -> u32 {
        *self.start.last().unwrap_or(&0)
    }
}

/// A core's timing rules. Implementations are pure functions of the instructions, so
/// they are unit-tested on hand-written sequences.
pub trait CoreModel: Send + Sync {
    fn kind(&self) -> CoreKind;

    /// Static issue schedule of a straight-line block (no memory wait states, branch
    /// assumed not taken / falling through).
    fn block_cycles(&self, insns: &[Insn]) -> BlockTiming;

    /// Extra cycles for the block's final instruction `last` once the next block is
    /// known: `taken` when execution went somewhere other than the next sequential
    /// address; `target` is the first instruction that ran next, when known.
    fn branch_penalty(&self, last: &Insn, taken: bool, target: Option<&Insn>) -> u32;

    /// Cores with a dynamic branch predictor (Cortex-M7's BTAC) answer this in
    /// `detailed` timing: the penalty given what the predictor guessed (`None` when it
    /// had no entry for the branch). Others fall back to [`CoreModel::branch_penalty`].
    /// A correctly predicted branch (direction, and target when taken) must cost 0: the
    /// simulator's block-entry shortcut takes that without asking.
    fn predicted_branch_penalty(&self, last: &Insn, taken: bool, target: Option<&Insn>, _prediction: Option<Prediction>, hints: BranchHints) -> u32 {
        self.hinted_branch_penalty(last, taken, target, hints)
    }

    /// [`CoreModel::branch_penalty`] refined by what the block schedule knows.
    fn hinted_branch_penalty(&self, last: &Insn, taken: bool, target: Option<&Insn>, _hints: BranchHints) -> u32 {
        self.branch_penalty(last, taken, target)
    }

    /// Whether this core has a dynamic branch predictor worth simulating.
    fn has_predictor(&self) -> bool {
        false
    }

    /// What entering a block whose edges are `next` costs on top of its static schedule
    /// when it starts right after one whose edges are `prev`, `penalty` cycles of branch
    /// penalty later (`taken`: not the fall-through; `prev_paired`: `prev` itself was
    /// entered paired): stalls on results still in flight (loop-carried load-use and MAC
    /// latencies), and on cores that can, the first instruction issuing in the previous
    /// block's last cycle.
    fn boundary_cycles(&self, prev: &BlockEdges, next: &BlockEdges, penalty: u32, _taken: bool, _prev_paired: bool) -> Boundary {
        Boundary { cycles: prev.stall_before(next, penalty, 0).max(0), paired: false }
    }

    /// Cycles SDIV/UDIV take with these operands (`detailed` timing), when the core
    /// terminates division early; `None` when the static cost in `block_cycles` stands.
    fn divide_cycles(&self, _dividend: u32, _divisor: u32, _signed: bool) -> Option<u32> {
        None
    }
}

/// Static SDIV/UDIV cost used inside block schedules of M4 and M33 (the midpoint of the
/// TRM's 2–12 range [TR §1.1]); `detailed` timing corrects it per execution.
pub const DIV_STATIC: u32 = 7;

/// Cortex-M4 divide with early termination [TR §1.1: "2–12 (early termination on leading
/// zeros/ones of operands)"]. The TRM gives only the range. The shape follows Arm's
/// published rule for the Cortex-R4 divider (TRM DDI 0363G §C.8: latency grows with
/// `clz(divisor) − clz(dividend) + 1`, the number of quotient bits, magnitudes of
/// negative operands for SDIV); the rate is chosen so the M4's documented extremes come
/// out: 0 quotient bits → 2 cycles, 32 → 12. Division by zero terminates at once (2).
pub fn early_termination_divide(dividend: u32, divisor: u32, signed: bool) -> u32 {
    let mag = |v: u32| {
        if signed && (v as i32) < 0 {
            (v as i32).unsigned_abs()
        } else {
            v
        }
    };
    let (a, b) = (mag(dividend), mag(divisor));
    if b == 0 {
        return 2;
    }
    let bits = (b.leading_zeros() as i32 - a.leading_zeros() as i32 + 1).max(0) as u32;
    2 + (10 * bits).div_ceil(32)
}

/// Turn per-instruction costs into a schedule (for single-issue cores).
pub(crate) fn schedule_from_costs(costs: impl Iterator<Item = u32>) -> BlockTiming {
    let mut start = vec![0u32];
    let mut t = 0u32;
    for c in costs {
        t += c;
        start.push(t);
    }
    BlockTiming { start, hints: BranchHints::default(), edges: BlockEdges::default() }
}

/// M3/M4 pipeline refill after a taken branch, `P` in the TRM: "ranges from 1 to 3
/// depending on the alignment and width of the target instruction, and whether the
/// processor manages to speculate the address early" [TR §1.1]. The prefetch unit issues
/// the target of B, B<cc>, BL and BX LR from decode, the others (CBZ/CBNZ, other BX/BLX,
/// loads and POPs to PC, TBB/TBH, ADD/MOV PC, ISB) only from execute [TR §1.5, M3 TRM
/// Table 15-3]. So P = 1 for a decode-time branch and 2 for an execute-time one, plus 1
/// when the target is a 32-bit instruction that straddles a word and needs two fetches:
/// a taken B<cc> costs 2 cycles, 3 to an unaligned wide target (measured on a Cortex-M4,
/// [TR §1.5 compendium bullet]).
pub(crate) fn refill_m4(target: Option<&Insn>, decode_time: bool) -> u32 {
    let straddles = matches!(target, Some(t) if t.size == 4 && t.addr % 4 != 0) as u32;
    if decode_time {
        1 + straddles
    } else {
        2 + straddles
    }
}

/// Whether the M3/M4 prefetch unit issues this taken branch's target from decode [TR §1.5,
/// M3 TRM Table 15-3]: B and B<cc> (16 and 32 bits), BL, and BX LR / BLX LR / MOV PC, LR
/// unless the instruction before it writes LR.
pub(crate) fn decode_time_branch(last: &Insn, hints: BranchHints) -> bool {
    match last.class {
        Class::Branch | Class::BranchCond => true,
        Class::BranchReg | Class::Alu if !hints.lr_written_by_previous => {
            last.reads.contains(crate::insn::REG_LR) && last.writes_pc && (last.class == Class::BranchReg || last.mnemonic.starts_with("mov"))
        }
        _ => false,
    }
}

/// Whether `insn` is a control transfer whose taken path costs a refill.
pub(crate) fn is_control(insn: &Insn) -> bool {
    insn.class.is_branch() || insn.writes_pc || matches!(insn.class, Class::Isb)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn divide_spans_the_m4_range_by_quotient_bits() {
        // [TR §1.1] 2–12 cycles: dividend smaller than divisor → no quotient bits → 2.
        assert_eq!(early_termination_divide(3, 100, false), 2);
        assert_eq!(early_termination_divide(5, 0, false), 2);
        // 0xFFFF_FFFF / 1: 32 quotient bits → 12.
        assert_eq!(early_termination_divide(u32::MAX, 1, false), 12);
        // 1000 / 10: clz 22 vs 28 → 7 bits → 2 + ceil(70/32) = 5.
        assert_eq!(early_termination_divide(1000, 10, false), 5);
        // SDIV uses magnitudes: -1000 / 10 costs the same as 1000 / 10.
        assert_eq!(early_termination_divide((-1000i32) as u32, 10, true), 5);
    }
}
