//! Self-loops run without the block hook (`UC_CTL_BLOCK_COUNTERS`, `patches/`,
//! `sim/src/machine/block_counters.rs`): unicorn counts the iterations and simbench
//! replays them at the next callback. The reports must be exactly those of a run that
//! calls the hook on every block entry: cycles, instruction mix, profile, exceptions,
//! memory counters and where a limit stops the run. Each case runs the firmware both ways,
//! compares the whole report but its host timing, and checks that iterations were
//! actually skipped (else the comparison would prove nothing).

mod common;

use simbench_cores::{Board, CoreKind, Fidelity};
use simbench_sim::operators::ProfileMode;
use simbench_sim::RunOptions;

/// The report without host timing, and its count of replayed block entries.
fn run(elf: &str, board: &Board, fidelity: Fidelity, counters: bool, adjust: impl Fn(&mut RunOptions)) -> (serde_json::Value, u64) {
    let report = common::report(elf, board, fidelity, |o| {
        adjust(o);
        o.block_counters = counters;
    });
    let replayed = report["host"]["block_entries_replayed"].as_u64().expect("host.block_entries_replayed");
    (common::without_host(report), replayed)
}

/// Run both ways; returns the replayed entries of the run with counters.
fn assert_same(elf: &str, board: Board, fidelity: Fidelity, adjust: impl Fn(&mut RunOptions)) -> u64 {
    let (hooked, none) = run(elf, &board, fidelity, false, &adjust);
    let (counted, replayed) = run(elf, &board, fidelity, true, &adjust);
    assert_eq!(none, 0, "{elf}: block entries replayed with the counters off");
    assert!(hooked["cycles"].as_u64().unwrap_or(0) > 0, "{elf}: no cycles in {hooked}");
    assert_eq!(counted, hooked, "{elf} on {} ({fidelity:?}): skipping self-loop hooks changed the report", board.name);
    replayed
}

/// `assert_same`, where the run must have skipped iterations.
fn assert_same_and_skipped(elf: &str, board: Board, fidelity: Fidelity, adjust: impl Fn(&mut RunOptions)) -> u64 {
    let replayed = assert_same(elf, board, fidelity, adjust);
    assert!(
        replayed > 0,
        "{elf} ({fidelity:?}): no iterations skipped; is simbench linked with a unicorn without patches/unicorn-*-block-counters.patch? Run scripts/setup (scripts/build-unicorn)"
    );
    replayed
}

/// The dot-product kernel's loop (dot_common.h): one 5-instruction block that branches
/// to itself, `N - (r & 1)` iterations (N = 1024) in call r of `REPS` (= 4000) calls by
/// dot_bench.c. The first iteration is entered from the prologue and the second arms the
/// skipping, so at most 1022 and 1021 per call pair are replayed: 2000 × 2043 = 4,086,000.
const DOT_BENCH_REPLAYABLE: u64 = 2000 * (1022 + 1021);

#[test]
fn a_tight_loop_with_the_function_profiler_replays_exactly() {
    let replayed = assert_same_and_skipped("micro/dot_bench_m4.elf", Board::generic(CoreKind::M4), Fidelity::Fast, |o| o.profile = ProfileMode::Auto);
    // The wall-clock check every 16,384 block entries takes one more hook now and then.
    assert!(
        replayed <= DOT_BENCH_REPLAYABLE && replayed > DOT_BENCH_REPLAYABLE * 99 / 100,
        "replayed {replayed} of {DOT_BENCH_REPLAYABLE} skippable iterations"
    );
}

#[test]
fn the_m7_branch_predictor_state_is_replayed() {
    // Detailed Cortex-M7: every iteration's loop branch is looked up and updated in the
    // BTAC (its LRU clock and lookup count show in the report).
    assert_same_and_skipped("micro/dot_m7.elf", Board::generic(CoreKind::M7), Fidelity::Detailed, |_| {});
}

#[test]
fn interrupts_an_svc_and_task_switches_replay_exactly() {
    // SysTick (waited for in WFI), NVIC IRQs, PendSV task switches and an SVC.
    assert_same_and_skipped("system/vendor_rtos_m4.elf", Board::generic(CoreKind::M4), Fidelity::Detailed, |_| {});
    assert_same_and_skipped("system/vendor_rtos_lpc55s69.elf", Board::preset("lpc55s69").unwrap(), Fidelity::Fast, |_| {});
}

#[test]
fn a_busy_wait_on_a_systick_counter_takes_each_interrupt_on_the_same_cycle() {
    // HAL_Delay's shape (micro/tick_delay.c): one-block loops polling a tick counter that
    // the SysTick handler increments every 10,000 cycles, so each skipping run of the loop
    // must end exactly where the next SysTick interrupt is due.
    for fidelity in [Fidelity::Fast, Fidelity::Detailed] {
        assert_same_and_skipped("micro/tick_delay_m4.elf", Board::generic(CoreKind::M4), fidelity, |_| {});
    }
    let (report, _) = run("micro/tick_delay_m4.elf", &Board::generic(CoreKind::M4), Fidelity::Fast, true, |_| {});
    let out = common::kv(report["firmware_output"].as_str().unwrap_or(""));
    assert_eq!(out.get("ticks").map(String::as_str), Some("25"), "{}", report["firmware_output"]);
    // The 5-tick delay starts right after the 20th tick's handler returns, so it spans five
    // SysTick periods of 10,000 cycles, give or take the loop's few cycles per iteration
    // and the call.
    let delay: u64 = out.get("delay cycles").and_then(|v| v.parse().ok()).expect("delay cycles printed");
    assert!((49_950..=50_050).contains(&delay), "delay cycles {delay}");
}

