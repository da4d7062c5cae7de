//! SDIV/UDIV hooks: in detailed mode a code hook on each divide replaces its static cost
//! with the one its operands give; with CCR.DIV_0_TRP set (any mode) a divide by zero is
//! a UsageFault DIVBYZERO instead of giving 0 (Armv7-M ARM B3.2.8).

use super::*;

/// Whether `enc` (4 bytes, little-endian halfwords) is SDIV or UDIV, T1 encoding:
/// `FB9n`/`FBBn` then `Fd Fm` (Armv7-M ARM A7.7.127 SDIV, A7.7.195 UDIV).
pub(super) fn is_divide(enc: &[u8]) -> bool {
    enc.len() >= 4 && {
        let hw1 = u16::from_le_bytes([enc[0], enc[1]]);
        let hw2 = u16::from_le_bytes([enc[2], enc[3]]);
        hw1 & 0xFFD0 == 0xFB90 && hw2 & 0xF0F0 == 0xF0F0
    }
}

/// CCR.DIV_0_TRP.
const CCR_DIV_0_TRP: u32 = 1 << 4;

/// Divides are timed from their operands (detailed mode, on cores whose divide time
/// depends on them).
fn timed(st: &State) -> bool {
    st.fidelity == Fidelity::Detailed && st.model.divide_cycles(1, 1, false).is_some()
}

fn trapping(st: &State) -> bool {
    st.ppb.scs.ccr & CCR_DIV_0_TRP != 0
}

/// Divides need a hook: to time them, or to trap a divide by zero.
fn wanted(st: &State) -> bool {
    timed(st) || trapping(st)
}

/// The firmware set CCR.DIV_0_TRP: hook every divide from now on and drop every
/// translation, so the next divide by zero traps (called at a block entry).
pub(super) fn arm_divide_trap(uc: &mut Unicorn<State>) {
    uc.get_data_mut().divide_trap_pending = false;
    hook_image_divides(uc);
    let _ = uc.ctl_remove_cache(0, u32::MAX as u64);
}

/// In detailed timing, hook every SDIV/UDIV the image holds before the run starts, so
/// even a divide executed once is timed from its operands. (A matching pattern in data
/// gets a hook that never fires.) Code that appears later, e.g. copied to RAM by the
/// start-up code, is caught by `hook_divides` when its block is first decoded.
pub(super) fn hook_image_divides(uc: &mut Unicorn<State>) {
    let addrs: Vec<u32> = {
        let st = uc.get_data();
        if !wanted(st) {
            return;
        }
        st.image
            .segments
            .iter()
            .flat_map(|seg| (0..seg.data.len().saturating_sub(3)).step_by(2).filter(|&i| is_divide(&seg.data[i..])).map(move |i| seg.paddr + i as u32))
            .collect()
    };
    for a in addrs {
        add_divide_hook(uc, a);
    }
}

/// A code hook on the divide at `addr` that corrects its cost from the operands.
pub(super) fn add_divide_hook(uc: &mut Unicorn<State>, addr: u32) {
    if uc.get_data().divide_hooks.contains(&addr) {
        return;
    }
    let hooked = uc.add_code_hook(addr as u64, addr as u64, |uc, pc, _size| {
        uc.get_data_mut().catch_up(None);
        let mut enc = [0u8; 4];
        if uc.mem_read(pc, &mut enc).is_err() || !is_divide(&enc) {
            return;
        }
        let hw1 = u16::from_le_bytes([enc[0], enc[1]]);
        let hw2 = u16::from_le_bytes([enc[2], enc[3]]);
        let signed = hw1 & 0xFFF0 == 0xFB90;
        let reg = |uc: &Unicorn<State>, r: u16| read_core_reg(uc, r as u8);
        let (a, b) = (reg(uc, hw1 & 0xF), reg(uc, hw2 & 0xF));
        clear_stale_it_state(uc);
        if b == 0 && trapping(uc.get_data()) {
            let pc = pc as u32;
            let message = format!("firmware fault: a divide by zero with CCR.DIV_0_TRP set (UsageFault DIVBYZERO) at {}", uc.get_data().describe(pc));
            exceptions::deliver_fault(uc, FaultKind::Usage(cfsr::DIVBYZERO), pc, "divide-by-zero", &message);
            return;
        }
        if timed(uc.get_data()) {
            uc.get_data_mut().correct_divide(a, b, signed);
        }
    });
    if hooked.is_ok() {
        uc.get_data_mut().divide_hooks.insert(addr);
    }
}

/// In detailed timing, give each SDIV/UDIV of a newly decoded block that has no hook yet
/// one, and drop the block's translation so its next run has the hook (this first run
/// keeps the static cost).
pub(super) fn hook_divides(uc: &mut Unicorn<State>, idx: usize) {
    let (start, end, new): (u32, u32, Vec<u32>) = {
        let st = uc.get_data();
        if !wanted(st) {
            return;
        }
        let (b, hot) = (&st.blocks[idx], &st.hot[idx]);
        (hot.start, hot.end, b.divides.iter().copied().filter(|a| !st.divide_hooks.contains(a)).collect())
    };
    if new.is_empty() {
        return;
    }
    for a in new {
        add_divide_hook(uc, a);
    }
    let _ = uc.ctl_remove_cache(start as u64, end as u64);
}
