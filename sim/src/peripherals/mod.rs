//! The Private Peripheral Bus (0xE0000000–0xE00FFFFF): ITM, DWT and SysTick here; the
//! NVIC and exception registers in `nvic`, the rest of the System Control Space in `scs`.
//!
//! unicorn leaves this range unmapped, so simbench models the registers. Counters run on
//! *modelled* cycles, passed in as `now`, so DWT CYCCNT and SysTick agree with the report.
//! Pure logic, no emulator types: unit-tested directly. Register addresses: Armv7-M /
//! Armv8-M Architecture Reference Manual (ITM, DWT, SysTick, SCB chapters).

pub mod nvic;
pub mod scb;
pub mod vendor;

use nvic::Nvic;
use scb::{Scs, ScsEvent};
use simbench_cores::memsys::CacheMaintenance;
use std::collections::BTreeMap;

pub const ITM_STIM_END: u32 = 0xE000_0080;
pub const DWT_CTRL: u32 = 0xE000_1000;
pub const DWT_CYCCNT: u32 = 0xE000_1004;
pub const SYST_CSR: u32 = 0xE000_E010;
pub const SYST_RVR: u32 = 0xE000_E014;
pub const SYST_CVR: u32 = 0xE000_E018;
pub const SYST_CALIB: u32 = 0xE000_E01C;
pub const SCB_CPUID: u32 = 0xE000_ED00;
pub const DEMCR: u32 = 0xE000_EDFC;

const DEMCR_TRCENA: u32 = 1 << 24;
/// ITM and DWT control registers firmware writes to set up tracing (ITM TER, TPR, TCR,
/// and the CoreSight lock registers LAR/LSR of both): kept as storage, with nothing to
/// model since the ITM always accepts writes here (Armv7-M ARM C1.7, C1.8; CoreSight).
const TRACE_CONTROL: [u32; 6] = [0xE000_0E00, 0xE000_0E40, 0xE000_0E80, 0xE000_0FB0, 0xE000_0FB4, 0xE000_1FB0];
const CYCCNTENA: u32 = 1;
/// DWT_CTRL reset value: NUMCOMP = 4 comparators in bits [31:28] (Cortex-M4/M7 TRMs).
const DWT_CTRL_RESET: u32 = 0x4000_0000;

/// What a PPB write means for the rest of the simulator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PpbEvent {
    None,
    /// Bytes written to ITM stimulus port 0 (text).
    Text(Vec<u8>),
    /// A value written to ITM stimulus port 1–31 (a marker).
    Marker { port: u8, value: u32 },
    /// SCB CCR written: the L1 caches' enable bits.
    CacheControl { icache: bool, dcache: bool },
    /// A cache maintenance operation.
    Maintenance(CacheMaintenance),
    /// The MPU was reprogrammed.
    MpuChanged,
}

/// Register state of the PPB.
#[derive(Clone, Debug)]
pub struct Ppb {
    cpuid: u32,
    clock_hz: f64,
    demcr: u32,
    dwt_ctrl: u32,
    /// CYCCNT value when it last stopped or was written…
    cyccnt_held: u32,
    /// …and the modelled cycle at which it (re)started counting, when counting.
    cyccnt_since: Option<u64>,
    syst_csr: u32,
    syst_rvr: u32,
    /// (modelled cycle, current value then) when SysTick was enabled or last written.
    syst_anchor: (u64, u32),
    /// Cycle up to which COUNTFLAG has been reported (reads clear it).
    syst_flag_checked: u64,
    /// NVIC and exception state.
    pub nvic: Nvic,
    /// SCB, cache, MPU and FPU registers.
    pub scs: Scs,
    /// The exception whose handler runs now (IPSR), kept by the exception glue.
    pub ipsr: usize,
    /// Other registers, kept as plain storage.
    storage: BTreeMap<u32, u32>,
    /// Accesses to registers without a model: address → (reads, writes).
    pub unmodelled: BTreeMap<u32, (u64, u64)>,
}