#[test]
fn plain_fetch_wait_states_and_stall_attribution_are_replayed() {
    // RT1011 without L1 caches: FlexSPI fetches cost plain wait states per block, which
    // the firmware changes mid-run (CSCMR1), and --stalls attributes them per function.
    let mut board = Board::preset("mimxrt1011").unwrap();
    (board.icache, board.dcache) = (None, None);
    assert_same_and_skipped("system/vendor_rtos_nocache_mimxrt1011.elf", board, Fidelity::Fast, |o| o.stalls = true);
}

#[test]
fn instruction_and_cycle_limits_stop_inside_a_loop_where_the_hook_does() {
    let m4 = || Board::generic(CoreKind::M4);
    // Odd limits that fall in the middle of the dot loop's 4000 calls.
    assert_same_and_skipped("micro/dot_bench_m4.elf", m4(), Fidelity::Fast, |o| o.max_instructions = Some(1_234_567));
    let (report, _) = run("micro/dot_bench_m4.elf", &m4(), Fidelity::Fast, true, |o| o.max_cycles = Some(2_345_679));
    assert!(report["outcome"].to_string().contains("limit"), "expected a limit stop: {}", report["outcome"]);
    assert_same_and_skipped("micro/dot_bench_m4.elf", m4(), Fidelity::Fast, |o| o.max_cycles = Some(2_345_679));
}

#[test]
fn inference_fixtures_replay_exactly_in_both_modes() {
    for (elf, board) in [("inference/tflm_kws_lpc55s69_O3.elf", "lpc55s69"), ("inference/aot_ic_mimxrt1011_O3.elf", "mimxrt1011")] {
        for fidelity in [Fidelity::Fast, Fidelity::Detailed] {
            assert_same_and_skipped(elf, Board::preset(board).unwrap(), fidelity, |o| o.profile = ProfileMode::Auto);
        }
    }
}

/// The TFLM reference kernels' inner loops span three blocks, each going on only to the
/// next or out of the loop (docs/speed.md (m)): unicorn skips the hooks of all three,
/// the counters give the order of the entries, and the replay must give the hook's
/// report, fetch timed in closed form (`fast`) or per accelerator line (`detailed`).
#[test]
fn loops_of_several_blocks_replay_exactly() {
    // Measured on this run (docs/speed.md (m)): 3-block loops take 6.46 M of the 10.2 M
    // block entries the hook timed before they were skipped; self-loops alone had 8,311
    // entries replayed, and with loops of several blocks 6.02 M are (a loop left after
    // fewer than 8 entries three times in a row is left to the hook until the next
    // wall-clock check: `note_run_length`).
    for fidelity in [Fidelity::Fast, Fidelity::Detailed] {
        let replayed =
            assert_same_and_skipped("inference/tflm_kws_lpc55s69_O3.elf", Board::preset("lpc55s69").unwrap(), fidelity, |o| o.profile = ProfileMode::Auto);
        assert!(replayed > 5_500_000, "{fidelity:?}: only {replayed} block entries replayed: are loops of several blocks skipped?");
    }
    // tflm_ic_lpc55s69 runs the same loop code short in some layers and long in others:
    // 30.5 M entries replayed; with loops set aside for good after short runs, 34 k.
    let replayed = assert_same_and_skipped("inference/tflm_ic_lpc55s69_O3.elf", Board::preset("lpc55s69").unwrap(), Fidelity::Detailed, |_| {});
    assert!(replayed > 25_000_000, "only {replayed} block entries replayed: are loops set aside after short runs tried again?");
    // The RT1011, `detailed`: the loops' fetches all hit the I-cache, whose LRU order
    // after them must be the hook's, and the BTAC's state (each branch's two-bit counter
    // and LRU stamp, lookups) too. Measured: 1.95 M entries replayed with self-loops
    // alone, 2.15 M with these loops.
    let replayed = assert_same_and_skipped("inference/aot_kws_mimxrt1011_O3.elf", Board::preset("mimxrt1011").unwrap(), Fidelity::Detailed, |o| {
        o.profile = ProfileMode::Auto
    });
    assert!(replayed > 2_100_000, "only {replayed} block entries replayed: are predicted loops of several blocks through the I-cache skipped?");
}

/// `detailed` on the boards times every fetch per accelerator or cache line, and the AOT
/// convolutions' one-block loops read a weight from flash in every iteration: the replay
/// times each skipped entry's fetch in turn, and between them the flash reads unicorn
/// logged in that iteration (`access_log.rs`), so the accelerator and the caches see
/// fetches and reads in their order. With the log off, each hooked read ends the skipping
/// instead; both must give the hook's report.
#[test]
fn loops_with_line_timed_fetch_and_logged_reads_replay_exactly() {
    // docs/speed.md (i) counted the entries of one-block loops with line-timed fetch in
    // these runs: 5.11 M (LPC55S69) and 5.10 M (RT1011). Each loop's first entry, and
    // the one that arms the skipping, take the hook: most of the rest are replayed, and
    // on the LPC55S69 (no branch predictor) loops of several blocks add to them.
    for (elf, board, loop_entries) in
        [("inference/aot_ic_lpc55s69_O3.elf", "lpc55s69", 5_110_000), ("inference/aot_ic_mimxrt1011_O3.elf", "mimxrt1011", 5_100_000)]
    {
        let preset = Board::preset(board).unwrap();
        let replayed = assert_same_and_skipped(elf, preset.clone(), Fidelity::Detailed, |_| {});
        assert!(replayed > loop_entries * 9 / 10, "{elf}: {replayed} block entries replayed");
        let without_log = assert_same(elf, preset, Fidelity::Detailed, |o| o.access_log = false);
        assert!(without_log < replayed / 10, "{elf}: {without_log} entries replayed without the log, {replayed} with it");
    }
}
