//! System Control Space registers other than the NVIC, SysTick and debug counters: the
//! SCB's identification and configuration registers, cache identification and
//! maintenance, the MPU's registers (its decisions: `mpu`) and the FPU context registers.
//!
//! Addresses, reset values and access types: Armv7-M ARM B3.2 (SCB), B3.5 (PMSAv7 MPU),
//! B2.2.7 (cache maintenance), B4.8 (CLIDR, CTR, CCSIDR, CSSELR), B3.2.20–22 (FPCCR, FPCAR,
//! FPDSCR); Armv8-M ARM for the PMSAv8 MPU (RBAR/RLAR/MAIR). Identification values are
//! those of the CPU models unicorn 2.1.5 emulates (its QEMU `cortex_m4/m7/m33_initfn`,
//! which follow the cores' TRMs), so what firmware reads matches what executes. Pure
//! logic, unit-tested directly.

use super::mpu::{Mpu, MpuRegion};
use simbench_cores::board::CacheConfig;
use simbench_cores::memsys::CacheMaintenance;
use simbench_cores::CoreKind;

pub const CCR: u32 = 0xE000_ED14;
pub const CPACR: u32 = 0xE000_ED88;
pub const CLIDR: u32 = 0xE000_ED78;
pub const CTR: u32 = 0xE000_ED7C;
pub const CCSIDR: u32 = 0xE000_ED80;
pub const CSSELR: u32 = 0xE000_ED84;
pub const MPU_TYPE: u32 = 0xE000_ED90;
pub const MPU_CTRL: u32 = 0xE000_ED94;
pub const MPU_RNR: u32 = 0xE000_ED98;
pub const MPU_RBAR: u32 = 0xE000_ED9C;
/// PMSAv7 RASR, or PMSAv8 RLAR, at the same address.
pub const MPU_RASR: u32 = 0xE000_EDA0;
pub const MPU_MAIR0: u32 = 0xE000_EDC0;
pub const MPU_MAIR1: u32 = 0xE000_EDC4;
pub const FPCCR: u32 = 0xE000_EF34;
pub const MVFR0: u32 = 0xE000_EF40;
pub const FPCAR: u32 = 0xE000_EF38;
pub const FPDSCR: u32 = 0xE000_EF3C;
pub const ICIALLU: u32 = 0xE000_EF50;

const CCR_DC: u32 = 1 << 16;
const CCR_IC: u32 = 1 << 17;
/// FPCCR reset: ASPEN and LSPEN set, lazy stacking on (Armv7-M ARM B3.2.20).
pub const FPCCR_ASPEN: u32 = 1 << 31;
pub const FPCCR_LSPEN: u32 = 1 << 30;
pub const FPCCR_LSPACT: u32 = 1;

/// What a write means for the memory model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScsEvent {
    None,
    /// CCR written: the L1 caches' enable bits.
    CacheControl {
        icache: bool,
        dcache: bool,
    },
    Maintenance(CacheMaintenance),
    /// The MPU's enable or a region changed.
    MpuChanged,
}

/// SCB, cache, MPU and FPU registers of one core.
#[derive(Clone, Debug)]
pub struct Scs {
    ids: Vec<(u32, u32)>,
    pub ccr: u32,
    pub cpacr: u32,
    csselr: u32,
    clidr: u32,
    ctr: u32,
    ccsidr_data: u32,
    ccsidr_instruction: u32,
    pub fpccr: u32,
    pub fpcar: u32,
    pub fpdscr: u32,
    pub mpu: Mpu,
    /// Cortex-M7 L1 caches follow CCR.IC/DC; other cores have no such bits.
    has_l1: bool,
}

/// CCSIDR for a cache (Armv7-M ARM B4.8.3): write policy bits, NumSets−1, ways−1,
/// log2(words per line)−2.
fn ccsidr(c: &CacheConfig, data: bool) -> u32 {
    let sets = c.size_bytes / (c.ways * c.line_bytes);
    let policy = if data { 0xF } else { 0x2 }; // D: WT, WB, RA, WA; I: RA
    (policy << 28) | ((sets - 1) & 0x7FFF) << 13 | ((c.ways - 1) & 0x3FF) << 3 | ((c.line_bytes / 4).trailing_zeros() - 2)
}

