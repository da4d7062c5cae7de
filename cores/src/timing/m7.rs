//! Cortex-M7 (ARMv7E-M, 6-stage, in-order dual issue).
//!
//! Arm publishes no M7 cycle table [TR §3]. Structure and latencies follow LLVM's
//! Arm-contributed ARMScheduleM7.td (issue width 2; LDM/STM/LDRD/STRD/TBB/DIV/system
//! single-issue; MUL/MAC latency 2; FP ALU/MUL 3; FP DIV 16, SQRT 14) and the pairing
//! rules measured on STM32H743 (jnk0le) [TR §3]: no load+load pairing unless on
//! different banks (unknown statically: not paired), no store+store, MAC/MUL never pair
//! with each other or with stores, DSP/bit-field ops only in the older slot, one
//! shifted-operand op per cycle, FP arithmetic ops do not pair, LDM/STM ceil(N/2).

use super::{is_control, BlockTiming, BranchHints, CoreKind, CoreModel, Prediction};
use crate::insn::{Class, Insn, REG_FLAGS};

pub struct CortexM7;

/// Branch mispredict cost: LLVM "Mispredict cost for forward branches is 6" [TR §3];
/// measured 6 when the flags were set ≥ 3 cycles before the branch (jnk0le, STM32H743).
const MISPREDICT: u32 = 6;
/// Measured mispredict cost when the flags are set late (jnk0le, STM32H743) [TR §3].
const MISPREDICT_LATE_FLAGS: u32 = 8;
/// Indirect branches (BX, POP {pc}, LDR pc) until a BTAC is modelled: LLVM's
/// MispredictPenalty 4 ("4 works better") [TR §3].
const INDIRECT: u32 = 4;

fn single_issue(insn: &Insn) -> bool {
    matches!(
        insn.class,
        Class::LoadMultiple
            | Class::StoreMultiple
            | Class::LoadDouble
            | Class::StoreDouble
            | Class::TableBranch
            | Class::Div
            | Class::System
            | Class::Barrier
            | Class::Isb
            | Class::Trap
            | Class::FpDiv
            | Class::FpSqrt
            | Class::FpLoadMultiple
            | Class::FpStoreMultiple
            | Class::Unknown
    )
}

fn is_mul(insn: &Insn) -> bool {
    matches!(insn.class, Class::Mul | Class::Mac | Class::MulLong)
}

fn fp_arith(insn: &Insn) -> bool {
    matches!(insn.class, Class::FpAlu | Class::FpMul | Class::FpMac | Class::FpMove)
}

/// Counts against the one-shifted-operand-per-cycle limit (bit-field, extend and DSP
/// ops count too) [TR §3 Mastodon observations].
fn uses_shifter(insn: &Insn) -> bool {
    insn.shifted_operand || insn.class == Class::Dsp
}

/// Two word loads dual-issue only when they hit different DTCM/cache banks (even and
/// odd words) [TR §3]. Statically that is certain for single loads off the same base
/// register whose immediate offsets differ by 4 modulo 8.
fn different_banks(a: &Insn, b: &Insn) -> bool {
    match (a.mem, b.mem) {
        (Some(x), Some(y)) => {
            a.class == Class::Load
                && b.class == Class::Load
                && x.base == y.base
                && x.index.is_none()
                && y.index.is_none()
                && !x.writeback
                && !y.writeback
                && x.width == 4
                && y.width == 4
                && (x.disp - y.disp).rem_euclid(8) == 4
        }
        _ => false,
    }
}

/// Whether `younger` may issue in the same cycle as `older` [TR §3].
fn can_pair(older: &Insn, younger: &Insn) -> bool {
    if single_issue(older) || single_issue(younger) || older.class.is_branch() || older.writes_pc {
        return false;
    }
    let both = |f: fn(&Insn) -> bool| f(older) && f(younger);
    if (both(|i| i.class.is_load()) && !different_banks(older, younger)) || both(|i| i.class.is_store()) {
        return false;
    }
    if (is_mul(older) && (is_mul(younger) || younger.class.is_store())) || (is_mul(younger) && older.class.is_store()) {
        return false;
    }
    if younger.class == Class::Dsp || both(uses_shifter) || both(fp_arith) {
        return false;
    }
    // The younger must not need the older's result in the same cycle.
    !younger.reads.intersects(older.writes)
}

