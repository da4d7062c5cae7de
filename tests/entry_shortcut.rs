//! The block hook's common-case shortcut (`State::enter_steady`, taken on most block
//! entries for speed) must give exactly the report the full entry path gives: same
//! cycles, instruction mix, profile, exceptions and memory counters. Each case runs the
//! firmware both ways and compares the whole report but its host timing.

mod common;

use simbench_cores::{Board, CoreKind, Fidelity};
use simbench_sim::operators::ProfileMode;

fn report(elf: &str, board: &Board, fidelity: Fidelity, profile: ProfileMode, shortcut: bool) -> serde_json::Value {
    common::report_without_host(elf, board, fidelity, |o| {
        o.profile = profile;
        o.entry_shortcut = shortcut;
    })
}

fn assert_same(elf: &str, board: Board, fidelity: Fidelity, profile: ProfileMode) {
    let full = report(elf, &board, fidelity, profile, false);
    let short = report(elf, &board, fidelity, profile, true);
    assert!(full["cycles"].as_u64().unwrap_or(0) > 0, "{elf}: no cycles in {full}");
    assert_eq!(short, full, "{elf} on {} ({fidelity:?}, {profile:?}): the shortcut changed the report", board.name);
}

#[test]
fn shortcut_matches_full_path_on_a_tight_loop_with_the_profiler() {
    // dot_bench: 5-instruction loop blocks, the function profiler on.
    assert_same("micro/dot_bench_m4.elf", Board::generic(CoreKind::M4), Fidelity::Fast, ProfileMode::Auto);
}

#[test]
fn shortcut_matches_full_path_on_aot_inference_with_operator_profile() {
    assert_same("inference/aot_kws_mimxrt1011_O3.elf", Board::preset("mimxrt1011").unwrap(), Fidelity::Fast, ProfileMode::Auto);
}

#[test]
fn shortcut_matches_full_path_with_interrupts_and_plain_flash_wait_states() {
    // SysTick, NVIC IRQs, PendSV task switches and an SVC; Cortex-M4 detailed mode has no
    // branch predictor, so the shortcut is taken there too.
    assert_same("system/vendor_rtos_m4.elf", Board::generic(CoreKind::M4), Fidelity::Detailed, ProfileMode::Off);
    assert_same("system/vendor_rtos_lpc55s69.elf", Board::preset("lpc55s69").unwrap(), Fidelity::Fast, ProfileMode::Off);
}

#[test]
fn shortcut_follows_flash_latency_the_firmware_changes() {
    // Without L1 caches, RT1011 FlexSPI fetches cost plain wait states per line, and the
    // firmware's CSCMR1.FLEXSPI_PODF write halves the FlexSPI clock mid-run
    // (`set_region_latency`): blocks entered through the shortcut must pay the new wait
    // states too.
    let mut board = Board::preset("mimxrt1011").unwrap();
    (board.icache, board.dcache) = (None, None);
    let elf = "system/vendor_rtos_nocache_mimxrt1011.elf";
    let full = report(elf, &board, Fidelity::Fast, ProfileMode::Off, false);
    assert!(
        full["configuration"].as_array().is_some_and(|c| c.iter().any(|e| e.to_string().contains("CSCMR1"))),
        "the firmware is expected to change the FlexSPI clock: {}",
        full["configuration"]
    );
    assert_same(elf, board, Fidelity::Fast, ProfileMode::Off);
}

#[test]
fn shortcut_matches_full_path_with_the_m7_branch_predictor_and_cached_xip() {
    // Detailed Cortex-M7: the BTAC predicts every control block's exit and the L1
    // I-cache times every fetch from FlexSPI, so the shortcut must replay both.
    assert_same("inference/tflm_kws_mimxrt1011_O3.elf", Board::preset("mimxrt1011").unwrap(), Fidelity::Detailed, ProfileMode::Auto);
    assert_same("micro/dot_m7.elf", Board::generic(CoreKind::M7), Fidelity::Detailed, ProfileMode::Off);
}

#[test]
fn shortcut_matches_full_path_through_the_flash_accelerator() {
    // LPC55S69 flash: every fetch goes through the accelerator's line and prefetch
    // (memoised per block), with interrupts in the RTOS case.
    let lpc = || Board::preset("lpc55s69").unwrap();
    assert_same("inference/aot_kws_lpc55s69_O3.elf", lpc(), Fidelity::Detailed, ProfileMode::Auto);
    assert_same("system/vendor_rtos_lpc55s69.elf", lpc(), Fidelity::Detailed, ProfileMode::Off);
}

#[test]
fn shortcut_stops_at_a_cycle_limit_where_the_full_path_does() {
    // Cached fetches are timed only after fetching: with --max-cycles set, those blocks
    // take the full path, and the run must stop on the same block either way.
    let elf = "inference/tflm_kws_mimxrt1011_O3.elf";
    let board = Board::preset("mimxrt1011").unwrap();
    let run = |shortcut: bool| {
        common::report_without_host(elf, &board, Fidelity::Detailed, |o| {
            o.entry_shortcut = shortcut;
            o.max_cycles = Some(1_000_000);
        })
    };
    let (full, short) = (run(false), run(true));
    assert!(full["outcome"].to_string().contains("limit"), "expected a cycle-limit stop: {}", full["outcome"]);
    assert_eq!(short, full, "the shortcut changed where the cycle limit stopped the run");
}
