//! The registers and memory of a debugged machine as a probe sees them.

use super::*;

impl Debuggee {
    pub fn read_register(&self, r: CoreReg) -> Option<u64> {
        let uc = &self.uc;
        let read = |reg: RegisterARM| uc.reg_read(reg).ok();
        match r {
            CoreReg::R(15) => Some(pc_of(uc) as u64 & !1),
            CoreReg::R(n @ 0..=14) => read(core_reg(n)?),
            CoreReg::R(_) => None,
            // QEMU believes the core stays in Thread mode: IPSR is simbench's.
            CoreReg::Xpsr => read(RegisterARM::XPSR).map(|x| (x & !0x1FF) | 1 << 24 | self.uc.get_data().ppb.ipsr as u64),
            CoreReg::Msp => read(RegisterARM::MSP),
            CoreReg::Psp => read(RegisterARM::PSP),
            CoreReg::Primask => read(RegisterARM::PRIMASK),
            CoreReg::Basepri => read(RegisterARM::BASEPRI),
            CoreReg::Faultmask => read(RegisterARM::FAULTMASK),
            CoreReg::Control => read(RegisterARM::CONTROL),
            CoreReg::D(n @ 0..=15) => read(reg_d(n)),
            CoreReg::D(_) => None,
            CoreReg::Fpscr => read(RegisterARM::FPSCR),
        }
    }

    pub fn write_register(&mut self, r: CoreReg, v: u64) -> bool {
        let reg = match r {
            CoreReg::R(15) => {
                let ok = self.uc.reg_write(RegisterARM::PC, v | 1).is_ok();
                return ok;
            }
            CoreReg::R(n @ 0..=14) => match core_reg(n) {
                Some(reg) => reg,
                None => return false,
            },
            CoreReg::R(_) => return false,
            // The flags; IPSR and the execution state stay as they are.
            CoreReg::Xpsr => RegisterARM::APSR_NZCVQG,
            CoreReg::Msp => RegisterARM::MSP,
            CoreReg::Psp => RegisterARM::PSP,
            CoreReg::Primask => RegisterARM::PRIMASK,
            CoreReg::Basepri => RegisterARM::BASEPRI,
            CoreReg::Faultmask => RegisterARM::FAULTMASK,
            CoreReg::Control => RegisterARM::CONTROL,
            CoreReg::D(n @ 0..=15) => reg_d(n),
            CoreReg::D(_) => return false,
            CoreReg::Fpscr => RegisterARM::FPSCR,
        };
        let ok = self.uc.reg_write(reg, v).is_ok();
        if matches!(r, CoreReg::Primask | CoreReg::Basepri | CoreReg::Faultmask) {
            // A pending exception may be unmasked now.
            self.uc.get_data_mut().ppb.nvic.check_due = true;
        }
        ok
    }

    /// Read memory as a probe does, without side effects: peripheral registers are read
    /// from copies of their models. A read that starts in unmapped space gives None; one
    /// that runs into it gives the bytes before.
    pub fn read_memory(&self, addr: u32, len: usize) -> Option<Vec<u8>> {
        let st = self.uc.get_data();
        let now = self.position().cycles;
        let mut ppb: Option<Ppb> = None;
        let mut periph: Option<Peripherals> = None;
        let mut out = Vec::with_capacity(len);
        let end = addr as u64 + len as u64;
        let mut a = addr as u64;
        while a < end {
            let a32 = a as u32;
            if (PPB_BASE as u64..PPB_BASE as u64 + PPB_SIZE as u64).contains(&a) {
                let p = ppb.get_or_insert_with(|| st.ppb.clone());
                let word = p.read(a32 & !3, now).to_le_bytes();
                out.push(word[(a32 & 3) as usize]);
                a += 1;
                continue;
            }
            let Some((_, r)) = st.board.region_of(a32) else { break };
            if !r.kind.is_memory() {
                let v = if r.kind == RegionKind::Peripheral { periph.get_or_insert_with(|| st.periph.clone()).read(a32 & !3, 4) } else { 0 };
                out.push(v.to_le_bytes()[(a32 & 3) as usize]);
                a += 1;
                continue;
            }
            let chunk = (end.min(r.end()) - a) as usize;
            let mut buf = vec![0u8; chunk];
            if self.uc.mem_read(a, &mut buf).is_err() {
                break;
            }
            out.extend_from_slice(&buf);
            a += chunk as u64;
        }
        (!out.is_empty() || len == 0).then_some(out)
    }

    /// Write memory as a probe does (flash included). Writes to code drop its
    /// translations; writes to peripheral registers reach their models.
    pub fn write_memory(&mut self, addr: u32, bytes: &[u8]) -> bool {
        let end = addr as u64 + bytes.len() as u64;
        let mapped = {
            let st = self.uc.get_data();
            let ppb = (PPB_BASE as u64..PPB_BASE as u64 + PPB_SIZE as u64).contains(&(addr as u64));
            ppb || st.board.region_of(addr).is_some_and(|(_, r)| r.end() >= end)
        };
        if !mapped {
            return false;
        }
        // A peripheral write's callback locates its instruction: keep the cursor.
        let cursor = self.uc.get_data().access_cursor;
        let ok = self.uc.mem_write(addr as u64, bytes).is_ok();
        self.uc.get_data_mut().access_cursor = cursor;
        let _ = self.uc.ctl_remove_cache(addr as u64, end);
        ok
    }

    /// The firmware output captured so far (also sent to the console as it comes).
    pub fn output(&self) -> &[u8] {
        &self.uc.get_data().output
    }

    /// Where the PC is, as `symbol+offset`.
    pub fn describe(&self, pc: u32) -> String {
        self.uc.get_data().image.describe(pc)
    }
}

fn reg_d(n: u8) -> RegisterARM {
    const D: [RegisterARM; 16] = [
        RegisterARM::D0,
        RegisterARM::D1,
        RegisterARM::D2,
        RegisterARM::D3,
        RegisterARM::D4,
        RegisterARM::D5,
        RegisterARM::D6,
        RegisterARM::D7,
        RegisterARM::D8,
        RegisterARM::D9,
        RegisterARM::D10,
        RegisterARM::D11,
        RegisterARM::D12,
        RegisterARM::D13,
        RegisterARM::D14,
        RegisterARM::D15,
    ];
    D[n as usize]
}
