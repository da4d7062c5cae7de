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

mod block_index;
mod exceptions;

use block_index::BlockIndex;
use crate::image::Image;
use crate::memtruth;
use crate::peripherals::nvic::{cfsr, FaultKind};
use crate::profile::operators::{is_kernel_symbol, ProfileMode, TFLM_INVOKE};
use crate::profile::callstack::{demangle, Exit, FuncInfo, FuncRole, Profiler};
use crate::peripherals::vendor::{Peripherals, Setting};
use crate::peripherals::{Ppb, PpbEvent};
use crate::semihosting::{self, GuestMemory};
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
    /// Enter blocks through the common-case shortcut (`State::enter_steady`) where it
    /// applies. Always true except in the test that checks the shortcut against the
    /// full path.
    pub entry_shortcut: bool,
}

/// Why the run ended.
#[derive(Clone, Debug, PartialEq)]
pub enum Stop {
    Exit(i64),
    Fault { kind: String, message: String, pc: u32 },
    Limit { message: String, pc: u32 },
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
    pub unmodelled_registers: Vec<(u32, u64, u64)>,
    /// Exceptions taken.
    pub exceptions: ExceptionCounts,
    /// What the firmware configured through modelled vendor registers, in order.
    pub configuration: Vec<ConfigChange>,
    pub blocks_decoded: u64,
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
    /// Stack, heap and arena use measured by painting at `main` (None when not painted).
    pub memory_probe: Option<MemoryProbe>,
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

/// What was painted at `main`, to read back at the end.
#[derive(Clone, Debug)]
struct PaintState {
    plan: memtruth::PaintPlan,
    heap: Option<memtruth::Painted>,
    done: bool,
}

/// What entering a block reads and updates, kept apart from `Block` (whose decoded
/// instructions span several cache lines) so that the block hook's common case touches
/// one 64-byte line per block. Indexed like `State::blocks`.
#[derive(Clone, Copy)]
struct HotBlock {
    start: u32,
    /// Address after the last instruction.
    end: u32,
    /// Size unicorn gave for the translation block: a different size at the same address
    /// means the code there was rewritten and re-translated, so the cache entry is stale.
    tb_size: u32,
    /// Static cost in cycles (the last entry of `Block::offsets`).
    cycles: u32,
    insns: u32,
    /// Penalty when execution falls through to the next address (static prediction).
    fall_through_penalty: u32,
    /// One-entry memo of the taken penalty: (target block index, penalty), static
    /// prediction only. Saves the timing model's virtual calls on hot loops.
    taken_next: u32,
    taken_penalty: u32,
    /// Fetch wait states when the region is timed by plain wait states per line
    /// (follows the region's latency: `set_region_latency`).
    plain_fetch_wait: u32,
    /// Board region index (`u32::MAX`: none).
    region: u32,
    /// `ENDS_IN_CONTROL`, `USES_FP`, `PARKS`, `QUIET_EXIT`.
    flags: u32,
    executions: u64,
}

/// The block's last instruction can transfer control (else no branch penalty applies).
const ENDS_IN_CONTROL: u32 = 1;
/// The block uses the FPU (lazy FP state preservation triggers on it).
const USES_FP: u32 = 2;
/// The block is `b .`: code that waits forever (a parked fault handler).
const PARKS: u32 = 4;
/// Leaving the block is nothing the profiler tracks: no call, return or tail call, and
/// no SP write to sample.
const QUIET_EXIT: u32 = 8;

/// A decoded, costed translation block (what entering it needs is its `HotBlock`).
struct Block {
    /// Address of each instruction.
    addrs: Box<[u32]>,
    /// Cycle offset (from block entry) at which each instruction starts, plus the total
    /// (core pipeline only; fetch stalls are added per execution).
    offsets: Box<[u32]>,
    first: Option<Insn>,
    last: Option<Insn>,
    /// See `BlockTiming::hints`.
    hints: simbench_cores::BranchHints,
    /// The lines the block fetches, when fetches are timed per execution.
    fetch_plan: FetchPlan,
    /// Addresses of SDIV/UDIV instructions (timed from operands in detailed mode).
    divides: Box<[u32]>,
    /// How the block hands over control (calls, returns, tail calls), for the profiler.
    exit: Exit,
    /// Profiler function id when the block starts at a function symbol's entry.
    entry_func: Option<u32>,
    /// Some instruction writes SP (push, sub sp, pop…): the SP is sampled after it.
    writes_sp: bool,
    /// The block contains an IT instruction (see `clear_stale_it_state`).
    has_it: bool,
    classes: Box<[(Class, u32)]>,
}

impl Block {
    /// Index of the instruction at `pc` (the first if `pc` is not in this block).
    fn index_of(&self, pc: u32) -> usize {
        self.addrs.binary_search(&pc).unwrap_or(0)
    }
}

const NO_BLOCK: usize = usize::MAX;
const NO_REGION: usize = usize::MAX;

/// The simulator's state, owned by unicorn and reached from every hook.
struct State {
    model: Box<dyn CoreModel>,
    profiler: Option<Profiler>,
    /// Lowest SP sampled after blocks that write SP (profiling only).
    min_sp: Option<u32>,
    /// Lowest address of the main stack (`__stack_limit__`, else its RAM region's base):
    /// SP values below it belong to other stacks (RTOS tasks on PSP) and are not sampled.
    stack_floor: u32,
    initial_sp: u32,
    paint: Option<PaintState>,
    /// Every block entry needs the full path: a branch predictor runs, memory painting
    /// waits for `main`, or the shortcut is off (see `enter_steady`).
    full_path_only: bool,
    /// `RunOptions::entry_shortcut`.
    entry_shortcut: bool,
    /// The block just left wrote SP: sample SP now.
    sp_sample_due: bool,
    /// Start addresses of the last blocks entered (ring buffer) and the next slot.
    recent: [u32; RECENT_BLOCKS],
    recent_next: usize,
    fidelity: Fidelity,
    mem: MemorySystem,
    predictor: Option<BranchPredictor>,
    /// SDIV/UDIV addresses that already have a code hook.
    divide_hooks: rustc_hash::FxHashSet<u32>,
    divides_timed: u64,
    decoder: Decoder,
    board: Board,
    image: Image,
    blocks: Vec<Block>,
    /// `HotBlock`s, indexed like `blocks`.
    hot: Vec<HotBlock>,
    index: BlockIndex,
    cur: usize,
    cycles: u64,
    /// Cycle count when the current block was entered (after the previous penalty).
    block_entry: u64,
    /// Dynamic cycles (fetch and data wait states, divide corrections) added since the
    /// current block was entered.
    dyn_in_block: i64,
    instructions: u64,
    insns_before_block: u64,
    max_cycles: u64,
    max_instructions: u64,
    deadline: Option<Instant>,
    deadline_countdown: u32,
    stop: Option<Stop>,
    /// Instruction index within the current block at which the run stopped, and whether
    /// that instruction completed (exit) or not (fault).
    stop_at: Option<(usize, bool)>,
    ppb: Ppb,
    echo: Echo,
    output: Vec<u8>,
    output_truncated: bool,
    markers: Vec<MarkerEvent>,
    markers_dropped: u64,
    regions: Vec<RegionCounters>,
    heap_info: [u32; 4],
    blocks_decoded: u64,
    /// An invalid access seen by the unmapped/protection hook: (kind, address, size).
    bad_access: Option<(MemType, u64, usize)>,
    /// Exception delivery state besides the NVIC (`exceptions.rs`).
    exc: exceptions::ExceptionState,
    /// The MPU or the FlexRAM assignment changed: re-apply page protections at the next block.
    protections_dirty: bool,
    /// Modelled vendor peripheral registers.
    periph: Peripherals,
    /// Settings the firmware changed through them, for the report.
    settings: Vec<ConfigChange>,
    /// The board's regions as the preset describes them (latency changes scale these).
    preset_regions: Vec<simbench_cores::Region>,
    /// Bytes of each region the firmware made usable (FlexRAM bank assignment); beyond,
    /// accesses fault. None: all of it.
    region_limits: Vec<Option<u32>>,
}

impl State {
    /// Modelled cycle at which the instruction at `pc` (in the current block) starts.
    fn now_at(&self, pc: u32) -> u64 {
        match self.blocks.get(self.cur) {
            Some(b) => (self.block_entry + b.offsets[b.index_of(pc)] as u64).saturating_add_signed(self.dyn_in_block),
            None => self.cycles,
        }
    }

    fn emit(&mut self, fd: u8, bytes: &[u8]) {
        let room = MAX_CAPTURED_OUTPUT.saturating_sub(self.output.len());
        self.output.extend_from_slice(&bytes[..bytes.len().min(room)]);
        self.output_truncated |= bytes.len() > room;
        let result = match (self.echo, fd) {
            (Echo::Quiet, _) => Ok(()),
            (Echo::Stderr, _) | (Echo::Stdout, 2) => std::io::stderr().write_all(bytes),
            (Echo::Stdout, _) => std::io::stdout().write_all(bytes).and_then(|_| std::io::stdout().flush()),
        };
        let _ = result; // a closed pipe must not stop the simulation
    }

