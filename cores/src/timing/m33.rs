//! Cortex-M33 (ARMv8-M Mainline, 3-stage, limited dual issue).
//!
//! Arm publishes no M33 cycle table; LLVM schedules it with the M4 model [TR §2]. This
//! model starts from the M4 rows and applies the differences measured on silicon
//! (RP2350, DWT CYCCNT) in [TR §2]: single-cycle loads with load-to-use latency 2,
//! MUL/MAC result latency 2 with back-to-back accumulator chaining, LDRD/STRD 2,
//! LDM/STM of N registers N cycles, NOP/IT pairing with a preceding 16-bit instruction,
//! 16-bit not-taken branches dual-issued, taken branches 2 cycles, FP MAC latency 3.

use super::m4::m4_cost;
use super::{early_termination_divide, is_control, BlockTiming, BranchHints, CoreKind, CoreModel, DIV_STATIC};
use crate::insn::{Class, Insn, RegSet};

pub struct CortexM33;

/// Cycles at which each register's value becomes usable, relative to the block start.
struct Scoreboard {
    ready: [u32; 64],
}

impl Scoreboard {
    fn new() -> Self {
        Scoreboard { ready: [0; 64] }
    }
    fn ready_at(&self, regs: RegSet) -> u32 {
        (0..64u8).filter(|&r| regs.contains(r)).map(|r| self.ready[r as usize]).max().unwrap_or(0)
    }
    fn set(&mut self, regs: RegSet, at: u32) {
        for r in 0..64u8 {
            if regs.contains(r) {
                self.ready[r as usize] = at;
            }
        }
    }
}

/// (issue cycles, result latency) of one instruction on M33.
fn cost_and_latency(insn: &Insn, prev: Option<&Insn>) -> (u32, u32) {
    match insn.class {
        // [TR §2] loads issue in one cycle, result usable 2 cycles after issue.
        Class::Load => (1, 2),
        Class::Store => (1, 1),
        // [TR §2] LDRD/STRD 2 cycles; LDM/STM of x registers x cycles.
        Class::LoadDouble => (2, 2),
        Class::StoreDouble => (2, 2),
        Class::LoadMultiple | Class::StoreMultiple => (insn.nregs.max(1) as u32, 1),
        // [TR §2] MUL/MAC result latency 2 (accumulator chaining handled by the caller).
        Class::Mul | Class::Mac | Class::MulLong => (1, 2),
        // [TR §2] shifted-operand ALU results have latency 2; flag-setting shifted ops 2 cycles.
        Class::Alu if insn.shifted_operand && insn.sets_flags => (2, 2),
        Class::Alu if insn.shifted_operand => (1, 2),
        Class::Div => (DIV_STATIC, DIV_STATIC),
        // [TR §2] NOP pairs with a preceding 16-bit instruction; IT dual-issues with
        // the preceding instruction; a 16-bit not-taken branch dual-issues.
        Class::Nop if insn.size == 2 && prev.is_some_and(|p| p.size == 2) => (0, 0),
        Class::It if prev.is_some() => (0, 0),
        Class::BranchCond | Class::CompareBranch if insn.size == 2 => (0, 0),
        // [TR §2] FP MAC issues in 1, result latency 3.
        Class::FpMac => (1, 3),
        Class::FpAlu | Class::FpMul => (1, 1),
        _ => {
            let c = m4_cost(insn, prev);
            (c, c)
        }
    }
}

impl CoreModel for CortexM33 {
    fn kind(&self) -> CoreKind {
        CoreKind::M33
    }

    fn block_cycles(&self, insns: &[Insn]) -> BlockTiming {
        let mut sb = Scoreboard::new();
        let mut start = Vec::with_capacity(insns.len() + 1);
        let mut t = 0u32;
        // FP pipe: after a VFMA/VMLA no other FP instruction issues in the next 2 cycles [TR §2].
        let mut fp_free_at = 0u32;
        for (i, insn) in insns.iter().enumerate() {
            let prev = i.checked_sub(1).map(|j| &insns[j]);
            let (issue, latency) = cost_and_latency(insn, prev);
            let mut sources = insn.reads;
            // A MAC consumes its accumulator late: chained accumulation and a load feeding
            // the accumulator do not stall [TR §2 "accumulator chaining back-to-back",
            // "load result usable as MAC accumulator after 1"].
            if matches!(insn.class, Class::Mac | Class::MulLong) {
                if let Some(p) = prev {
                    if matches!(p.class, Class::Mac | Class::MulLong | Class::Load) {
                        let acc = RegSet(p.writes.0 & insn.writes.0);
                        sources = RegSet(sources.0 & !acc.0);
                    }
                }
            }
            let mut begin = t.max(sb.ready_at(sources));
            if insn.class.is_fp() {
                begin = begin.max(fp_free_at);
            }
            start.push(begin);
            t = begin + issue;
            sb.set(insn.writes, begin + latency.max(issue));
            if insn.class == Class::FpMac {
                fp_free_at = begin + 3;
            }
        }
        start.push(t);
        // [TR §2] a 16-bit branch pairs with a preceding 16-bit instruction that does not
        // set flags.
        let paired_with_previous = match insns {
            [.., p, b] => {
                b.size == 2 && p.size == 2 && b.class.is_branch() && !p.sets_flags && !p.writes.contains(crate::insn::REG_FLAGS) && !p.class.is_branch()
            }
            _ => false,
        };
        BlockTiming { start, hints: BranchHints { paired_with_previous, ..BranchHints::default() } }
    }

