//! Hooked loads and stores logged by unicorn instead of calling the data hook
//! (`UC_CTL_ACCESS_LOG`, `patches/`, `sim/src/machine/access_log.rs`): simbench times them
//! at the next callback, in order, with the hook's own accounting. The reports must be
//! exactly those of a run that calls the hook on every access: cycles, memory counters,
//! caches, stalls, faults and limits. Each case runs the firmware both ways, compares the
//! whole report but its host section, and checks how many accesses were logged (else the
//! comparison would prove nothing).

mod common;

use simbench_cores::{Board, CoreKind, Fidelity};
use simbench_sim::RunOptions;

/// The report without host timing, and its count of logged accesses.
fn run(elf: &str, board: &Board, logged: bool, adjust: &dyn Fn(&mut RunOptions)) -> (serde_json::Value, u64) {
    let report = common::report(elf, board, Fidelity::Detailed, |o| {
        adjust(o);
        o.access_log = logged;
    });
    let count = report["host"]["data_accesses_logged"].as_u64().expect("host.data_accesses_logged");
    (common::without_host(report), count)
}

/// Data reads and writes the report counts in hooked regions (every one went through
/// the hook or the log).
fn hooked_accesses(report: &serde_json::Value) -> u64 {
    let regions = report["regions"].as_array().expect("regions");
    regions.iter().map(|r| r["data_reads"].as_u64().unwrap_or(0) + r["data_writes"].as_u64().unwrap_or(0)).sum()
}

/// Run both ways; returns the logged accesses and the hooked accesses of the run.
fn assert_same(elf: &str, board: &Board, adjust: impl Fn(&mut RunOptions)) -> (u64, u64) {
    let (hooked, none) = run(elf, board, false, &adjust);
    let (logged, count) = run(elf, board, true, &adjust);
    assert_eq!(none, 0, "{elf}: accesses logged with the log off");
    assert!(hooked["cycles"].as_u64().unwrap_or(0) > 0, "{elf}: no cycles in {hooked}");
    assert!(logged == hooked, "{elf} on {}: logging the hooked accesses changed the report\nhooks:\n{hooked:#}\nlog:\n{logged:#}", board.name);
    assert!(
        count > 0,
        "{elf} on {}: nothing logged; is simbench linked with a unicorn without patches/unicorn-*-access-log.patch? Run scripts/setup (scripts/build-unicorn)",
        board.name
    );
    let total = hooked_accesses(&hooked);
    assert!(count <= total, "{elf}: logged {count} of {total} hooked accesses");
    (count, total)
}

/// Every inference fixture whose name starts with `prefix` and names `board`, in
/// `detailed` mode (`fast` mode hooks no data access).
fn assert_same_reports(prefix: &str, board: &str) {
    let preset = Board::preset(board).unwrap();
    let elfs = common::inference_fixtures(prefix, board);
    assert!(elfs.len() >= 4, "expected the {prefix}* fixtures for {board}, found {elfs:?}");
    for elf in &elfs {
        let (count, total) = assert_same(&format!("inference/{elf}"), &preset, |_| {});
        // Weights and activations are read with aligned loads: all but the first access
        // to a page after a TLB fill, and the odd unaligned one, go to the log.
        assert!(count * 10 >= total * 9, "{elf}: only {count} of {total} hooked accesses logged");
    }
}

#[test]
fn tflm_fixtures_on_lpc55s69_report_the_same_with_the_log() {
    assert_same_reports("tflm_", "lpc55s69");
}

#[test]
fn tflm_fixtures_on_mimxrt1011_report_the_same_with_the_log() {
    assert_same_reports("tflm_", "mimxrt1011");
}

#[test]
fn aot_fixtures_on_lpc55s69_report_the_same_with_the_log() {
    assert_same_reports("aot_", "lpc55s69");
}

#[test]
fn aot_fixtures_on_mimxrt1011_report_the_same_with_the_log() {
    assert_same_reports("aot_", "mimxrt1011");
}

#[test]
fn every_region_counted_stalls_and_a_cycle_limit_report_the_same() {
    let lpc = Board::preset("lpc55s69").unwrap();
    let rt = Board::preset("mimxrt1011").unwrap();
    // --count-accesses hooks every region: SRAM stores and stack traffic go to the log
    // too (the store side of the patch), mixed with the flash loads.
    let (count, _) = assert_same("inference/aot_kws_lpc55s69_O3.elf", &lpc, |o| o.count_accesses = true);
    let (flash_only, _) = assert_same("inference/aot_kws_lpc55s69_O3.elf", &lpc, |_| {});
    assert!(count > flash_only, "--count-accesses logged {count}, flash alone {flash_only}");
    // Data stalls attributed per symbol, through the D-cache of the RT1011.
    assert_same("inference/tflm_kws_mimxrt1011_O3.elf", &rt, |o| o.stalls = true);
    // A cycle limit that stops the run in the middle of the convolutions.
    let (report, _) = run("inference/aot_ic_lpc55s69_O3.elf", &lpc, true, &|o| o.max_cycles = Some(123_456_789));
    assert!(report["outcome"].to_string().contains("limit"), "expected a limit stop: {}", report["outcome"]);
    assert_same("inference/aot_ic_lpc55s69_O3.elf", &lpc, |o| o.max_cycles = Some(123_456_789));
}

#[test]
fn interrupts_faults_and_loads_inside_it_blocks_report_the_same() {
    // Interrupts, task switches and exception stacking amid logged accesses.
    for (elf, board) in [("system/vendor_rtos_lpc55s69.elf", "lpc55s69"), ("system/vendor_rtos_mimxrt1011.elf", "mimxrt1011")] {
        assert_same(elf, &Board::preset(board).unwrap(), |_| {});
    }
    // Firmware that faults: the accesses logged before the fault are in its report.
    for (elf, board) in [("system/vendor_mpu_fault_lpc55s69.elf", "lpc55s69"), ("system/vendor_fault_mimxrt1011.elf", "mimxrt1011")] {
        let (report, _) = run(elf, &Board::preset(board).unwrap(), true, &|_| {});
        assert!(report["outcome"]["kind"] != "exit", "{elf}: expected a fault: {}", report["outcome"]);
        assert_same(elf, &Board::preset(board).unwrap(), |_| {});
    }
    // fixtures/micro/it_hook.c: table loads from flash inside `itte ls`, every region
    // hooked by --count-accesses.
    assert_same("micro/it_hook_m4.elf", &Board::generic(CoreKind::M4), |o| o.count_accesses = true);
}
