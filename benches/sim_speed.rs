//! Simulation speed: simbench vs raw unicorn (same ELF, same memory map, no hooks).
//!
//! Run: `cargo bench --bench sim_speed`. Besides criterion's timings for the dot-product
//! micro fixture it prints a summary line per fixture (dot_bench, KWS TFLM and AOT on both
//! boards) and configuration (`--timing fast`, `detailed`, `detailed` with the profiler)
//! with simulated MIPS, the ratio to raw unicorn measured side by side in the same
//! process, and runs (inferences) per host second.

use criterion::{criterion_group, Criterion};
use simbench_cores::{Board, CoreKind, Fidelity};
use simbench_sim::operators::ProfileMode;
use simbench_sim::{Echo, Image, RunOptions};
use std::path::PathBuf;
use std::time::{Duration, Instant};
use unicorn_engine::unicorn_const::{Arch, Mode, Prot};
use unicorn_engine::{ArmCpuModel, RegisterARM, Unicorn};

fn load(rel: &str) -> Image {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(rel);
    Image::from_file(&p).expect("fixture loads")
}

fn opts(board: &Board, fidelity: Fidelity, profile: ProfileMode) -> RunOptions {
    let mut o = simbench_sim::runner::options(board.clone(), fidelity, Echo::Quiet);
    o.profile = profile;
    o
}

/// simbench; returns instructions simulated.
fn simbench_run(image: &Image, o: &RunOptions) -> u64 {
    let r = simbench_sim::run(image.clone(), o).expect("runs");
    assert!(matches!(r.stop, simbench_sim::Stop::Exit(0)), "{:?}", r.stop);
    r.instructions
}

/// The same ELF on bare unicorn: the board's memory regions as plain RAM, the PPB mapped,
/// no block, code or memory hooks. Only an interrupt hook, which fires on the semihosting
/// BKPTs alone: it steps over them and stops at SYS_EXIT / SYS_EXIT_EXTENDED, so the whole
/// program runs, as under simbench.
fn raw_unicorn_run(image: &Image, board: &Board) {
    let mut uc = Unicorn::new(Arch::ARM, Mode::THUMB | Mode::MCLASS).unwrap();
    let cpu = match board.core {
        CoreKind::M4 => ArmCpuModel::CORTEX_M4,
        CoreKind::M33 => ArmCpuModel::CORTEX_M33,
        CoreKind::M7 => ArmCpuModel::CORTEX_M7,
    };
    uc.ctl_set_cpu_model(cpu as i32).unwrap();
    for r in &board.regions {
        uc.mem_map(r.base as u64, r.size as u64, Prot::ALL).unwrap();
    }
    uc.mem_map(0xE000_0000, 0x10_0000, Prot::ALL).unwrap();
    for s in &image.segments {
        uc.mem_write(s.paddr as u64, &s.data).unwrap();
    }
    uc.add_intr_hook(|uc, _| {
        let pc = uc.reg_read(RegisterARM::PC).unwrap_or(0);
        let op = uc.reg_read(RegisterARM::R0).unwrap_or(0);
        if op == 0x18 || op == 0x20 {
            let _ = uc.emu_stop();
        } else {
            let _ = uc.reg_write(RegisterARM::R0, 0);
            let _ = uc.reg_write(RegisterARM::PC, (pc + 2) | 1);
        }
    })
    .unwrap();
    let (sp, pc) = simbench_sim::machine::reset_vector(image, board, None).unwrap();
    uc.reg_write(RegisterARM::SP, sp as u64).unwrap();
    let _ = uc.emu_start(pc as u64 | 1, u64::MAX, 0, 0);
}

fn median_secs(mut f: impl FnMut(), reps: usize) -> f64 {
    let mut t: Vec<f64> = (0..reps)
        .map(|_| {
            let s = Instant::now();
            f();
            s.elapsed().as_secs_f64()
        })
        .collect();
    t.sort_by(|a, b| a.partial_cmp(b).unwrap());
    t[reps / 2]
}

/// Print one line per timing/profile configuration of a fixture: simulated MIPS, the ratio
/// to raw unicorn measured just before in the same process, and inferences per host second.
fn summarise(name: &str, image: &Image, board: &Board, reps: usize) {
    let raw = median_secs(|| raw_unicorn_run(image, board), reps);
    for (label, fidelity, profile) in [
        ("fast", Fidelity::Fast, ProfileMode::Off),
        ("detailed", Fidelity::Detailed, ProfileMode::Off),
        ("detailed+profile", Fidelity::Detailed, ProfileMode::Auto),
    ] {
        let o = opts(board, fidelity, profile);
        let insns = simbench_run(image, &o) as f64;
        let sim = median_secs(
            || {
                simbench_run(image, &o);
            },
            reps,
        );
        println!(
            "summary: {name} on {} {label}: {:.1} M instructions; raw unicorn {:.0} MIPS; simbench {:.0} MIPS = {:.0}% of raw; {:.2} runs per host second",
            board.name,
            insns / 1e6,
            insns / raw / 1e6,
            insns / sim / 1e6,
            100.0 * raw / sim,
            1.0 / sim
        );
    }
}

fn bench(c: &mut Criterion) {
    let generic = Board::generic(CoreKind::M4);
    let image = load("fixtures/micro/dot_bench_m4.elf");
    let det = opts(&generic, Fidelity::Detailed, ProfileMode::Off);
    let mut g = c.benchmark_group("dot_bench_m4");
    g.sample_size(10).measurement_time(Duration::from_secs(4));
    g.bench_function("raw_unicorn_no_hooks", |b| b.iter(|| raw_unicorn_run(&image, &generic)));
    g.bench_function("simbench_timing", |b| b.iter(|| simbench_run(&image, &det)));
    g.finish();

    summarise("dot_bench_m4", &image, &generic, 7);
    for (elf, board) in [
        ("tflm_kws_mimxrt1011_O3", "mimxrt1011"),
        ("aot_kws_mimxrt1011_O3", "mimxrt1011"),
        ("tflm_kws_lpc55s69_O3", "lpc55s69"),
        ("aot_kws_lpc55s69_O3", "lpc55s69"),
    ] {
        let b = Board::preset(board).unwrap();
        summarise(elf, &load(&format!("fixtures/inference/{elf}.elf")), &b, 3);
    }
}

criterion_group!(benches, bench);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
