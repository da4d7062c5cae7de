//! The machine: unicorn set up as the board's Cortex-M, with simbench's timing attached.
//!
//! Timing works at translation-block granularity (architecture.md, "Key decisions"): the
//! block hook looks the block up in a cache (decoding it with capstone and costing it
//! with the core model on first sight), charges the previous block's branch penalty now
//! that the next address shows whether it was taken, and adds the block's static cost.
//! Memory hooks are installed only on regions whose data accesses cost wait states (or
//! everywhere with `count_accesses`), so zero-wait firmware runs at near-raw speed.
//! (Any memory hook, even over a small range, sends every load and store through
//! unicorn's slow path: measured 2.5× slower on dot_bench. That is also why code writes
//! are not hooked; a re-translated block is recognised by its changed size instead.)

mod access_log;
mod access_pc;
mod block_counters;
mod block_index;
mod core_regs;
pub mod debug;
mod direct_hooks;
mod divides;
mod exceptions;
mod faults;
mod finish;
mod hooks;
mod ipsr_reads;
pub mod narrow_hooks;
mod paint;
mod profiling;
mod semihosting_call;
mod settings;
mod setup;
mod state;
mod unaligned;
mod watch;

use access_pc::*;
use block_counters::{BlockCounters, SkippedLoop};
pub use core_regs::{core_reg, read_core_reg};
use divides::*;
use faults::*;
use finish::*;
use hooks::*;
use ipsr_reads::*;
use paint::*;
use profiling::*;
use semihosting_call::*;
use settings::*;
use setup::*;
use state::*;
use unaligned::*;

use crate::image::Image;
use crate::memtruth;
use crate::peripherals::nvic::{cfsr, FaultKind};
use crate::peripherals::vendor::{Peripherals, Setting};
use crate::peripherals::{Ppb, PpbEvent};
use crate::profile::callstack::{demangle, Exit, FuncInfo, FuncRole, Profiler};
use crate::profile::operators::{role_of, ProfileMode};
use crate::semihosting::{self, GuestMemory};
use block_index::BlockIndex;
use rustc_hash::FxHashMap;
use simbench_cores::board::{Board, RegionKind, PPB_BASE, PPB_SIZE};
use simbench_cores::memsys::{CacheStats, FetchMode, FetchPlan};
use simbench_cores::timing::DIV_STATIC;
use simbench_cores::{BranchPredictor, Class, CoreModel, Decoder, Fidelity, Insn, MemorySystem};
use std::io::Write;
use std::time::{Duration, Instant};
use unicorn_engine::unicorn_const::{Arch, HookType, MemType, Mode, Prot};
use unicorn_engine::{ArmCpuModel, RegisterARM, Unicorn};

/// Largest translation block simbench decodes (QEMU caps blocks well below this).
const MAX_BLOCK_BYTES: u32 = 4096;
/// Firmware output kept in the report.
const MAX_CAPTURED_OUTPUT: usize = 1 << 20;
/// Markers kept in the report; later ones are counted as dropped.
const MAX_MARKERS: usize = 1 << 20;
/// How often (in blocks) the wall-clock deadline is checked.
const DEADLINE_CHECK_BLOCKS: u32 = 1 << 14;
/// Blocks remembered for fault reports.
const RECENT_BLOCKS: usize = 8;
/// Cortex-M7 BTAC entries: not published [TR §3]; see cores/src/timing/predictor.rs.
const BTAC_ENTRIES: usize = 128;

/// Where firmware output goes while it runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Echo {
    Stdout,
    Stderr,
    Quiet,
}

/// Everything that shapes a run.
#[derive(Clone, Debug)]
pub struct RunOptions {
    pub board: Board,
    pub fidelity: Fidelity,
    /// Function and operator profiling (`Off` skips the shadow call stack entirely).
    pub profile: crate::profile::operators::ProfileMode,
    /// `--arena`: the buffer whose use memory truth measures (symbol or `ADDR:SIZE`).
    pub arena: Option<String>,
    /// `--model`: the TFLite model the firmware runs, for operator names and shapes when
    /// the image does not embed it (AOT bundles).
    pub model: Option<simbench_profiles::tflite::Model>,
    pub vtor: Option<u32>,
    pub max_cycles: Option<u64>,
    pub max_instructions: Option<u64>,
    pub timeout: Option<Duration>,
    pub count_accesses: bool,
    pub echo: Echo,
    /// How semihosting reaches the host: folder, writes, stdin, command line (default:
    /// console only, empty stdin).
    pub semihosting: semihosting::SemihostingOptions,
    /// Enter blocks through the common-case shortcut (`State::enter_steady`) where it
    /// applies. Always true except in the test that checks the shortcut against the
    /// full path.
    pub entry_shortcut: bool,
    /// Let unicorn keep its TLB fast path on pages no data hook covers, where the linked
    /// unicorn has the patch for it (`narrow_hooks`). Always true except in the test that
    /// checks its reports against the stock path's.
    pub narrow_mem_hooks: bool,
    /// Let unicorn run a self-loop's iterations without the block hook until the next
    /// deadline, where the linked unicorn has the patch for it (`block_counters.rs`).
    /// Always true except in the test that checks its reports against the hook's.
    pub block_counters: bool,
    /// Let unicorn log the loads and stores the data hooks would see instead of calling
    /// them, where the linked unicorn has the patch for it (`access_log.rs`). Always true
    /// except in the test that checks its reports against the hooks'.
    pub access_log: bool,
    /// Set to a signal number (non-zero) by the application's signal handler: the run
    /// stops at the next limit check with a partial report.
    pub interrupt: Option<std::sync::Arc<std::sync::atomic::AtomicUsize>>,
    /// `--place SYMBOL=REGION`: ranges timed as if linked into another region.
    pub placements: Vec<crate::placement::PlaceSpec>,
    /// `--stalls`: attribute every memory wait to a symbol (and operator).
    pub stalls: bool,
}