    /// Decode and cost the block at `addr`, returning its cache index.
    fn build_block(&mut self, addr: u32, tb_size: u32, code: &[u8]) -> usize {
        let insns = self.decoder.decode(code, addr, usize::MAX).unwrap_or_default();
        let timing = self.model.block_cycles(&insns);
        let end = insns.last().map(|i| i.next_addr()).unwrap_or(addr + code.len() as u32);
        let region = self.board.region_of(addr).map(|(i, _)| i).unwrap_or(NO_REGION);
        let plain_fetch_wait = self.board.regions.get(region).map(|r| r.fetch_wait(addr, end)).unwrap_or(0);
        let hints = timing.hints;
        let offsets: Box<[u32]> = timing.start.into_boxed_slice();
        let total_cycles = offsets.last().copied().unwrap_or(0);
        let mut classes: Vec<(Class, u32)> = Vec::new();
        for i in &insns {
            match classes.iter_mut().find(|(c, _)| *c == i.class) {
                Some(e) => e.1 += 1,
                None => classes.push((i.class, 1)),
            }
        }
        let block = Block {
            addrs: insns.iter().map(|i| i.addr).collect(),
            offsets,
            first: insns.first().cloned(),
            last: insns.last().cloned(),
            hints,
            fetch_plan: FetchPlan::default(),
            divides: insns.iter().filter(|i| i.class == Class::Div).map(|i| i.addr).collect(),
            exit: insns.last().map_or(Exit::Plain, exit_of),
            writes_sp: insns.iter().any(|i| i.writes.contains(simbench_cores::insn::REG_SP)),
            has_it: insns.iter().any(|i| i.class == Class::It),
            entry_func: self.profiler.is_some().then(|| self.image.function_starting_at(addr).map(|s| (s.addr, func_info(&s.name)))).flatten().map(|(a, info)| {
                self.profiler.as_mut().map_or(0, |p| p.func_id(a, || info))
            }),
            classes: classes.into_boxed_slice(),
        };
        let ends_in_control = insns.last().is_some_and(|l| l.writes_pc || l.class.is_branch() || l.class == Class::Isb);
        let uses_fp = insns.iter().any(|i| i.class.is_fp());
        // `b.n .` (0xE7FE) or `b.w .` (0xF7FF 0xBFFE) as the whole block.
        let parks = insns.len() == 1 && (code.starts_with(&[0xFE, 0xE7]) || code.starts_with(&[0xFF, 0xF7, 0xFE, 0xBF]));
        let quiet_exit = block.exit == Exit::Plain && !block.writes_sp;
        let idx = self.blocks.len();
        self.hot.push(HotBlock {
            start: addr,
            end,
            tb_size,
            cycles: total_cycles,
            insns: block.addrs.len() as u32,
            fall_through_penalty: insns.last().map_or(0, |l| self.model.hinted_branch_penalty(l, false, None, hints)),
            taken_next: u32::MAX,
            taken_penalty: 0,
            plain_fetch_wait,
            region: u32::try_from(region).unwrap_or(u32::MAX),
            flags: [(ends_in_control, ENDS_IN_CONTROL), (uses_fp, USES_FP), (parks, PARKS), (quiet_exit, QUIET_EXIT)]
                .iter()
                .filter(|(on, _)| *on)
                .fold(0, |f, (_, bit)| f | bit),
            executions: 0,
        });
        self.blocks.push(block);
        self.index.insert(addr, idx);
        self.blocks_decoded += 1;
        idx
    }

    /// Charge the previous block's branch outcome and enter block `idx`.
    fn enter(&mut self, idx: usize) {
        let cur = self.cur;
        if let Some(prev_hot) = self.hot.get(cur).filter(|b| b.flags & ENDS_IN_CONTROL != 0) {
            let next_start = self.hot[idx].start;
            let taken = next_start != prev_hot.end;
            let fall_through_penalty = prev_hot.fall_through_penalty;
            let (prev, next) = (&self.blocks[cur], &self.blocks[idx]);
            let penalty = match (self.predictor.as_mut(), &prev.last) {
                (Some(p), Some(last)) => {
                    let prediction = p.predict(last.addr);
                    p.update(last.addr, taken, next_start);
                    self.model.predicted_branch_penalty(last, taken, next.first.as_ref(), prediction, prev.hints)
                }
                _ if !taken => fall_through_penalty,
                _ if self.hot[cur].taken_next as usize == idx => self.hot[cur].taken_penalty,
                (_, Some(last)) => {
                    let p = self.model.hinted_branch_penalty(last, true, next.first.as_ref(), prev.hints);
                    (self.hot[cur].taken_next, self.hot[cur].taken_penalty) = (idx as u32, p);
                    p
                }
                _ => 0,
            };
            self.cycles += penalty as u64;
        }
        if let Some(p) = self.profiler.as_mut() {
            let next = &self.blocks[idx];
            let next_hot = &self.hot[idx];
            let prev = self.blocks.get(cur);
            self.sp_sample_due = prev.is_some_and(|b| b.writes_sp);
            let (exit, fall_through) = prev.map_or((Exit::Plain, 0), |b| (b.exit, self.hot[cur].end));
            if exit != Exit::Plain {
                let callee = match (exit, next.entry_func) {
                    (Exit::Call { .. }, None) => {
                        let to = next_hot.start;
                        let known = self.image.describe(to);
                        let anonymous = known == "no symbol";
                        Some(p.func_id(to, || FuncInfo { name: if anonymous { format!("{to:#010x}") } else { known }, role: FuncRole::default(), anonymous }))
                    }
                    (_, f) => f,
                };
                p.transfer(next_hot.start, exit, fall_through, callee, self.cycles);
            }
            p.block(next_hot.insns as u64, next_hot.end);
        }
        self.account_entry(idx);
        // Instruction fetch stalls, charged before the block's first instruction.
        let (b, hot) = (&mut self.blocks[idx], &self.hot[idx]);
        let region = hot.region as usize;
        let fetch = match self.mem.fetch_mode(region) {
            FetchMode::Free => 0,
            FetchMode::Plain => hot.plain_fetch_wait,
            FetchMode::Dynamic => self.mem.fetch_planned(region, &mut b.fetch_plan, &b.addrs, hot.end, &b.offsets, self.block_entry),
        };
        self.charge_fetch(fetch);
    }

    /// The common case of the block hook, for speed: a known block entered with nothing
    /// else to do: no branch predictor or per-line fetch timing, no exception, limit or
    /// deadline check due, no FP or fault-handler block, a branch penalty that is
    /// memoised, and for the profiler a quiet exit from the previous block (it then only
    /// counts the instructions). Returns false, having changed nothing, when any of that
    /// does not hold; the block hook then takes the full path (`enter` and the checks
    /// after it), which gives the same result (`tests/entry_shortcut.rs`).
    #[inline]
    fn enter_steady(&mut self, addr: u32, size: u32) -> bool {
        if self.full_path_only {
            return false;
        }
        let Some(idx) = self.index.get(addr) else { return false };
        let b = &self.hot[idx];
        if b.tb_size != size || b.flags & (USES_FP | PARKS) != 0 || self.ppb.nvic.check_due || self.deadline_countdown <= 1 {
            return false;
        }
        let fetch = match self.mem.fetch_mode(b.region as usize) {
            FetchMode::Free => 0,
            FetchMode::Plain => b.plain_fetch_wait,
            FetchMode::Dynamic => return false,
        };
        let prev = self.hot.get(self.cur);
        if self.profiler.is_some() && prev.is_some_and(|p| p.flags & QUIET_EXIT == 0) {
            return false;
        }
        let penalty = match prev {
            Some(prev) if prev.flags & ENDS_IN_CONTROL != 0 => {
                if b.start == prev.end {
                    prev.fall_through_penalty
                } else if prev.taken_next as usize == idx {
                    prev.taken_penalty
                } else {
                    return false;
                }
            }
            _ => 0,
        };
        let entry = self.cycles + penalty as u64;
        if entry >= self.exc.next_systick
            || entry + (b.cycles + fetch) as u64 > self.max_cycles
            || self.instructions + b.insns as u64 > self.max_instructions
        {
            return false;
        }
        self.deadline_countdown -= 1;
        self.cycles = entry;
        if let Some(p) = self.profiler.as_mut() {
            p.block(b.insns as u64, b.end);
            self.sp_sample_due = false;
        }
        self.account_entry(idx);
        self.charge_fetch(fetch);
        true
    }