    /// [TR §2] "taken branch 2 cycles, 1 cycle if paired with a preceding
    /// non-flag-setting 16-bit instruction".
    fn hinted_branch_penalty(&self, last: &Insn, taken: bool, target: Option<&Insn>, hints: BranchHints) -> u32 {
        let p = self.branch_penalty(last, taken, target);
        if taken && hints.paired_with_previous && matches!(last.class, Class::BranchCond | Class::CompareBranch) && last.size == 2 {
            p - 1
        } else {
            p
        }
    }

    /// No M33 divide timing is published [TR §2]; LLVM schedules the M33 with the M4
    /// model, so the M4's early-termination rule is used.
    fn divide_cycles(&self, dividend: u32, divisor: u32, signed: bool) -> Option<u32> {
        Some(early_termination_divide(dividend, divisor, signed))
    }

    fn branch_penalty(&self, last: &Insn, taken: bool, _target: Option<&Insn>) -> u32 {
        if !taken || !is_control(last) {
            return 0;
        }
        // [TR §2] a taken branch costs 2 cycles. A 16-bit conditional branch issued
        // for free (0) when not taken, so its taken path adds 2; others already paid 1.
        match last.class {
            Class::BranchCond | Class::CompareBranch if last.size == 2 => 2,
            _ => 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::insn::MemOperand;

    #[test]
    fn load_to_use_latency_is_two() {
        // [TR §2]: LDR r0,[r1]; ADD r2,r0,#1 — load issues at 0, r0 ready at 2,
        // so ADD starts at 2: total 3. Independent ADD would start at 1: total 2.
        let ld = Insn::new(0, 2, Class::Load).writing(&[0]).with_mem(MemOperand { base: 1, width: 4, ..Default::default() });
        let dep = Insn::new(2, 2, Class::Alu).reading(&[0]).writing(&[2]);
        let indep = Insn::new(2, 2, Class::Alu).reading(&[3]).writing(&[2]);
        assert_eq!(CortexM33.block_cycles(&[ld.clone(), dep]).start, vec![0, 2, 3]);
        assert_eq!(CortexM33.block_cycles(&[ld, indep]).start, vec![0, 1, 2]);
    }

    #[test]
    fn mac_chain_runs_back_to_back_but_result_use_waits() {
        // SMLAD r0,r1,r2,r0 ; SMLAD r0,r3,r4,r0 : accumulator chaining, 1 each [TR §2].
        let mac = |a: u32| Insn::new(a, 4, Class::Mac).reading(&[0, 1, 2]).writing(&[0]);
        assert_eq!(CortexM33.block_cycles(&[mac(0), mac(4)]).total(), 2);
        // MUL r0,r1,r2 ; ADD r3,r0,#1 : result latency 2 → ADD at 2, total 3.
        let mul = Insn::new(0, 4, Class::Mul).reading(&[1, 2]).writing(&[0]);
        let add = Insn::new(4, 2, Class::Alu).reading(&[0]).writing(&[3]);
        assert_eq!(CortexM33.block_cycles(&[mul, add]).total(), 3);
    }

    #[test]
    fn ldm_and_ldrd_costs() {
        // [TR §2]: LDM of 4 registers = 4 cycles; LDRD = 2.
        let seq = [Insn::new(0, 2, Class::LoadMultiple).with_nregs(4), Insn::new(2, 4, Class::LoadDouble)];
        assert_eq!(CortexM33.block_cycles(&seq).total(), 6);
    }

    #[test]
    fn narrow_branch_dual_issues_when_not_taken_and_costs_two_when_taken() {
        // SUBS r0,#1 ; BNE.N loop [TR §2]: a not-taken 16-bit branch dual-issues (pair = 1
        // cycle); a taken branch costs 2 cycles, so the loop-closing pair costs 1 + 2.
        let subs = Insn::new(0, 2, Class::Alu).reading(&[0]).writing(&[0, 16]);
        let bne = Insn::new(2, 2, Class::BranchCond).reading(&[16]);
        let t = CortexM33.block_cycles(&[subs, bne.clone()]);
        assert_eq!(t.total(), 1);
        assert_eq!(t.total() + CortexM33.branch_penalty(&bne, true, None), 3);
    }
}
