//! Cortex-M7 (ARMv7E-M, 6-stage, in-order dual issue).
//!
//! Arm publishes no M7 cycle table [TR §3]. Structure and latencies follow LLVM's
//! Arm-contributed ARMScheduleM7.td (issue width 2; LDM/STM/LDRD/STRD/TBB/DIV/system
//! single-issue; MUL/MAC latency 2; FP ALU/MUL 3; FP DIV 16, SQRT 14) and the pairing
//! rules measured on STM32H743 (jnk0le) [TR §3]: no load+load pairing unless on
//! different banks (unknown statically: not paired), no store+store, MAC/MUL never pair
//! with each other or with stores, DSP/bit-field ops only in the older slot, one
//! shifted-operand op per cycle, FP arithmetic ops do not pair, LDM/STM ceil(N/2).

use super::{is_control, uses, BlockEdges, BlockTiming, Boundary, BranchHints, CoreKind, CoreModel, EdgeRecorder, Prediction};
use crate::insn::{Class, Insn, RegSet, REG_FLAGS};

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
/// ops count too) and reads its operands in the early ALU [TR §3 Mastodon observations,
/// jnk0le bullet on bit-field/DSP ops].
fn uses_shifter(insn: &Insn) -> bool {
    insn.shifted_operand
        || insn.class == Class::Dsp
        || (insn.class == Class::Alu && ["ubfx", "sbfx", "bfi", "bfc", "uxtb", "uxth", "sxtb", "sxth"].iter().any(|p| insn.mnemonic.starts_with(p)))
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
    // Data dependencies are left to the operand-readiness check of `schedule`: only an
    // early-ALU result reaches a late-ALU consumer in the same cycle.
    true
}

/// Results the early ALU produces, forwarded to the late ALU in the same cycle and to the
/// early ALU and AGU the next cycle: add, sub and mov of a register or simple constant
/// without a shift, when issued as the older op of a pair or alone [TR §3 jnk0le early-ALU
/// bullet].
fn early_alu(insn: &Insn) -> bool {
    insn.class == Class::Alu
        && !insn.shifted_operand
        && !insn.shifted_constant
        && ["add", "sub", "mov"].iter().any(|p| insn.mnemonic.starts_with(p))
        && !insn.mnemonic.starts_with("movt")
}

/// Shifts and rotations by a constant (aliases of MOV) also run in the early ALU, from
/// either slot [TR §3 jnk0le early-ALU bullet].
fn early_shift(insn: &Insn) -> bool {
    insn.class == Class::Alu
        && ["lsl", "lsr", "asr", "ror"].iter().any(|p| insn.mnemonic.starts_with(p))
        && (0..16u8).filter(|&r| insn.reads.contains(r)).count() <= 1
}

