//! Cortex-M4 (ARMv7E-M, 3-stage, single issue).
//!
//! Rows: TRM 100166 §3.3.1 instruction table [TR §1.1], pipelining rules of the TRM text
//! reproduced by TI [TR §1.2], FPU table [TR §1.3].

use super::{
    decode_time_branch, early_termination_divide, is_control, refill_m4, schedule_from_costs, BlockTiming, BranchHints, CoreKind, CoreModel, DIV_STATIC,
};
use crate::insn::{Class, Insn};

pub struct CortexM4;

/// Issue cost of one instruction given the instruction before it in the block.
pub(crate) fn m4_cost(insn: &Insn, prev: Option<&Insn>) -> u32 {
    let prev_class = prev.map(|p| p.class);
    // Address registers of a load/store must be ready a cycle early: +1 when the
    // immediately preceding data-processing instruction wrote one [TR §1.2].
    let agu_stall = match (insn.mem, prev) {
        (Some(m), Some(p))
            if matches!(p.class, Class::Alu | Class::Dsp | Class::Mul | Class::Mac)
                && (p.writes.contains(m.base) || m.index.is_some_and(|i| p.writes.contains(i))) =>
        {
            1
        }
        _ => 0,
    };
    let base = match insn.class {
        // [TR §1.1] ALU, moves, shifts, saturate, DSP/SIMD, multiplies (incl. long) : 1
        Class::Alu | Class::Dsp | Class::Mul | Class::Mac | Class::MulLong | Class::Unknown => 1,
        Class::Div => DIV_STATIC,
        // [TR §1.2] LDR is 2, and 1 when pipelined behind a preceding LDR whose
        // destination it does not use for its address; pre/post-indexed loads on the
        // same base do not chain on M4 (jnk0le, same section).
        Class::Load => {
            let pipelined = match prev {
                Some(p) if p.class == Class::Load => {
                    let m = insn.mem.unwrap_or_default();
                    let pm = p.mem.unwrap_or_default();
                    let addr_dep = p.writes.contains(m.base) || m.index.is_some_and(|i| p.writes.contains(i));
                    let same_base_wb = m.writeback && pm.writeback && m.base == pm.base;
                    !addr_dep && !same_base_wb
                }
                _ => false,
            };
            // A load right after a store: the store cannot pipeline with it, +1 [TR §1.2].
            let after_store = matches!(prev_class, Some(Class::Store));
            if pipelined {
                1
            } else {
                2 + after_store as u32
            }
        }
        // [TR §1.2] STR with immediate offset is one cycle; register offset is 2.
        Class::Store => {
            if insn.mem.is_some_and(|m| m.index.is_some()) {
                2
            } else {
                1
            }
        }
        // [TR §1.1] LDRD/STRD "1 + N" [uncertain] — the two words are pipelined: 3.
        Class::LoadDouble | Class::StoreDouble => 3,
        // [TR §1.1] LDM/STM/PUSH/POP 1 + N (+P when loading PC: added on the taken path).
        Class::LoadMultiple | Class::StoreMultiple => 1 + insn.nregs as u32,
        // [TR §1.1] branches 1 (+P when taken); TBB/TBH 2 (load) + 1 (add) (+P).
        Class::Branch | Class::BranchCond | Class::CompareBranch | Class::BranchReg => 1,
        Class::TableBranch => 3,
        // [TR §1.1] IT folds onto a preceding 16-bit instruction.
        Class::It => match prev {
            Some(p) if p.size == 2 => 0,
            _ => 1,
        },
        // [TR §1.1] NOP 1, DMB/DSB 1 + B with B = 0 when no transfer is outstanding.
        Class::Nop | Class::Barrier | Class::Trap => 1,
        // [TR §1.1] ISB: 1 + pipeline refill (issued from execute: P = 2, see `refill_m4`).
        Class::Isb => 1 + refill_m4(None, false),
        // [TR §1.1] MRS/MSR/CPS "1 or 2" [uncertain]: MSR 2 (it serialises), others 1.
        Class::System => {
            if insn.mnemonic.starts_with("msr") {
                2
            } else {
                1
            }
        }
        // [TR §1.3] FPU single precision.
        Class::FpAlu | Class::FpMul => 1,
        Class::FpMac => 3,
        Class::FpDiv | Class::FpSqrt => 14,
        // VLDR single 2, double 3.
        Class::FpLoad => {
            if insn.mem.is_some_and(|m| m.width == 8) || insn.writes.0.count_ones() >= 2 {
                3
            } else {
                2
            }
        }
        // VSTR 2 [uncertain in TR], VLDM/VSTM/VPUSH/VPOP 1 + N words.
        Class::FpStore => 2,
        Class::FpLoadMultiple | Class::FpStoreMultiple => 1 + insn.nregs as u32,
        // VMOV core<->FPU: TI says 2, a measurement says 1 [TR §1.3 conflict]; 1 here.
        Class::FpMove => 1,
    };
    base + agu_stall
}

