//! Vendor peripheral space: the registers a board preset models (`[[registers]]` in
//! `peripheral` regions) and plain storage for the rest.
//!
//! SDK start-up code programs clocks, flash wait states, caches and memory banks, then
//! polls status bits until the hardware reports ready. Modelled registers read back their
//! value with ready bits set, busy bits clear and mirrored status fields; their effects
//! (wait states, clock dividers, accelerator and cache enables, FlexRAM banks) are
//! returned as `Setting`s for the memory model and the report. Every access to an address
//! that is not a modelled register is counted, so the report can list what the firmware
//! touched that simbench does not model. Pure logic, unit-tested directly.

use simbench_cores::board::{field, AcceleratorPart, RegisterEffect, RegisterSpec};
use std::collections::BTreeMap;

/// A change the firmware made through a modelled register.
#[derive(Clone, Debug, PartialEq)]
pub enum Setting {
    /// Flash wait states of a region (by name).
    FlashWaitStates {
        region: String,
        wait_states: u32,
        /// The field's reset value (the preset's setting).
        preset_wait_states: u32,
    },
    /// XIP serial clock of a region divided by `divider` (preset: `preset_divider`).
    XipClockDivider {
        region: String,
        divider: u32,
        preset_divider: u32,
    },
    /// A part of the flash accelerator (or all of it) switched on or off.
    AcceleratorEnabled(AcceleratorPart, bool),
    CacheEnabled(bool),
    /// Core clock divided by `divider` (preset: `preset_divider`).
    CoreClockDivider {
        divider: u32,
        preset_divider: u32,
    },
    /// FlexRAM banks: KiB assigned to each of the named (ITCM, DTCM, OCRAM) regions.
    FlexramBanks {
        sizes: [(String, u32); 3],
    },
}

#[derive(Clone, Debug)]
pub struct Peripherals {
    specs: Vec<RegisterSpec>,
    /// Current value of each modelled register (same order as `specs`).
    values: Vec<u32>,
    /// Other addresses written (word-aligned).
    storage: BTreeMap<u32, u32>,
    /// Accesses to addresses that are not modelled registers: address → (reads, writes).
    pub unmodelled: BTreeMap<u32, (u64, u64)>,
}

impl Peripherals {
    pub fn new(specs: &[RegisterSpec]) -> Peripherals {
        Peripherals { values: specs.iter().map(|s| s.reset).collect(), specs: specs.to_vec(), storage: BTreeMap::new(), unmodelled: BTreeMap::new() }
    }

    fn find(&self, word: u32) -> Option<usize> {
        self.specs.iter().position(|s| s.address == word)
    }

    /// Read `size` bytes at `addr`.
    pub fn read(&mut self, addr: u32, size: usize) -> u32 {
        let word = addr & !3;
        let value = match self.find(word) {
            Some(i) => {
                let s = &self.specs[i];
                let mut v = (self.values[i] | s.ready) & !s.busy;
                if let Some([from, to, width]) = s.mirror {
                    let mask = (((1u64 << width) - 1) as u32) << to;
                    v = (v & !mask) | (field(v, from, width) << to);
                }
                v
            }
            None => {
                self.unmodelled.entry(word).or_default().0 += 1;
                self.storage.get(&word).copied().unwrap_or(0)
            }
        };
        let shifted = value >> (8 * (addr & 3));
        if size >= 4 {
            shifted
        } else {
            shifted & ((1u32 << (8 * size)) - 1)
        }
    }

    /// Write `size` bytes of `value` at `addr`; returns the settings it changed.
    pub fn write(&mut self, addr: u32, size: usize, value: u32) -> Vec<Setting> {
        let word = addr & !3;
        let shift = 8 * (addr & 3);
        let mask = if size >= 4 { u32::MAX } else { ((1u32 << (8 * size)) - 1) << shift };
        let merge = |old: u32| (old & !mask) | ((value << shift) & mask);
        let Some(i) = self.find(word) else {
            self.unmodelled.entry(word).or_default().1 += 1;
            let old = self.storage.get(&word).copied().unwrap_or(0);
            self.storage.insert(word, merge(old));
            return Vec::new();
        };
        let old = self.values[i];
        let new = merge(old);
        self.values[i] = new;
        let spec = &self.specs[i];
        spec.effects.iter().filter_map(|e| change(e, spec.reset, old, new)).collect()
    }

    /// The name of the modelled register at `addr`, for reports.
    pub fn register_name(&self, addr: u32) -> Option<&str> {
        self.find(addr & !3).map(|i| self.specs[i].name.as_str())
    }
}