/// (issue cycles, result latency, extra latency when the result feeds an address).
fn issue_and_latency(insn: &Insn) -> (u32, u32) {
    let byte_or_half = insn.mem.is_some_and(|m| m.width < 4);
    match insn.class {
        // [TR §3] word loads usable by the late ALU the next cycle; byte/half +1.
        Class::Load | Class::FpLoad => (1, 1 + byte_or_half as u32),
        Class::LoadDouble => (1, 1),
        // [TR §3] LDM/STM/PUSH/POP ceil(N/2).
        Class::LoadMultiple | Class::StoreMultiple => (insn.nregs.div_ceil(2).max(1) as u32, 1),
        Class::FpLoadMultiple | Class::FpStoreMultiple => (insn.nregs.div_ceil(2).max(1) as u32, 1),
        // [TR §3] MUL/MAC latency 2; SDIV/UDIV latency 7 (LLVM).
        Class::Mul | Class::Mac | Class::MulLong => (1, 2),
        // The divider is iterative, not pipelined: it blocks issue (LLVM single-issue,
        // latency 7) [TR §3, §8: GCC models 4].
        Class::Div => (7, 7),
        // [TR §3] SSAT/QADD latency 2 (LLVM); other DSP 1.
        Class::Dsp if insn.mnemonic.starts_with('q') || insn.mnemonic.contains("sat") => (1, 2),
        // Double precision [TR §3]: jnk0le (silicon) vadd.d up to 3, vmul.d 4–5, vdiv.d 30;
        // LLVM MAC 11, DIV 30. VSQRT.F64 is measured nowhere: taken as VDIV.F64's 30
        // [assumption]. Divide and square root block the pipe as in single precision.
        Class::FpAlu if insn.double => (1, 3),
        Class::FpMul if insn.double => (1, 5),
        Class::FpMac if insn.double => (1, 11),
        Class::FpDiv | Class::FpSqrt if insn.double => (30, 30),
        // [TR §3] FP ALU/MUL 3, FP MAC accumulate chain 3, VDIV 16, VSQRT 14 (blocking).
        Class::FpAlu | Class::FpMul | Class::FpMac => (1, 3),
        Class::FpDiv => (16, 16),
        Class::FpSqrt => (14, 14),
        // ISB refills the pipeline: 1 + the refill a mispredict costs.
        Class::Isb => (1 + MISPREDICT, 1),
        Class::TableBranch => (2, 1),
        _ => (1, 1),
    }
}

impl CoreModel for CortexM7 {
    fn kind(&self) -> CoreKind {
        CoreKind::M7
    }

    fn block_cycles(&self, insns: &[Insn]) -> BlockTiming {
        let mut ready = [0u32; 64];
        // When a MAC's result is usable as the accumulator of the next MAC: chains of
        // multiply-accumulates into one register issue every cycle [TR §3].
        let mut acc_ready = [0u32; 64];
        let ready_at = |ready: &[u32; 64], acc_ready: &[u32; 64], insn: &Insn| -> u32 {
            let mut t = 0;
            let is_mac = is_mul(insn);
            for r in 0..64u8 {
                if is_mac && insn.reads.contains(r) && insn.writes.contains(r) {
                    t = t.max(acc_ready[r as usize]);
                } else if insn.reads.contains(r) {
                    // Address and shifted operands are consumed a stage earlier [TR §3].
                    let early = insn.mem.is_some_and(|m| m.base == r || m.index == Some(r)) || uses_shifter(insn);
                    // (Only results produced inside this block can still be in flight.)
                    let r_ready = ready[r as usize];
                    t = t.max(if r_ready > 0 { r_ready + early as u32 } else { 0 });
                }
            }
            t
        };
        let mut start = Vec::with_capacity(insns.len() + 1);
        let mut next_free = 0u32; // first cycle a new (unpaired) instruction can issue
        let mut open_slot: Option<(usize, u32)> = None; // older instruction that may take a partner
        for (i, insn) in insns.iter().enumerate() {
            let (issue, latency) = issue_and_latency(insn);
            let operands_ready = ready_at(&ready, &acc_ready, insn);
            let paired = match open_slot {
                Some((j, c)) if can_pair(&insns[j], insn) && operands_ready <= c => Some(c),
                _ => None,
            };
            let begin = match paired {
                Some(c) => {
                    open_slot = None;
                    c
                }
                None => {
                    let b = next_free.max(operands_ready);
                    next_free = b + issue;
                    open_slot = if issue == 1 { Some((i, b)) } else { None };
                    b
                }
            };
            start.push(begin);
            for r in 0..64u8 {
                if insn.writes.contains(r) {
                    ready[r as usize] = begin + latency;
                    acc_ready[r as usize] = if is_mul(insn) { begin + 1 } else { begin + latency };
                }
            }
        }
        start.push(next_free);
        // How early the final branch's condition was known: the last flag-setting
        // instruction before it, if any in this block [TR §3 mispredict 8 vs 6].
        let early_flags = match insns.split_last() {
            Some((_, body)) => match body.iter().rposition(|i| i.writes.contains(REG_FLAGS)) {
                Some(j) => start[insns.len() - 1] >= start[j] + 3,
                None => true,
            },
            None => true,
        };
        BlockTiming { start, hints: BranchHints { early_flags, ..BranchHints::default() } }
    }

