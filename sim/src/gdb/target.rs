//! What GDB is told about the target: the registers (numbered as `g`, `p` and `P` use
//! them) in a target description, and the memory map from the board's regions.
//!
//! The registers follow GDB's Cortex-M features: `org.gnu.gdb.arm.m-profile` (r0–r12,
//! sp, lr, pc, xpsr), `org.gnu.gdb.arm.m-system` (msp, psp, with primask, basepri,
//! faultmask and control as OpenOCD adds them) and `org.gnu.gdb.arm.vfp` (d0–d15 and
//! fpscr, from which GDB derives s0–s31). Every core simbench models has an FPU.

use crate::machine::debug::CoreReg;
use simbench_cores::board::{RegionKind, PPB_BASE, PPB_SIZE};

/// One register as the target description declares it.
#[derive(Clone, Copy, Debug)]
pub struct RegDef {
    pub name: &'static str,
    pub bits: u32,
    pub reg: CoreReg,
    pub kind: &'static str,
    pub group: Option<&'static str>,
    pub feature: &'static str,
}

const M_PROFILE: &str = "org.gnu.gdb.arm.m-profile";
const M_SYSTEM: &str = "org.gnu.gdb.arm.m-system";
const VFP: &str = "org.gnu.gdb.arm.vfp";

const fn core(name: &'static str, n: u8, kind: &'static str) -> RegDef {
    RegDef { name, bits: 32, reg: CoreReg::R(n), kind, group: None, feature: M_PROFILE }
}

const fn system(name: &'static str, reg: CoreReg) -> RegDef {
    RegDef { name, bits: 32, reg, kind: "int", group: Some("system"), feature: M_SYSTEM }
}

const fn double(name: &'static str, n: u8) -> RegDef {
    RegDef { name, bits: 64, reg: CoreReg::D(n), kind: "ieee_double", group: Some("float"), feature: VFP }
}

/// The registers in protocol order: index = register number.
pub const REGISTERS: [RegDef; 40] = [
    core("r0", 0, "uint32"),
    core("r1", 1, "uint32"),
    core("r2", 2, "uint32"),
    core("r3", 3, "uint32"),
    core("r4", 4, "uint32"),
    core("r5", 5, "uint32"),
    core("r6", 6, "uint32"),
    core("r7", 7, "uint32"),
    core("r8", 8, "uint32"),
    core("r9", 9, "uint32"),
    core("r10", 10, "uint32"),
    core("r11", 11, "uint32"),
    core("r12", 12, "uint32"),
    core("sp", 13, "data_ptr"),
    core("lr", 14, "int"),
    core("pc", 15, "code_ptr"),
    RegDef { name: "xpsr", bits: 32, reg: CoreReg::Xpsr, kind: "int", group: None, feature: M_PROFILE },
    system("msp", CoreReg::Msp),
    system("psp", CoreReg::Psp),
    system("primask", CoreReg::Primask),
    system("basepri", CoreReg::Basepri),
    system("faultmask", CoreReg::Faultmask),
    system("control", CoreReg::Control),
    double("d0", 0),
    double("d1", 1),
    double("d2", 2),
    double("d3", 3),
    double("d4", 4),
    double("d5", 5),
    double("d6", 6),
    double("d7", 7),
    double("d8", 8),
    double("d9", 9),
    double("d10", 10),
    double("d11", 11),
    double("d12", 12),
    double("d13", 13),
    double("d14", 14),
    double("d15", 15),
    RegDef { name: "fpscr", bits: 32, reg: CoreReg::Fpscr, kind: "int", group: Some("float"), feature: VFP },
];

/// The target description (`qXfer:features:read:target.xml`).
pub fn target_xml() -> String {
    let mut x =
        String::from("<?xml version=\"1.0\"?>\n<!DOCTYPE target SYSTEM \"gdb-target.dtd\">\n<target version=\"1.0\">\n<architecture>arm</architecture>\n");
    let mut feature = "";
    for (n, r) in REGISTERS.iter().enumerate() {
        if r.feature != feature {
            if !feature.is_empty() {
                x.push_str("</feature>\n");
            }
            feature = r.feature;
            x.push_str(&format!("<feature name=\"{feature}\">\n"));
        }
        let group = r.group.map(|g| format!(" group=\"{g}\"")).unwrap_or_default();
        x.push_str(&format!("<reg name=\"{}\" bitsize=\"{}\" regnum=\"{n}\" type=\"{}\"{group}/>\n", r.name, r.bits, r.kind));
    }
    x.push_str("</feature>\n</target>\n");
    x
}

/// A memory region as the memory map shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MapRegion {
    pub base: u32,
    pub size: u64,
    pub flash: bool,
}

/// Flash erase unit the memory map declares (GDB needs one; simbench erases any range).
pub const FLASH_BLOCK: u32 = 0x400;