impl CoreModel for CortexM4 {
    fn kind(&self) -> CoreKind {
        CoreKind::M4
    }

    fn block_cycles(&self, insns: &[Insn]) -> BlockTiming {
        let mut t = schedule_from_costs(insns.iter().enumerate().map(|(i, insn)| m4_cost(insn, i.checked_sub(1).map(|j| &insns[j]))));
        t.hints = m4_hints(insns);
        t
    }

    fn branch_penalty(&self, last: &Insn, taken: bool, target: Option<&Insn>) -> u32 {
        self.hinted_branch_penalty(last, taken, target, BranchHints::default())
    }

    /// Taken: the refill `P` of [`refill_m4`], 1 for a branch whose target the prefetch unit
    /// issues from decode, 2 from execute, +1 for a word-straddling 32-bit target [TR §1.1,
    /// §1.5].
    fn hinted_branch_penalty(&self, last: &Insn, taken: bool, target: Option<&Insn>, hints: BranchHints) -> u32 {
        if taken && is_control(last) {
            refill_m4(target, decode_time_branch(last, hints))
        } else {
            0
        }
    }

    fn divide_cycles(&self, dividend: u32, divisor: u32, signed: bool) -> Option<u32> {
        Some(early_termination_divide(dividend, divisor, signed))
    }
}