    fn branch_penalty(&self, last: &Insn, taken: bool, target: Option<&Insn>) -> u32 {
        if !is_control(last) {
            return 0;
        }
        let backward = target.is_some_and(|t| t.addr <= last.addr);
        match last.class {
            // Static prediction until a BTAC is modelled: unconditional direct branches
            // and backward conditional ones are predicted taken (the predicted-taken
            // branch dual-issues with the target [TR §3]: no extra cycle); forward
            // conditional ones predicted not taken.
            Class::Branch => 0,
            Class::BranchCond | Class::CompareBranch if taken && !backward => MISPREDICT,
            Class::BranchCond | Class::CompareBranch => 0,
            _ if taken => INDIRECT,
            _ => 0,
        }
    }

    /// With the BTAC [`super::BranchPredictor`]: a correctly predicted branch costs
    /// nothing extra (a predicted-taken branch dual-issues with its target [TR §3]); a
    /// wrong direction or target costs the measured mispredict, 6 or 8 cycles by how
    /// early the flags were set. A branch the BTAC has no entry for is predicted not
    /// taken (fetch runs on sequentially).
    fn predicted_branch_penalty(&self, last: &Insn, taken: bool, target: Option<&Insn>, prediction: Option<Prediction>, hints: BranchHints) -> u32 {
        let early_flags = hints.early_flags;
        if !is_control(last) || last.class == Class::Isb {
            return 0;
        }
        let correct = match prediction {
            Some(p) => p.taken == taken && (!taken || target.is_none_or(|t| t.addr == p.target)),
            None => !taken,
        };
        let conditional = matches!(last.class, Class::BranchCond | Class::CompareBranch) || last.reads.contains(REG_FLAGS);
        match (correct, conditional && !early_flags) {
            (true, _) => 0,
            (false, true) => MISPREDICT_LATE_FLAGS,
            (false, false) => MISPREDICT,
        }
    }