impl Scs {
    pub fn new(core: CoreKind, icache: Option<&CacheConfig>, dcache: Option<&CacheConfig>) -> Scs {
        // ID_PFR0.. ID_ISAR4 at 0xE000ED40..=0xE000ED70 and MVFR0..2 at 0xE000EF40..=EF48.
        let (pfr1, dfr0, mmfr0, mmfr2, isar, mvfr) = match core {
            CoreKind::M4 => (0x200, 0x0010_0000, 0x30, 0, [0x0114_1110, 0x0211_1000, 0x2111_2231, 0x0111_1110, 0x0131_0102], [0x1011_0021, 0x1100_0011, 0]),
            CoreKind::M7 => (
                0x200,
                0x0010_0000,
                0x0010_0030,
                0x0100_0000,
                [0x0110_1110, 0x0211_2000, 0x2023_2231, 0x0111_1131, 0x0131_0132],
                [0x1011_0221, 0x1200_0011, 0x40],
            ),
            CoreKind::M33 => (
                0x210,
                0x0020_0000,
                0x0010_1F40,
                0x0100_0000,
                [0x0110_1110, 0x0221_2000, 0x2023_2232, 0x0111_1131, 0x0131_0132],
                [0x1011_0021, 0x1100_0011, 0x40],
            ),
        };
        let mut ids = vec![
            (0xE000_ED40, 0x30),
            (0xE000_ED44, pfr1),
            (0xE000_ED48, dfr0),
            (0xE000_ED4C, 0),
            (0xE000_ED50, mmfr0),
            (0xE000_ED54, 0),
            (0xE000_ED58, mmfr2),
            (0xE000_ED5C, 0),
        ];
        ids.extend(isar.iter().enumerate().map(|(i, &v)| (0xE000_ED60 + 4 * i as u32, v)));
        ids.extend(mvfr.iter().enumerate().map(|(i, &v)| (0xE000_EF40 + 4 * i as u32, v)));
        // ICTR (0xE000E004): INTLINESNUM is filled in by `set_irq_lines`.
        let line_words = |c: Option<&CacheConfig>| c.map_or(0, |c| (c.line_bytes / 4).trailing_zeros());
        let any_cache = icache.is_some() || dcache.is_some();
        let has_l1 = core == CoreKind::M7;
        let (clidr, ctr) = if has_l1 && any_cache {
            let ctype = icache.is_some() as u32 | (dcache.is_some() as u32) << 1;
            // LoUU = LoC = 1 (one cache level); CTR FORMAT 0b100, CWG = DminLine.
            (1 << 27 | 1 << 24 | ctype, 0x8000_0000 | line_words(dcache) << 24 | line_words(dcache) << 16 | 0b11 << 14 | line_words(icache))
        } else if core == CoreKind::M33 {
            (0, 0x8000_C000)
        } else {
            (0, 0)
        };
        Scs {
            ids,
            // CCR reset: STKALIGN set (Cortex-M4/M7 TRMs; always 1 on Armv8-M) and, on
            // Armv8-M, UNALIGN_TRP clear, DIV_0_TRP clear, BFHFNMIGN clear.
            ccr: 0x0000_0200,
            cpacr: 0,
            csselr: 0,
            clidr,
            ctr,
            ccsidr_data: if has_l1 { dcache.map_or(0, |c| ccsidr(c, true)) } else { 0 },
            ccsidr_instruction: if has_l1 { icache.map_or(0, |c| ccsidr(c, false)) } else { 0 },
            fpccr: FPCCR_ASPEN | FPCCR_LSPEN,
            fpcar: 0,
            fpdscr: 0,
            mpu: Mpu {
                v8: core == CoreKind::M33,
                ctrl: 0,
                rnr: 0,
                // Regions: 8 on the Cortex-M4 and M33 (configurable, 8 on the presets' devices),
                // 16 on the Cortex-M7 devices the presets describe (RT1011, STM32H743).
                regions: vec![MpuRegion::default(); if core == CoreKind::M7 { 16 } else { 8 }],
                mair: [0; 2],
            },
            has_l1,
        }
    }

