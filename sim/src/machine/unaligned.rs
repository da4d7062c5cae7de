//! CCR.UNALIGN_TRP: with the bit set, an unaligned LDR, STR, LDRH, LDRSH or STRH (and
//! their unprivileged and exclusive forms) is a UsageFault UNALIGNED instead of an access
//! (Armv7-M ARM A3.2.1 and B3.2.8; Armv8-M keeps the bit). unicorn never sees simbench's
//! CCR, so once the firmware sets the bit a code hook checks each such instruction's
//! effective address before it runs. Only firmware that asks for the trap pays for it.

use super::*;
use simbench_cores::insn::MemOperand;

/// CCR.UNALIGN_TRP.
pub(super) const CCR_UNALIGN_TRP: u32 = 1 << 3;

/// The firmware set CCR.UNALIGN_TRP: check every instruction from now on (called at a
/// block entry; the translations made without the hook are dropped).
pub(super) fn arm_unaligned_trap(uc: &mut Unicorn<State>) {
    let st = uc.get_data_mut();
    st.unaligned_trap_pending = false;
    if st.unaligned_hooked {
        return;
    }
    if uc.add_code_hook(1, 0, |uc, pc, _size| check(uc, pc as u32)).is_ok() {
        uc.get_data_mut().unaligned_hooked = true;
        let _ = uc.ctl_remove_cache(0, u32::MAX as u64);
    }
}

/// Fault the instruction at `pc` if the trap is on and it is about to make an unaligned
/// single access.
fn check(uc: &mut Unicorn<State>, pc: u32) {
    uc.get_data_mut().catch_up(None);
    let (width, ea) = {
        let st = uc.get_data();
        if st.ppb.scs.ccr & CCR_UNALIGN_TRP == 0 {
            return;
        }
        let Some(b) = st.blocks.get(st.cur) else { return };
        let Some(a) = b.accesses.iter().find(|a| b.addrs[a.index as usize] == pc) else { return };
        if a.trap_width == 0 {
            return;
        }
        let xpsr = uc.reg_read(RegisterARM::XPSR).unwrap_or(0) as u32;
        if !condition_passes(a.cond, xpsr) {
            return;
        }
        (a.trap_width as u32, effective_address(uc, &a.mem, pc))
    };
    if ea % width == 0 {
        return;
    }
    clear_stale_it_state(uc);
    let message = format!(
        "firmware fault: an unaligned {}-byte access to {ea:#010x} with CCR.UNALIGN_TRP set (UsageFault UNALIGNED) at {}",
        width,
        uc.get_data().describe(pc)
    );
    exceptions::deliver_fault(uc, FaultKind::Usage(cfsr::UNALIGNED), pc, "unaligned", &message);
}

/// The address a single load or store at `pc` accesses with the registers as they are now:
/// base plus the shifted index or the offset; post-indexed forms (offset 0 in the decoded
/// operand) access the base. A literal load's base is the word-aligned PC + 4.
fn effective_address(uc: &Unicorn<State>, m: &MemOperand, pc: u32) -> u32 {
    let reg = |r: u8| read_core_reg(uc, r);
    let base = if m.pc_relative { (pc + 4) & !3 } else { reg(m.base) };
    match m.index {
        Some(ix) => base.wrapping_add(reg(ix) << m.shift),
        None => base.wrapping_add(m.disp as u32),
    }
}

/// Whether condition `cond` (Armv7-M ARM A7.3, 14 = always) holds for the APSR flags in
/// `xpsr`.
pub(super) fn condition_passes(cond: u8, xpsr: u32) -> bool {
    let (n, z, c, v) = (xpsr >> 31 & 1 == 1, xpsr >> 30 & 1 == 1, xpsr >> 29 & 1 == 1, xpsr >> 28 & 1 == 1);
    match cond {
        0 => z,
        1 => !z,
        2 => c,
        3 => !c,
        4 => n,
        5 => !n,
        6 => v,
        7 => !v,
        8 => c && !z,
        9 => !c || z,
        10 => n == v,
        11 => n != v,
        12 => !z && n == v,
        13 => z || n != v,
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::condition_passes;

    #[test]
    fn conditions_follow_the_flags() {
        const N: u32 = 1 << 31;
        const Z: u32 = 1 << 30;
        const C: u32 = 1 << 29;
        const V: u32 = 1 << 28;
        // EQ/NE on Z; HI needs C and not Z; GE is N == V; GT also needs not Z; AL always.
        assert!(condition_passes(0, Z) && !condition_passes(0, 0));
        assert!(condition_passes(1, 0) && !condition_passes(1, Z));
        assert!(condition_passes(8, C) && !condition_passes(8, C | Z) && !condition_passes(8, 0));
        assert!(condition_passes(10, N | V) && condition_passes(10, 0) && !condition_passes(10, N));
        assert!(condition_passes(12, 0) && !condition_passes(12, Z) && !condition_passes(12, V));
        assert!(condition_passes(13, Z) && condition_passes(13, N) && !condition_passes(13, 0));
        assert!(condition_passes(14, 0) && condition_passes(14, N | Z | C | V));
    }
}
