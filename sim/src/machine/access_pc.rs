//! Which instruction of the running block made a data access. Inside an MMIO callback or
//! the invalid-access hook unicorn's PC is that of the block's start (QEMU writes the PC
//! back only at block ends and helpers), but the general registers are current: QEMU
//! syncs them before every load and store. So the access is matched against the block's
//! memory instructions by effective address, in program order from the last match, and
//! DWT CYCCNT, SysTick and the PC of a faulting store come out at the instruction's own
//! cycle and address.

use super::*;
use simbench_cores::insn::MemOperand;

/// A memory instruction of a block, for locating accesses: its index in the block, its
/// addressing, the register count of LDM/STM/PUSH/POP (0 otherwise), the width CCR.UNALIGN_TRP
/// checks its address against (0 when the trap does not apply), and its condition.
#[derive(Clone, Copy, Debug)]
pub(super) struct Access {
    pub(super) index: u16,
    pub(super) mem: MemOperand,
    pub(super) nregs: u8,
    pub(super) trap_width: u8,
    pub(super) cond: u8,
}

/// The memory instructions of a decoded block.
pub(super) fn accesses(insns: &[Insn]) -> Box<[Access]> {
    insns
        .iter()
        .enumerate()
        .filter_map(|(i, insn)| {
            let mem = insn.mem?;
            let multiple = matches!(insn.class, Class::LoadMultiple | Class::StoreMultiple | Class::FpLoadMultiple | Class::FpStoreMultiple);
            // Single word and halfword loads and stores, the accesses that may be unaligned
            // unless CCR.UNALIGN_TRP is set (Armv7-M ARM A3.2.1).
            let single = matches!(insn.class, Class::Load | Class::Store) && matches!(mem.width, 2 | 4);
            Some(Access {
                index: u16::try_from(i).ok()?,
                mem,
                nregs: if multiple { insn.nregs.max(1) } else { 0 },
                trap_width: if single { mem.width } else { 0 },
                cond: insn.cond,
            })
        })
        .collect()
}

fn reg(uc: &Unicorn<State>, r: u8) -> u32 {
    read_core_reg(uc, r)
}

/// Whether `a` can have accessed `addr` with the registers as they are now.
fn could_access(uc: &Unicorn<State>, a: &Access, pc: u32, addr: u32) -> bool {
    let m = a.mem;
    let base = if m.pc_relative { (pc + 4) & !3 } else { reg(uc, m.base) };
    if a.nregs > 0 {
        // LDM/STM/PUSH/POP: anywhere within the register list's span either side of the base.
        let span = 8 * a.nregs as u32;
        return addr.wrapping_sub(base.wrapping_sub(span)) < 2 * span;
    }
    let width = m.width.max(1) as u32;
    let hits = |ea: u32| addr.wrapping_sub(ea) < width;
    match m.index {
        // Register offset, shifted left by 0–3.
        Some(ix) => (0..4).any(|k| hits(base.wrapping_add(reg(uc, ix) << k))),
        // Immediate offset, or post-indexed (the access is at the base).
        None => hits(base.wrapping_add(m.disp as u32)) || (m.writeback && hits(base)),
    }
}

/// The address of the instruction of the current block that accessed `addr`, and its
/// index; None outside a known block (the caller falls back on unicorn's PC).
pub(super) fn locate(uc: &mut Unicorn<State>, addr: u32) -> Option<(u32, usize)> {
    let (found, next) = {
        let st = uc.get_data();
        let b = st.blocks.get(st.cur)?;
        let from = st.access_cursor;
        let candidates = b.accesses.iter().filter(|a| a.index as usize >= from);
        let found = candidates.clone().find(|a| could_access(uc, a, b.addrs[a.index as usize], addr)).or_else(|| candidates.clone().next())?;
        (found.index as usize, b.addrs[found.index as usize])
    };
    uc.get_data_mut().access_cursor = found + 1;
    Some((next, found))
}

/// The PC of the instruction that made the data access to `addr` now: located in the
/// block, else unicorn's.
pub(super) fn access_pc(uc: &mut Unicorn<State>, addr: u32) -> u32 {
    match locate(uc, addr) {
        Some((pc, _)) => pc,
        None => pc_of(uc),
    }
}
