//! MRS of IPSR inside a handler. simbench keeps the exception state itself and unicorn's
//! core stays in Thread mode, so an MRS of IPSR, IAPSR, IEPSR or xPSR reads exception
//! number 0 from unicorn. RTOS ports ask exactly this to know whether they run in an
//! interrupt (FreeRTOS `xPortIsInsideInterrupt`, CMSIS-RTOS2 `IsException`). Each such
//! MRS gets a code hook that notes its destination register, and the instruction after
//! it one that ORs in the exception number simbench keeps.

use super::*;

/// The destination register of an MRS (T1: `F3EF 8dss`) whose PSR view includes IPSR:
/// SYSm 1 IAPSR, 3 xPSR, 5 IPSR, 7 IEPSR (Armv7-M ARM B5.2.2).
pub(super) fn mrs_ipsr_rd(enc: &[u8]) -> Option<u8> {
    if enc.len() < 4 {
        return None;
    }
    let hw1 = u16::from_le_bytes([enc[0], enc[1]]);
    let hw2 = u16::from_le_bytes([enc[2], enc[3]]);
    let sysm = hw2 & 0xFF;
    let rd = (hw2 >> 8 & 0xF) as u8;
    (hw1 == 0xF3EF && hw2 & 0xF000 == 0x8000 && sysm < 8 && sysm & 1 == 1 && rd < 13).then_some(rd)
}

/// Hook every IPSR-reading MRS the image holds, before the run starts. (A matching
/// pattern in data gets hooks that never fire.)
pub(super) fn hook_image_ipsr_reads(uc: &mut Unicorn<State>) {
    let found: Vec<(u32, u8)> = uc
        .get_data()
        .image
        .segments
        .iter()
        .flat_map(|seg| (0..seg.data.len().saturating_sub(3)).step_by(2).filter_map(move |i| mrs_ipsr_rd(&seg.data[i..]).map(|rd| (seg.paddr + i as u32, rd))))
        .collect();
    for (addr, rd) in found {
        add_ipsr_read_hooks(uc, addr, rd);
    }
}

/// Hook the IPSR-reading MRS of a newly decoded block (code the image did not hold at its
/// address, e.g. copied to RAM), and drop its translation so the next run has the hooks.
pub(super) fn hook_block_ipsr_reads(uc: &mut Unicorn<State>, idx: usize, code: &[u8]) {
    let (start, end, new): (u32, u32, Vec<(u32, u8)>) = {
        let st = uc.get_data();
        let hot = &st.hot[idx];
        let new = st.blocks[idx]
            .addrs
            .iter()
            .filter(|a| !st.ipsr_read_hooks.contains(a))
            .filter_map(|&a| code.get((a - hot.start) as usize..).and_then(mrs_ipsr_rd).map(|rd| (a, rd)))
            .collect();
        (hot.start, hot.end, new)
    };
    if new.is_empty() {
        return;
    }
    for (addr, rd) in new {
        add_ipsr_read_hooks(uc, addr, rd);
    }
    let _ = uc.ctl_remove_cache(start as u64, end as u64);
}

fn add_ipsr_read_hooks(uc: &mut Unicorn<State>, addr: u32, rd: u8) {
    if !uc.get_data_mut().ipsr_read_hooks.insert(addr) {
        return;
    }
    let next = addr + 4;
    let _ = uc.add_code_hook(addr as u64, addr as u64, move |uc, _pc, _size| {
        uc.get_data_mut().catch_up(None);
        clear_stale_it_state(uc);
        let st = uc.get_data_mut();
        st.ipsr_read = (st.ppb.ipsr != 0).then_some((rd, next));
    });
    let _ = uc.add_code_hook(next as u64, next as u64, move |uc, pc, _size| {
        uc.get_data_mut().catch_up(None);
        let pending = uc.get_data_mut().ipsr_read.take();
        if pending != Some((rd, pc as u32)) {
            return;
        }
        clear_stale_it_state(uc);
        let Some(reg) = core_reg(rd) else { return };
        let value = uc.reg_read(reg).unwrap_or(0) as u32 & !0x1FF | (uc.get_data().ppb.ipsr as u32 & 0x1FF);
        let _ = uc.reg_write(reg, value as u64);
    });
}

#[cfg(test)]
mod tests {
    use super::mrs_ipsr_rd;

    #[test]
    fn finds_the_psr_views_that_include_ipsr() {
        // mrs r3, ipsr (f3ef 8305); mrs r0, xpsr (f3ef 8003); mrs r1, iepsr (f3ef 8107)
        assert_eq!(mrs_ipsr_rd(&[0xef, 0xf3, 0x05, 0x83]), Some(3));
        assert_eq!(mrs_ipsr_rd(&[0xef, 0xf3, 0x03, 0x80]), Some(0));
        assert_eq!(mrs_ipsr_rd(&[0xef, 0xf3, 0x07, 0x81]), Some(1));
        // mrs r0, apsr (SYSm 0), mrs r0, epsr (6), mrs r0, msp (8), mrs r0, primask (16): no
        for sysm in [0u8, 6, 8, 16] {
            assert_eq!(mrs_ipsr_rd(&[0xef, 0xf3, sysm, 0x80]), None, "SYSm {sysm}");
        }
        // msr ipsr-like encoding (f380 8805) and a short slice: no
        assert_eq!(mrs_ipsr_rd(&[0x80, 0xf3, 0x05, 0x88]), None);
        assert_eq!(mrs_ipsr_rd(&[0xef, 0xf3]), None);
    }
}
