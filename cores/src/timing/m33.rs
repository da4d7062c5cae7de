//! Cortex-M33 (ARMv8-M Mainline, 3-stage, limited dual issue).
//!
//! Arm publishes no M33 cycle table; LLVM schedules it with the M4 model [TR §2]. This
//! model starts from the M4 rows and applies the differences measured on silicon
//! (RP2350, DWT CYCCNT) in [TR §2]: single-cycle loads with load-to-use latency 2,
//! MUL/MAC result latency 2 with back-to-back accumulator chaining, LDRD/STRD 2,
//! LDM/STM of N registers N cycles, NOP/IT pairing with a preceding 16-bit instruction,
//! 16-bit not-taken branches dual-issued, taken branches 2 cycles, FP MAC latency 3.

use super::m4::m4_cost;
use super::{early_termination_divide, is_control, uses, BlockEdges, BlockTiming, Boundary, BranchHints, CoreKind, CoreModel, EdgeRecorder, DIV_STATIC};
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

/// Whether `insn` sets the condition flags (hand-built sequences may only list them as
/// written).
fn writes_flags(insn: &Insn) -> bool {
    insn.sets_flags || insn.writes.contains(crate::insn::REG_FLAGS)
}

/// See [`BlockEdges::taken_entry_delay`]: 1 when the block's second instruction issued in
/// its first one's cycle and the first sits at a word's upper half. Not for a flag-setting
/// instruction and the block's final narrow conditional branch (a loop's `subs.n; bne.n`):
/// taken, that branch costs 2 whether or not it dual-issued, so nothing is lost then.
fn taken_entry_delay(insns: &[Insn], start: &[u32]) -> u32 {
    let [first, second, ..] = insns else { return 0 };
    let flag_loop = insns.len() == 2 && matches!(second.class, Class::BranchCond | Class::CompareBranch) && writes_flags(first);
    (first.size == 2 && first.addr % 4 == 2 && start[2] == start[1] && !flag_loop) as u32
}