/// The setting `effect` makes when its register goes from `old` to `new`, if it changed.
fn change(effect: &RegisterEffect, reset: u32, old: u32, new: u32) -> Option<Setting> {
    let (fshift, fwidth) = effect.field();
    let (before, after) = (field(old, fshift, fwidth), field(new, fshift, fwidth));
    if before == after {
        return None;
    }
    let reset = field(reset, fshift, fwidth);
    Some(match effect {
        RegisterEffect::FlashWaitStates { region, .. } => Setting::FlashWaitStates { region: region.clone(), wait_states: after, preset_wait_states: reset },
        RegisterEffect::XipClockDivider { region, .. } => Setting::XipClockDivider { region: region.clone(), divider: after + 1, preset_divider: reset + 1 },
        RegisterEffect::AcceleratorEnable { mask, part } => {
            if (before & mask != 0) == (after & mask != 0) {
                return None;
            }
            Setting::AcceleratorEnabled(*part, after & mask != 0)
        }
        RegisterEffect::CacheEnable { mask } => {
            if (before & mask != 0) == (after & mask != 0) {
                return None;
            }
            Setting::CacheEnabled(after & mask != 0)
        }
        RegisterEffect::CoreClockDivider { .. } => Setting::CoreClockDivider { divider: after + 1, preset_divider: reset + 1 },
        RegisterEffect::FlexramBanks { banks, bank_kib, itcm, dtcm, ocram } => {
            let mut kib = [0u32; 3];
            for b in 0..*banks {
                match field(after, 2 * b, 2) {
                    3 => kib[0] += bank_kib,
                    2 => kib[1] += bank_kib,
                    1 => kib[2] += bank_kib,
                    _ => {}
                }
            }
            Setting::FlexramBanks { sizes: [(itcm.clone(), kib[0]), (dtcm.clone(), kib[1]), (ocram.clone(), kib[2])] }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(name: &str, address: u32, reset: u32) -> RegisterSpec {
        RegisterSpec { name: name.into(), address, reset, ready: 0, busy: 0, mirror: None, effects: vec![] }
    }

    #[test]
    fn ready_busy_and_mirrored_status_bits() {
        let mut cr = spec("RCC_CR", 0x4002_1000, 0x63);
        cr.ready = 1 << 25; // PLLRDY
        cr.busy = 1 << 0;
        let mut cfgr = spec("RCC_CFGR", 0x4002_1008, 0);
        cfgr.mirror = Some([0, 2, 2]); // SWS[3:2] = SW[1:0]
        let mut p = Peripherals::new(&[cr, cfgr]);
        assert_eq!(p.read(0x4002_1000, 4), (0x63 | 1 << 25) & !1);
        p.write(0x4002_1008, 4, 3);
        assert_eq!(p.read(0x4002_1008, 4), 3 | 3 << 2);
        // A byte read of the third byte of RCC_CR sees PLLRDY (bit 25 = bit 1 of byte 3).
        assert_eq!(p.read(0x4002_1003, 1), 0x02);
        assert!(p.unmodelled.is_empty());
        // Anything else is storage, counted.
        p.write(0x4002_1100, 2, 0xBEEF);
        assert_eq!(p.read(0x4002_1100, 4), 0xBEEF);
        assert_eq!(p.unmodelled.get(&0x4002_1100), Some(&(1, 1)));
    }

    #[test]
    fn each_art_bit_reports_its_own_part() {
        let board = simbench_cores::Board::preset("stm32l4r5").unwrap();
        let acr = board.registers.iter().find(|r| r.name == "FLASH_ACR").unwrap().clone();
        let mut p = Peripherals::new(&[acr]);
        // Clear PRFTEN only: one setting, the prefetch.
        assert_eq!(p.write(0x4002_2000, 4, 0x605), vec![Setting::AcceleratorEnabled(AcceleratorPart::Prefetch, false)]);
        // Clear ICEN and DCEN, set PRFTEN: three settings in register bit order.
        assert_eq!(
            p.write(0x4002_2000, 4, 0x105),
            vec![
                Setting::AcceleratorEnabled(AcceleratorPart::Prefetch, true),
                Setting::AcceleratorEnabled(AcceleratorPart::InstructionCache, false),
                Setting::AcceleratorEnabled(AcceleratorPart::DataCache, false),
            ]
        );
    }

    #[test]
    fn effects_report_what_changed() {
        let mut acr = spec("FLASH_ACR", 0x4002_2000, 0x0000_0705);
        acr.effects = vec![
            RegisterEffect::FlashWaitStates { region: "flash".into(), shift: 0, width: 4 },
            RegisterEffect::AcceleratorEnable { mask: 0x700, part: AcceleratorPart::All },
        ];
        let mut div = spec("SYSCON_AHBCLKDIV", 0x4000_0380, 0);
        div.effects = vec![(RegisterEffect::CoreClockDivider { shift: 0, width: 8 })];
        let mut gpr17 = spec("IOMUXC_GPR_GPR17", 0x400A_C044, 0);
        gpr17.effects = vec![RegisterEffect::FlexramBanks { banks: 4, bank_kib: 32, itcm: "itcm".into(), dtcm: "dtcm".into(), ocram: "ocram".into() }];
        let mut p = Peripherals::new(&[acr, div, gpr17]);
        // Same latency: nothing changes; a new one does.
        assert_eq!(p.write(0x4002_2000, 4, 0x0000_0605), vec![], "same latency, accelerator still on");
        // The preset's wait states are the LATENCY field of the reset value 0x705: 5.
        assert_eq!(
            p.write(0x4002_2000, 4, 0x0000_0003),
            vec![
                Setting::FlashWaitStates { region: "flash".into(), wait_states: 3, preset_wait_states: 5 },
                Setting::AcceleratorEnabled(AcceleratorPart::All, false)
            ]
        );
        assert_eq!(p.write(0x4000_0380, 4, 1), vec![Setting::CoreClockDivider { divider: 2, preset_divider: 1 }]);
        // Banks 0-1 ITCM, 2 DTCM, 3 OCRAM.
        let sizes = [("itcm".to_string(), 64), ("dtcm".to_string(), 32), ("ocram".to_string(), 32)];
        assert_eq!(p.write(0x400A_C044, 4, 0b01_10_11_11), vec![Setting::FlexramBanks { sizes }]);
        assert_eq!(p.register_name(0x4002_2002), Some("FLASH_ACR"));
    }
}