    /// Count an entry into block `idx` and charge its static cost.
    #[inline(always)]
    fn account_entry(&mut self, idx: usize) {
        let b = &mut self.hot[idx];
        b.executions += 1;
        self.recent[self.recent_next] = b.start;
        self.recent_next = (self.recent_next + 1) % RECENT_BLOCKS;
        self.cur = idx;
        self.block_entry = self.cycles;
        self.cycles += b.cycles as u64;
        self.insns_before_block = self.instructions;
        self.instructions += b.insns as u64;
    }

    /// Charge the entered block's instruction fetch stalls.
    #[inline(always)]
    fn charge_fetch(&mut self, fetch: u32) {
        self.dyn_in_block = fetch as i64;
        self.cycles += fetch as u64;
        if fetch > 0 {
            self.regions[self.hot[self.cur].region as usize].fetch_wait_cycles += fetch as u64;
        }
    }

    /// Whether the block executing now contains an IT instruction.
    fn current_block_has_it(&self) -> bool {
        self.blocks.get(self.cur).is_none_or(|b| b.has_it)
    }

    fn add_wait(&mut self, cycles: u64) {
        self.cycles += cycles;
        self.dyn_in_block += cycles as i64;
    }

    /// Replace the static cost of a divide with the operand-dependent one.
    fn correct_divide(&mut self, dividend: u32, divisor: u32, signed: bool) {
        if let Some(c) = self.model.divide_cycles(dividend, divisor, signed) {
            let delta = c as i64 - DIV_STATIC as i64;
            self.cycles = self.cycles.saturating_add_signed(delta);
            self.dyn_in_block += delta;
            self.divides_timed += 1;
        }
    }

    /// The instruction at `pc` as text, from the image's bytes.
    fn disassemble(&self, pc: u32) -> String {
        let bytes: Vec<u8> = (0..4u32).filter_map(|i| self.image.read_word(pc + i).map(|w| w as u8)).collect();
        self.decoder
            .disassemble_one(&bytes, pc)
            .unwrap_or_else(|| format!("bytes {}", bytes.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(" ")))
    }

    /// Where a faulting or stopped run was, for the report's `error` object.
    fn error_info(&self, kind: &str, pc: u32) -> simbench_profiles::report::ErrorInfo {
        use simbench_profiles::report::hex32;
        let recent = (0..RECENT_BLOCKS)
            .map(|i| self.recent[(self.recent_next + i) % RECENT_BLOCKS])
            .filter(|&a| a != u32::MAX)
            .map(|a| format!("{} {}", hex32(a), self.image.describe(a)))
            .collect();
        simbench_profiles::report::ErrorInfo {
            kind: kind.to_string(),
            pc: hex32(pc),
            symbol: self.image.describe(pc),
            instruction: self.disassemble(pc),
            call_stack: self.profiler.as_ref().map(|p| p.call_stack()).unwrap_or_default(),
            recent_blocks: recent,
            fault_status: Vec::new(),
            cycles: self.cycles,
        }
    }

    /// The current block ran only its first `done` instructions (a stop or a fault inside
    /// it): count cycles and instructions up to there instead of the whole block.
    fn settle_block(&mut self, done: usize) {
        if let Some(b) = self.blocks.get(self.cur) {
            let done = done.min(b.addrs.len());
            self.cycles = (self.block_entry + b.offsets[done] as u64).saturating_add_signed(self.dyn_in_block);
            self.instructions = self.insns_before_block + done as u64;
        }
    }

    /// The MPU or the usable memory changed: re-apply page protections at the next block.
    fn protections_changed(&mut self) {
        self.protections_dirty = true;
        self.ppb.nvic.check_due = true;
    }

    /// The region holding `addr` and the bytes of it the firmware assigned, when `addr`
    /// lies beyond them (FlexRAM banks left unassigned).
    fn unassigned(&self, addr: u32) -> Option<(&simbench_cores::Region, u32)> {
        let (ri, r) = self.board.region_of(addr)?;
        let limit = self.region_limits[ri]?;
        (addr - r.base >= limit).then_some((r, limit))
    }

    fn describe(&self, pc: u32) -> String {
        format!("pc {pc:#010x} ({})", self.image.describe(pc))
    }

