//! The Private Peripheral Bus (0xE0000000–0xE00FFFFF), one module per peripheral: `itm`,
//! `dwt`, `systick`, `nvic` (with the SCB's exception registers), `scb` (identification,
//! configuration, caches, FPU context registers), `mpu`; `vendor` models the board's own
//! peripheral registers outside the PPB.
//!
//! unicorn leaves this range unmapped, so simbench models the registers. Counters run on
//! *modelled* cycles, passed in as `now`, so DWT CYCCNT and SysTick agree with the report.
//! Pure logic, no emulator types: unit-tested directly. Register addresses: Armv7-M /
//! Armv8-M Architecture Reference Manual (ITM, DWT, SysTick, SCB chapters).

pub mod dwt;
pub mod itm;
pub mod mpu;
pub mod nvic;
pub mod scb;
pub mod systick;
pub mod vendor;

pub use dwt::{DEMCR, DWT_CTRL, DWT_CYCCNT};
pub use itm::ITM_STIM_END;
pub use systick::{SYST_CALIB, SYST_CSR, SYST_CVR, SYST_RVR};

use dwt::Dwt;
use itm::Stimulus;
use nvic::Nvic;
use scb::{Scs, ScsEvent};
use simbench_cores::memsys::CacheMaintenance;
use std::collections::BTreeMap;
use systick::SysTick;

pub const SCB_CPUID: u32 = 0xE000_ED00;

/// ITM and DWT control registers firmware writes to set up tracing (ITM TER, TPR, TCR,
/// and the CoreSight lock registers LAR/LSR of both): kept as storage, with nothing to
/// model since the ITM always accepts writes here (Armv7-M ARM C1.7, C1.8; CoreSight).
const TRACE_CONTROL: [u32; 6] = [0xE000_0E00, 0xE000_0E40, 0xE000_0E80, 0xE000_0FB0, 0xE000_0FB4, 0xE000_1FB0];

/// What a PPB write means for the rest of the simulator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PpbEvent {
    None,
    /// Bytes written to ITM stimulus port 0 (text).
    Text(Vec<u8>),
    /// A value written to ITM stimulus port 1–31 (a marker).
    Marker {
        port: u8,
        value: u32,
    },
    /// SCB CCR written: the L1 caches' enable bits.
    CacheControl {
        icache: bool,
        dcache: bool,
    },
    /// A cache maintenance operation.
    Maintenance(CacheMaintenance),
    /// The MPU was reprogrammed.
    MpuChanged,
}

/// Register state of the PPB.
#[derive(Clone, Debug)]
pub struct Ppb {
    cpuid: u32,
    dwt: Dwt,
    systick: SysTick,
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
            dwt: Dwt::default(),
            systick: SysTick::new(clock_hz),
            nvic: Nvic::new(4, 64, 0),
            scs: Scs::new(simbench_cores::CoreKind::M4, None, None),
            ipsr: 0,
            storage: BTreeMap::new(),
            unmodelled: BTreeMap::new(),
        }
    }

    /// The ITM as a debugger set up for SWO leaves it: ITMENA and every stimulus port
    /// enabled, so CMSIS `ITM_SendChar` sends (Armv7-M ARM C1.7.4, C1.7.6).
    pub fn enable_swo(&mut self) {
        self.storage.insert(itm::ITM_TER, 0xFFFF_FFFF);
        self.storage.insert(itm::ITM_TCR, itm::ITM_TCR_ITMENA);
    }

    /// The PPB of `board`'s core: its NVIC size and priority bits, its caches' geometry.
    pub fn for_board(board: &simbench_cores::Board, vtor: u32) -> Ppb {
        let mut p = Ppb::new(board.core.cpuid(), board.clock_hz());
        p.nvic = Nvic::new(board.nvic_prio_bits, board.irq_lines as usize, vtor);
        p.scs = Scs::new(board.core, board.icache.as_ref(), board.dcache.as_ref());
        p.scs.set_irq_lines(board.irq_lines);
        if !board.double_precision_fpu() {
            p.scs.set_single_precision_fpu();
        }
        if board.swo != Some(false) {
            p.enable_swo();
        }
        p
    }

    /// The modelled cycle, after `after`, at which SysTick next counts to 0 with its
    /// interrupt enabled, if it does.
    pub fn systick_interrupt_after(&self, after: u64) -> Option<u64> {
        self.systick.interrupt_after(after)
    }

    /// Read `size` bytes at `addr` at modelled cycle `now`.
    pub fn read(&mut self, addr: u32, now: u64) -> u32 {
        if itm::is_port(addr) {
            return 1;
        }
        if addr == SCB_CPUID {
            return self.cpuid;
        }
        let modelled =
            self.dwt.read(addr, now).or_else(|| self.systick.read(addr, now)).or_else(|| self.nvic.read(addr, self.ipsr)).or_else(|| self.scs.read(addr));
        if let Some(v) = modelled {
            return v;
        }
        if !TRACE_CONTROL.contains(&addr) {
            self.unmodelled.entry(addr).or_default().0 += 1;
        }
        self.storage.get(&addr).copied().unwrap_or(0)
    }

    /// Write `value` (`size` bytes) at `addr` at modelled cycle `now`.
    pub fn write(&mut self, addr: u32, size: usize, value: u32, now: u64) -> PpbEvent {
        if itm::is_port(addr) {
            return match itm::stimulus(addr, size, value) {
                Stimulus::Text(bytes) => PpbEvent::Text(bytes),
                Stimulus::Marker { port, value } => PpbEvent::Marker { port, value },
            };
        }
        if addr == SCB_CPUID || self.dwt.write(addr, value, now) {
            return PpbEvent::None;
        }
        if let Some(timing_changed) = self.systick.write(addr, value, now) {
            self.nvic.check_due |= timing_changed;
            return PpbEvent::None;
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use dwt::DEMCR_TRCENA;

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
