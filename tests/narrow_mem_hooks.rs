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
    let mut elfs: Vec<String> = std::fs::read_dir(common::fixture("inference"))
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.starts_with(prefix) && n.contains(board) && n.ends_with(".elf"))
        .collect();
    elfs.sort();
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