impl Ppb {
    /// A PPB for a core without caches and with a default NVIC; see `for_board`.
    pub fn new(cpuid: u32, clock_hz: f64) -> Ppb {
        Ppb {
            cpuid,
            clock_hz,
            demcr: 0,
            dwt_ctrl: DWT_CTRL_RESET,
            cyccnt_held: 0,
            cyccnt_since: None,
            syst_csr: 0,
            syst_rvr: 0,
            syst_anchor: (0, 0),
            syst_flag_checked: 0,
            nvic: Nvic::new(4, 64, 0),
            scs: Scs::new(simbench_cores::CoreKind::M4, None, None),
            ipsr: 0,
            storage: BTreeMap::new(),
            unmodelled: BTreeMap::new(),
        }
    }

    /// The PPB of `board`'s core: its NVIC size and priority bits, its caches' geometry.
    pub fn for_board(board: &simbench_cores::Board, vtor: u32) -> Ppb {
        let mut p = Ppb::new(board.core.cpuid(), board.clock_hz());
        p.nvic = Nvic::new(board.nvic_prio_bits, board.irq_lines as usize, vtor);
        p.scs = Scs::new(board.core, board.icache.as_ref(), board.dcache.as_ref());
        p.scs.set_irq_lines(board.irq_lines);
        p
    }

    /// The modelled cycle, after `after`, at which SysTick next counts to 0 with its
    /// interrupt enabled (CSR.ENABLE and CSR.TICKINT), if it does.
    pub fn systick_interrupt_after(&self, after: u64) -> Option<u64> {
        if self.syst_csr & 0b10 == 0 {
            return None; // TICKINT clear
        }
        let (first, period) = self.systick_zeros()?;
        if first > after {
            return Some(first);
        }
        Some(first + ((after - first) / period + 1) * period)
    }

    fn cyccnt(&self, now: u64) -> u32 {
        match self.cyccnt_since {
            Some(since) => self.cyccnt_held.wrapping_add(now.saturating_sub(since) as u32),
            None => self.cyccnt_held,
        }
    }

    /// CYCCNT counts only with both DEMCR.TRCENA and DWT_CTRL.CYCCNTENA set.
    fn update_cyccnt_enable(&mut self, now: u64) {
        let on = self.demcr & DEMCR_TRCENA != 0 && self.dwt_ctrl & CYCCNTENA != 0;
        match (on, self.cyccnt_since) {
            (true, None) => self.cyccnt_since = Some(now),
            (false, Some(_)) => {
                self.cyccnt_held = self.cyccnt(now);
                self.cyccnt_since = None;
            }
            _ => {}
        }
    }

    fn systick_enabled(&self) -> bool {
        self.syst_csr & 1 != 0
    }

    /// SysTick current value: counts down once per (modelled) cycle from the anchor
    /// value and reloads RVR on the cycle after reaching 0.
    fn systick_at(&self, now: u64) -> u32 {
        let (t0, v0) = self.syst_anchor;
        let elapsed = now.saturating_sub(t0);
        if !self.systick_enabled() {
            return v0;
        }
        if elapsed <= v0 as u64 {
            return v0 - elapsed as u32;
        }
        let period = self.syst_rvr as u64 + 1;
        self.syst_rvr - ((elapsed - v0 as u64 - 1) % period) as u32
    }

    /// Cycle at which the counter most recently reached 0 (the event that sets
    /// COUNTFLAG), if it did after the anchor.
    fn systick_last_zero(&self, now: u64) -> Option<u64> {
        let (first, period) = self.systick_zeros()?;
        (now >= first).then(|| first + (now - first) / period * period)
    }

    /// When an enabled SysTick first counts to 0 after its anchor, and its period: from
    /// the anchor value v0 it reaches 0 after v0 cycles (or, starting at 0, after the
    /// reload: one full period), then once per period.
    fn systick_zeros(&self) -> Option<(u64, u64)> {
        if !self.systick_enabled() {
            return None;
        }
        let (t0, v0) = self.syst_anchor;
        let period = self.syst_rvr as u64 + 1;
        Some((t0 + if v0 > 0 { v0 as u64 } else { period }, period))
    }