/// Why the run ended.
#[derive(Clone, Debug, PartialEq)]
pub enum Stop {
    Exit(i64),
    Fault {
        kind: String,
        message: String,
        pc: u32,
    },
    Limit {
        message: String,
        pc: u32,
    },
    /// Parked for good: `b .` or WFI with no exception that could ever leave it.
    Parked {
        message: String,
        pc: u32,
    },
    /// Stopped by a signal (SIGINT, SIGTERM) from the user.
    Interrupted {
        signal: i32,
        message: String,
        pc: u32,
    },
}

impl Stop {
    /// The message of a stop that is not an exit.
    pub fn message(&self) -> Option<&str> {
        match self {
            Stop::Exit(_) => None,
            Stop::Fault { message, .. } | Stop::Limit { message, .. } | Stop::Parked { message, .. } | Stop::Interrupted { message, .. } => Some(message),
        }
    }
}

/// A marker written to an ITM stimulus port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MarkerEvent {
    pub port: u8,
    pub value: u32,
    pub cycles: u64,
    pub pc: u32,
}

/// Per-region counters.
#[derive(Clone, Debug, Default)]
pub struct RegionCounters {
    pub instructions_fetched: u64,
    pub fetch_wait_cycles: u64,
    pub data_reads: u64,
    pub data_writes: u64,
    pub data_wait_cycles: u64,
    pub hooked: bool,
}

/// What a finished run measured.
#[derive(Clone, Debug)]
pub struct RunResult {
    pub stop: Stop,
    pub cycles: u64,
    pub instructions: u64,
    pub regions: Vec<RegionCounters>,
    pub instruction_mix: Vec<(Class, u64)>,
    pub markers: Vec<MarkerEvent>,
    pub markers_dropped: u64,
    pub output: Vec<u8>,
    pub output_truncated: bool,
    /// Semihosting requests refused or malformed (answered -1 with errno), for the report.
    pub semihosting_notes: Vec<String>,
    pub unmodelled_registers: Vec<(u32, u64, u64)>,
    /// Exceptions taken.
    pub exceptions: ExceptionCounts,
    /// What the firmware configured through modelled vendor registers, in order.
    pub configuration: Vec<ConfigChange>,
    pub blocks_decoded: u64,
    /// See `HostInfo::block_entries_replayed`.
    pub block_entries_replayed: u64,
    /// See `HostInfo::data_accesses_logged`.
    pub data_accesses_logged: u64,
    /// See `HostInfo::data_accesses_folded`.
    pub data_accesses_folded: u64,
    pub initial_sp: u32,
    pub initial_pc: u32,
    pub wall: Duration,
    pub icache: Option<CacheStats>,
    pub dcache: Option<CacheStats>,
    /// (branches looked up, mispredicted) by the Cortex-M7 BTAC in detailed timing.
    pub branch_predictor: Option<(u64, u64)>,
    /// SDIV/UDIV executions timed from their operands.
    pub divides_timed: u64,
    /// The function profiler after the run (None with `--profile off`).
    pub profiler: Option<Profiler>,
    /// Context of a fault or limit stop.
    pub error: Option<simbench_profiles::report::ErrorInfo>,
    /// The board as run: the options' board, plus what a generic board mapped for the
    /// image (`mapped_for_image`).
    pub board: Board,
    pub mapped_for_image: Vec<String>,
    /// Stack, heap and arena use measured by painting at `main` (None when not painted).
    pub memory_probe: Option<MemoryProbe>,
    /// `--place` ranges as resolved, and the `--stalls` log (flushed at the end).
    pub placed: Vec<crate::placement::Placed>,
    pub stalls: Option<crate::stalls::StallLog>,
}

/// A setting the firmware changed through a vendor register, and when.
#[derive(Clone, Debug, PartialEq)]
pub struct ConfigChange {
    pub register: String,
    /// What it set, with the preset's value for comparison.
    pub setting: String,
    pub cycle: u64,
    /// The core clock from here on, when the setting changed it.
    pub clock_mhz: Option<f64>,
}