    fn set_stop(&mut self, stop: Stop, at: Option<(usize, bool)>) {
        if self.stop.is_none() {
            self.stop = Some(stop);
            self.stop_at = at;
        }
    }
}

/// Semihosting's view of guest memory.
struct UcMemory<'a, 'b>(&'a mut Unicorn<'b, State>);

impl GuestMemory for UcMemory<'_, '_> {
    fn read(&self, addr: u32, len: usize) -> Option<Vec<u8>> {
        let mut buf = vec![0u8; len];
        self.0.mem_read(addr as u64, &mut buf).ok().map(|_| buf)
    }
    fn write(&mut self, addr: u32, bytes: &[u8]) -> bool {
        self.0.mem_write(addr as u64, bytes).is_ok()
    }
}

fn internal(what: &str, e: unicorn_engine::unicorn_const::uc_error) -> crate::error::SimError {
    crate::error::SimError::Internal(format!("{what}: unicorn error {e:?}"))
}

/// Initial SP and PC: from the vector table (`--vtor`, a vector-table symbol, or the
/// lowest code address), else the ELF entry point with SP at the top of the largest RAM.
pub fn reset_vector(image: &Image, board: &Board, vtor: Option<u32>) -> Result<(u32, u32), crate::error::SimError> {
    vector_table(image, board, vtor).map(|(sp, pc, _)| (sp, pc))
}

/// Initial SP and PC, and the vector table they came from (None: the ELF entry point was
/// used, so the firmware has no vector table to deliver exceptions through).
fn vector_table(image: &Image, board: &Board, vtor: Option<u32>) -> Result<(u32, u32, Option<u32>), crate::error::SimError> {
    let executable = |a: u32| board.regions.iter().any(|r| r.kind.is_memory() && r.contains(a));
    let valid = |base: u32| -> Option<(u32, u32)> {
        let sp = image.read_word(base)?;
        let pc = image.read_word(base.checked_add(4)?)?;
        (pc & 1 == 1 && executable(pc & !1) && sp % 4 == 0 && board.stack_region(sp).is_some()).then_some((sp, pc & !1))
    };
    if let Some(v) = vtor {
        return valid(v).map(|(sp, pc)| (sp, pc, Some(v))).ok_or_else(|| {
            crate::error::SimError::BadElf(format!(
                "no valid vector table at --vtor {v:#010x}: word 0 must be an initial SP inside RAM of board '{}' and word 1 an odd (Thumb) reset address inside its memory",
                board.name
            ))
        });
    }
    const NAMES: [&str; 5] = ["__isr_vector", "__vector_table", "g_pfnVectors", "__Vectors", "vector_table"];
    let candidates = NAMES.iter().filter_map(|n| image.symbol(n).map(|s| s.addr)).chain(image.lowest_code_addr());
    for base in candidates {
        if let Some((sp, pc)) = valid(base) {
            return Ok((sp, pc, Some(base)));
        }
    }
    let sp = board
        .regions
        .iter()
        .filter(|r| r.kind.writable())
        .max_by_key(|r| r.size)
        .map(|r| r.end() as u32)
        .ok_or_else(|| crate::error::SimError::BadBoard(format!("board '{}' has no RAM for a stack", board.name)))?;
    if !executable(image.entry & !1) {
        return Err(crate::error::SimError::BadElf(format!(
            "no vector table found and the ELF entry point {:#010x} is outside the memory of board '{}'; pass --vtor ADDR",
            image.entry, board.name
        )));
    }
    Ok((sp, image.entry & !1, None))
}

/// Build the machine, run the firmware to its end, and collect the measurements.
pub fn run(image: Image, opts: &RunOptions) -> Result<RunResult, crate::error::SimError> {
    use crate::error::SimError;
    let board = opts.board.clone();
    // Every byte of the image must land in the board's memory.
    for seg in &image.segments {
        let ok = board.regions.iter().any(|r| r.kind.is_memory() && r.contains_range(seg.paddr, seg.data.len() as u64));
        if !ok {
            return Err(SimError::BadBoard(format!(
                "the ELF loads {} bytes at {:#010x}–{:#010x}, outside every memory region of board '{}'. Link for this board (runtime/boards/*.ld) or pick the board the firmware was built for (simbench boards)",
                seg.data.len(),
                seg.paddr,
                seg.paddr as u64 + seg.data.len() as u64,
                board.name
            )));
        }
    }
    let (sp, pc, vtor) = vector_table(&image, &board, opts.vtor)?;
    let heap_info = heap_info(&image, &board, sp);
    let core = board.core;
    let model = core.model();
    let detailed = opts.fidelity == Fidelity::Detailed;
    let profiler = (opts.profile != ProfileMode::Off).then(|| {
        let info = func_info_at(&image, pc);
        Profiler::new(pc, info, 0)
    });
    let paint = if opts.profile == ProfileMode::Off {
        None
    } else {
        let plan = memtruth::plan(&image, &board, opts.arena.as_deref()).map_err(SimError::Usage)?;
        plan.main.map(|_| PaintState { plan, heap: None, done: false })
    };
    let predictor = (detailed && model.has_predictor()).then(|| BranchPredictor::new(BTAC_ENTRIES));
    let state = State {
        entry_shortcut: opts.entry_shortcut,
        full_path_only: !opts.entry_shortcut || predictor.is_some() || paint.is_some(),
        profiler,
        paint,
        min_sp: None,
        // heap_info[3]: the linker's stack limit, else the base of the stack's RAM.
        stack_floor: Some(heap_info[3]).filter(|&a| a < sp).or_else(|| board.stack_region(sp).map(|r| r.base)).unwrap_or(0),
        initial_sp: sp,
        sp_sample_due: false,
        recent: [u32::MAX; RECENT_BLOCKS],
        recent_next: 0,
        predictor,
        model,
        fidelity: opts.fidelity,
        mem: MemorySystem::new(&board, opts.fidelity),
        divide_hooks: Default::default(),
        divides_timed: 0,
        decoder: Decoder::new().map_err(SimError::Internal)?,
        board: board.clone(),
        image,
        blocks: Vec::new(),
        hot: Vec::new(),
        index: BlockIndex::default(),
        cur: NO_BLOCK,
        cycles: 0,
        block_entry: 0,
        dyn_in_block: 0,
        instructions: 0,
        insns_before_block: 0,
        max_cycles: opts.max_cycles.unwrap_or(u64::MAX),
        max_instructions: opts.max_instructions.unwrap_or(u64::MAX),
        deadline: opts.timeout.map(|t| Instant::now() + t),
        deadline_countdown: DEADLINE_CHECK_BLOCKS,
        stop: None,
        stop_at: None,
        ppb: Ppb::for_board(&board, vtor.unwrap_or(0)),
        echo: opts.echo,
        output: Vec::new(),
        output_truncated: false,
        markers: Vec::new(),
        markers_dropped: 0,
        regions: vec![RegionCounters::default(); board.regions.len()],
        heap_info,
        blocks_decoded: 0,
        bad_access: None,
        exc: exceptions::ExceptionState::new(vtor.is_some()),
        protections_dirty: false,
        periph: Peripherals::new(&board.registers),
        preset_regions: board.regions.clone(),
        region_limits: vec![None; board.regions.len()],
        settings: Vec::new(),
    };
    let mut uc = Unicorn::new_with_data(Arch::ARM, Mode::THUMB | Mode::MCLASS, state).map_err(|e| internal("creating the emulator", e))?;
    let cpu = match core {
        simbench_cores::CoreKind::M4 => ArmCpuModel::CORTEX_M4,
        simbench_cores::CoreKind::M33 => ArmCpuModel::CORTEX_M33,
        simbench_cores::CoreKind::M7 => ArmCpuModel::CORTEX_M7,
    };
    uc.ctl_set_cpu_model(cpu as i32).map_err(|e| internal("selecting the CPU model", e))?;

    map_board(&mut uc, &board, opts.count_accesses)?;
    map_ppb(&mut uc)?;
    let segments = uc.get_data().image.segments.clone();
    for seg in &segments {
        uc.mem_write(seg.paddr as u64, &seg.data).map_err(|e| internal("loading a segment", e))?;
    }
    install_hooks(&mut uc)?;
    hook_image_divides(&mut uc);

    uc.reg_write(RegisterARM::SP, sp as u64).map_err(|e| internal("setting SP", e))?;
    let started = Instant::now();
    let mut resume = pc;
    let result = loop {
        uc.get_data_mut().bad_access = None;
        let result = uc.emu_start(resume as u64 | 1, u64::MAX, 0, 0);
        if uc.get_data().stop.is_some() || !resume_after(&mut uc, &result) {
            break result;
        }
        resume = pc_of(&uc);
    };
    let wall = started.elapsed();
    finish(&mut uc, result, sp, pc, wall)
}

/// unicorn stopped without a simbench stop: an exception return on a core that raises
/// none (a fetch from an EXC_RETURN address), a fault the firmware's handlers take, or
/// WFI. Returns whether to resume at the (new) PC.
fn resume_after(uc: &mut Unicorn<State>, result: &Result<(), unicorn_engine::unicorn_const::uc_error>) -> bool {
    let pc = pc_of(uc);
    match (result, uc.get_data().bad_access) {
        (Err(_), Some((MemType::FETCH_UNMAPPED, addr, _))) if addr as u32 >= exceptions::EXC_RETURN_MIN && uc.get_data().ppb.ipsr != 0 => {
            exceptions::exception_return(uc, addr as u32 | 1);
            true
        }
        (Err(_), Some((kind, addr, size))) => {
            let (kind_name, message) = describe_bad_access(uc.get_data(), kind, addr, size, pc);
            let addr = addr as u32;
            let mpu = uc.get_data().ppb.scs.mpu.enabled();
            let fetch = matches!(kind, MemType::FETCH_UNMAPPED | MemType::FETCH_PROT);
            // Unassigned FlexRAM is a bus error even though it is enforced by protections.
            let unassigned = uc.get_data().unassigned(addr).is_some();
            let fault = match kind {
                MemType::FETCH_PROT | MemType::WRITE_PROT | MemType::READ_PROT if mpu && !unassigned => FaultKind::MemManage { data: !fetch, addr: (!fetch).then_some(addr) },
                _ => FaultKind::Bus { data: !fetch, addr: (!fetch).then_some(addr) },
            };
            exceptions::deliver_fault(uc, fault, pc, kind_name, &format!("firmware fault: {message}"))
        }
        // WFI halts unicorn (Ok with no stop): sleep until the next interrupt.
        (Ok(()), None) if is_wfi_before(uc, pc) => {
            if exceptions::wait_for_interrupt(uc) {
                return true;
            }
            let st = uc.get_data_mut();
            let message = format!(
                "firmware fault: WFI at {} with no interrupt that could wake the core (SysTick off and nothing pending): it would sleep forever",
                st.describe(pc.wrapping_sub(2))
            );
            st.set_stop(Stop::Fault { kind: "sleep-forever".into(), message, pc }, None);
            false
        }
        _ => false,
    }
}

/// Fault kind and message for an invalid access seen by the unmapped/protection hook.
fn describe_bad_access(st: &State, kind: MemType, addr: u64, size: usize, pc: u32) -> (&'static str, String) {
    let protection = matches!(kind, MemType::READ_PROT | MemType::WRITE_PROT | MemType::FETCH_PROT);
    if let Some((r, limit)) = st.unassigned(addr as u32).filter(|_| protection) {
        return (
            "unassigned-memory",
            format!(
                "access to {addr:#010x} at {}, beyond the {} KiB the firmware assigned to region '{}' (FlexRAM bank configuration): a bus error on the device",
                st.describe(pc),
                limit / 1024,
                r.name
            ),
        );
    }
    if protection && st.ppb.scs.mpu.enabled() {
        let access = match kind {
            MemType::READ_PROT => "read of",
            MemType::WRITE_PROT => "write to",
            _ => "instruction fetch from",
        };
        return ("mpu-violation", format!("{access} {addr:#010x} ({size} bytes) at {}: the MPU forbids it (MemManage)", st.describe(pc)));
    }
    let access = match kind {
        MemType::READ_UNMAPPED => "read of unmapped address",
        MemType::WRITE_UNMAPPED => "write to unmapped address",
        MemType::FETCH_UNMAPPED => "instruction fetch from unmapped address",
        MemType::WRITE_PROT => "write to read-only memory (flash) at",
        MemType::FETCH_PROT => "instruction fetch from non-executable memory at",
        _ => "invalid access at",
    };
    let region = st.board.region_of(addr as u32).map(|(_, r)| format!(" (region '{}')", r.name)).unwrap_or_default();
    let hint = if matches!(kind, MemType::READ_UNMAPPED | MemType::WRITE_UNMAPPED) {
        format!(
            "Nothing is mapped there on board '{}': fix the pointer, or map the range in a board file (kind = \"peripheral-ignore\" for vendor peripherals)",
            st.board.name
        )
    } else {
        "Fix the firmware (a bad pointer or jump)".to_string()
    };
    let kind_name = match kind {
        MemType::FETCH_UNMAPPED | MemType::FETCH_PROT => "unmapped-fetch",
        MemType::WRITE_PROT => "write-to-flash",
        _ => "unmapped-access",
    };
    (kind_name, format!("{access} {addr:#010x}{region} ({size} bytes) at {}. {hint}", st.describe(pc)))
}

/// A vendor register changed the clock, a latency or an enable: update the memory model
/// (and the cached fetch costs of blocks in the affected region) and record it.
fn apply_setting(st: &mut State, addr: u32, setting: Setting, now: u64) {
    let region_index = |st: &State, name: &str| st.board.regions.iter().position(|r| r.name == name);
    let mut clock_mhz = None;
    let text = match setting {
        Setting::FlashWaitStates { region, wait_states } => {
            let Some(ri) = region_index(st, &region) else { return };
            let preset = &st.preset_regions[ri];
            // The line fill scales with the flash access time (WS + 1 cycles).
            let fill = (preset.line_fill_cycles as u64 * (wait_states as u64 + 1)).div_ceil(preset.read_wait as u64 + 1) as u32;
            let what = format!("{region} wait states {wait_states} (preset {})", preset.read_wait);
            set_region_latency(st, ri, wait_states, fill);
            what
        }
        Setting::XipClockDivider { region, divider, preset_divider } => {
            let Some(ri) = region_index(st, &region) else { return };
            let preset = &st.preset_regions[ri];
            let scale = |c: u32| (c as u64 * divider as u64).div_ceil(preset_divider.max(1) as u64) as u32;
            let (read_wait, fill) = (scale(preset.read_wait), scale(preset.line_fill_cycles));
            set_region_latency(st, ri, read_wait, fill);
            format!("{region} serial clock divider {divider} (preset {preset_divider}): uncached read {read_wait} cycles")
        }
        Setting::AcceleratorEnabled(on) => {
            st.mem.set_accelerator_enabled(on);
            format!("flash accelerator {}", if on { "on" } else { "off" })
        }
        Setting::CacheEnabled(on) => {
            st.mem.set_soc_cache_enabled(on);
            format!("cache {}", if on { "on" } else { "off" })
        }
        Setting::CoreClockDivider { divider, preset_divider } => {
            let mhz = st.board.clock_mhz * preset_divider as f64 / divider as f64;
            clock_mhz = Some(mhz);
            format!("core clock divider {divider} (preset {preset_divider}): {mhz} MHz")
        }
        Setting::FlexramBanks { sizes } => {
            for (name, kib) in &sizes {
                if let Some(ri) = region_index(st, name) {
                    st.region_limits[ri] = Some(kib * 1024);
                }
            }
            st.protections_changed();
            let [(_, i), (_, d), (_, o)] = &sizes;
            format!("FlexRAM ITCM {i} KiB, DTCM {d} KiB, OCRAM {o} KiB")
        }
    };
    let register = st.periph.register_name(addr).unwrap_or("?").to_string();
    st.settings.push(ConfigChange { register, setting: text, cycle: now, clock_mhz });
}

/// A region's latency changed: the board (plain fetch costs), the memory model, and the
/// fetch costs already cached in the region's blocks follow.
fn set_region_latency(st: &mut State, ri: usize, read_wait: u32, line_fill_cycles: u32) {
    let r = &mut st.board.regions[ri];
    r.read_wait = read_wait;
    r.line_fill_cycles = line_fill_cycles;
    st.mem.set_region_timing(ri, read_wait, r.fill_cycles());
    let r = &st.board.regions[ri];
    for b in st.hot.iter_mut().filter(|b| b.region as usize == ri) {
        b.plain_fetch_wait = r.fetch_wait(b.start, b.end);
    }
}

/// Apply the MPU and the usable memory (FlexRAM banks) to unicorn's page protections
/// (1 KiB pages: an MPU boundary inside a page is rounded inwards, so a region smaller
/// than a page changes nothing). Accesses they forbid then fail as protection faults,
/// which become MemManage faults (MPU) or bus faults (unassigned memory).
fn apply_protections(uc: &mut Unicorn<State>) {
    let (mpu, regions, limits) = {
        let st = uc.get_data_mut();
        st.protections_dirty = false;
        (st.ppb.scs.mpu.clone(), st.board.regions.clone(), st.region_limits.clone())
    };
    let page = simbench_cores::board::PAGE as u64;
    // Memory attributes that change timing: non-cacheable ranges bypass the data cache.
    let uncached: Vec<(u32, u64)> = if mpu.enabled() {
        regions
            .iter()
            .filter(|r| r.kind.is_memory() && r.cacheable)
            .flat_map(|r| mpu.intervals(r.base as u64, r.end()))
            .filter(|(_, _, d)| d.is_some_and(|a| !a.cacheable))
            .map(|(s, e, _)| (s as u32, e))
            .collect()
    } else {
        Vec::new()
    };
    uc.get_data_mut().mem.set_uncached_ranges(uncached);
    for (r, limit) in regions.iter().zip(&limits).filter(|(r, _)| r.kind.is_memory()) {
        let default = if r.kind.writable() { Prot::ALL } else { Prot::READ | Prot::EXEC };
        // Memory the firmware left unassigned (FlexRAM banks) is not there at all.
        let usable = limit.map_or(r.size, |l| l.min(r.size)) as u64 / page * page;
        if usable < r.size as u64 {
            let _ = uc.mem_protect(r.base as u64 + usable, r.size as u64 - usable, Prot::NONE);
        }
        if usable == 0 {
            continue;
        }
        if !mpu.enabled() {
            let _ = uc.mem_protect(r.base as u64, usable, default);
            continue;
        }
        for (start, end, decision) in mpu.intervals(r.base as u64, r.base as u64 + usable) {
            let prot = match decision {
                Some(a) => {
                    let mut p = Prot::NONE;
                    if a.read {
                        p |= Prot::READ;
                    }
                    if a.write && r.kind.writable() {
                        p |= Prot::WRITE;
                    }
                    if a.execute {
                        p |= Prot::EXEC;
                    }
                    p
                }
                None if mpu.background() => default,
                None => Prot::NONE,
            };
            let (s, e) = (start.div_ceil(page) * page, end / page * page);
            if e > s {
                let _ = uc.mem_protect(s, e - s, prot);
            }
        }
    }
}

/// Whether the instruction before `pc` is a WFI (16-bit 0xBF30 or 32-bit 0xF3AF 0x8003).
fn is_wfi_before(uc: &Unicorn<State>, pc: u32) -> bool {
    let mut b = [0u8; 4];
    let short = uc.mem_read(pc.wrapping_sub(2) as u64, &mut b[..2]).is_ok() && b[..2] == [0x30, 0xBF];
    short || (uc.mem_read(pc.wrapping_sub(4) as u64, &mut b).is_ok() && b == [0xAF, 0xF3, 0x03, 0x80])
}

/// Display name of an exception number.
pub fn exception_name(n: usize) -> String {
    exceptions::name(n)
}

/// SYS_HEAPINFO answer: heap between the linker's heap symbols (or `end`) and the stack.
fn heap_info(image: &Image, board: &Board, sp: u32) -> [u32; 4] {
    let sym = |names: &[&str]| names.iter().find_map(|n| image.symbol(n).map(|s| s.addr));
    let ram = board.stack_region(sp);
    let heap_base = sym(&["__heap_start__", "__HeapBase", "_end", "end"]).unwrap_or(0);
    let heap_limit = sym(&["__heap_end__", "__HeapLimit"]).unwrap_or(sp);
    let stack_limit = sym(&["__stack_limit__", "__StackLimit"]).or(ram.map(|r| r.base)).unwrap_or(0);
    [heap_base, heap_limit, sp, stack_limit]
}

fn map_board(uc: &mut Unicorn<State>, board: &Board, count_all: bool) -> Result<(), crate::error::SimError> {
    for (ri, r) in board.regions.iter().enumerate() {
        if !r.kind.is_memory() {
            // Vendor peripheral space: `peripheral` regions are registers (`peripherals.rs`),
            // `peripheral-ignore` regions read 0 and drop writes; both count accesses.
            let registers = r.kind == RegionKind::Peripheral;
            uc.mmio_map(
                r.base as u64,
                r.size as u64,
                Some(move |uc: &mut Unicorn<State>, off: u64, size: usize| {
                    clear_stale_it_state(uc);
                    let st = uc.get_data_mut();
                    st.regions[ri].data_reads += 1;
                    let addr = st.board.regions[ri].base + off as u32;
                    if registers {
                        st.periph.read(addr, size) as u64
                    } else {
                        0
                    }
                }),
                Some(move |uc: &mut Unicorn<State>, off: u64, size: usize, value: u64| {
                    let pc = pc_of(uc);
                    let st = uc.get_data_mut();
                    st.regions[ri].data_writes += 1;
                    let addr = st.board.regions[ri].base + off as u32;
                    let settings = if registers { st.periph.write(addr, size, value as u32) } else { Vec::new() };
                    if !settings.is_empty() {
                        let now = st.now_at(pc);
                        for setting in settings {
                            apply_setting(st, addr, setting, now);
                        }
                    }
                }),
            )
            .map_err(|e| internal("mapping a peripheral region", e))?;
            uc.get_data_mut().regions[ri].hooked = true;
            continue;
        }
        let prot = if r.kind.writable() { Prot::ALL } else { Prot::READ | Prot::EXEC };
        uc.mem_map(r.base as u64, r.size as u64, prot).map_err(|e| internal(&format!("mapping region '{}'", r.name), e))?;
        if uc.get_data().mem.needs_data_hook(ri) || count_all {
            uc.add_mem_hook(HookType::MEM_READ | HookType::MEM_WRITE, r.base as u64, r.end() - 1, move |uc, kind, addr, _size, _v| {
                let write = kind == MemType::WRITE;
                // Only blocks with an IT instruction can leave IT state behind (see
                // clear_stale_it_state); checking the block avoids a register read per access.
                if uc.get_data().current_block_has_it() {
                    clear_stale_it_state(uc);
                }
                let st = uc.get_data_mut();
                if write {
                    st.regions[ri].data_writes += 1;
                } else {
                    st.regions[ri].data_reads += 1;
                }
                let wait = st.mem.data(ri, addr as u32, write) as u64;
                st.regions[ri].data_wait_cycles += wait;
                st.add_wait(wait);
                true
            })
            .map_err(|e| internal("adding a memory hook", e))?;
            uc.get_data_mut().regions[ri].hooked = true;
        }
    }
    Ok(())
}

fn map_ppb(uc: &mut Unicorn<State>) -> Result<(), crate::error::SimError> {
    uc.mmio_map(
        PPB_BASE as u64,
        PPB_SIZE as u64,
        Some(|uc: &mut Unicorn<State>, off: u64, _size: usize| {
            clear_stale_it_state(uc);
            let pc = pc_of(uc);
            let st = uc.get_data_mut();
            let now = st.now_at(pc);
            st.ppb.read(PPB_BASE + off as u32, now) as u64
        }),
        Some(|uc: &mut Unicorn<State>, off: u64, size: usize, value: u64| {
            let pc = pc_of(uc);
            let st = uc.get_data_mut();
            let now = st.now_at(pc);
            match st.ppb.write(PPB_BASE + off as u32, size, value as u32, now) {
                PpbEvent::None => {}
                PpbEvent::Text(bytes) => st.emit(1, &bytes),
                PpbEvent::CacheControl { icache, dcache } => st.mem.set_caches_enabled(icache, dcache),
                PpbEvent::Maintenance(op) => st.mem.maintain(op),
                PpbEvent::MpuChanged => st.protections_changed(),
                PpbEvent::Marker { port, value } => {
                    if st.markers.len() < MAX_MARKERS {
                        st.markers.push(MarkerEvent { port, value, cycles: now, pc });
                    } else {
                        st.markers_dropped += 1;
                    }
                }
            }
        }),
    )
    .map_err(|e| internal("mapping the Private Peripheral Bus", e))
}

fn install_hooks(uc: &mut Unicorn<State>) -> Result<(), crate::error::SimError> {
    uc.add_block_hook(1, 0, |uc, addr, size| {
        let addr = addr as u32;
        if uc.get_data_mut().enter_steady(addr, size) {
            return;
        }
        let cached = {
            let st = uc.get_data();
            st.index.get(addr).filter(|&i| st.hot[i].tb_size == size)
        };
        let idx = match cached {
            Some(i) => i,
            None => {
                let len = if size == 0 { 4 } else { size.min(MAX_BLOCK_BYTES) } as usize;
                let mut code = vec![0u8; len];
                if uc.mem_read(addr as u64, &mut code).is_err() {
                    code.truncate(2);
                    let _ = uc.mem_read(addr as u64, &mut code);
                }
                let idx = uc.get_data_mut().build_block(addr, size, &code);
                hook_divides(uc, idx);
                idx
            }
        };
        let st = uc.get_data_mut();
        if st.cycles >= st.exc.next_systick || st.ppb.nvic.check_due {
            if st.protections_dirty {
                apply_protections(uc);
            }
            if exceptions::poll(uc, addr) {
                return;
            }
        }
        let st = uc.get_data_mut();
        st.enter(idx);
        if st.hot[idx].flags & USES_FP != 0 && st.ppb.scs.fpccr & crate::peripherals::scb::FPCCR_LSPACT != 0 {
            exceptions::preserve_fp(uc);
        }
        let st = uc.get_data_mut();
        if st.hot[idx].flags & PARKS != 0 && (3..=6).contains(&st.ppb.ipsr) {
            exceptions::parked_in_fault_handler(uc, addr);
            return;
        }
        let st = uc.get_data_mut();
        if st.sp_sample_due {
            let sp = uc.reg_read(RegisterARM::SP).unwrap_or(0) as u32;
            let st = uc.get_data_mut();
            if sp >= st.stack_floor && sp <= st.initial_sp {
                st.min_sp = Some(st.min_sp.map_or(sp, |m| m.min(sp)));
            }
        }
        let st = uc.get_data_mut();
        if st.paint.as_ref().is_some_and(|p| !p.done && p.plan.main == Some(addr)) {
            paint_memory(uc);
        }
        let st = uc.get_data_mut();
        let over_cycles = st.cycles > st.max_cycles;
        let over_insns = st.instructions > st.max_instructions;
        st.deadline_countdown -= 1;
        let over_time = if st.deadline_countdown == 0 {
            st.deadline_countdown = DEADLINE_CHECK_BLOCKS;
            st.deadline.is_some_and(|d| Instant::now() >= d)
        } else {
            false
        };
        if over_cycles || over_insns || over_time {
            let what = if over_cycles {
                format!("--max-cycles {} reached", st.max_cycles)
            } else if over_insns {
                format!("--max-instructions {} reached", st.max_instructions)
            } else {
                "--timeout reached (host wall-clock time)".to_string()
            };
            let message = format!(
                "{what} at {} after {} cycles: the firmware did not exit. If it is a runaway loop, the pc shows where; if it just needs longer, raise the limit",
                st.describe(addr),
                st.cycles
            );
            st.set_stop(Stop::Limit { message, pc: addr }, None);
            let _ = uc.emu_stop();
        }
    })
    .map_err(|e| internal("adding the block hook", e))?;

    uc.add_intr_hook(|uc, intno| {
        let pc = pc_of(uc);
        let mut insn = [0u8; 2];
        let _ = uc.mem_read(pc as u64, &mut insn);
        let at = {
            let st = uc.get_data();
            st.blocks.get(st.cur).map(|b| b.index_of(pc))
        };
        // EXCP_BKPT = 7 (QEMU's target/arm numbering, which unicorn passes through).
        if intno == 7 && insn == [0xAB, 0xBE] {
            serve_semihosting(uc, pc, at);
            return;
        }
        // SVC: PC already points past it. EXCP_EXCEPTION_EXIT (8): a Cortex-M33 branch to
        // an EXC_RETURN value, which QEMU reports instead of fetching from it.
        if intno == 2 && exceptions::supervisor_call(uc, pc) {
            return;
        }
        if intno == 8 && uc.get_data().ppb.ipsr != 0 {
            exceptions::exception_return(uc, pc | 1);
            return;
        }
        let usage = match intno {
            1 => Some(cfsr::UNDEFINSTR),
            17 => Some(cfsr::NOCP),
            18 => Some(cfsr::INVSTATE),
            19 => Some(cfsr::STKOF),
            22 => Some(cfsr::UNALIGNED),
            _ => None,
        };
        let st = uc.get_data_mut();
        let (kind, what) = match intno {
            1 => ("undefined-instruction", "an undefined or unsupported instruction (UsageFault UNDEFINSTR)".to_string()),
            2 => ("svc", "an SVC the firmware cannot take (no vector table, or SVCall escalated at HardFault priority)".to_string()),
            7 => ("breakpoint", format!("a BKPT #{:#04x} that is not semihosting (BKPT 0xAB)", insn[0])),
            17 => ("no-coprocessor", "an FPU instruction with the FPU disabled (UsageFault NOCP): set CPACR.CP10/CP11 first".to_string()),
            18 => ("invalid-state", "a jump to a non-Thumb (even) address (UsageFault INVSTATE)".to_string()),
            19 => ("stack-overflow", "a stack-limit violation (UsageFault STKOF)".to_string()),
            22 => ("unaligned", "an unaligned access that the core does not allow (UsageFault UNALIGNED)".to_string()),
            n => ("exception", format!("processor exception {n}")),
        };
        let message = format!("firmware fault: {what} at {}", st.describe(pc));
        if let Some(bit) = usage {
            if exceptions::deliver_fault(uc, FaultKind::Usage(bit), pc, kind, &message) {
                return;
            }
        }
        let st = uc.get_data_mut();
        st.set_stop(Stop::Fault { kind: kind.into(), message, pc }, at.map(|i| (i, false)));
        let _ = uc.emu_stop();
    })
    .map_err(|e| internal("adding the interrupt hook", e))?;

    let invalid = HookType::MEM_READ_UNMAPPED
        | HookType::MEM_WRITE_UNMAPPED
        | HookType::MEM_FETCH_UNMAPPED
        | HookType::MEM_WRITE_PROT
        | HookType::MEM_FETCH_PROT
        | HookType::MEM_READ_PROT;
    uc.add_mem_hook(invalid, 1, 0, |uc, kind, addr, size, _v| {
        uc.get_data_mut().bad_access = Some((kind, addr, size));
        false
    })
    .map_err(|e| internal("adding the invalid-access hook", e))?;
    Ok(())
}

/// Paint the unused stack below SP, the heap and the arena when `main` is entered.
fn paint_memory(uc: &mut Unicorn<State>) {
    let sp = uc.reg_read(RegisterARM::SP).unwrap_or(0) as u32;
    let (plan, stack_region_base) = {
        let st = uc.get_data();
        let Some(p) = &st.paint else { return };
        (p.plan.clone(), st.board.stack_region(sp).map(|r| r.base))
    };
    // The stack itself is measured from sampled SP values, not paint: firmware often
    // paints its own stack to measure it.
    let stack_bottom = plan.stack_limit.filter(|&l| l < sp).or(stack_region_base).unwrap_or(sp);
    let fill = |uc: &mut Unicorn<State>, addr: u32, len: u32| uc.mem_write(addr as u64, &vec![memtruth::PAINT; len as usize]).is_ok();
    // The heap, clipped so that it stays below the stack.
    let heap = plan.heap.clone().and_then(|mut h| {
        if h.addr + h.size > stack_bottom {
            h.size = stack_bottom.saturating_sub(h.addr);
        }
        (h.size > 0 && fill(uc, h.addr, h.size)).then_some(h)
    });

    let arena_ok = plan.arena.as_ref().is_some_and(|a| fill(uc, a.addr, a.size));
    let st = uc.get_data_mut();
    if let Some(p) = st.paint.as_mut() {
        p.heap = heap;
        if !arena_ok {
            p.plan.arena = None;
        }
        p.done = true;
        st.full_path_only = !st.entry_shortcut || st.predictor.is_some();
    }
}

/// Read the painted memory back.
fn probe_memory(uc: &Unicorn<State>) -> Option<MemoryProbe> {
    let st = uc.get_data();
    let p = st.paint.as_ref().filter(|p| p.done)?;
    let read = |addr: u32, len: u32| -> Option<Vec<u8>> {
        let mut b = vec![0u8; len as usize];
        uc.mem_read(addr as u64, &mut b).ok().map(|_| b)
    };
    Some(MemoryProbe {
        stack_peak_bytes: st.min_sp.map(|m| st.initial_sp.saturating_sub(m) as u64),
        heap_used_bytes: p.heap.as_ref().and_then(|h| read(h.addr, h.size).map(|bytes| memtruth::heap_used(&bytes))),
        arena: p.plan.arena.as_ref().and_then(|a| read(a.addr, a.size).map(|bytes| memtruth::buffer_use(a, memtruth::used_bytes(&bytes)))),
    })
}

/// How a block's last instruction hands over control, for the call profiler.
fn exit_of(last: &Insn) -> Exit {
    use simbench_cores::insn::{REG_LR, REG_SP};
    let m = last.mnemonic.as_str();
    if m.starts_with("bl") && !m.starts_with("bls") && !m.starts_with("ble") && !m.starts_with("blt") && !m.starts_with("blo") {
        return Exit::Call { indirect: last.class == Class::BranchReg };
    }
    match last.class {
        Class::BranchReg if last.reads.contains(REG_LR) => Exit::Return,
        Class::BranchReg | Class::Branch => Exit::Jump,
        Class::BranchCond | Class::CompareBranch | Class::TableBranch => Exit::Plain,
        Class::LoadMultiple | Class::Load if last.writes_pc => {
            if last.mem.is_some_and(|m| m.base == REG_SP) || last.class == Class::LoadMultiple {
                Exit::Return
            } else {
                Exit::Jump
            }
        }
        _ if last.writes_pc => Exit::Return,
        _ => Exit::Plain,
    }
}

/// The function starting at `addr`: its symbol's name and role, or its address when no
/// symbol starts there.
fn func_info_at(image: &Image, addr: u32) -> FuncInfo {
    image.function_starting_at(addr).map_or_else(|| FuncInfo { name: format!("{addr:#010x}"), role: FuncRole::default(), anonymous: true }, |s| func_info(&s.name))
}

/// Display name and role of a function symbol.
fn func_info(raw: &str) -> FuncInfo {
    let name = demangle(raw);
    let role = FuncRole { interpreter_invoke: name == TFLM_INVOKE, kernel: is_kernel_symbol(raw) };
    FuncInfo { name, role, anonymous: false }
}

/// Work around a unicorn 2.1.5 bug: calling a hook from inside a Thumb IT block stores
/// the IT state into the CPU state, and nothing clears it when the block ends, so the
/// next translation block is looked up (and, the first time, translated) as if it were
/// still inside the IT block: its first instructions become conditional and may be
/// skipped. (Seen as a lost `strh` after `itte ls; ldrls ...; bx lr` with a read hook on
/// the loaded address; cf. unicorn issue #2309.) The rest of the current block is
/// translated with its IT conditions baked in, so clearing the stored IT bits here is
/// safe: QEMU writes them back at the end of a block that stops inside an IT block.
fn clear_stale_it_state(uc: &mut Unicorn<State>) {
    /// xPSR IT/ICI bits: [26:25] and [15:10] (Armv7-M ARM B1.4.2).
    const IT_BITS: u64 = 0x0600_FC00;
    if let Ok(xpsr) = uc.reg_read(RegisterARM::XPSR) {
        if xpsr & IT_BITS != 0 {
            let _ = uc.reg_write(RegisterARM::XPSR, xpsr & !IT_BITS);
        }
    }
}

/// Whether `enc` (4 bytes, little-endian halfwords) is SDIV or UDIV, T1 encoding:
/// `FB9n`/`FBBn` then `Fd Fm` (Armv7-M ARM A7.7.127 SDIV, A7.7.195 UDIV).
fn is_divide(enc: &[u8]) -> bool {
    enc.len() >= 4 && {
        let hw1 = u16::from_le_bytes([enc[0], enc[1]]);
        let hw2 = u16::from_le_bytes([enc[2], enc[3]]);
        hw1 & 0xFFD0 == 0xFB90 && hw2 & 0xF0F0 == 0xF0F0
    }
}

/// In detailed timing, hook every SDIV/UDIV the image holds before the run starts, so
/// even a divide executed once is timed from its operands. (A matching pattern in data
/// gets a hook that never fires.) Code that appears later, e.g. copied to RAM by the
/// start-up code, is caught by `hook_divides` when its block is first decoded.
fn hook_image_divides(uc: &mut Unicorn<State>) {
    let addrs: Vec<u32> = {
        let st = uc.get_data();
        if st.fidelity != Fidelity::Detailed || st.model.divide_cycles(1, 1, false).is_none() {
            return;
        }
        st.image
            .segments
            .iter()
            .flat_map(|seg| (0..seg.data.len().saturating_sub(3)).step_by(2).filter(|&i| is_divide(&seg.data[i..])).map(move |i| seg.paddr + i as u32))
            .collect()
    };
    for a in addrs {
        add_divide_hook(uc, a);
    }
}

/// A code hook on the divide at `addr` that corrects its cost from the operands.
fn add_divide_hook(uc: &mut Unicorn<State>, addr: u32) {
    if uc.get_data().divide_hooks.contains(&addr) {
        return;
    }
    let hooked = uc.add_code_hook(addr as u64, addr as u64, |uc, pc, _size| {
        let mut enc = [0u8; 4];
        if uc.mem_read(pc, &mut enc).is_err() || !is_divide(&enc) {
            return;
        }
        let hw1 = u16::from_le_bytes([enc[0], enc[1]]);
        let hw2 = u16::from_le_bytes([enc[2], enc[3]]);
        let signed = hw1 & 0xFFF0 == 0xFB90;
        let reg = |uc: &Unicorn<State>, r: u16| -> u32 { uc.reg_read(RegisterARM::R0 as i32 + r as i32).unwrap_or(0) as u32 };
        let (a, b) = (reg(uc, hw1 & 0xF), reg(uc, hw2 & 0xF));
        clear_stale_it_state(uc);
        uc.get_data_mut().correct_divide(a, b, signed);
    });
    if hooked.is_ok() {
        uc.get_data_mut().divide_hooks.insert(addr);
    }
}

/// In detailed timing, give each SDIV/UDIV of a newly decoded block that has no hook yet
/// one, and drop the block's translation so its next run has the hook (this first run
/// keeps the static cost).
fn hook_divides(uc: &mut Unicorn<State>, idx: usize) {
    let (start, end, new): (u32, u32, Vec<u32>) = {
        let st = uc.get_data();
        if st.fidelity != Fidelity::Detailed || st.model.divide_cycles(1, 1, false).is_none() {
            return;
        }
        let (b, hot) = (&st.blocks[idx], &st.hot[idx]);
        (hot.start, hot.end, b.divides.iter().copied().filter(|a| !st.divide_hooks.contains(a)).collect())
    };
    if new.is_empty() {
        return;
    }
    for a in new {
        add_divide_hook(uc, a);
    }
    let _ = uc.ctl_remove_cache(start as u64, end as u64);
}

fn serve_semihosting(uc: &mut Unicorn<State>, pc: u32, at: Option<usize>) {
    let op = uc.reg_read(RegisterARM::R0).unwrap_or(0) as u32;
    let r1 = uc.reg_read(RegisterARM::R1).unwrap_or(0) as u32;
    let ctx = {
        let st = uc.get_data();
        semihosting::Context { cycles: st.now_at(pc), clock_hz: st.board.clock_hz(), heap_info: st.heap_info }
    };
    let action = semihosting::handle(op, r1, &mut UcMemory(uc), &ctx);
    let resume = |uc: &mut Unicorn<State>, r0: u32| {
        let _ = uc.reg_write(RegisterARM::R0, r0 as u64);
        let _ = uc.reg_write(RegisterARM::PC, (pc as u64 + 2) | 1);
    };
    match action {
        semihosting::Action::Resume { r0 } => resume(uc, r0),
        semihosting::Action::Output { fd, bytes, r0 } => {
            uc.get_data_mut().emit(fd, &bytes);
            resume(uc, r0);
        }
        semihosting::Action::Exit(status) => {
            uc.get_data_mut().set_stop(Stop::Exit(status), at.map(|i| (i, true)));
            let _ = uc.emu_stop();
        }
        semihosting::Action::Unsupported { op, name } => {
            let st = uc.get_data_mut();
            let message = format!(
                "firmware fault: semihosting call {op:#x} ({name}) at {} is not supported. simbench serves SYS_WRITEC, SYS_WRITE0, SYS_WRITE (fds 1, 2), SYS_CLOCK, SYS_TIME, SYS_ELAPSED, SYS_TICKFREQ, SYS_HEAPINFO, SYS_ERRNO, SYS_EXIT and SYS_EXIT_EXTENDED",
                st.describe(pc)
            );
            st.set_stop(Stop::Fault { kind: "unsupported-semihosting".into(), message, pc }, at.map(|i| (i, false)));
            let _ = uc.emu_stop();
        }
        semihosting::Action::BadArgs(why) => {
            let st = uc.get_data_mut();
            let message = format!("firmware fault: {why} (semihosting call at {})", st.describe(pc));
            st.set_stop(Stop::Fault { kind: "bad-semihosting-argument".into(), message, pc }, at.map(|i| (i, false)));
            let _ = uc.emu_stop();
        }
    }
}

/// Turn unicorn's return and the state into the run's result.
fn finish(
    uc: &mut Unicorn<State>,
    result: Result<(), unicorn_engine::unicorn_const::uc_error>,
    sp0: u32,
    pc0: u32,
    wall: Duration,
) -> Result<RunResult, crate::error::SimError> {
    let pc = pc_of(uc);
    let sp = uc.reg_read(RegisterARM::SP).unwrap_or(0) as u32;
    let memory_probe = probe_memory(uc);
    let st = uc.get_data_mut();
    if st.stop.is_none() {
        let at = st.blocks.get(st.cur).map(|b| (b.index_of(pc), false));
        let (kind, what) = match (result, st.bad_access) {
            (Err(_), Some((kind, addr, size))) => describe_bad_access(st, kind, addr, size, pc),
            (Err(unicorn_engine::unicorn_const::uc_error::INSN_INVALID), None) => {
                let text = st.disassemble(pc);
                // unicorn 2.1.5's Cortex-M7 rejects double-precision FPU instructions (vmov.f64, vcvt.f64…).
                let hint = if text.contains(".f64") {
                    ". Double-precision FPU instructions are not supported by the emulated core: build with -mfpu=fpv5-sp-d16 (the i.MX RT1010 SDK's setting) or fpv4-sp-d16"
                } else {
                    ""
                };
                ("undefined-instruction", format!("an undefined or unsupported instruction ({text}) at {}{hint}", st.describe(pc)))
            }
            (Err(e), None) => ("emulator-error", format!("the emulator stopped with {e:?} at {}", st.describe(pc))),
            (Ok(()), _) => ("stopped", format!("execution stopped unexpectedly at {}", st.describe(pc))),
        };
        let mut message = format!("firmware fault: {what}");
        let sp_in_ram = st.board.stack_region(sp).is_some();
        if !sp_in_ram {
            message.push_str(&format!(". SP = {sp:#010x} is outside RAM: probably a stack overflow (initial SP was {sp0:#010x})"));
        }
        let kind = if !sp_in_ram { "stack-overflow" } else { kind };
        st.set_stop(Stop::Fault { kind: kind.into(), message, pc }, at);
    }
    // A fault the firmware's handler took, followed by anything but a clean exit, is
    // what the run reports (with the context captured when it happened).
    let mut fault_context = None;
    if let Some((kind, message, fault_pc, info)) = st.exc.delivered_fault.take() {
        let then = match &st.stop {
            Some(Stop::Exit(0)) => None,
            Some(Stop::Exit(code)) => Some(format!("the handler then ended the run with exit status {code}")),
            Some(Stop::Fault { message, .. } | Stop::Limit { message, .. }) => Some(format!("then: {message}")),
            None => Some(String::new()),
        };
        if let Some(then) = then {
            let status = info.fault_status.join("; ");
            st.stop = Some(Stop::Fault { kind, message: format!("{message}. It was delivered to the firmware's fault handler ({status}); {then}"), pc: fault_pc });
            fault_context = Some(info);
        }
    }
    // Settle the partially executed last block.
    if let Some((i, completed)) = st.stop_at {
        st.settle_block(i + completed as usize);
    }
    // Instruction mix and fetch counts from block execution counts. The last block is
    // counted whole (its partial tail is at most one block's worth of instructions).
    let mut mix: FxHashMap<Class, u64> = FxHashMap::default();
    for (b, hot) in st.blocks.iter().zip(&st.hot) {
        if hot.executions == 0 {
            continue;
        }
        for &(c, n) in b.classes.iter() {
            *mix.entry(c).or_default() += n as u64 * hot.executions;
        }
        if let Some(r) = st.regions.get_mut(hot.region as usize) {
            r.instructions_fetched += hot.insns as u64 * hot.executions;
        }
    }
    let mut instruction_mix: Vec<(Class, u64)> = mix.into_iter().collect();
    instruction_mix.sort_by_key(|(c, _)| c.name());
    Ok(RunResult {
        stop: st.stop.clone().expect("stop set above"),
        cycles: st.cycles,
        instructions: st.instructions,
        regions: st.regions.clone(),
        instruction_mix,
        markers: std::mem::take(&mut st.markers),
        markers_dropped: st.markers_dropped,
        output: std::mem::take(&mut st.output),
        output_truncated: st.output_truncated,
        unmodelled_registers: st.ppb.unmodelled.iter().chain(&st.periph.unmodelled).map(|(a, (r, w))| (*a, *r, *w)).collect::<std::collections::BTreeSet<_>>().into_iter().collect(),
        blocks_decoded: st.blocks_decoded,
        icache: st.mem.icache_stats(),
        dcache: st.mem.dcache_stats(),
        branch_predictor: st.predictor.as_ref().map(|p| (p.lookups, p.mispredictions)),
        divides_timed: st.divides_timed,
        memory_probe,
        error: fault_context.or_else(|| {
            let mut info = match st.stop.as_ref() {
                Some(Stop::Fault { kind, pc, .. }) => st.error_info(kind, *pc),
                Some(Stop::Limit { pc, .. }) => st.error_info("limit", *pc),
                _ => return None,
            };
            if st.ppb.nvic.cfsr | st.ppb.nvic.hfsr != 0 {
                info.fault_status = exceptions::fault_status(st);
            }
            Some(info)
        }),
        configuration: std::mem::take(&mut st.settings),
        exceptions: ExceptionCounts {
            taken: st.exc.taken.iter().map(|(&n, &c)| (n, c)).collect(),
            tail_chains: st.exc.tail_chains,
            lazy_fp_saves: st.exc.lazy_fp_saves,
        },
        profiler: {
            let end = st.cycles;
            st.profiler.take().map(|mut p| {
                p.finish(end);
                p
            })
        },
        initial_sp: sp0,
        initial_pc: pc0,
        wall,
    })
}

/// The PC as unicorn sees it inside a hook (`pc_read` fails for M-class mode flags).
fn pc_of(uc: &Unicorn<State>) -> u32 {
    uc.reg_read(RegisterARM::PC).unwrap_or(0) as u32
}