/// What the M3/M4 prefetch unit needs to know about the block's final branch: whether the
/// instruction before a `BX LR` writes LR [TR §1.5, M3 TRM Table 15-3].
pub(crate) fn m4_hints(insns: &[Insn]) -> BranchHints {
    let lr_written_by_previous = match insns {
        [.., p, _] => p.writes.contains(crate::insn::REG_LR),
        _ => false,
    };
    BranchHints { lr_written_by_previous, ..BranchHints::default() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::insn::{Insn, MemOperand};

    fn ldr(addr: u32, rd: u8, base: u8) -> Insn {
        Insn::new(addr, 2, Class::Load).writing(&[rd]).with_mem(MemOperand { base, width: 4, ..Default::default() })
    }

    #[test]
    fn trm_load_pipelining_examples() {
        // TRM text [TR §1.2]: "LDR R0,[R1]; LDR R1,[R2]" = 3 cycles.
        let seq = [ldr(0, 0, 1), ldr(2, 1, 2)];
        assert_eq!(CortexM4.block_cycles(&seq).total(), 3);
        // "LDR R0,[R1,R5]; LDR R1,[R2]; LDR R2,[R3,#4]" = 4 cycles.
        let first = Insn::new(0, 2, Class::Load).writing(&[0]).with_mem(MemOperand { base: 1, index: Some(5), width: 4, ..Default::default() });
        let seq = [first, ldr(2, 1, 2), ldr(4, 2, 3)];
        assert_eq!(CortexM4.block_cycles(&seq).total(), 4);
    }

    #[test]
    fn dependent_load_address_does_not_pipeline() {
        // LDR R0,[R1]; LDR R2,[R0] : the second load's base is the first's result,
        // so no pipelining: 2 + 2 = 4 [TR §1.2].
        let seq = [ldr(0, 0, 1), ldr(2, 2, 0)];
        assert_eq!(CortexM4.block_cycles(&seq).total(), 4);
    }

    #[test]
    fn alu_mac_dsp_are_single_cycle_and_it_folds() {
        // [TR §1.1]: ADD 1, SMLAD 1, SADD16 1, MUL 1; IT after a 16-bit op folds (0).
        let seq =
            [Insn::new(0, 2, Class::Alu), Insn::new(2, 2, Class::It), Insn::new(4, 4, Class::Mac), Insn::new(8, 4, Class::Dsp), Insn::new(12, 2, Class::Mul)];
        let t = CortexM4.block_cycles(&seq);
        assert_eq!(t.start, vec![0, 1, 1, 2, 3, 4]);
    }

    #[test]
    fn push_pop_and_fpu_costs() {
        // PUSH {r4-r7,lr} = 1 + 5; VMLA.F32 = 3; VDIV.F32 = 14 [TR §1.1, §1.3].
        let seq = [Insn::new(0, 2, Class::StoreMultiple).with_nregs(5), Insn::new(2, 4, Class::FpMac), Insn::new(6, 4, Class::FpDiv)];
        assert_eq!(CortexM4.block_cycles(&seq).total(), 6 + 3 + 14);
    }

    #[test]
    fn taken_branch_refill_depends_on_target_and_where_the_target_is_issued() {
        // Taken branch = 1 + P [TR §1.1]. B<cc> is issued from decode [TR §1.5, M3 TRM
        // Table 15-3]: P = 1 to a 16-bit or word-aligned target, 2 to a 32-bit target that
        // straddles a word: 2 and 3 cycles, as measured on a Cortex-M4 [TR §1.5 compendium
        // bullet].
        let b = Insn::new(0x100, 2, Class::BranchCond);
        let narrow = Insn::new(0x200, 2, Class::Alu);
        let wide_unaligned = Insn::new(0x202, 4, Class::Alu);
        assert_eq!(CortexM4.branch_penalty(&b, true, Some(&narrow)), 1);
        assert_eq!(CortexM4.branch_penalty(&b, true, Some(&wide_unaligned)), 2);
        // CBZ is issued from execute (Table 15-3): P = 2, 3 to the straddling target.
        let cbz = Insn::new(0x100, 2, Class::CompareBranch);
        assert_eq!(CortexM4.branch_penalty(&cbz, true, Some(&narrow)), 2);
        assert_eq!(CortexM4.branch_penalty(&cbz, true, Some(&wide_unaligned)), 3);
        // A block that ended without a control transfer costs nothing extra.
        assert_eq!(CortexM4.branch_penalty(&Insn::new(0, 2, Class::Alu), true, Some(&narrow)), 0);
    }

    #[test]
    fn bx_lr_is_issued_from_decode_unless_lr_was_just_written() {
        // Table 15-3 [TR §1.5]: BX LR from decode "if LR is not being written during
        // decode"; BX of another register from execute.
        let bx = |r: u8| Insn::new(0x104, 2, Class::BranchReg).reading(&[r]);
        let other = Insn::new(0x100, 2, Class::Alu).reading(&[1]).writing(&[0]);
        let pop_lr = Insn::new(0x100, 2, Class::LoadMultiple).with_nregs(2).writing(&[4, crate::insn::REG_LR]);
        let target = Insn::new(0x200, 2, Class::Alu);
        let taken = |seq: &[Insn]| {
            let t = CortexM4.block_cycles(seq);
            CortexM4.hinted_branch_penalty(seq.last().unwrap(), true, Some(&target), t.hints)
        };
        assert_eq!(taken(&[other.clone(), bx(crate::insn::REG_LR)]), 1);
        assert_eq!(taken(&[pop_lr, bx(crate::insn::REG_LR)]), 2);
        assert_eq!(taken(&[other, bx(3)]), 2);
    }
}