    /// ICTR.INTLINESNUM: interrupt lines in groups of 32, minus one.
    /// MVFR0 of a single-precision FPU (FPDP = 0), for a Cortex-M7 built without double
    /// precision (the M4's and M33's already say so).
    pub fn set_single_precision_fpu(&mut self) {
        for (addr, v) in self.ids.iter_mut() {
            if *addr == MVFR0 {
                *v &= !0x0000_0F00;
            }
        }
    }

    pub fn set_irq_lines(&mut self, lines: u32) {
        self.ids.push((0xE000_E004, lines.div_ceil(32).saturating_sub(1)));
    }

    /// Read a register this block owns.
    pub fn read(&self, addr: u32) -> Option<u32> {
        let region = self.mpu.rnr as usize % self.mpu.regions.len().max(1);
        Some(match addr {
            CCR => self.ccr,
            CPACR => self.cpacr,
            CLIDR => self.clidr,
            CTR => self.ctr,
            CCSIDR => {
                if self.csselr & 1 != 0 {
                    self.ccsidr_instruction
                } else {
                    self.ccsidr_data
                }
            }
            CSSELR => self.csselr,
            MPU_TYPE => (self.mpu.regions.len() as u32) << 8,
            MPU_CTRL => self.mpu.ctrl,
            MPU_RNR => self.mpu.rnr,
            // RBAR and RASR/RLAR and their aliases A1–A3 all show the selected region.
            0xE000_ED9C | 0xE000_EDA4 | 0xE000_EDAC | 0xE000_EDB4 => {
                let rbar = self.mpu.regions.get(region).map_or(0, |r| r.rbar);
                if self.mpu.v8 {
                    rbar
                } else {
                    (rbar & !0x1F) | region as u32 & 0xF
                }
            }
            0xE000_EDA0 | 0xE000_EDA8 | 0xE000_EDB0 | 0xE000_EDB8 => self.mpu.regions.get(region).map_or(0, |r| r.rasr_or_rlar),
            MPU_MAIR0 | MPU_MAIR1 if self.mpu.v8 => self.mpu.mair[((addr - MPU_MAIR0) / 4) as usize],
            FPCCR => self.fpccr,
            FPCAR => self.fpcar,
            FPDSCR => self.fpdscr,
            // Cache maintenance registers are write-only: reads are UNKNOWN, here 0.
            0xE000_EF50..=0xE000_EF78 => 0,
            _ => return self.ids.iter().find(|(a, _)| *a == addr).map(|(_, v)| *v),
        })
    }