    /// Read `size` bytes at `addr` at modelled cycle `now`.
    pub fn read(&mut self, addr: u32, now: u64) -> u32 {
        match addr {
            // ITM stimulus ports read 1 = FIFO ready, so firmware never waits.
            0xE000_0000..ITM_STIM_END => 1,
            DWT_CTRL => self.dwt_ctrl,
            DWT_CYCCNT => self.cyccnt(now),
            DEMCR => self.demcr,
            SCB_CPUID => self.cpuid,
            SYST_CSR => {
                let flag = match self.systick_last_zero(now) {
                    Some(w) if w > self.syst_flag_checked => 1 << 16,
                    _ => 0,
                };
                self.syst_flag_checked = now;
                self.syst_csr | flag
            }
            SYST_RVR => self.syst_rvr,
            SYST_CVR => self.systick_at(now),
            // NOREF = 1, TENMS = cycles in 10 ms at the board clock (24 bits).
            SYST_CALIB => (1 << 31) | (((self.clock_hz / 100.0) as u32).saturating_sub(1) & 0x00FF_FFFF),
            _ => {
                if let Some(v) = self.nvic.read(addr, self.ipsr).or_else(|| self.scs.read(addr)) {
                    return v;
                }
                if !TRACE_CONTROL.contains(&addr) {
                    self.unmodelled.entry(addr).or_default().0 += 1;
                }
                self.storage.get(&addr).copied().unwrap_or(0)
            }
        }
    }