/// The registers an instruction reads, grouped by how it reads them (`uses`).
fn read_kinds(insn: &Insn) -> [(RegSet, u8); 5] {
    let mut reads = insn.reads;
    // A MAC's accumulator: the register it both reads and writes [TR §3] (a plain
    // multiply such as `smulbb r0, r1, r0` has none).
    let acc = if matches!(insn.class, Class::Mac | Class::MulLong) { RegSet(reads.0 & insn.writes.0) } else { RegSet::EMPTY };
    reads = RegSet(reads.0 & !acc.0);
    // Address and shifted operands are consumed a stage earlier [TR §3].
    let mut early = RegSet::EMPTY;
    if let Some(m) = insn.mem {
        early = early.with(m.base);
        if let Some(i) = m.index {
            early = early.with(i);
        }
    }
    if uses_shifter(insn) {
        early = RegSet(early.0 | reads.0);
    }
    reads = RegSet(reads.0 & !early.0);
    // A store's data is read in EX4, two stages after the late ALU [TR §3 LLVM stage map];
    // measured: "can store any result in same cycle, including ldr, ldrh, ldrb" (jnk0le's
    // page, stores).
    let data = RegSet(insn.store_data().0 & !early.0);
    reads = RegSet(reads.0 & !data.0);
    let (mul, late) = if is_mul(insn) { (reads, RegSet::EMPTY) } else { (RegSet::EMPTY, reads) };
    [(late, uses::LATE), (early, uses::EARLY), (acc, uses::ACC), (mul, uses::MUL), (data, uses::STORE)]
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

/// Whether `insn` may issue as the younger partner of a branch: not single-issue, not a
/// DSP or bit-field op (those must be the older op), not itself a branch [TR §3].
fn pairs_after_branch(insn: &Insn) -> bool {
    !single_issue(insn) && insn.class != Class::Dsp && !uses_shifter(insn) && !insn.class.is_branch() && !insn.writes_pc
}

/// The in-order dual-issue schedule of a block [TR §3]: the start cycle of each instruction
/// plus the total, whether the last instruction issued as a younger partner, and the
/// boundary record. With `after_branch`, a branch occupies the older slot of cycle 0 and
/// the block's first instruction may take its younger slot (the returned cycles are then
/// one higher than the block's own).
fn schedule(insns: &[Insn], after_branch: bool) -> (Vec<u32>, bool, EdgeRecorder) {
    // Cycle at which each register is usable by each kind of consumer (`uses`): late
    // ALU, early ALU / AGU, MAC accumulator, multiplier operand.
    let mut ready = [[0u32; uses::KINDS]; 64];
    let mut edges = EdgeRecorder::default();
    let mut start = Vec::with_capacity(insns.len() + 1);
    let mut next_free = after_branch as u32; // first cycle a new (unpaired) instruction can issue
    let mut open_slot: Option<(usize, u32)> = None; // older instruction that may take a partner
    let mut last_paired = false;
    for (i, insn) in insns.iter().enumerate() {
        let (issue, latency) = issue_and_latency(insn);
        let reads = read_kinds(insn);
        let operands_ready = reads.iter().map(|&(regs, kind)| regs.iter().map(|r| ready[r as usize][kind as usize]).max().unwrap_or(0)).max().unwrap_or(0);
        let paired = match open_slot {
            Some((j, c)) if can_pair(&insns[j], insn) && operands_ready <= c => Some(c),
            None if i == 0 && after_branch && pairs_after_branch(insn) => Some(0),
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
        last_paired = paired.is_some();
        start.push(begin);
        for &(regs, kind) in &reads {
            edges.read(regs, begin, kind);
        }
        let late = begin + latency;
        // [TR §3 jnk0le bullet] add/sub/mov results forward from the early ALU to the
        // early ALU and AGU the next cycle when issued in the older slot; so do the
        // base-register writebacks of the AGU. Other results reach the early stage a
        // cycle after the late ALU.
        // It runs there only if its operands reach the early ALU in time ("can't source
        // from late ALU of previous cycle"); otherwise the late ALU computes it.
        let early_operands = insn.reads.iter().all(|r| ready[r as usize][uses::EARLY as usize] <= begin);
        let early_producer = early_operands && ((!last_paired && early_alu(insn)) || early_shift(insn));
        let writeback = insn.mem.filter(|m| m.writeback).map(|m| m.base);
        // [TR §3 jnk0le bullet] a multiplier operand cannot come from a load of the
        // previous cycle: two cycles after the load at the earliest.
        let mul_floor = if insn.class.is_load() { begin + 2 } else { 0 };
        for r in insn.writes.iter() {
            let early = if early_producer || writeback == Some(r) { begin + 1 } else { late + 1 };
            // An early-ALU result reaches the late ALU of the same cycle (so a dependent
            // younger op may pair with it) [TR §3 jnk0le early-ALU bullet, Mastodon
            // 'ADD.W; ADD.W dependent pair can issue together'].
            let late_r = if writeback == Some(r) {
                begin + 1
            } else if early_producer {
                begin
            } else {
                late
            };
            // Accumulators are read a stage after the late ALU: a MAC result, or a
            // byte load's, is usable as the next MAC's accumulator a cycle early.
            let acc = (late_r.saturating_sub(1)).max(begin + 1);
            let mul = if writeback == Some(r) { late_r } else { late_r.max(mul_floor).max(begin + 1) };
            // Store data is read two stages after the late ALU: any result from the
            // same cycle on (a later one only for longer latencies, e.g. FP).
            let store = late_r.saturating_sub(2).max(begin);
            ready[r as usize] = [late_r, early, acc, mul, store];
            edges.write(RegSet::EMPTY.with(r), ready[r as usize]);
        }
    }
    start.push(next_free);
    (start, last_paired, edges)
}

impl CoreModel for CortexM7 {
    fn kind(&self) -> CoreKind {
        CoreKind::M7
    }

    fn block_cycles(&self, insns: &[Insn]) -> BlockTiming {
        let (start, last_paired, recorder) = schedule(insns, false);
        let next_free = *start.last().unwrap_or(&0);
        // How early the final branch's condition was known: the last flag-setting
        // instruction before it, if any in this block [TR §3 mispredict 8 vs 6].
        let early_flags = match insns.split_last() {
            Some((_, body)) => match body.iter().rposition(|i| i.writes.contains(REG_FLAGS)) {
                Some(j) => start[insns.len() - 1] >= start[j] + 3,
                None => true,
            },
            None => true,
        };
        let mut edges = recorder.finish(next_free);
        if let Some((last, body)) = insns.split_last() {
            // The final branch issued alone, so its cycle has a free younger slot [TR §3
            // jnk0le bullets 'predicted taken branch can dual-issue with one instruction at
            // the target', 'not-taken branch pairs with the next instruction'].
            edges.branch_slot_open = is_control(last) && !last_paired && !single_issue(last) && last.class != Class::Isb;
            // "requires at least 2 .n instructions executed prior to branch" (jnk0le's page).
            edges.narrow_before_branch = body.iter().rev().take(2).all(|i| i.size == 2);
        }
        // What the block costs when its first instruction takes the free slot of a branch
        // that ended the previous block: the whole schedule again, from one cycle earlier.
        edges.branch_slot_open_if_paired = edges.branch_slot_open;
        if insns.first().is_some_and(pairs_after_branch) {
            let (after, after_last_paired, _) = schedule(insns, true);
            edges.pair_delta = *after.last().unwrap_or(&0) as i32 - 1 - next_free as i32;
            edges.branch_slot_open_if_paired = edges.branch_slot_open && !after_last_paired;
        }
        BlockTiming { start, hints: BranchHints { early_flags, ..BranchHints::default() }, edges }
    }

    /// Results in flight carry over; a correctly predicted branch that issued alone
    /// takes the next block's first instruction as its partner (taken: when the two
    /// instructions before the branch are 16-bit, as jnk0le requires) [TR §3].
    fn boundary_cycles(&self, prev: &BlockEdges, next: &BlockEdges, penalty: u32, taken: bool, prev_paired: bool) -> Boundary {
        let open = if prev_paired { prev.branch_slot_open_if_paired } else { prev.branch_slot_open };
        if !open && prev.pending.is_empty() {
            return Boundary::default();
        }
        let pair = penalty == 0 && open && next.pair_delta < 0 && (!taken || prev.narrow_before_branch);
        if pair && prev.stall_before(next, 0, -1) <= 0 {
            Boundary { cycles: next.pair_delta, paired: true }
        } else {
            Boundary { cycles: prev.stall_before(next, penalty, 0).max(0), paired: false }
        }
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
        let correct = Prediction::correct(prediction, taken, target.map(|t| t.addr));
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
    fn add_sub_mov_results_reach_the_agu_next_cycle_others_a_cycle_later() {
        // [TR §3 jnk0le bullet] add/sub/mov forward from the early ALU to the AGU the next
        // cycle: MOV r4, r3 ; LDR r0, [r4] issue at 0 and 1. An EOR (late ALU) result is
        // one cycle later for an address: 0 and 2.
        let mov = Insn { mnemonic: "mov".into(), ..alu(0, 4, 3) };
        let eor = Insn { mnemonic: "eor".into(), ..alu(0, 4, 3) };
        let ld = Insn::new(2, 2, Class::Load).writing(&[0]).with_mem(MemOperand { base: 4, width: 4, ..Default::default() });
        assert_eq!(CortexM7.block_cycles(&[mov, ld.clone()]).start, vec![0, 1, 2]);
        assert_eq!(CortexM7.block_cycles(&[eor, ld]).start, vec![0, 2, 3]);
    }

    #[test]
    fn a_multiplier_operand_cannot_come_from_the_previous_cycles_load() {
        // [TR §3 jnk0le bullet] LDR r1 ; MUL r0, r1, r2 : the word load is usable by the
        // late ALU the next cycle, by a multiplier two cycles after the load.
        let ld = Insn::new(0, 2, Class::Load).writing(&[1]).with_mem(MemOperand { base: 4, width: 4, ..Default::default() });
        let mul = Insn::new(2, 4, Class::Mul).reading(&[1, 2]).writing(&[0]);
        assert_eq!(CortexM7.block_cycles(&[ld, mul]).start, vec![0, 2, 3]);
        // A plain multiply whose destination is also a source has no accumulator:
        // SMULBB r0, r1, r0 waits for r0 like any operand.
        let mac = Insn::new(0, 4, Class::Mac).reading(&[2, 3, 0]).writing(&[0]);
        let smulbb = Insn::new(4, 4, Class::Mul).reading(&[1, 0]).writing(&[0]);
        assert_eq!(CortexM7.block_cycles(&[mac, smulbb]).start, vec![0, 2, 3]);
    }

    #[test]
    fn a_correctly_predicted_branch_pairs_with_the_next_blocks_first_instruction() {
        // Loop `SUBS r0,#1 ; ADD r2,r3 ; BNE` (the calibration's loop_taken_paired): SUBS and
        // ADD pair (cycle 0), BNE issues alone (1). Predicted taken, it takes the next
        // iteration's SUBS as partner [TR §3 jnk0le: 'predicted taken branch can dual-issue
        // with one instruction at the target', the two instructions before it being 16-bit];
        // that iteration's ADD and BNE then pair (cycle 1) and leave no slot for the next
        // SUBS: iterations alternate 1 and 2 cycles, 1.5 on average (3 instructions at 2
        // per cycle).
        let subs = Insn { mnemonic: "subs".into(), ..Insn::new(0, 2, Class::Alu).reading(&[0]).writing(&[0, REG_FLAGS]) };
        let add = Insn { mnemonic: "add".into(), ..alu(2, 2, 3) };
        let bne = Insn::new(4, 2, Class::BranchCond);
        let t = CortexM7.block_cycles(&[subs, add, bne]);
        assert_eq!(t.start, vec![0, 0, 1, 2]);
        let first = CortexM7.boundary_cycles(&t.edges, &t.edges, 0, true, false);
        assert_eq!(first, Boundary { cycles: -1, paired: true });
        assert_eq!(CortexM7.boundary_cycles(&t.edges, &t.edges, 0, true, true), Boundary { cycles: 0, paired: false });
        // Mispredicted: no pairing.
        assert_eq!(CortexM7.boundary_cycles(&t.edges, &t.edges, 8, true, false), Boundary { cycles: 0, paired: false });
        // A MOV that would pair with the branch runs in the late ALU as the younger op
        // ('add, sub and non shifting mov can enter early alu from older op only'): in the
        // list-reversal loop MOV r4,r3 ; LDR r3,[r4] ; STR r2,[r4] ; MOV r2,r4 ; CMP r3,#0 ;
        // BNE the load would then wait for r4 as long as without the pairing: no gain, 4
        // cycles per iteration.
        let m = |a, rd, rn| Insn { mnemonic: "mov".into(), ..alu(a, rd, rn) };
        let mem = |base| MemOperand { base, width: 4, ..Default::default() };
        let body = [
            m(0, 4, 3),
            Insn::new(2, 2, Class::Load).writing(&[3]).with_mem(mem(4)),
            Insn::new(4, 2, Class::Store).reading(&[2]).with_mem(mem(4)),
            m(6, 2, 4),
            Insn::new(8, 2, Class::Alu).reading(&[3]).writing(&[REG_FLAGS]),
            Insn::new(10, 2, Class::BranchCond),
        ];
        let t = CortexM7.block_cycles(&body);
        assert_eq!(t.start, vec![0, 1, 1, 2, 2, 3, 4]);
        assert_eq!(CortexM7.boundary_cycles(&t.edges, &t.edges, 0, true, false).cycles, 0);
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

    #[test]
    fn a_store_takes_its_data_late_and_pairs_with_the_producer() {
        // "can store any result in same cycle, including ldr, ldrh, ldrb" [TR §3 jnk0le,
        // stores]: store data is read in EX4 [TR §3 LLVM stage map].
        let st = |a, data: u8| Insn::new(a, 2, Class::Store).reading(&[data]).with_mem(MemOperand { base: 5, width: 4, ..Default::default() });
        // ADDS r2, r3 ; STR r2, [r5]: the pair issues in one cycle.
        assert_eq!(CortexM7.block_cycles(&[alu(0, 2, 3), st(2, 2)]).start, vec![0, 0, 1]);
        // LDR r2, [r1] ; STR r2, [r5]: a load and a store pair [TR §3], the loaded value
        // stored in the same cycle.
        let ld = Insn::new(0, 2, Class::Load).writing(&[2]).with_mem(MemOperand { base: 1, width: 4, ..Default::default() });
        assert_eq!(CortexM7.block_cycles(&[ld.clone(), st(2, 2)]).start, vec![0, 0, 1]);
        // The address is no store data: LDR r5, [r1] ; STR r3, [r5] waits for r5 like any
        // address use: 2 cycles from load to address (calibration `ldr_chase`: 2 per load).
        let ld5 = Insn::new(0, 2, Class::Load).writing(&[5]).with_mem(MemOperand { base: 1, width: 4, ..Default::default() });
        assert_eq!(CortexM7.block_cycles(&[ld5, st(2, 3)]).start, vec![0, 2, 3]);
    }
}