/// The map of `regions` plus the Private Peripheral Bus: flash and execute-in-place
/// memory as `flash` (GDB then uses hardware breakpoints there and programs it with
/// `vFlash` packets on `load`), everything else, peripherals included, as `ram`.
pub fn memory_map(regions: impl Iterator<Item = (u32, u64, RegionKind)>) -> String {
    let mut map: Vec<MapRegion> =
        regions.map(|(base, size, kind)| MapRegion { base, size, flash: matches!(kind, RegionKind::Flash | RegionKind::Xip) }).collect();
    if !map.iter().any(|r| r.base as u64 <= PPB_BASE as u64 && PPB_BASE as u64 + PPB_SIZE as u64 <= r.base as u64 + r.size) {
        map.push(MapRegion { base: PPB_BASE, size: PPB_SIZE as u64, flash: false });
    }
    map.sort_by_key(|r| r.base);
    // GDB refuses overlapping regions: trim a region that runs into the next.
    for i in 1..map.len() {
        let next = map[i].base as u64;
        let prev = &mut map[i - 1];
        if prev.base as u64 + prev.size > next {
            prev.size = next - prev.base as u64;
        }
    }
    let mut x = String::from("<?xml version=\"1.0\"?>\n<!DOCTYPE memory-map PUBLIC \"+//IDN gnu.org//DTD GDB Memory Map V1.0//EN\" \"http://sourceware.org/gdb/gdb-memory-map.dtd\">\n<memory-map>\n");
    for r in map.iter().filter(|r| r.size > 0) {
        if r.flash {
            x.push_str(&format!(
                "<memory type=\"flash\" start=\"{:#x}\" length=\"{:#x}\"><property name=\"blocksize\">{FLASH_BLOCK:#x}</property></memory>\n",
                r.base, r.size
            ));
        } else {
            x.push_str(&format!("<memory type=\"ram\" start=\"{:#x}\" length=\"{:#x}\"/>\n", r.base, r.size));
        }
    }
    x.push_str("</memory-map>\n");
    x
}

/// The `offset,length` window of a `qXfer` object: `m` and a part when more follows, `l`
/// and the rest at the end.
pub fn xfer_window(doc: &[u8], offset: usize, len: usize) -> Vec<u8> {
    let start = offset.min(doc.len());
    let end = start.saturating_add(len).min(doc.len());
    let mut out = vec![if end < doc.len() { b'm' } else { b'l' }];
    out.extend_from_slice(&doc[start..end]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registers_are_numbered_in_order_with_the_names_gdb_expects() {
        let xml = target_xml();
        for (n, name) in [(0, "r0"), (13, "sp"), (15, "pc"), (16, "xpsr"), (17, "msp"), (18, "psp"), (22, "control"), (23, "d0"), (39, "fpscr")] {
            assert_eq!(REGISTERS[n].name, name);
            assert!(xml.contains(&format!("name=\"{name}\" ")) && xml.contains(&format!("regnum=\"{n}\"")), "{name} in\n{xml}");
        }
        assert_eq!(xml.matches("<feature ").count(), 3);
        assert_eq!(xml.matches("<feature ").count(), xml.matches("</feature>").count());
        assert!(xml.contains("org.gnu.gdb.arm.m-profile") && xml.contains("org.gnu.gdb.arm.vfp") && xml.contains("org.gnu.gdb.arm.m-system"));
    }

    #[test]
    fn memory_map_marks_flash_and_adds_the_ppb() {
        let map = memory_map(
            [(0x0, 0x10_0000, RegionKind::Flash), (0x2000_0000, 0x4_0000, RegionKind::Sram), (0x4000_0000, 0x1000_0000, RegionKind::PeripheralIgnore)]
                .into_iter(),
        );
        assert!(map.contains("<memory type=\"flash\" start=\"0x0\" length=\"0x100000\"><property name=\"blocksize\">0x400</property></memory>"), "{map}");
        assert!(map.contains("<memory type=\"ram\" start=\"0x20000000\" length=\"0x40000\"/>"));
        assert!(map.contains("<memory type=\"ram\" start=\"0x40000000\" length=\"0x10000000\"/>"));
        assert!(map.contains("<memory type=\"ram\" start=\"0xe0000000\" length=\"0x100000\"/>"));
        // Overlaps are trimmed.
        let map = memory_map([(0x0, 0x2000, RegionKind::Code), (0x1000, 0x1000, RegionKind::Sram)].into_iter());
        assert!(map.contains("start=\"0x0\" length=\"0x1000\""), "{map}");
    }

    #[test]
    fn xfer_windows() {
        assert_eq!(xfer_window(b"abcdef", 0, 4), b"mabcd");
        assert_eq!(xfer_window(b"abcdef", 4, 4), b"lef");
        assert_eq!(xfer_window(b"abcdef", 6, 4), b"l");
        assert_eq!(xfer_window(b"abcdef", 100, 4), b"l");
        assert_eq!(xfer_window(b"abcdef", 0, usize::MAX), b"labcdef");
    }
}
