//! The patched unicorn's page-granular memory hooks (`UC_CTL_NARROW_MEM_HOOKS`,
//! `patches/`, `sim/src/machine/narrow_hooks.rs`) must give exactly the reports of
//! unicorn's stock memory-hook path: every inference fixture, both timing modes, the
//! whole report but its host timing, byte for byte.

mod common;

use simbench_cores::{Board, Fidelity};
use simbench_sim::machine::narrow_hooks;

fn report_text(elf: &str, board: &Board, fidelity: Fidelity, narrow: bool) -> String {
    let report = common::report_without_host(&format!("inference/{elf}"), board, fidelity, |o| o.narrow_mem_hooks = narrow);
    serde_json::to_string_pretty(&report).unwrap()
}

/// Every inference fixture whose name starts with `prefix` and names `board`.
fn assert_same_reports(prefix: &str, board: &str) {
    assert!(narrow_hooks::supported(), "simbench is linked with a stock unicorn: run scripts/setup (scripts/build-unicorn) so that the narrow path is tested");
    let preset = Board::preset(board).unwrap();
    let elfs = common::inference_fixtures(prefix, board);
    assert!(elfs.len() >= 4, "expected the {prefix}* fixtures for {board}, found {elfs:?}");
    for elf in &elfs {
        for fidelity in [Fidelity::Fast, Fidelity::Detailed] {
            let stock = report_text(elf, &preset, fidelity, false);
            let narrow = report_text(elf, &preset, fidelity, true);
            assert!(stock.contains("\"cycles\""), "{elf}: no cycles in {stock}");
            assert!(stock == narrow, "{elf} on {board} ({fidelity:?}): the narrow path changed the report\nstock:\n{stock}\nnarrow:\n{narrow}");
        }
    }
}

#[test]
fn tflm_fixtures_on_lpc55s69_report_the_same_on_both_paths() {
    assert_same_reports("tflm_", "lpc55s69");
}

#[test]
fn tflm_fixtures_on_mimxrt1011_report_the_same_on_both_paths() {
    assert_same_reports("tflm_", "mimxrt1011");
}

#[test]
fn aot_fixtures_on_lpc55s69_report_the_same_on_both_paths() {
    assert_same_reports("aot_", "lpc55s69");
}

#[test]
fn aot_fixtures_on_mimxrt1011_report_the_same_on_both_paths() {
    assert_same_reports("aot_", "mimxrt1011");
}

/// Code rewritten in RAM after it ran must run as rewritten, with and without the control.
/// Under the control a store no longer takes the slow path merely because its page is
/// executable or some memory hook exists (simbench's invalid-access hook covers all
/// memory): only while the page holds translated code. So this runs a function from a page
/// whose writes were let through before (a data store into it), rewrites the function's
/// first instruction, and calls it again. Thumb code assembled with arm-none-eabi-as:
///
/// ```text
/// 0x20000000  603e  str  r6, [r7]     @ data store into f's page, before f ever ran
///             47a0  blx  r4           @ f() -> 1
///             4680  mov  r8, r0
///             802e  strh r6, [r5]     @ f's first instruction becomes movs r0, #2
///             47a0  blx  r4           @ f() -> 2
///             bf00  nop               @ stop here
/// 0x20002000  2001  movs r0, #1       @ f (rewritten to 2002: movs r0, #2)
///             4770  bx   lr
/// ```
#[test]
fn code_rewritten_in_ram_after_it_ran_runs_rewritten_on_both_paths() {
    use unicorn_engine::{Arch, Mode, Unicorn};
    use unicorn_engine::{ArmCpuModel, HookType, Prot, RegisterARM};
    assert!(narrow_hooks::supported(), "simbench is linked with a stock unicorn: run scripts/setup");
    for control in [false, true] {
        let mut uc = Unicorn::new(Arch::ARM, Mode::THUMB | Mode::MCLASS).unwrap();
        uc.ctl_set_cpu_model(ArmCpuModel::CORTEX_M4 as i32).unwrap();
        if control {
            assert!(narrow_hooks::enable(&mut uc));
        }
        let invalid = HookType::MEM_READ_UNMAPPED | HookType::MEM_WRITE_UNMAPPED | HookType::MEM_FETCH_UNMAPPED | HookType::MEM_WRITE_PROT;
        uc.add_mem_hook(invalid, 1, 0, |_, _, _, _, _| false).unwrap();
        uc.mem_map(0x2000_0000, 0x1_0000, Prot::ALL).unwrap();
        let halfwords = |h: &[u16]| h.iter().flat_map(|w| w.to_le_bytes()).collect::<Vec<u8>>();
        uc.mem_write(0x2000_0000, &halfwords(&[0x603e, 0x47a0, 0x4680, 0x802e, 0x47a0, 0xbf00])).unwrap();
        uc.mem_write(0x2000_2000, &halfwords(&[0x2001, 0x4770])).unwrap();
        for (reg, value) in [
            (RegisterARM::R4, 0x2000_2001),
            (RegisterARM::R5, 0x2000_2000),
            (RegisterARM::R6, 0x2002),
            (RegisterARM::R7, 0x2000_2040),
            (RegisterARM::SP, 0x2000_8000),
        ] {
            uc.reg_write(reg, value).unwrap();
        }
        uc.emu_start(0x2000_0001, 0x2000_000a, 0, 0).unwrap();
        let (first, second) = (uc.reg_read(RegisterARM::R8).unwrap(), uc.reg_read(RegisterARM::R0).unwrap());
        assert_eq!((first, second), (1, 2), "control {control}: f() returned {first} before and {second} after its rewrite (expected 1, then 2)");
    }
}
