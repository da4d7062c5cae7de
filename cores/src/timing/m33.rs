//! Cortex-M33 (ARMv8-M Mainline, 3-stage, limited dual issue).
//!
//! Arm publishes no M33 cycle table; LLVM schedules it with the M4 model [TR §2]. This
//! model starts from the M4 rows and applies the differences measured on silicon
//! (RP2350, DWT CYCCNT) in [TR §2]: single-cycle loads with load-to-use latency 2,
//! MUL/MAC result latency 2 with back-to-back accumulator chaining, LDRD/STRD 2,
//! LDM/STM of N registers N cycles, NOP/IT pairing with a preceding 16-bit instruction,
//! 16-bit not-taken branches dual-issued, taken branches 2 cycles, FP MAC latency 3.

use super::m4::m4_cost;
use super::{early_termination_divide, is_control, uses, BlockTiming, BranchHints, CoreKind, CoreModel, EdgeRecorder, DIV_STATIC};
use crate::insn::{Class, Insn, RegSet};

pub struct CortexM33;

/// SIMD and other DSP-extension instructions that execute in stage 3, like MAC (so their
/// result latency is 2): "stage 3 does the complex operations (SIMD, MAC, DIV, 32x32
/// multiply)" [TR §2 elektroniknet bullet]; measured for `*xta*` ("2 cycle result latency")
/// [TR §2 jnk0le bullet]. REV/RBIT/CLZ are bit manipulation, not SIMD: 1.
fn stage3_dsp(insn: &Insn) -> bool {
    insn.class == Class::Dsp && !insn.mnemonic.starts_with("rev") && !insn.mnemonic.starts_with("rbit") && !insn.mnemonic.starts_with("clz")
}

/// An extend-and-add (SXTAB, UXTAH, SXTAB16…): its accumulate operand chains like a MAC's
/// [TR §2 jnk0le bullet].
fn extend_add(insn: &Insn) -> bool {
    insn.class == Class::Dsp && insn.mnemonic.len() > 4 && matches!(&insn.mnemonic[..4], "sxta" | "uxta")
}