    fn has_predictor(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::insn::MemOperand;

    fn alu(a: u32, rd: u8, rn: u8) -> Insn {
        Insn::new(a, 2, Class::Alu).reading(&[rn]).writing(&[rd])
    }

    #[test]
    fn independent_alu_ops_dual_issue_dependent_ones_do_not() {
        // Two independent ADDs issue together (issue width 2, two ALUs [TR §3]): 1 cycle.
        assert_eq!(CortexM7.block_cycles(&[alu(0, 0, 1), alu(2, 2, 3)]).start, vec![0, 0, 1]);
        // ADD r0,r1 ; ADD r2,r0 : the second needs the first's result: 2 cycles.
        assert_eq!(CortexM7.block_cycles(&[alu(0, 0, 1), alu(2, 2, 0)]).start, vec![0, 1, 2]);
    }

    #[test]
    fn mac_pairs_with_load_but_not_with_mac_or_store() {
        let ld = Insn::new(0, 2, Class::Load).writing(&[4]).with_mem(MemOperand { base: 1, width: 4, ..Default::default() });
        let mac = |a, acc: u8| Insn::new(a, 4, Class::Mac).reading(&[2, 3, acc]).writing(&[acc]);
        // LDR + SMLAD (independent) pair: 1 cycle [TR §3: load + MAC allowed].
        assert_eq!(CortexM7.block_cycles(&[ld, mac(2, 0)]).start, vec![0, 0, 1]);
        // SMLAD + SMLAD never pair: 2 cycles.
        assert_eq!(CortexM7.block_cycles(&[mac(0, 0), mac(4, 5)]).total(), 2);
    }

    #[test]
    fn double_precision_costs() {
        let fp = |a, class, rd: u8, rn: u8, double| {
            let mut i = Insn::new(a, 4, class).reading(&[rn]).writing(&[rd]);
            i.double = double;
            i
        };
        // VDIV.F64 blocks the pipe for 30 cycles [TR §3: jnk0le and LLVM vdiv.d 30]; the
        // single-precision VDIV 16.
        assert_eq!(CortexM7.block_cycles(&[fp(0, Class::FpDiv, 32, 34, true)]).total(), 30);
        assert_eq!(CortexM7.block_cycles(&[fp(0, Class::FpDiv, 32, 34, false)]).total(), 16);
        // VMUL.F64 d0 then VADD.F64 using d0: the add waits for the product's latency of 5
        // [TR §3: jnk0le vmul.d 4–5]: issue at 0 and 5, done at 6. Single precision: 0, 3, 4.
        let pair = |double| CortexM7.block_cycles(&[fp(0, Class::FpMul, 32, 34, double), fp(4, Class::FpAlu, 36, 32, double)]).start;
        assert_eq!(pair(true), vec![0, 5, 6]);
        assert_eq!(pair(false), vec![0, 3, 4]);
    }

    #[test]
    fn ldm_costs_half_the_register_count() {
        // POP {r4-r11} = 8 registers: ceil(8/2) = 4 cycles [TR §3].
        assert_eq!(CortexM7.block_cycles(&[Insn::new(0, 2, Class::LoadMultiple).with_nregs(8)]).total(), 4);
    }

    fn hint(early_flags: bool) -> BranchHints {
        BranchHints { early_flags, ..BranchHints::default() }
    }

    #[test]
    fn btac_prediction_decides_the_penalty() {
        let b = Insn::new(0x100, 2, Class::BranchCond).reading(&[REG_FLAGS]);
        let target = Insn::new(0x80, 2, Class::Alu);
        let hit = Some(Prediction { taken: true, target: 0x80 });
        // Predicted taken and taken: free [TR §3 "predicted taken branch can dual-issue"].
        assert_eq!(CortexM7.predicted_branch_penalty(&b, true, Some(&target), hit, hint(false)), 0);
        // Predicted taken, fell through (loop exit), flags set just before: 8 [TR §3].
        assert_eq!(CortexM7.predicted_branch_penalty(&b, false, None, hit, hint(false)), 8);
        // Same with flags set ≥ 3 cycles earlier: 6 [TR §3].
        assert_eq!(CortexM7.predicted_branch_penalty(&b, false, None, hit, hint(true)), 6);
        // No BTAC entry: predicted not taken; taken costs the mispredict.
        assert_eq!(CortexM7.predicted_branch_penalty(&b, true, Some(&target), None, hint(true)), 6);
        assert_eq!(CortexM7.predicted_branch_penalty(&b, false, None, None, hint(false)), 0);
    }

    #[test]
    fn early_flags_reflect_the_distance_from_the_flag_setter() {
        let cmp = Insn::new(0, 2, Class::Alu).reading(&[0]).writing(&[REG_FLAGS]);
        let b = Insn::new(2, 2, Class::BranchCond).reading(&[REG_FLAGS]);
        assert!(!CortexM7.block_cycles(&[cmp.clone(), b.clone()]).hints.early_flags);
        // A dependent ALU chain after the compare (the first pairs with it, cycle 0; then
        // cycles 1, 2, 3); the branch pairs with the last: issued 3 cycles after CMP.
        let chain = |a| Insn::new(a, 2, Class::Alu).reading(&[1]).writing(&[1]);
        let seq = [cmp, chain(2), chain(4), chain(6), chain(8), Insn { addr: 10, ..b }];
        assert_eq!(CortexM7.block_cycles(&seq).start[5], 3);
        assert!(CortexM7.block_cycles(&seq).hints.early_flags);
    }

    #[test]
    fn forward_taken_conditional_branch_mispredicts() {
        let b = Insn::new(0x100, 2, Class::BranchCond);
        let fwd = Insn::new(0x120, 2, Class::Alu);
        let back = Insn::new(0x80, 2, Class::Alu);
        assert_eq!(CortexM7.branch_penalty(&b, true, Some(&fwd)), MISPREDICT);
        assert_eq!(CortexM7.branch_penalty(&b, true, Some(&back)), 0);
        assert_eq!(CortexM7.branch_penalty(&b, false, None), 0);
    }
}
