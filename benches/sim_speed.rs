//! Simulation speed: simbench vs raw unicorn (same ELF, same memory map, no hooks).
//!
//! Run: `cargo bench --bench sim_speed`. Besides criterion's timings for the dot-product
//! micro fixture it prints, per fixture (the int8 dot product on M4, M33 and M7; KWS, IC
//! and VWW, TFLM and AOT, on lpc55s69 and mimxrt1011), a summary line per configuration
//! (`--timing fast`, `detailed`, `detailed` with the profiler, `detailed` on unicorn's
//! stock memory-hook path) with simulated MIPS, the ratio to raw unicorn measured side by
//! side in the same process and runs (inferences) per host second, then a `ratio:` line:
//! detailed/raw, fast/raw and detailed/fast.
//!
//! With `SIMBENCH_BENCH_FLOORS=1`, `floor:` lines first run bare unicorn with hooks that
//! do nothing (see `Floor`): what unicorn's hook machinery alone costs, the bound under
//! simbench's own ratios. On boards where `detailed` mode hooks data accesses, further
//! `floor:` lines measure issue 18's alternatives (code hooks on the load/store
//! instructions, capture of addresses at block entry, MMIO data pages), after `sites:` and
//! `capture:` lines from a survey of the load/store instructions (see `code_hook_floors`,
//! `mem_sites`, `mmio_floor` and docs/speed.md). Bare unicorn leaves the patch's
//! `UC_CTL_NARROW_MEM_HOOKS` off: its floors are stock unicorn's, but for one line that
//! repeats the empty data hooks with the control on, as simbench runs.
//! `SIMBENCH_BENCH_ONLY=<substring>` limits the summaries to matching fixtures.

use criterion::{criterion_group, Criterion};
use simbench_cores::MemorySystem;
use simbench_cores::{Board, CoreKind, Fidelity};
use simbench_sim::operators::ProfileMode;
use simbench_sim::{Echo, Image, RunOptions};
use std::cell::Cell;
use std::path::PathBuf;
use std::rc::Rc;
use std::time::{Duration, Instant};
use unicorn_engine::unicorn_const::{Arch, HookType, Mode, Prot};
use unicorn_engine::{ArmCpuModel, RegisterARM, Unicorn};

// In a folder of their own, so that cargo does not take them for bench targets.
#[path = "sim_speed/code_hook_floors.rs"]
mod code_hook_floors;
#[path = "sim_speed/mem_sites.rs"]
mod mem_sites;
#[path = "sim_speed/mmio_floor.rs"]
mod mmio_floor;
use mem_sites::{MemSite, Survey};
use std::hint::black_box;

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

/// The same ELF on bare unicorn: the board's memory regions mapped with simbench's
/// protections, the PPB as plain memory, no block, code or memory hooks. Only an
/// interrupt hook, which fires on the semihosting BKPTs alone: it steps over them and
/// stops at SYS_EXIT / SYS_EXIT_EXTENDED, so the whole program runs, as under simbench.
fn raw_unicorn_run(image: &Image, board: &Board) {
    hooked_unicorn_run(image, board, Floor::Raw);
}

