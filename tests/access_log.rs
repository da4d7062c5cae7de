//! Hooked loads and stores logged by unicorn instead of calling the data hook
//! (`UC_CTL_ACCESS_LOG`, `patches/`, `sim/src/machine/access_log.rs`): simbench times them
//! at the next callback, in order, with the hook's own accounting. The reports must be
//! exactly those of a run that calls the hook on every access: cycles, memory counters,
//! caches, stalls, faults and limits. Each case runs the firmware both ways, compares the
//! whole report but its host section, and checks how many accesses were logged (else the
//! comparison would prove nothing). Unicorn folds an access that repeats the cache line or
//! flash word of the access logged just before it into that entry, where such a repeat
//! is a hit that waits nothing (`State::sync_access_fold`): the cases also count those.

mod common;

use simbench_cores::{Board, CoreKind, Fidelity};
use simbench_sim::RunOptions;

/// What went through the log: accesses logged, and of those, folded into an entry.
struct Logged {
    count: u64,
    folded: u64,
}

/// The report without host timing, and what went through the log.
fn run(elf: &str, board: &Board, logged: bool, adjust: &dyn Fn(&mut RunOptions)) -> (serde_json::Value, Logged) {
    let report = common::report(elf, board, Fidelity::Detailed, |o| {
        adjust(o);
        o.access_log = logged;
    });
    let host = |k: &str| report["host"][k].as_u64().unwrap_or_else(|| panic!("host.{k}"));
    let log = Logged { count: host("data_accesses_logged"), folded: host("data_accesses_folded") };
    assert!(log.folded <= log.count, "{elf}: folded {} of {} logged accesses", log.folded, log.count);
    (common::without_host(report), log)
}

/// Data reads and writes the report counts in hooked regions (every one went through
/// the hook or the log).
fn hooked_accesses(report: &serde_json::Value) -> u64 {
    let regions = report["regions"].as_array().expect("regions");
    regions.iter().map(|r| r["data_reads"].as_u64().unwrap_or(0) + r["data_writes"].as_u64().unwrap_or(0)).sum()
}

/// Run both ways; returns what went through the log and the hooked accesses of the run.
fn assert_same(elf: &str, board: &Board, adjust: impl Fn(&mut RunOptions)) -> (Logged, u64) {
    let (hooked, none) = run(elf, board, false, &adjust);
    let (logged, log) = run(elf, board, true, &adjust);
    let count = log.count;
    assert_eq!(none.count, 0, "{elf}: accesses logged with the log off");
    assert!(hooked["cycles"].as_u64().unwrap_or(0) > 0, "{elf}: no cycles in {hooked}");
    assert!(logged == hooked, "{elf} on {}: logging the hooked accesses changed the report\nhooks:\n{hooked:#}\nlog:\n{logged:#}", board.name);
    assert!(
        count > 0,
        "{elf} on {}: nothing logged; is simbench linked with a unicorn without patches/unicorn-*-access-log.patch? Run scripts/setup (scripts/build-unicorn)",
        board.name
    );
    let total = hooked_accesses(&hooked);
    assert!(count <= total, "{elf}: logged {count} of {total} hooked accesses");
    (log, total)
}

/// Every inference fixture whose name starts with `prefix` and names `board`, in
/// `detailed` mode (`fast` mode hooks no data access).
fn assert_same_reports(prefix: &str, board: &str) {
    let preset = Board::preset(board).unwrap();
    let elfs = common::inference_fixtures(prefix, board);
    assert!(elfs.len() >= 4, "expected the {prefix}* fixtures for {board}, found {elfs:?}");
    for elf in &elfs {
        let (log, total) = assert_same(&format!("inference/{elf}"), &preset, |_| {});
        // Weights and activations are read with aligned loads: all but the first access
        // to a page after a TLB fill, and the odd unaligned one, go to the log.
        assert!(log.count * 10 >= total * 9, "{elf}: only {} of {total} hooked accesses logged", log.count);
        // They walk lines and flash words: most repeat the line of the access before
        // (78–92 % on these fixtures), and every hooked region's short path (the D-cache,
        // the flash data line) makes that a hit. (With the weights in unhooked RAM, the
        // few hooked accesses left are scattered.)
        if !elf.contains("ramweights") {
            assert!(log.folded * 2 >= total, "{elf}: only {} of {total} hooked accesses folded", log.folded);
        }
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
    let (all, _) = assert_same("inference/aot_kws_lpc55s69_O3.elf", &lpc, |o| o.count_accesses = true);
    let (flash_only, _) = assert_same("inference/aot_kws_lpc55s69_O3.elf", &lpc, |_| {});
    assert!(all.count > flash_only.count, "--count-accesses logged {}, flash alone {}", all.count, flash_only.count);
    // SRAM has no cache in front: nothing may be folded while it is hooked.
    assert_eq!(all.folded, 0, "--count-accesses: accesses folded with SRAM hooked");
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

#[test]
fn flash_reads_that_each_wait_are_not_folded() {
    // The LPC55S69 without its flash data line: every flash read waits its wait states,
    // at its own time (the skipped loops' instruction fetches depend on it), so no read
    // may be folded into the one before; the reports must still be those of the hook.
    let mut lpc = Board::preset("lpc55s69").unwrap();
    lpc.accelerator.as_mut().expect("the LPC55S69 flash accelerator").data_lines = 0;
    let (log, total) = assert_same("inference/aot_kws_lpc55s69_O3.elf", &lpc, |_| {});
    assert_eq!(log.folded, 0, "folded {} of {total} flash reads that wait", log.folded);
    assert!(log.count * 10 >= total * 9, "only {} of {total} hooked accesses logged", log.count);
}