/// (issue cycles, result latency) of one instruction on M33. `prev_alone`: the instruction
/// before issued in a cycle of its own, whose second slot an IT, or a 16-bit NOP or
/// branch after a 16-bit instruction, can take ("only two 16 bit (.n) instructions can
/// dual issue"; a dual-issue core issues no third) [TR §2].
fn cost_and_latency(insn: &Insn, prev: Option<&Insn>, prev_alone: bool) -> (u32, u32) {
    let pairs = prev_alone && prev.is_some_and(|p| p.size == 2);
    match insn.class {
        // [TR §2] loads issue in one cycle, result usable 2 cycles after issue.
        Class::Load => (1, 2),
        Class::Store => (1, 1),
        // [TR §2] LDRD/STRD 2 cycles; LDM/STM of x registers x cycles.
        Class::LoadDouble => (2, 2),
        Class::StoreDouble => (2, 2),
        // The last register of an LDM/POP arrives in its last beat, usable 2 cycles after
        // that beat issued (load-to-use 2): one cycle after the LDM ends.
        Class::LoadMultiple => (insn.nregs.max(1) as u32, insn.nregs.max(1) as u32 + 1),
        Class::StoreMultiple => (insn.nregs.max(1) as u32, 1),
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
        // the preceding instruction; a 16-bit not-taken branch dual-issues with a
        // preceding 16-bit one (both "must be .n"), flag-setting or not.
        Class::Nop | Class::BranchCond | Class::CompareBranch if insn.size == 2 && pairs => (0, 0),
        Class::It if prev_alone => (0, 0),
        Class::It => (1, 1),
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
        // Cycle at which each register is usable by an ordinary consumer, as the
        // accumulator of a MAC or extend-and-add, and as the data of a store.
        let mut ready = [0u32; 64];
        let mut acc_ready = [0u32; 64];
        let mut store_ready = [0u32; 64];
        let mut edges = EdgeRecorder::default();
        let mut start = Vec::with_capacity(insns.len() + 1);
        let mut t = 0u32;
        // FP pipe: after a VFMA/VMLA no other FP instruction issues in the next 2 cycles [TR §2].
        let mut fp_free_at = 0u32;
        // Whether the previous instruction issued in a cycle of its own (0-cycle ones took
        // the second slot of the cycle before: no triple issue).
        let mut prev_alone = false;
        let mut last_issue = 1;
        for (i, insn) in insns.iter().enumerate() {
            let prev = i.checked_sub(1).map(|j| &insns[j]);
            let (issue, latency) = cost_and_latency(insn, prev, prev_alone);
            prev_alone = issue > 0;
            last_issue = issue;
            // A MAC (or *xta*) consumes its accumulator late: the register it both reads
            // and writes [TR §2 "accumulator chaining back-to-back"].
            let acc = if matches!(insn.class, Class::Mac | Class::MulLong) || extend_add(insn) { RegSet(insn.reads.0 & insn.writes.0) } else { RegSet::EMPTY };
            // A store's data is read late: "load to store latency is 1 cycle", "can store
            // result from accumulate stage in 1 cycle" [TR §2 jnk0le bullets].
            let data = RegSet(insn.store_data().0 & !acc.0);
            let others = RegSet(insn.reads.0 & !acc.0 & !data.0);
            let at = |set: RegSet, table: &[u32; 64]| set.iter().map(|r| table[r as usize]).max().unwrap_or(0);
            let mut begin = t.max(at(others, &ready)).max(at(acc, &acc_ready)).max(at(data, &store_ready));
            if insn.class.is_fp() {
                begin = begin.max(fp_free_at);
            }
            edges.read(others, begin, uses::LATE);
            edges.read(acc, begin, uses::ACC);
            edges.read(data, begin, uses::STORE);
            start.push(begin);
            t = begin + issue;
            let done = begin + latency.max(issue);
            let acc_done = if chains_into_accumulator(insn) { (begin + 1).max(t) } else { done };
            // An LDM/POP's written-back base is updated as it issues, not with its last beat.
            let base_set = match (insn.class, insn.list_base) {
                (Class::LoadMultiple, Some(b)) => RegSet::EMPTY.with(b),
                _ => RegSet::EMPTY,
            };
            for r in insn.writes.iter() {
                let early = base_set.contains(r);
                ready[r as usize] = if early { t } else { done };
                acc_ready[r as usize] = if early { t } else { acc_done };
                store_ready[r as usize] = t;
            }
            edges.write(RegSet(insn.writes.0 & !base_set.0), [done, done, acc_done, done, t]);
            edges.write(RegSet(insn.writes.0 & base_set.0), [t; uses::KINDS]);
            if insn.class == Class::FpMac {
                fp_free_at = begin + 3;
            }
        }
        start.push(t);
        // [TR §2] a 16-bit conditional branch that dual-issued with the 16-bit instruction
        // before it; taken, it costs 1 cycle in all when that instruction does not set flags.
        let dual_issued = last_issue == 0 && insns.last().is_some_and(|b| matches!(b.class, Class::BranchCond | Class::CompareBranch));
        let paired_with_previous = match insns {
            [.., p, _] => dual_issued && !writes_flags(p) && !p.class.is_branch(),
            _ => false,
        };
        let mut edges = edges.finish(t);
        edges.taken_entry_delay = taken_entry_delay(insns, &start);
        BlockTiming { start, hints: BranchHints { paired_with_previous, dual_issued, ..BranchHints::default() }, edges }
    }

    /// A taken branch into a block whose first pair cannot dual-issue yet
    /// ([`BlockEdges::taken_entry_delay`]) costs a cycle more; a stall on the first
    /// instruction gives the fetch that cycle anyway.
    fn boundary_cycles(&self, prev: &BlockEdges, next: &BlockEdges, penalty: u32, taken: bool, _prev_paired: bool) -> Boundary {
        let stall = prev.stall_before(next, penalty, 0).max(0);
        let fetch = if taken { next.taken_entry_delay as i32 } else { 0 };
        Boundary { cycles: stall.max(fetch), paired: false }
    }

    /// [TR §2] "taken branch 2 cycles, 1 cycle if paired with a preceding
    /// non-flag-setting 16-bit instruction". A 16-bit conditional branch that dual-issued
    /// paid nothing so far; one that did not (a 32-bit instruction before it) paid 1.
    fn hinted_branch_penalty(&self, last: &Insn, taken: bool, target: Option<&Insn>, hints: BranchHints) -> u32 {
        let p = self.branch_penalty(last, taken, target);
        let narrow_conditional = matches!(last.class, Class::BranchCond | Class::CompareBranch) && last.size == 2;
        if !taken || !narrow_conditional {
            p
        } else if hints.paired_with_previous || !hints.dual_issued {
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
        // [TR §2] a taken branch costs 2 cycles. A 16-bit conditional branch that
        // dual-issued paid nothing (0), so its taken path adds 2; others already paid 1
        // (`hinted_branch_penalty` knows which).
        straddles
            + match last.class {
                Class::BranchCond | Class::CompareBranch if last.size == 2 => 2,
                // A target loaded from memory (POP {pc}, LDR pc) arrives at the end of the
                // load's stage 3, a cycle after a branch resolved in stage 2 would have
                // fetched it: the load-to-use latency of 2 [TR §2]. jnk0le's measurement
                // agrees: "pop {lr}, bx lr is 1-2 cycles faster than pop {pc}" with three
                // 16-bit fillers, which puts POP {.., pc} of N words at N + 2 to N + 3.
                Class::Load | Class::LoadMultiple => 2,
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

    #[test]
    fn a_store_reads_its_data_a_cycle_after_the_load_that_produced_it() {
        // LDR r0,[r1] ; STR r0,[r2]: "load to store latency is 1 cycle" [TR §2 jnk0le
        // bullet]: the STR issues at 1, no stall (an ADD reading r0 would issue at 2).
        let ld = Insn::new(0, 2, Class::Load).writing(&[0]).with_mem(MemOperand { base: 1, width: 4, ..Default::default() });
        let st = Insn::new(2, 2, Class::Store).reading(&[0]).with_mem(MemOperand { base: 2, width: 4, ..Default::default() });
        assert_eq!(CortexM33.block_cycles(&[ld.clone(), st]).start, vec![0, 1, 2]);
        // The address is not store data: STR r3,[r0] after the load waits like any use.
        let st_addr = Insn::new(2, 2, Class::Store).reading(&[3]).with_mem(MemOperand { base: 0, width: 4, ..Default::default() });
        assert_eq!(CortexM33.block_cycles(&[ld, st_addr]).start, vec![0, 2, 3]);
    }

    #[test]
    fn pop_then_push_of_the_same_registers_runs_at_one_word_per_cycle() {
        // POP {r0-r3} ; PUSH {r0-r3} ; POP {r0-r3}: "LDM/STM of x registers exactly x
        // cycles" [TR §2 jnk0le bullet]; the pushed registers are store data and SP is
        // written back as the POP issues: 4 + 4 + 4 = 12, no stall.
        let d = crate::decode::Decoder::new().unwrap();
        let insns = d.decode(&[0x0f, 0xbc, 0x0f, 0xb4, 0x0f, 0xbc], 0, 3).unwrap();
        assert_eq!(CortexM33.block_cycles(&insns).start, vec![0, 4, 8, 12]);
        // The last popped register is an ordinary operand 1 cycle after the POP ends
        // (load-to-use 2 from its beat): POP {r0-r3} ; ADDS r0, r3, #1 → ADDS at 5.
        let adds = Insn::new(2, 2, Class::Alu).reading(&[3]).writing(&[0]);
        assert_eq!(CortexM33.block_cycles(&[insns[0].clone(), adds]).start, vec![0, 5, 6]);
    }

    #[test]
    fn only_two_narrow_instructions_dual_issue() {
        // [TR §2] "only two .n instructions dual issue": BNE.N after CMP.W costs 1 when not
        // taken, after CMP.N nothing.
        let cmp = |size| Insn::new(0, size, Class::Alu).reading(&[0, 1]).writing(&[16]);
        let bne = |a| Insn::new(a, 2, Class::BranchCond).reading(&[16]);
        assert_eq!(CortexM33.block_cycles(&[cmp(4), bne(4)]).start, vec![0, 1, 2]);
        assert_eq!(CortexM33.block_cycles(&[cmp(2), bne(2)]).start, vec![0, 1, 1]);
        // No triple issue: MOVS.N ; NOP.N pair in one cycle, so the IT after them takes
        // a cycle of its own: IT folds only into an instruction that issued alone.
        let movs = Insn::new(0, 2, Class::Alu).reading(&[1]).writing(&[0, 16]);
        let nop = Insn::new(2, 2, Class::Nop);
        let it = Insn::new(4, 2, Class::It).reading(&[16]);
        assert_eq!(CortexM33.block_cycles(&[movs.clone(), nop, it.clone()]).start, vec![0, 1, 1, 2]);
        assert_eq!(CortexM33.block_cycles(&[movs, it]).start, vec![0, 1, 1]);
    }

    #[test]
    fn pop_into_pc_pays_the_load_to_use_latency() {
        // POP {r4, pc}: 2 cycles (two words) + 2 for the loaded target (load-to-use 2
        // [TR §2]); a BX LR pays the plain taken-branch 1 after its own issue cycle.
        let d = crate::decode::Decoder::new().unwrap();
        let pop = d.decode(&[0x10, 0xbd], 0, 1).unwrap().remove(0);
        assert_eq!(CortexM33.block_cycles(std::slice::from_ref(&pop)).total() + CortexM33.branch_penalty(&pop, true, None), 4);
        let bx = d.decode(&[0x70, 0x47], 0, 1).unwrap().remove(0);
        assert_eq!(CortexM33.block_cycles(std::slice::from_ref(&bx)).total() + CortexM33.branch_penalty(&bx, true, None), 2);
    }

    #[test]
    fn a_taken_branch_to_a_word_upper_half_cannot_dual_issue_the_first_pair() {
        // ADD.N r0, r1 at 0x102 ; NOP.N at 0x104: the pair dual-issues (1 cycle) once both
        // are fetched; a taken branch to 0x102 fetches only the word at 0x100, so the NOP
        // waits a cycle ("the second op needs to be pre fetched" [TR §2 jnk0le]).
        let add = |a| Insn::new(a, 2, Class::Alu).reading(&[0, 1]).writing(&[0]);
        let nop = |a| Insn::new(a, 2, Class::Nop);
        let misaligned = CortexM33.block_cycles(&[add(0x102), nop(0x104)]);
        let aligned = CortexM33.block_cycles(&[add(0x100), nop(0x102)]);
        assert_eq!((misaligned.total(), misaligned.edges.taken_entry_delay), (1, 1));
        assert_eq!(aligned.edges.taken_entry_delay, 0);
        let none = BlockEdges::default();
        assert_eq!(CortexM33.boundary_cycles(&none, &misaligned.edges, 1, true, false).cycles, 1);
        assert_eq!(CortexM33.boundary_cycles(&none, &misaligned.edges, 0, false, false).cycles, 0);
        // A loop's SUBS.N ; BNE.N taken costs 1 + 2 either way: no delay.
        let subs = Insn::new(0x102, 2, Class::Alu).reading(&[0]).writing(&[0, 16]);
        let bne = Insn::new(0x104, 2, Class::BranchCond).reading(&[16]);
        assert_eq!(CortexM33.block_cycles(&[subs, bne]).edges.taken_entry_delay, 0);
    }
}