/// What bare unicorn runs with, to measure the floor its hooks put under any simulator
/// built on them.
#[derive(Clone, Copy)]
enum Floor<'a> {
    Raw,
    /// No hooks either, with the unicorn patch's control on as simbench sets it
    /// (`UC_CTL_NARROW_MEM_HOOKS`): the generated code then checks for a stop request at
    /// block starts only, not after every load and store.
    RawWithControl,
    /// A block hook that only adds up block sizes.
    BlockHook,
    /// That, plus a memory hook on an address range nothing touches: unicorn then sends
    /// every load and store through its slow path (`load_helper`, `store_helper`).
    UnusedDataHook,
    /// That, plus empty memory hooks on these regions (simbench's detailed-mode data
    /// hooks): each covered access also restores the guest state before its callback.
    /// With `true`, under the patch's control, as simbench runs: the bound of any
    /// design that times data accesses with memory hooks.
    DataHooks(&'a [usize], bool),
    /// The block hook, plus one empty code hook over all code: a callback on every
    /// instruction.
    EveryInstruction,
    /// The block hook, plus a code hook on each of these load/store instructions
    /// (begin = end) that reads its address registers: issue 18's design (a) without
    /// simbench's accounting, and without any memory hook.
    MemSites(&'a [MemSite]),
    /// The block hook, plus a code hook on one load/store instruction and `n` more on
    /// addresses never executed: what each call pays for the length of the hook list.
    ListLength(MemSite, usize),
    /// Issue 18's design (b) without simbench's accounting: the block hook also reads, at
    /// block entry, the registers the addresses of the block's hooked accesses come from.
    /// With `true`, code hooks on the accesses whose address the block computes itself.
    EntryCapture(&'a Survey, bool),
    /// The block hook, and the code-free pages of these regions mapped as MMIO with
    /// copy-backed callbacks instead of hooked (`mmio_floor`), on stock unicorn.
    MmioData(&'a Survey, &'a [usize]),
}

/// Runs the firmware on bare unicorn with `floor`'s hooks; returns the bytes of code the
/// block hook saw (0 without one) and main's exit status from SYS_EXIT_EXTENDED.
fn hooked_unicorn_run(image: &Image, board: &Board, floor: Floor) -> (u64, u32) {
    let mut uc = bare_unicorn(image, board);
    if matches!(floor, Floor::RawWithControl | Floor::DataHooks(_, true)) {
        simbench_sim::machine::narrow_hooks::enable(&mut uc);
    }
    let code_bytes = Rc::new(Cell::new(0u64));
    if !matches!(floor, Floor::Raw | Floor::RawWithControl) {
        let seen = code_bytes.clone();
        // One block hook only: unicorn calls a lone hook of a kind directly.
        let capture = if let Floor::EntryCapture(survey, _) = floor { Some(&survey.entry_regs) } else { None };
        uc.add_block_hook(1, 0, move |uc, addr, size| {
            seen.set(seen.get() + size as u64);
            if let Some(regs) = capture.and_then(|c| c.get(&(addr as u32))) {
                regs.iter().for_each(|&r| _ = black_box(uc.reg_read(r).unwrap()));
            }
        })
        .unwrap();
    }
    let ranges: Vec<(u64, u64)> = match floor {
        Floor::UnusedDataHook => vec![(0xF000_0000, 0xF000_0FFF)],
        Floor::DataHooks(regions, _) => regions.iter().map(|&ri| (board.regions[ri].base as u64, board.regions[ri].end() - 1)).collect(),
        _ => Vec::new(),
    };
    for (begin, end) in ranges {
        uc.add_mem_hook(HookType::MEM_READ | HookType::MEM_WRITE, begin, end, |_, _, _, _, _| true).unwrap();
    }
    code_hook_floors::add(&mut uc, floor);
    if let Floor::MmioData(survey, regions) = floor {
        mmio_floor::map_data_pages(&mut uc, board, regions, &survey.code_pages);
    }
    let status = run_to_exit(&mut uc, image, board);
    (code_bytes.get(), status)
}

/// Bare unicorn with the ELF loaded: the board's memory regions mapped with simbench's
/// protections, the PPB as plain memory, and only an interrupt hook, which fires on the
/// semihosting BKPTs alone: it steps over them and stops at SYS_EXIT /
/// SYS_EXIT_EXTENDED, so the whole program runs, as under simbench.
fn bare_unicorn<'a>(image: &Image, board: &Board) -> Unicorn<'a, ()> {
    let mut uc = Unicorn::new(Arch::ARM, Mode::THUMB | Mode::MCLASS).unwrap();
    let cpu = match board.core {
        CoreKind::M4 => ArmCpuModel::CORTEX_M4,
        CoreKind::M33 => ArmCpuModel::CORTEX_M33,
        CoreKind::M7 => ArmCpuModel::CORTEX_M7,
    };
    uc.ctl_set_cpu_model(cpu as i32).unwrap();
    for r in &board.regions {
        let prot = if r.kind.writable() { Prot::ALL } else { Prot::READ | Prot::EXEC };
        uc.mem_map(r.base as u64, r.size as u64, prot).unwrap();
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
    uc
}

/// Runs from the reset vector to SYS_EXIT; returns main's exit status (SYS_EXIT_EXTENDED:
/// R1 points at (reason, status)).
fn run_to_exit(uc: &mut Unicorn<()>, image: &Image, board: &Board) -> u32 {
    let (sp, pc) = simbench_sim::machine::reset_vector(image, board, None).unwrap();
    uc.reg_write(RegisterARM::SP, sp as u64).unwrap();
    uc.emu_start(pc as u64 | 1, u64::MAX, 0, 0).unwrap();
    let block = uc.reg_read(RegisterARM::R1).unwrap();
    uc.mem_read_as_vec(block + 4, 4).map_or(u32::MAX, |b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

fn median_secs(mut f: impl FnMut(), reps: usize) -> f64 {
    median((0..reps).map(|_| secs_of(&mut f)).collect())
}

/// Host seconds of one call of `f`.
fn secs_of(mut f: impl FnMut()) -> f64 {
    let s = Instant::now();
    f();
    s.elapsed().as_secs_f64()
}

fn median(mut t: Vec<f64>) -> f64 {
    t.sort_by(|a, b| a.partial_cmp(b).unwrap());
    t[t.len() / 2]
}

/// A fixture's side-by-side floor measurements: raw unicorn's time and the reference
/// run every floor must reproduce.
struct Floors<'a> {
    name: &'a str,
    image: &'a Image,
    board: &'a Board,
    /// Raw unicorn's median seconds.
    raw: f64,
    /// Instructions simbench counts for the run.
    insns: f64,
    /// Bytes of blocks the plain block-hook run executes.
    whole_run: u64,
    reps: usize,
}

impl Floors<'_> {
    /// Prints one `floor:` line for `floor` and returns its median seconds (None when the
    /// run did not reproduce the reference run).
    fn time(&self, label: &str, floor: Floor) -> Option<f64> {
        let (mut code_bytes, mut status) = (0, 0);
        let mut run = || {
            (code_bytes, status) = hooked_unicorn_run(self.image, self.board, floor);
        };
        // A floor ten times slower than raw is measured once: noise no longer matters.
        let first = median_secs(&mut run, 1);
        let t = if first > 10.0 * self.raw { first } else { median_secs(run, self.reps) };
        // Bare unicorn must run the same program to the same end for the ratio to mean
        // anything (with empty data hooks on LPC55S69 flash it does not: TFLM's Invoke
        // fails there, though it passes under simbench's hooks).
        let same = code_bytes == self.whole_run && status == 0;
        println!(
            "floor: {} on {}: unicorn with {label}: {}",
            self.name,
            self.board.name,
            if same {
                format!("{:.0} MIPS = {:.0}% of raw", self.insns / t / 1e6, 100.0 * self.raw / t)
            } else {
                format!("n/a: the run diverged (exit status {status}, {code_bytes} bytes of blocks)")
            }
        );
        same.then_some(t)
    }
}

/// Print one line per timing/profile configuration of a fixture (simulated MIPS, the ratio
/// to raw unicorn timed alongside in the same process, runs per host second), then
/// the `ratio:` line issue 18 asks for. With `SIMBENCH_BENCH_FLOORS=1`, first the `floor:`
/// lines (and, where `detailed` hooks data, the `sites:` and `capture:` survey).
fn summarise(name: &str, image: &Image, board: &Board, reps: usize) {
    // SIMBENCH_BENCH_ONLY=substring limits the summaries to matching fixtures.
    if std::env::var("SIMBENCH_BENCH_ONLY").is_ok_and(|only| !name.contains(&only)) {
        return;
    }
    let configs: Vec<(&str, RunOptions, f64)> = [
        ("fast", Fidelity::Fast, ProfileMode::Off, true),
        ("detailed", Fidelity::Detailed, ProfileMode::Off, true),
        ("detailed+profile", Fidelity::Detailed, ProfileMode::Auto, true),
        ("detailed, stock unicorn hook path", Fidelity::Detailed, ProfileMode::Off, false),
    ]
    .into_iter()
    .map(|(label, fidelity, profile, narrow)| {
        let mut o = opts(board, fidelity, profile);
        o.narrow_mem_hooks = narrow;
        let insns = simbench_run(image, &o) as f64;
        (label, o, insns)
    })
    .collect();
    // Each repetition times raw unicorn and every configuration in turn, so that drift on
    // a shared machine lands on all of them alike rather than on whichever came last.
    // The control must not change what bare unicorn runs: the same end, the same status
    // (taken from the timed runs themselves).
    let (mut stock_end, mut control_end) = (0, 0);
    let (mut raw_t, mut control_t, mut sim_t) = (Vec::new(), Vec::new(), vec![Vec::new(); configs.len()]);
    for _ in 0..reps {
        raw_t.push(secs_of(|| stock_end = hooked_unicorn_run(image, board, Floor::Raw).1));
        control_t.push(secs_of(|| control_end = hooked_unicorn_run(image, board, Floor::RawWithControl).1));
        for (t, (_, o, _)) in sim_t.iter_mut().zip(&configs) {
            t.push(secs_of(|| {
                simbench_run(image, o);
            }));
        }
    }
    assert_eq!(control_end, stock_end, "{name}: raw unicorn with the control on exited with another status");
    let (raw, raw_control) = (median(raw_t), median(control_t));
    if std::env::var("SIMBENCH_BENCH_FLOORS").is_ok_and(|v| v == "1") {
        floors(name, image, board, raw, reps);
    }
    let secs: Vec<f64> = sim_t.into_iter().map(median).collect();
    for ((label, _, insns), &sim) in configs.iter().zip(&secs) {
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
    let (fast, detailed, stock) = (secs[0], secs[1], secs[3]);
    println!(
        "ratio: {name} on {}: detailed/raw {:.2}, fast/raw {:.2}, detailed/fast {:.2} (stock unicorn path: detailed/raw {:.2}; against raw unicorn with simbench's control on: detailed {:.2}, fast {:.2}){}",
        board.name,
        raw / detailed,
        raw / fast,
        fast / detailed,
        raw / stock,
        raw_control / detailed,
        raw_control / fast,
        if simbench_sim::machine::narrow_hooks::supported() { "" } else { "; WARNING: stock unicorn linked, run scripts/setup" }
    );
}

/// The `floor:` lines: bare unicorn with hooks that do nothing, and issue 18's
/// alternatives where `detailed` mode hooks data (docs/speed.md).
fn floors(name: &str, image: &Image, board: &Board, raw: f64, reps: usize) {
    let memsys = MemorySystem::new(board, Fidelity::Detailed);
    let hooked: Vec<usize> = (0..board.regions.len()).filter(|&r| memsys.needs_data_hook(r)).collect();
    let insns = simbench_run(image, &opts(board, Fidelity::Fast, ProfileMode::Off)) as f64;
    let (whole_run, _) = hooked_unicorn_run(image, board, Floor::BlockHook);
    let floors = Floors { name, image, board, raw, insns, whole_run, reps };
    floors.time("an empty block hook", Floor::BlockHook);
    floors.time("that + a data hook on unused memory", Floor::UnusedDataHook);
    if !hooked.is_empty() {
        floors.time("that + empty data hooks where detailed mode hooks", Floor::DataHooks(&hooked, false));
        floors.time("the same with simbench's unicorn control on", Floor::DataHooks(&hooked, true));
        code_hook_floors::report(&floors, &hooked);
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

    // The 513 M-instruction int8 dot product of benches/qemu_compare.sh on each core
    // (generic boards; the M33 build links at the AN505's addresses).
    let an505 = Board::from_toml(include_str!("boards/mps2-an505.toml")).expect("board file parses");
    for (elf, board) in [("qemu_dot_m4", Board::generic(CoreKind::M4)), ("qemu_dot_m33", an505), ("qemu_dot_m7", Board::generic(CoreKind::M7))] {
        summarise(elf, &load(&format!("fixtures/micro/{elf}.elf")), &board, 3);
    }
    // KWS, IC and VWW, both engines, on both real boards (where the fixture exists).
    for model in ["kws", "ic", "vww"] {
        for engine in ["tflm", "aot"] {
            for board in ["lpc55s69", "mimxrt1011"] {
                let elf = format!("{engine}_{model}_{board}_O3");
                let path = format!("fixtures/inference/{elf}.elf");
                if PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(&path).exists() {
                    summarise(&elf, &load(&path), &Board::preset(board).unwrap(), 3);
                }
            }
        }
    }
}

criterion_group!(benches, bench);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