/// Results a MAC (or `*xta*`) may take as its accumulator one cycle after they issue:
/// "accumulate dependency can be chained from previous MAC, `*xta*` or operand2 (shifted
/// reg/constant) insns", and "load result can be consumed as MAC accumulate dependency in
/// 1 cycle" [TR §2 jnk0le bullets].
fn chains_into_accumulator(insn: &Insn) -> bool {
    matches!(insn.class, Class::Mac | Class::MulLong | Class::Load)
        || extend_add(insn)
        || (insn.class == Class::Alu && (insn.shifted_operand || insn.shifted_constant))
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
        // [TR §2] MUL/MAC result latency 2 (accumulator chaining handled by the caller);
        // "two-stage operations that set flags (muls.n ...) take 2 cycles".
        Class::Mul if insn.sets_flags && insn.size == 2 => (2, 2),
        Class::Mul | Class::Mac | Class::MulLong => (1, 2),
        // [TR §2] results of shifted-register and shifted-constant operand2 have latency 2
        // (flags from a shifted register included: "available a cycle later"); a
        // flag-setting shifted-constant op takes 2 cycles ("inline shifted reg and movs.w
        // (any type) are unaffected").
        Class::Alu if insn.shifted_constant && insn.sets_flags && !insn.mnemonic.starts_with("mov") => (2, 2),
        Class::Alu if insn.shifted_operand || insn.shifted_constant => (1, 2),
        // [TR §2] SIMD in stage 3: result latency 2.
        Class::Dsp if stage3_dsp(insn) => (1, 2),
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
        // Cycle at which each register is usable by an ordinary consumer, and as the
        // accumulator of a MAC or extend-and-add.
        let mut ready = [0u32; 64];
        let mut acc_ready = [0u32; 64];
        let mut edges = EdgeRecorder::default();
        let mut start = Vec::with_capacity(insns.len() + 1);
        let mut t = 0u32;
        // FP pipe: after a VFMA/VMLA no other FP instruction issues in the next 2 cycles [TR §2].
        let mut fp_free_at = 0u32;
        for (i, insn) in insns.iter().enumerate() {
            let prev = i.checked_sub(1).map(|j| &insns[j]);
            let (issue, latency) = cost_and_latency(insn, prev);
            // A MAC (or *xta*) consumes its accumulator late: the register it both reads
            // and writes [TR §2 "accumulator chaining back-to-back"].
            let acc = if matches!(insn.class, Class::Mac | Class::MulLong) || extend_add(insn) { RegSet(insn.reads.0 & insn.writes.0) } else { RegSet::EMPTY };
            let others = RegSet(insn.reads.0 & !acc.0);
            let late_at = (0..64u8).filter(|&r| others.contains(r)).map(|r| ready[r as usize]).max().unwrap_or(0);
            let acc_at = (0..64u8).filter(|&r| acc.contains(r)).map(|r| acc_ready[r as usize]).max().unwrap_or(0);
            let mut begin = t.max(late_at).max(acc_at);
            if insn.class.is_fp() {
                begin = begin.max(fp_free_at);
            }
            edges.read(others, begin, uses::LATE);
            edges.read(acc, begin, uses::ACC);
            start.push(begin);
            t = begin + issue;
            let done = begin + latency.max(issue);
            let acc_done = if chains_into_accumulator(insn) { (begin + 1).max(t) } else { done };
            for r in 0..64u8 {
                if insn.writes.contains(r) {
                    ready[r as usize] = done;
                    acc_ready[r as usize] = acc_done;
                }
            }
            edges.write(insn.writes, [done, done, acc_done, done]);
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
        BlockTiming { start, hints: BranchHints { paired_with_previous, ..BranchHints::default() }, edges: edges.finish(t) }
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

    fn branch_penalty(&self, last: &Insn, taken: bool, target: Option<&Insn>) -> u32 {
        if !taken || !is_control(last) {
            return 0;
        }
        // A 32-bit target that straddles a word needs a second fetch before it can be
        // decoded: +1, as on the M4 [TR §1.1 P definition, §1.5 compendium bullet]
        // [assumption: the M33 fetches one 32-bit word per cycle from its code AHB like the
        // M4; jnk0le's RP2350 loops are aligned].
        let straddles = matches!(target, Some(t) if t.size == 4 && t.addr % 4 != 0) as u32;
        // [TR §2] a taken branch costs 2 cycles. A 16-bit conditional branch issued
        // for free (0) when not taken, so its taken path adds 2; others already paid 1.
        straddles
            + match last.class {
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
    fn simd_results_and_shifted_constants_have_latency_two() {
        // [TR §2] SIMD executes in stage 3 (elektroniknet), *xta* latency 2 (jnk0le):
        // SXTB16 r1 ; SMLAD r0, r1, r2, r0 : SMLAD waits for r1 until 2; 3 cycles.
        let sxtb16 = |a| Insn { mnemonic: "sxtb16".into(), ..Insn::new(a, 4, Class::Dsp).reading(&[10]).writing(&[1]) };
        let smlad = Insn::new(4, 4, Class::Mac).reading(&[0, 1, 2]).writing(&[0]);
        assert_eq!(CortexM33.block_cycles(&[sxtb16(0), smlad.clone()]).start, vec![0, 2, 3]);
        // An extend-and-add chains its accumulate operand like a MAC: SXTAB r0, r0, r1 after
        // SMLAD into r0 issues the next cycle.
        let sxtab = Insn { mnemonic: "sxtab".into(), ..Insn::new(8, 4, Class::Dsp).reading(&[0, 1]).writing(&[0]) };
        let smlad0 = Insn::new(0, 4, Class::Mac).reading(&[0, 2, 3]).writing(&[0]);
        assert_eq!(CortexM33.block_cycles(&[smlad0, sxtab]).start, vec![0, 1, 2]);
        // EOR.W r0, r1, #0x1fc0 (shifted constant) ; ADD r2, r0 : latency 2 [TR §2 jnk0le].
        let mut eor = Insn::new(0, 4, Class::Alu).reading(&[1]).writing(&[0]);
        eor.shifted_constant = true;
        let add = Insn::new(4, 2, Class::Alu).reading(&[0]).writing(&[2]);
        assert_eq!(CortexM33.block_cycles(&[eor.clone(), add.clone()]).start, vec![0, 2, 3]);
        // ... and with flags set it takes 2 cycles ("two-stage operations that set flags").
        let mut eors = eor;
        eors.sets_flags = true;
        assert_eq!(CortexM33.block_cycles(&[eors]).total(), 2);
    }

    #[test]
    fn a_loop_carried_load_use_stall_crosses_the_block_boundary() {
        // Loop body `ADD r2, r2, r0 ; LDR r0, [r1], #4 ; BNE` as one block: within the block
        // nothing waits, but the next iteration's ADD needs r0, loaded 2 cycles before it
        // is usable [TR §2 'load-to-use latency 2']. The LDR issues at 1, r0 is ready at 3;
        // the block ends at 2 (BNE not taken would be free) and the taken branch costs 2:
        // the ADD at 4 is in time. Without the branch cost (fall-through) it waits 1.
        let add = Insn::new(0, 2, Class::Alu).reading(&[2, 0]).writing(&[2]);
        let ldr = Insn::new(2, 4, Class::Load).writing(&[0, 1]).with_mem(MemOperand { base: 1, width: 4, writeback: true, ..Default::default() });
        let body = CortexM33.block_cycles(&[add, ldr]);
        assert_eq!(body.total(), 2);
        assert_eq!(CortexM33.boundary_cycles(&body.edges, &body.edges, 0, false, false).cycles, 1);
        assert_eq!(CortexM33.boundary_cycles(&body.edges, &body.edges, 2, true, false).cycles, 0);
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