    /// Write a register this block owns; `None` when it is not one of them. Read-only
    /// identification registers ignore writes.
    pub fn write(&mut self, addr: u32, value: u32) -> Option<ScsEvent> {
        let regions = self.mpu.regions.len() as u32;
        let ev = match addr {
            CCR => {
                // Writable: UNALIGN_TRP, DIV_0_TRP, BFHFNMIGN, STKALIGN (v7), DC, IC, BP.
                self.ccr = (value & 0x0007_031A) | 0x200;
                if self.has_l1 {
                    ScsEvent::CacheControl { icache: value & CCR_IC != 0, dcache: value & CCR_DC != 0 }
                } else {
                    ScsEvent::None
                }
            }
            CPACR => {
                self.cpacr = value & (0xF << 20);
                ScsEvent::None
            }
            CSSELR => {
                self.csselr = value & 0xF;
                ScsEvent::None
            }
            MPU_CTRL => {
                self.mpu.ctrl = value & 7;
                ScsEvent::MpuChanged
            }
            MPU_RNR => {
                self.mpu.rnr = value & 0xFF;
                ScsEvent::None
            }
            0xE000_ED9C | 0xE000_EDA4 | 0xE000_EDAC | 0xE000_EDB4 => {
                if !self.mpu.v8 && value & 0x10 != 0 {
                    self.mpu.rnr = value & 0xF; // VALID: REGION selects the region
                }
                if let Some(r) = self.mpu.regions.get_mut((self.mpu.rnr % regions.max(1)) as usize) {
                    r.rbar = if self.mpu.v8 { value } else { value & !0x1F };
                }
                ScsEvent::MpuChanged
            }
            0xE000_EDA0 | 0xE000_EDA8 | 0xE000_EDB0 | 0xE000_EDB8 => {
                if let Some(r) = self.mpu.regions.get_mut((self.mpu.rnr % regions.max(1)) as usize) {
                    r.rasr_or_rlar = value;
                }
                ScsEvent::MpuChanged
            }
            MPU_MAIR0 | MPU_MAIR1 if self.mpu.v8 => {
                self.mpu.mair[((addr - MPU_MAIR0) / 4) as usize] = value;
                ScsEvent::None
            }
            FPCCR => {
                self.fpccr = value & (FPCCR_ASPEN | FPCCR_LSPEN | 0x1FB);
                ScsEvent::None
            }
            FPCAR => {
                self.fpcar = value & !7;
                ScsEvent::None
            }
            FPDSCR => {
                self.fpdscr = value & 0x07C0_0000;
                ScsEvent::None
            }
            ICIALLU => ScsEvent::Maintenance(CacheMaintenance::InvalidateICache),
            0xE000_EF58 => ScsEvent::Maintenance(CacheMaintenance::InvalidateICacheLine(value)),
            0xE000_EF5C | 0xE000_EF70 => ScsEvent::Maintenance(CacheMaintenance::InvalidateDCacheLine(value)),
            0xE000_EF60 | 0xE000_EF74 => ScsEvent::Maintenance(CacheMaintenance::InvalidateDCacheSetWay(value)),
            // Clean by address or set/way (DCCMVAU, DCCMVAC, DCCSW) and BPIALL: nothing to
            // model (no dirty state; the branch predictor needs no invalidation).
            0xE000_EF64 | 0xE000_EF68 | 0xE000_EF6C | 0xE000_EF78 => ScsEvent::None,
            _ if self.ids.iter().any(|(a, _)| *a == addr) || addr == CLIDR || addr == CTR || addr == CCSIDR || addr == MPU_TYPE => ScsEvent::None,
            _ => return None,
        };
        Some(ev)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::peripherals::mpu::MpuAccess;

    fn m7_caches() -> (CacheConfig, CacheConfig) {
        let i = CacheConfig { size_bytes: 16384, ways: 2, line_bytes: 32, enabled_at_reset: false, soc: false, data_reads: false };
        let d = CacheConfig { size_bytes: 16384, ways: 4, line_bytes: 32, enabled_at_reset: false, soc: false, data_reads: false };
        (i, d)
    }

    #[test]
    fn cache_identification_describes_the_board_geometry() {
        let (i, d) = m7_caches();
        let mut s = Scs::new(CoreKind::M7, Some(&i), Some(&d));
        // CLIDR: LoUU = LoC = 1, Ctype1 = 0b011 (separate I and D).
        assert_eq!(s.read(CLIDR), Some(0x0900_0003));
        // CTR: 8-word lines for both caches.
        assert_eq!(s.read(CTR), Some(0x8303_C003));
        // D-cache: 128 sets, 4 ways, 8 words.
        let c = s.read(CCSIDR).unwrap();
        assert_eq!(((c >> 13) & 0x7FFF) + 1, 128);
        assert_eq!(((c >> 3) & 0x3FF) + 1, 4);
        assert_eq!(c & 7, 1);
        s.write(CSSELR, 1);
        let c = s.read(CCSIDR).unwrap();
        assert_eq!((((c >> 13) & 0x7FFF) + 1, ((c >> 3) & 0x3FF) + 1), (256, 2));
        // A Cortex-M4 has none of this.
        let m4 = Scs::new(CoreKind::M4, None, None);
        assert_eq!((m4.read(CLIDR), m4.read(CTR), m4.read(CCSIDR)), (Some(0), Some(0), Some(0)));
    }

    #[test]
    fn id_registers_are_read_only_and_maintenance_is_decoded() {
        let mut s = Scs::new(CoreKind::M4, None, None);
        assert_eq!(s.read(0xE000_ED60), Some(0x0114_1110));
        assert_eq!(s.write(0xE000_ED60, 0), Some(ScsEvent::None));
        assert_eq!(s.read(0xE000_ED60), Some(0x0114_1110));
        assert_eq!(s.write(CCR, 1 << 17), Some(ScsEvent::None), "an M4 has no L1 caches");
        let mut m7 = Scs::new(CoreKind::M7, None, None);
        assert_eq!(m7.write(0xE000_EF60, 0xC000_0020), Some(ScsEvent::Maintenance(CacheMaintenance::InvalidateDCacheSetWay(0xC000_0020))));
        assert_eq!(m7.write(0xE000_EF70, 0x2000_0040), Some(ScsEvent::Maintenance(CacheMaintenance::InvalidateDCacheLine(0x2000_0040))));
        assert_eq!(m7.write(0xE000_1234, 0), None);
        assert_eq!(m7.read(FPCCR), Some(0xC000_0000));
    }

    #[test]
    fn pmsav7_regions_decide_access() {
        let mut s = Scs::new(CoreKind::M7, None, None);
        assert_eq!(s.read(MPU_TYPE), Some(16 << 8));
        // Region 1: 0x2000_0000, 32 KiB (SIZE = 14), read-only (AP = 0b110), XN.
        s.write(MPU_RBAR, 0x2000_0000 | 0x10 | 1);
        s.write(MPU_RASR, (1 << 28) | (6 << 24) | (14 << 1) | 1);
        assert_eq!(s.read(MPU_RNR), Some(1));
        assert_eq!(s.read(MPU_RBAR), Some(0x2000_0001));
        s.write(MPU_CTRL, 1 | 4);
        let a = s.mpu.access(0x2000_7FFC).unwrap();
        assert_eq!((a.read, a.write, a.execute, a.cacheable), (true, false, false, false), "TEX=0 C=0 B=0: Strongly-ordered");
        assert_eq!(s.mpu.access(0x2000_8000), None);
        // Disable subregion 0 (the first 4 KiB).
        s.write(MPU_RASR, (1 << 28) | (6 << 24) | (1 << 8) | (14 << 1) | 1);
        assert_eq!(s.mpu.access(0x2000_0000), None);
        assert!(s.mpu.access(0x2000_1000).is_some());
        // As intervals over a 64 KiB RAM: the disabled subregion, the rest of the region
        // (read-only), and what lies beyond it.
        let iv = s.mpu.intervals(0x2000_0000, 0x2001_0000);
        let ro = Some(MpuAccess { read: true, write: false, execute: false, cacheable: false });
        assert_eq!(iv, vec![(0x2000_0000, 0x2000_1000, None), (0x2000_1000, 0x2000_8000, ro), (0x2000_8000, 0x2001_0000, None)]);
    }

    #[test]
    fn pmsav8_regions_decide_access() {
        let mut s = Scs::new(CoreKind::M33, None, None);
        s.write(MPU_RNR, 2);
        s.write(MPU_RBAR, 0x3000_0000 | (2 << 1) | 1); // RO privileged, XN
        s.write(MPU_RASR, 0x3000_0FE0 | 1); // RLAR: limit 0x30000FFF, enabled
        s.write(MPU_CTRL, 1);
        let a = s.mpu.access(0x3000_0FFF).unwrap();
        assert_eq!((a.read, a.write, a.execute, a.cacheable), (true, false, false, false), "MAIR0 attr 0 = 0x00: Device");
        s.write(MPU_MAIR0, 0xFF);
        assert!(s.mpu.access(0x3000_0000).unwrap().cacheable, "0xFF: Normal write-back");
        assert_eq!(s.mpu.access(0x3000_1000), None);
    }
}