/// Exception activity: (exception number, times taken), tail-chains, lazy FP saves.
#[derive(Clone, Debug, Default)]
pub struct ExceptionCounts {
    pub taken: Vec<(usize, u64)>,
    pub tail_chains: u64,
    pub lazy_fp_saves: u64,
}

/// Measured use of painted memory.
#[derive(Clone, Debug, PartialEq)]
pub struct MemoryProbe {
    pub stack_peak_bytes: Option<u64>,
    pub heap_used_bytes: Option<u64>,
    pub arena: Option<simbench_profiles::profile::BufferUse>,
}

fn internal(what: &str, e: unicorn_engine::unicorn_const::uc_error) -> crate::error::SimError {
    crate::error::SimError::Internal(format!("{what}: unicorn error {e:?}"))
}

/// Initial SP and PC: from the vector table (`--vtor`, a vector-table symbol, or the
/// lowest code address), else the ELF entry point with SP at the top of the largest RAM.
pub fn reset_vector(image: &Image, board: &Board, vtor: Option<u32>) -> Result<(u32, u32), crate::error::SimError> {
    vector_table(image, board, vtor).map(|(sp, pc, _)| (sp, pc))
}

/// A machine ready to run: unicorn with the image loaded and the hooks installed.
pub(super) struct Prepared {
    uc: Unicorn<'static, State>,
    sp: u32,
    pc: u32,
    mapped_for_image: Vec<String>,
}

/// Build the machine for `image`; with `debug`, under a debugger's control (`debug/`).
fn prepare(image: Image, opts: &RunOptions, debug: Option<Box<debug::DebugState>>) -> Result<Prepared, crate::error::SimError> {
    let mut fitted = opts.board.clone();
    let mapped_for_image = if fitted.is_generic() { fit_generic_board(&mut fitted, &image, opts.vtor) } else { Vec::new() };
    let board = &fitted;
    check_image_fits(&image, board)?;
    let (sp, pc, vtor) = vector_table(&image, board, opts.vtor)?;
    let placed = crate::placement::resolve(&image, board, &opts.placements)?;
    let mut state = State::new(image, opts, board, sp, pc, vtor)?;
    if opts.stalls {
        state.stalls = Some(Box::new(crate::stalls::StallLog::new(crate::stalls::AddressMap::new(&state.image, board, &placed))));
    }
    state.placed = placed;
    let debugged = debug.is_some();
    state.debug = debug;
    let mut uc = create_emulator(state, board.core, board.double_precision_fpu(), opts.narrow_mem_hooks)?;
    map_board(&mut uc, board, opts.count_accesses)?;
    map_ppb(&mut uc)?;
    let segments = uc.get_data().image.segments.clone();
    for seg in &segments {
        uc.mem_write(seg.paddr as u64, &seg.data).map_err(|e| internal("loading a segment", e))?;
    }
    if debugged {
        // First, so that a halt skips the divide hooks of the instruction it stops before.
        debug::install(&mut uc)?;
    }
    install_hooks(&mut uc, !debugged)?;
    if opts.block_counters && !debugged {
        block_counters::enable(&mut uc);
    }
    if opts.access_log && opts.narrow_mem_hooks && !debugged && !uc.get_data().data_hook_ranges.is_empty() {
        access_log::enable(&mut uc);
    }
    hook_image_divides(&mut uc);
    hook_image_ipsr_reads(&mut uc);

    uc.reg_write(RegisterARM::SP, sp as u64).map_err(|e| internal("setting SP", e))?;
    // LR resets to 0xFFFFFFFF (Armv7-M ARM B1.4.7): a return from the reset handler faults.
    uc.reg_write(RegisterARM::LR, 0xFFFF_FFFF).map_err(|e| internal("setting LR", e))?;
    Ok(Prepared { uc, sp, pc, mapped_for_image })
}

/// Build the machine, run the firmware to its end, and collect the measurements.
pub fn run(image: Image, opts: &RunOptions) -> Result<RunResult, crate::error::SimError> {
    let Prepared { mut uc, sp, pc, mapped_for_image } = prepare(image, opts, None)?;
    let started = Instant::now();
    let mut resume = pc;
    let result = loop {
        uc.get_data_mut().bad_access = None;
        let result = uc.emu_start(resume as u64 | 1, u64::MAX, 0, 0);
        uc.get_data_mut().catch_up(None);
        if uc.get_data().stop.is_some() || !resume_after(&mut uc, &result) {
            break result;
        }
        resume = pc_of(&uc);
    };
    let wall = started.elapsed();
    let mut run = finish(&mut uc, result, sp, pc, wall)?;
    run.mapped_for_image = mapped_for_image;
    Ok(run)
}

/// Display name of an exception number.
pub fn exception_name(n: usize) -> String {
    exceptions::name(n)
}

/// The PC as unicorn sees it inside a hook (`pc_read` fails for M-class mode flags).
fn pc_of(uc: &Unicorn<State>) -> u32 {
    uc.reg_read(RegisterARM::PC).unwrap_or(0) as u32
}