    /// Write `value` (`size` bytes) at `addr` at modelled cycle `now`.
    pub fn write(&mut self, addr: u32, size: usize, value: u32, now: u64) -> PpbEvent {
        match addr {
            0xE000_0000..ITM_STIM_END => {
                let port = ((addr - 0xE000_0000) / 4) as u8;
                if port == 0 {
                    PpbEvent::Text(value.to_le_bytes()[..size.min(4)].to_vec())
                } else {
                    PpbEvent::Marker { port, value }
                }
            }
            DWT_CTRL => {
                // NUMCOMP and other ID fields are read-only.
                self.dwt_ctrl = (DWT_CTRL_RESET & 0xF000_0000) | (value & 0x0FFF_FFFF);
                self.update_cyccnt_enable(now);
                PpbEvent::None
            }
            DWT_CYCCNT => {
                self.cyccnt_held = value;
                if self.cyccnt_since.is_some() {
                    self.cyccnt_since = Some(now);
                }
                PpbEvent::None
            }
            DEMCR => {
                self.demcr = value;
                self.update_cyccnt_enable(now);
                PpbEvent::None
            }
            SCB_CPUID | SYST_CALIB => PpbEvent::None,
            SYST_CSR => {
                let current = self.systick_at(now);
                let was_enabled = self.systick_enabled();
                self.syst_csr = value & 0x7;
                if !was_enabled || !self.systick_enabled() {
                    self.syst_anchor = (now, current);
                }
                self.nvic.check_due = true;
                PpbEvent::None
            }
            SYST_RVR => {
                self.syst_rvr = value & 0x00FF_FFFF;
                self.nvic.check_due = true;
                PpbEvent::None
            }
            SYST_CVR => {
                // Any write clears the counter to 0 and clears COUNTFLAG.
                self.syst_anchor = (now, 0);
                self.syst_flag_checked = now;
                self.nvic.check_due = true;
                PpbEvent::None
            }
            _ => {
                if self.nvic.write(addr, size, value) {
                    return PpbEvent::None;
                }
                match self.scs.write(addr, value) {
                    Some(ScsEvent::None) => PpbEvent::None,
                    Some(ScsEvent::CacheControl { icache, dcache }) => PpbEvent::CacheControl { icache, dcache },
                    Some(ScsEvent::Maintenance(op)) => PpbEvent::Maintenance(op),
                    Some(ScsEvent::MpuChanged) => PpbEvent::MpuChanged,
                    None => {
                        if !TRACE_CONTROL.contains(&addr) {
                            self.unmodelled.entry(addr).or_default().1 += 1;
                        }
                        self.storage.insert(addr, value);
                        PpbEvent::None
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cyccnt_counts_modelled_cycles_only_when_enabled() {
        let mut p = Ppb::new(0x410F_C241, 100e6);
        assert_eq!(p.read(DWT_CYCCNT, 50), 0);
        p.write(DWT_CTRL, 4, 1, 100); // CYCCNTENA without TRCENA: still stopped
        assert_eq!(p.read(DWT_CYCCNT, 200), 0);
        p.write(DEMCR, 4, DEMCR_TRCENA, 300);
        assert_eq!(p.read(DWT_CYCCNT, 1300), 1000);
        p.write(DWT_CYCCNT, 4, 5, 1400);
        assert_eq!(p.read(DWT_CYCCNT, 1410), 15);
        p.write(DWT_CTRL, 4, 0, 1500); // stop: holds 105
        assert_eq!(p.read(DWT_CYCCNT, 9999), 105);
        assert_eq!(p.read(DWT_CTRL, 0) >> 28, 4);
    }

    #[test]
    fn systick_counts_down_and_reloads() {
        let mut p = Ppb::new(0, 100e6);
        p.write(SYST_RVR, 4, 99, 0);
        p.write(SYST_CVR, 4, 0, 0);
        p.write(SYST_CSR, 4, 0b101, 1000); // enable, processor clock; current value 0
        // At the first cycle it reloads to 99, then counts down.
        assert_eq!(p.read(SYST_CVR, 1001), 99);
        assert_eq!(p.read(SYST_CVR, 1011), 89);
        // Reloading from 0 is not a count to 0: COUNTFLAG stays clear…
        assert_eq!(p.read(SYST_CSR, 1011) & (1 << 16), 0);
        // …until the counter reaches 0 at cycle 1100, then reading CSR clears it.
        assert_eq!(p.read(SYST_CVR, 1100), 0);
        assert_eq!(p.read(SYST_CSR, 1100) & (1 << 16), 1 << 16);
        assert_eq!(p.read(SYST_CSR, 1150) & (1 << 16), 0);
        assert_eq!(p.read(SYST_CVR, 1101), 99); // reloaded: one full period of 100 cycles
    }

    #[test]
    fn itm_ports_and_storage() {
        let mut p = Ppb::new(0x411F_C272, 500e6);
        assert_eq!(p.read(0xE000_0000, 0), 1);
        assert_eq!(p.write(0xE000_0000, 1, b'A' as u32, 0), PpbEvent::Text(vec![b'A']));
        assert_eq!(p.write(0xE000_0014, 4, 7, 0), PpbEvent::Marker { port: 5, value: 7 });
        assert_eq!(p.read(SCB_CPUID, 0), 0x411F_C272);
        p.write(crate::peripherals::scb::CPACR, 4, 0xF << 20, 0);
        assert_eq!(p.read(crate::peripherals::scb::CPACR, 0), 0xF << 20);
        p.write(0xE000_ED08, 4, 0x6000_2000, 0); // VTOR: modelled by the NVIC
        assert_eq!(p.read(0xE000_ED08, 0), 0x6000_2000);
        assert!(p.unmodelled.is_empty());
        p.write(0xE004_2000, 4, 5, 0); // nothing there: storage, counted as unmodelled
        assert_eq!(p.read(0xE004_2000, 0), 5);
        assert_eq!(p.unmodelled.get(&0xE004_2000), Some(&(1, 1)));
    }

    #[test]
    fn ccr_switches_the_l1_caches() {
        let mut p = Ppb::for_board(&simbench_cores::Board::preset("mimxrt1011").unwrap(), 0);
        let ccr = crate::peripherals::scb::CCR;
        assert_eq!(p.read(ccr, 0), 0x200);
        assert_eq!(p.write(ccr, 4, 0x200 | 1 << 17, 0), PpbEvent::CacheControl { icache: true, dcache: false });
        assert_eq!(p.read(ccr, 0), 0x200 | 1 << 17);
        assert_eq!(p.write(crate::peripherals::scb::ICIALLU, 4, 0, 0), PpbEvent::Maintenance(CacheMaintenance::InvalidateICache));
        assert!(p.unmodelled.is_empty());
    }

    #[test]
    fn systick_interrupt_times() {
        let mut p = Ppb::new(0, 100e6);
        p.write(SYST_RVR, 4, 999, 0);
        p.write(SYST_CVR, 4, 0, 0);
        p.write(SYST_CSR, 4, 0b101, 500);
        assert_eq!(p.systick_interrupt_after(500), None, "TICKINT clear");
        p.write(SYST_CSR, 4, 0b111, 500); // still enabled: the anchor stays at cycle 500
        // From 0 the counter reloads, then counts 1000 cycles to 0: cycle 1500, 2500, …
        assert_eq!(p.systick_interrupt_after(500), Some(1500));
        assert_eq!(p.systick_interrupt_after(1500), Some(2500));
        assert_eq!(p.systick_interrupt_after(2499), Some(2500));
        // At those cycles COUNTFLAG agrees.
        assert_eq!(p.read(SYST_CVR, 2500), 0);
    }
}
