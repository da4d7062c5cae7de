//! Simulation speed: simbench with timing on vs raw unicorn (same ELF, no hooks).
//!
//! Run: `cargo bench --bench sim_speed`. Besides criterion's timings it prints a
//! summary line per configuration with simulated MIPS and the ratio to raw unicorn,
//! measured side by side in the same process.

use criterion::{criterion_group, Criterion};
use simbench_cores::Board;
use simbench_sim::{Echo, Image, RunOptions};
use std::path::PathBuf;
use std::time::{Duration, Instant};
use unicorn_engine::unicorn_const::{Arch, Mode, Prot};
use unicorn_engine::{ArmCpuModel, RegisterARM, Unicorn};

fn fixture() -> Image {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/micro/dot_bench_m4.elf");
    Image::from_file(&p).expect("fixture loads")
}

fn opts() -> RunOptions {
    // Raw simulation speed: no profiler (its cost is measured by running with it on).
    let mut o = simbench_sim::runner::options(Board::generic(simbench_cores::CoreKind::M4), simbench_cores::Fidelity::Detailed, Echo::Quiet);
    o.profile = simbench_sim::operators::ProfileMode::Off;
    o
}

/// simbench with the M4 timing model; returns instructions simulated.
fn simbench_run(image: &Image) -> u64 {
    let r = simbench_sim::run(image.clone(), &opts()).expect("runs");
    assert!(matches!(r.stop, simbench_sim::Stop::Exit(0)));
    r.instructions
}

/// The same ELF on bare unicorn: same memory map, no hooks. Stops at the first
/// semihosting BKPT (the result print after the kernel loop), an exception unicorn
/// reports as an error without an interrupt hook.
fn raw_unicorn_run(image: &Image) {
    let mut uc = Unicorn::new(Arch::ARM, Mode::THUMB | Mode::MCLASS).unwrap();
    uc.ctl_set_cpu_model(ArmCpuModel::CORTEX_M4 as i32).unwrap();
    uc.mem_map(0, 4 << 20, Prot::ALL).unwrap();
    uc.mem_map(0x2000_0000, 4 << 20, Prot::ALL).unwrap();
    // DWT/ITM accesses of the measurement helpers need the PPB mapped.
    uc.mem_map(0xE000_0000, 0x10_0000, Prot::ALL).unwrap();
    for s in &image.segments {
        uc.mem_write(s.paddr as u64, &s.data).unwrap();
    }
    let sp = image.read_word(0).unwrap();
    let pc = image.read_word(4).unwrap();
    uc.reg_write(RegisterARM::SP, sp as u64).unwrap();
    let _ = uc.emu_start(pc as u64, u64::MAX, 0, 0);
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

fn bench(c: &mut Criterion) {
    let image = fixture();
    let mut g = c.benchmark_group("dot_bench_m4");
    g.sample_size(10).measurement_time(Duration::from_secs(4));
    g.bench_function("raw_unicorn_no_hooks", |b| b.iter(|| raw_unicorn_run(&image)));
    g.bench_function("simbench_timing", |b| b.iter(|| simbench_run(&image)));
    g.finish();

    let insns = simbench_run(&image) as f64;
    let raw = median_secs(|| raw_unicorn_run(&image), 7);
    let sim = median_secs(|| {
        simbench_run(&image);
    }, 7);
    println!(
        "summary: dot_bench_m4 {:.1} M instructions; raw unicorn {:.0} MIPS; simbench timing {:.0} MIPS = {:.0}% of raw",
        insns / 1e6,
        insns / raw / 1e6,
        insns / sim / 1e6,
        100.0 * raw / sim
    );
}

criterion_group!(benches, bench);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
