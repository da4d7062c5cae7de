//! Cortex-M4 (ARMv7E-M, 3-stage, single issue).
//!
//! Rows: TRM 100166 §3.3.1 instruction table [TR §1.1], pipelining rules of the TRM text
//! reproduced by TI [TR §1.2], FPU table [TR §1.3].

use super::{early_termination_divide, is_control, refill_m4, schedule_from_costs, BlockTiming, CoreKind, CoreModel, DIV_STATIC};
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
        // [TR §1.1] ISB: 1 + pipeline refill (P = 2, see `refill_m4`).
        Class::Isb => 1 + refill_m4(None),
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
        schedule_from_costs(insns.iter().enumerate().map(|(i, insn)| m4_cost(insn, i.checked_sub(1).map(|j| &insns[j]))))
    }

    fn branch_penalty(&self, last: &Insn, taken: bool, target: Option<&Insn>) -> u32 {
        if taken && is_control(last) {
            refill_m4(target)
        } else {
            0
        }
    }

    fn divide_cycles(&self, dividend: u32, divisor: u32, signed: bool) -> Option<u32> {
        Some(early_termination_divide(dividend, divisor, signed))
    }
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
    fn taken_branch_refill_depends_on_target() {
        // Taken branch = 1 + P; P = 2 for an aligned or 16-bit target, 3 for a 32-bit
        // target straddling a word [TR §1.1 definition of P, hand count in refill_m4].
        let b = Insn::new(0x100, 2, Class::BranchCond);
        let narrow = Insn::new(0x200, 2, Class::Alu);
        let wide_unaligned = Insn::new(0x202, 4, Class::Alu);
        assert_eq!(CortexM4.branch_penalty(&b, true, Some(&narrow)), 2);
        assert_eq!(CortexM4.branch_penalty(&b, true, Some(&wide_unaligned)), 3);
        // A block that ended without a control transfer costs nothing extra.
        assert_eq!(CortexM4.branch_penalty(&Insn::new(0, 2, Class::Alu), true, Some(&narrow)), 0);
    }
}
