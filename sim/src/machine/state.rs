//! The simulator's state, reached from every unicorn hook, and what entering a
//! translation block does to it: decode and cost on first sight, branch penalty of the
//! previous block, static cost, fetch stalls.

use super::*;
use crate::error::SimError;
use simbench_cores::Prediction;

/// What was painted at `main`, to read back at the end.
#[derive(Clone, Debug)]
pub(super) struct PaintState {
    pub(super) plan: memtruth::PaintPlan,
    pub(super) heap: Option<memtruth::Painted>,
    pub(super) done: bool,
}

/// What entering a block reads and updates, kept apart from `Block` (whose decoded
/// instructions span several cache lines) so that the block hook's common case touches
/// one 64-byte line per block. Indexed like `State::blocks`.
#[derive(Clone, Copy)]
pub(super) struct HotBlock {
    pub(super) start: u32,
    /// Address after the last instruction.
    pub(super) end: u32,
    /// Size unicorn gave for the translation block: a different size at the same address
    /// means the code there was rewritten and re-translated, so the cache entry is stale.
    pub(super) tb_size: u16,
    /// Where the BTAC held this block's branch when last looked up (a hint:
    /// `BranchPredictor::lookup_at`).
    pub(super) btac_hint: u16,
    /// Static cost in cycles (the last entry of `Block::offsets`).
    pub(super) cycles: u32,
    pub(super) insns: u32,
    /// Penalty when execution falls through to the next address (static prediction).
    pub(super) fall_through_penalty: u32,
    /// One-entry memos of what entering the next block costs on top of its static cost:
    /// branch penalty (static prediction) plus the pipeline carry-over between the two
    /// blocks (`CoreModel::boundary_cycles`, may be negative), for the taken and the
    /// fall-through successor; with a branch predictor, a control block's memos hold the
    /// cost of a correctly predicted edge. Saves the timing model's virtual calls on hot
    /// loops.
    pub(super) taken_next: u32,
    pub(super) taken_penalty: i32,
    pub(super) fall_next: u32,
    pub(super) fall_cost: i32,
    /// Whether those edges issue the next block's first instruction with this block's
    /// branch (Cortex-M7); the memos hold only for entries into this block that did not.
    pub(super) taken_paired: bool,
    pub(super) fall_paired: bool,
    /// Fetch wait states when the region is timed by plain wait states per line
    /// (follows the region's latency: `set_region_latency`).
    pub(super) plain_fetch_wait: u32,
    /// Board region index (`u32::MAX`: none).
    pub(super) region: u32,
    /// `ENDS_IN_CONTROL`, `USES_FP`, `PARKS`, `QUIET_EXIT`, `HAS_IT`, `LAST_WIDE`,
    /// `NO_SHORT_LOOP`, `SHORT_RUNS_OFF`, and the `SHORT_RUNS` count.
    pub(super) flags: u32,
    pub(super) executions: u64,
}

// The one line the doc comment above promises.
const _: () = assert!(std::mem::size_of::<HotBlock>() <= 64);

impl HotBlock {
    /// Address of the block's last instruction: the branch the BTAC is asked about.
    #[inline(always)]
    pub(super) fn last_insn_addr(&self) -> u32 {
        self.end - if self.flags & LAST_WIDE != 0 { 4 } else { 2 }
    }

    /// The block's fetch stalls where `mode` makes them static; `None`: timed per line at
    /// each entry (`State::timed_fetch`).
    #[inline(always)]
    pub(super) fn static_fetch(&self, mode: FetchMode) -> Option<u32> {
        match mode {
            FetchMode::Free => Some(0),
            FetchMode::Plain => Some(self.plain_fetch_wait),
            FetchMode::Dynamic { .. } => None,
        }
    }
}

/// The block's last instruction can transfer control (else no branch penalty applies).
pub(super) const ENDS_IN_CONTROL: u32 = 1;
/// The block uses the FPU (lazy FP state preservation triggers on it).
pub(super) const USES_FP: u32 = 2;
/// The block is `b .`: code that waits forever (a parked fault handler).
pub(super) const PARKS: u32 = 4;
/// Leaving the block is nothing the profiler tracks: no call, return or tail call, and
/// no SP write to sample.
pub(super) const QUIET_EXIT: u32 = 8;
/// The block contains an IT instruction (see `clear_stale_it_state`). Asked on every
/// hooked data access: here rather than in `Block`, whose far-away field missed the host
/// cache on every access in profiles.
pub(super) const HAS_IT: u32 = 16;
/// The block's last instruction is 32 bits wide: it starts at `end - 4`, else `end - 2`
/// (the branch the BTAC is asked about, without reading `Block`).
pub(super) const LAST_WIDE: u32 = 32;
/// A loop of several blocks back to this one could not be skipped for what its blocks
/// are (an exit that is not known, or that goes to another block of the loop):
/// `try_skip_cycle` is not asked again.
pub(super) const NO_SHORT_LOOP: u32 = 64;
/// The loop of several blocks back to this one ran only a few entries each of the last
/// times it was skipped (`note_run_length`): not tried until the next wall-clock check.
pub(super) const SHORT_RUNS_OFF: u32 = 128;
/// Bits counting the short runs in a row of the loop skipped from this block, in units
/// of `SHORT_RUNS_ONE`.
pub(super) const SHORT_RUNS: u32 = 0x700;
pub(super) const SHORT_RUNS_ONE: u32 = 0x100;

/// A decoded, costed translation block (what entering it needs is its `HotBlock`).
pub(super) struct Block {
    /// Address of each instruction.
    pub(super) addrs: Box<[u32]>,
    /// Cycle offset (from block entry) at which each instruction starts, plus the total
    /// (core pipeline only; fetch stalls are added per execution).
    pub(super) offsets: Box<[u32]>,
    pub(super) first: Option<Insn>,
    pub(super) last: Option<Insn>,
    /// See `BlockTiming::hints`.
    pub(super) hints: simbench_cores::BranchHints,
    /// See `BlockTiming::edges`: results in flight and open issue slots at the boundaries.
    pub(super) edges: simbench_cores::BlockEdges,
    /// Addresses of SDIV/UDIV instructions (timed from operands in detailed mode).
    pub(super) divides: Box<[u32]>,
    /// How the block hands over control (calls, returns, tail calls), for the profiler.
    pub(super) exit: Exit,
    /// Profiler function id when the block starts at a function symbol's entry.
    pub(super) entry_func: Option<u32>,
    /// Some instruction writes SP (push, sub sp, pop…): the SP is sampled after it.
    pub(super) writes_sp: bool,
    /// Its memory instructions, to locate the instruction behind an MMIO access or a
    /// faulting access (`access_pc.rs`).
    pub(super) accesses: Box<[Access]>,
    /// Where control can go after the block (`Insn::successors`); None: unknown.
    pub(super) successors: Option<[u32; 2]>,
    pub(super) classes: Box<[(Class, u32)]>,
    /// `--stalls` bucket of the function holding the block (its fetch waits go there).
    pub(super) bucket: u32,
}

impl Block {
    /// Index of the instruction at `pc` (the first if `pc` is not in this block).
    pub(super) fn index_of(&self, pc: u32) -> usize {
        self.addrs.binary_search(&pc).unwrap_or(0)
    }
}

pub(super) const NO_BLOCK: usize = usize::MAX;
pub(super) const NO_REGION: usize = usize::MAX;

/// The simulator's state, owned by unicorn and reached from every hook.
pub(super) struct State {
    pub(super) model: Box<dyn CoreModel>,
    pub(super) profiler: Option<Profiler>,
    /// Lowest SP sampled after blocks that write SP (profiling only).
    pub(super) min_sp: Option<u32>,
    /// Lowest address of the main stack (`__stack_limit__`, else its RAM region's base):
    /// SP values below it belong to other stacks (RTOS tasks on PSP) and are not sampled.
    pub(super) stack_floor: u32,
    pub(super) initial_sp: u32,
    pub(super) paint: Option<PaintState>,
    /// Every block entry needs the full path: memory painting waits for `main`, or the
    /// shortcut is off (see `enter_steady`).
    pub(super) full_path_only: bool,
    /// `RunOptions::entry_shortcut`.
    pub(super) entry_shortcut: bool,
    /// Block counters in unicorn's generated code, when on (`block_counters.rs`).
    pub(super) counters: Option<Box<BlockCounters>>,
    /// The self-loop whose block hooks unicorn skips now (`State::catch_up`).
    pub(super) skipping: Option<SkippedLoop>,
    /// The data hooks' `(begin, end, region)`, `end` inclusive.
    pub(super) data_hook_ranges: Vec<(u32, u32, usize)>,
    /// Hooked accesses unicorn logged instead of calling the data hook, when on
    /// (`access_log.rs`).
    pub(super) access_log: Option<super::access_log::AccessLog>,
    /// The block just left wrote SP: sample SP now.
    pub(super) sp_sample_due: bool,
    /// The current block's first instruction issued with the previous block's branch
    /// (`CoreModel::boundary_cycles`).
    pub(super) entered_paired: bool,
    /// The blocks marked `SHORT_RUNS_OFF` since the last wall-clock check.
    pub(super) short_runs_off: Vec<usize>,
    /// Start addresses of the last blocks entered (ring buffer) and the next slot.
    pub(super) recent: [u32; RECENT_BLOCKS],
    pub(super) recent_next: usize,
    pub(super) fidelity: Fidelity,
    pub(super) mem: MemorySystem,
    pub(super) predictor: Option<BranchPredictor>,
    /// SDIV/UDIV addresses that already have a code hook.
    pub(super) divide_hooks: rustc_hash::FxHashSet<u32>,
    pub(super) divides_timed: u64,
    /// The firmware set CCR.DIV_0_TRP: divides get hooks at the next block entry.
    pub(super) divide_trap_pending: bool,
    /// The firmware set CCR.UNALIGN_TRP: the unaligned-access check starts at the next
    /// block entry; `unaligned_hooked` once its code hook exists.
    pub(super) unaligned_trap_pending: bool,
    pub(super) unaligned_hooked: bool,
    /// IPSR-reading MRS instructions that have hooks, and the one just executed in a
    /// handler: its destination register and the address of the instruction after it.
    pub(super) ipsr_read_hooks: rustc_hash::FxHashSet<u32>,
    pub(super) ipsr_read: Option<(u8, u32)>,
    pub(super) decoder: Decoder,
    pub(super) board: Board,
    pub(super) image: Image,
    pub(super) blocks: Vec<Block>,
    /// `HotBlock`s, indexed like `blocks`.
    pub(super) hot: Vec<HotBlock>,
    /// Per block (same index), the lines it fetches when fetches are timed per
    /// execution: apart from `blocks`, as the block entry reads nothing else of those.
    pub(super) plans: Vec<FetchPlan>,
    pub(super) index: BlockIndex,
    pub(super) cur: usize,
    pub(super) cycles: u64,
    /// Cycle count when the current block was entered (after the previous penalty).
    pub(super) block_entry: u64,
    /// Dynamic cycles (fetch and data wait states, divide corrections) added since the
    /// current block was entered.
    pub(super) dyn_in_block: i64,
    pub(super) instructions: u64,
    pub(super) insns_before_block: u64,
    pub(super) max_cycles: u64,
    pub(super) max_instructions: u64,
    pub(super) deadline: Option<Instant>,
    pub(super) deadline_countdown: u32,
    /// `RunOptions::interrupt`.
    pub(super) interrupt: Option<std::sync::Arc<std::sync::atomic::AtomicUsize>>,
    pub(super) stop: Option<Stop>,
    /// Instruction index within the current block at which the run stopped, and whether
    /// that instruction completed (exit) or not (fault).
    pub(super) stop_at: Option<(usize, bool)>,
    pub(super) ppb: Ppb,
    pub(super) echo: Echo,
    pub(super) output: Vec<u8>,
    pub(super) output_truncated: bool,
    pub(super) markers: Vec<MarkerEvent>,
    pub(super) markers_dropped: u64,
    pub(super) regions: Vec<RegionCounters>,
    /// What the block and data hooks' user data point at (`direct_hooks`); boxed so that
    /// the addresses unicorn holds stay put when the vector grows.
    #[allow(clippy::vec_box)]
    pub(super) hook_targets: Vec<Box<super::direct_hooks::HookTarget>>,
    pub(super) heap_info: [u32; 4],
    /// The semihosting host: handles, stdin, folder, errno, notes (None only while a
    /// call is being served).
    pub(super) semihost: Option<semihosting::Host>,
    pub(super) blocks_decoded: u64,
    /// Self-loop iterations unicorn ran without the block hook (`block_counters.rs`).
    pub(super) block_entries_replayed: u64,
    /// Hooked loads and stores unicorn logged instead of calling the data hook
    /// (`access_log.rs`).
    pub(super) data_accesses_logged: u64,
    pub(super) data_accesses_folded: u64,
    /// An invalid access seen by the unmapped/protection hook: (kind, address, size).
    pub(super) bad_access: Option<(MemType, u64, usize)>,
    /// The PC of the instruction behind `bad_access`.
    pub(super) bad_access_pc: u32,
    /// Index in the current block from which the next data access is looked for
    /// (`access_pc.rs`); reset on block entry.
    pub(super) access_cursor: usize,
    /// Exception delivery state besides the NVIC (`exceptions.rs`).
    pub(super) exc: exceptions::ExceptionState,
    /// The MPU or the FlexRAM assignment changed: re-apply page protections at the next block.
    pub(super) protections_dirty: bool,
    /// Modelled vendor peripheral registers.
    pub(super) periph: Peripherals,
    /// Settings the firmware changed through them, for the report.
    pub(super) settings: Vec<ConfigChange>,
    /// The board's regions as the preset describes them (latency changes scale these).
    pub(super) preset_regions: Vec<simbench_cores::Region>,
    /// Bytes of each region the firmware made usable (FlexRAM bank assignment); beyond,
    /// accesses fault. None: all of it.
    pub(super) region_limits: Vec<Option<u32>>,
    /// A debugger's state (`debug/mod.rs`); None in a run without one.
    pub(super) debug: Option<Box<super::debug::DebugState>>,
    /// `--place` ranges: their fetches and data accesses get another region's timing.
    pub(super) placed: Vec<crate::placement::Placed>,
    /// `--stalls`: where the waits go (None: not asked for, nothing extra per access).
    pub(super) stalls: Option<Box<crate::stalls::StallLog>>,
}

impl State {
    /// The state at reset: `sp` and `pc` from the vector table at `vtor` (None: no table).
    pub(super) fn new(image: Image, opts: &RunOptions, board: &Board, sp: u32, pc: u32, vtor: Option<u32>) -> Result<State, SimError> {
        let heap_info = heap_info(&image, board, sp);
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
            let plan = memtruth::plan(&image, board, opts.arena.as_deref()).map_err(SimError::Usage)?;
            plan.main.map(|_| PaintState { plan, heap: None, done: false })
        };
        let predictor = (detailed && model.has_predictor()).then(|| BranchPredictor::new(BTAC_ENTRIES));
        Ok(State {
            entry_shortcut: opts.entry_shortcut,
            counters: None,
            skipping: None,
            data_hook_ranges: Vec::new(),
            access_log: None,
            full_path_only: !opts.entry_shortcut || paint.is_some(),
            profiler,
            paint,
            min_sp: None,
            // heap_info[3]: the linker's stack limit, else the base of the stack's RAM.
            stack_floor: Some(heap_info[3]).filter(|&a| a < sp).or_else(|| board.stack_region(sp).map(|r| r.base)).unwrap_or(0),
            initial_sp: sp,
            sp_sample_due: false,
            entered_paired: false,
            recent: [u32::MAX; RECENT_BLOCKS],
            recent_next: 0,
            short_runs_off: Vec::new(),
            predictor,
            model,
            fidelity: opts.fidelity,
            mem: MemorySystem::new(board, opts.fidelity),
            divide_hooks: Default::default(),
            divides_timed: 0,
            divide_trap_pending: false,
            unaligned_trap_pending: false,
            unaligned_hooked: false,
            ipsr_read_hooks: Default::default(),
            ipsr_read: None,
            decoder: Decoder::new().map_err(SimError::Internal)?,
            board: board.clone(),
            image,
            blocks: Vec::new(),
            hot: Vec::new(),
            plans: Vec::new(),
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
            interrupt: opts.interrupt.clone(),
            stop: None,
            stop_at: None,
            ppb: Ppb::for_board(board, vtor.unwrap_or(0)),
            echo: opts.echo,
            output: Vec::new(),
            output_truncated: false,
            markers: Vec::new(),
            markers_dropped: 0,
            regions: vec![RegionCounters::default(); board.regions.len()],
            hook_targets: Vec::new(),
            heap_info,
            semihost: Some(semihosting::Host::new(&opts.semihosting)?),
            blocks_decoded: 0,
            block_entries_replayed: 0,
            data_accesses_logged: 0,
            data_accesses_folded: 0,
            bad_access: None,
            bad_access_pc: 0,
            access_cursor: 0,
            exc: exceptions::ExceptionState::new(vtor.is_some()),
            protections_dirty: false,
            periph: Peripherals::new(&board.registers),
            preset_regions: board.regions.clone(),
            region_limits: vec![None; board.regions.len()],
            settings: Vec::new(),
            debug: None,
            placed: Vec::new(),
            stalls: None,
        })
    }

    /// Modelled cycle at which the instruction at `pc` (in the current block) starts.
    pub(super) fn now_at(&self, pc: u32) -> u64 {
        match self.blocks.get(self.cur) {
            Some(b) => (self.block_entry + b.offsets[b.index_of(pc)] as u64).saturating_add_signed(self.dyn_in_block),
            None => self.cycles,
        }
    }

    pub(super) fn emit(&mut self, fd: u8, bytes: &[u8]) {
        let room = MAX_CAPTURED_OUTPUT.saturating_sub(self.output.len());
        self.output.extend_from_slice(&bytes[..bytes.len().min(room)]);
        self.output_truncated |= bytes.len() > room;
        let result = match (self.echo, fd) {
            (Echo::Quiet, _) => Ok(()),
            (Echo::Stderr, _) | (Echo::Stdout, 2) => std::io::stderr().write_all(bytes),
            (Echo::Stdout, _) => std::io::stdout().write_all(bytes).and_then(|_| std::io::stdout().flush()),
        };
        let _ = result; // a closed pipe must not stop the simulation
        if let Some(d) = self.debug.as_deref_mut() {
            d.output(bytes);
        }
    }

    /// Decode and cost the block at `addr`, returning its cache index.
    pub(super) fn build_block(&mut self, addr: u32, tb_size: u32, code: &[u8]) -> usize {
        let insns = self.decoder.decode(code, addr, usize::MAX).unwrap_or_default();
        let timing = self.model.block_cycles(&insns);
        let end = insns.last().map(|i| i.next_addr()).unwrap_or(addr + code.len() as u32);
        // A `--place`d range is timed as its target region.
        let region = crate::placement::placed_region(&self.placed, addr).or_else(|| self.board.region_of(addr).map(|(i, _)| i)).unwrap_or(NO_REGION);
        let plain_fetch_wait = self.board.regions.get(region).map(|r| r.fetch_wait(addr, end)).unwrap_or(0);
        let hints = timing.hints;
        let edges = timing.edges;
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
            edges,
            divides: insns.iter().filter(|i| i.class == Class::Div).map(|i| i.addr).collect(),
            accesses: accesses(&insns),
            successors: insns.last().map_or(Some([end, end]), |l| l.successors()),
            exit: insns.last().map_or(Exit::Plain, exit_of),
            writes_sp: insns.iter().any(|i| i.writes.contains(simbench_cores::insn::REG_SP)),
            entry_func: self
                .profiler
                .is_some()
                .then(|| self.image.function_starting_at(addr).map(|s| (s.addr, func_info(&s.name))))
                .flatten()
                .map(|(a, info)| self.profiler.as_mut().map_or(0, |p| p.func_id(a, || info))),
            classes: classes.into_boxed_slice(),
            bucket: self.stalls.as_ref().map_or(0, |s| s.map.lookup(addr).2),
        };
        let ends_in_control = insns.last().is_some_and(|l| l.writes_pc || l.class.is_branch() || l.class == Class::Isb);
        let uses_fp = insns.iter().any(|i| i.class.is_fp());
        // `b.n .` (0xE7FE) or `b.w .` (0xF7FF 0xBFFE) as the whole block.
        let parks = insns.len() == 1 && (code.starts_with(&[0xFE, 0xE7]) || code.starts_with(&[0xFF, 0xF7, 0xFE, 0xBF]));
        let quiet_exit = block.exit == Exit::Plain && !block.writes_sp;
        let has_it = insns.iter().any(|i| i.class == Class::It);
        let last_wide = insns.last().is_some_and(|l| l.size == 4);
        let idx = self.blocks.len();
        self.hot.push(HotBlock {
            start: addr,
            end,
            // A translation block holds at most 512 instructions (TCG_MAX_INSNS).
            tb_size: tb_size as u16,
            btac_hint: 0,
            cycles: total_cycles,
            insns: block.addrs.len() as u32,
            fall_through_penalty: insns.last().map_or(0, |l| self.model.hinted_branch_penalty(l, false, None, hints)),
            taken_next: u32::MAX,
            taken_penalty: 0,
            fall_next: u32::MAX,
            fall_cost: 0,
            taken_paired: false,
            fall_paired: false,
            plain_fetch_wait,
            region: u32::try_from(region).unwrap_or(u32::MAX),
            flags: [(ends_in_control, ENDS_IN_CONTROL), (uses_fp, USES_FP), (parks, PARKS), (quiet_exit, QUIET_EXIT), (has_it, HAS_IT), (last_wide, LAST_WIDE)]
                .iter()
                .filter(|(on, _)| *on)
                .fold(0, |f, (_, bit)| f | bit),
            executions: 0,
        });
        self.blocks.push(block);
        self.plans.push(FetchPlan::default());
        self.index.insert(addr, idx);
        self.blocks_decoded += 1;
        idx
    }

    /// Charge the previous block's branch outcome and enter block `idx`.
    pub(super) fn enter(&mut self, idx: usize) {
        let cur = self.cur;
        let prev_paired = std::mem::replace(&mut self.entered_paired, false);
        if let Some(prev_hot) = self.hot.get(cur) {
            let control = prev_hot.flags & ENDS_IN_CONTROL != 0;
            let next_start = self.hot[idx].start;
            let taken = next_start != prev_hot.end;
            let fall_through_penalty = if control { prev_hot.fall_through_penalty } else { 0 };
            let (prev, next) = (&self.blocks[cur], &self.blocks[idx]);
            let memo_ok = !prev_paired;
            let (cost, paired) = match (self.predictor.as_mut(), &prev.last) {
                (Some(p), Some(last)) if control => {
                    let lookup = p.lookup_at(last.addr, prev_hot.btac_hint as usize);
                    p.update_looked_up(lookup, taken, next_start);
                    if let Some(slot) = lookup.slot() {
                        self.hot[cur].btac_hint = slot as u16;
                    }
                    let penalty = self.model.predicted_branch_penalty(last, taken, next.first.as_ref(), lookup.prediction, prev.hints);
                    // With a predictor, the memos of a control block hold the cost of a
                    // correctly predicted edge (no penalty), the steady state of a loop.
                    let h = &mut self.hot[cur];
                    let memo = if taken {
                        (&mut h.taken_next, &mut h.taken_penalty, &mut h.taken_paired)
                    } else {
                        (&mut h.fall_next, &mut h.fall_cost, &mut h.fall_paired)
                    };
                    if penalty == 0 && memo_ok && *memo.0 as usize == idx {
                        (*memo.1, *memo.2)
                    } else {
                        let b = self.model.boundary_cycles(&prev.edges, &next.edges, penalty, taken, prev_paired);
                        let c = penalty as i32 + b.cycles;
                        if penalty == 0 && memo_ok {
                            (*memo.0, *memo.1, *memo.2) = (idx as u32, c, b.paired);
                        }
                        (c, b.paired)
                    }
                }
                _ if memo_ok && !taken && self.hot[cur].fall_next as usize == idx => (self.hot[cur].fall_cost, self.hot[cur].fall_paired),
                _ if !taken => {
                    let b = self.model.boundary_cycles(&prev.edges, &next.edges, fall_through_penalty, false, prev_paired);
                    let c = fall_through_penalty as i32 + b.cycles;
                    if memo_ok {
                        (self.hot[cur].fall_next, self.hot[cur].fall_cost, self.hot[cur].fall_paired) = (idx as u32, c, b.paired);
                    }
                    (c, b.paired)
                }
                _ if memo_ok && self.hot[cur].taken_next as usize == idx => (self.hot[cur].taken_penalty, self.hot[cur].taken_paired),
                (_, Some(last)) => {
                    let p = if control { self.model.hinted_branch_penalty(last, true, next.first.as_ref(), prev.hints) } else { 0 };
                    let b = self.model.boundary_cycles(&prev.edges, &next.edges, p, true, prev_paired);
                    let c = p as i32 + b.cycles;
                    if memo_ok {
                        (self.hot[cur].taken_next, self.hot[cur].taken_penalty, self.hot[cur].taken_paired) = (idx as u32, c, b.paired);
                    }
                    (c, b.paired)
                }
                _ => (0, false),
            };
            self.entered_paired = paired;
            self.cycles = self.cycles.saturating_add_signed(cost as i64);
        }
        if let Some(p) = self.profiler.as_mut() {
            let next = &self.blocks[idx];
            let next_hot = &self.hot[idx];
            let prev = self.blocks.get(cur);
            self.sp_sample_due = prev.is_some_and(|b| b.writes_sp);
            let (exit, fall_through) = prev.map_or((Exit::Plain, 0), |b| (b.exit, self.hot[cur].end));
            if exit != Exit::Plain {
                if let Some(s) = self.stalls.as_mut() {
                    s.flush(self.cycles);
                }
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
        let hot = &self.hot[idx];
        let fetch = match hot.static_fetch(self.mem.fetch_mode(hot.region as usize)) {
            Some(f) => f,
            None => self.timed_fetch(idx),
        };
        self.charge_fetch(fetch);
    }

    /// Fetch stalls of the block just entered (`idx`), line by line through the cache or
    /// accelerator (`FetchMode::Dynamic`, either kind).
    #[inline(always)]
    pub(super) fn timed_fetch(&mut self, idx: usize) -> u32 {
        let (b, hot) = (&self.blocks[idx], &self.hot[idx]);
        self.mem.fetch_with_plan(hot.region as usize, &mut self.plans[idx], || (&b.addrs, hot.end, &b.offsets), self.block_entry)
    }

    /// The common case of the block hook, for speed: a known block entered with nothing
    /// else to do: no exception, limit or deadline check due, no FP or fault-handler
    /// block, a branch penalty that is memoised (with a branch predictor: a correctly
    /// predicted branch whose edge is memoised), and for the profiler a quiet exit from
    /// the previous block (it then only counts the instructions). Returns false, having
    /// changed nothing, when any of that does not hold; the block hook then takes the
    /// full path (`enter` and the checks after it), which gives the same result
    /// (`tests/entry_shortcut.rs`).
    #[inline(always)]
    pub(super) fn enter_steady(&mut self, addr: u32, size: u32) -> bool {
        if self.full_path_only {
            return false;
        }
        let Some(idx) = self.index.get(addr) else {
            return false;
        };
        let b = &self.hot[idx];
        if b.tb_size as u32 != size || b.flags & (USES_FP | PARKS) != 0 || self.ppb.nvic.check_due || self.deadline_countdown <= 1 {
            return false;
        }
        // Per-line fetch timing (caches, accelerators) is known only after fetching, so
        // it takes the shortcut only when no cycle limit could stop the run there.
        // `loops`: whether a loop of several blocks can be skipped (`try_skip_cycle`).
        let mode = self.mem.fetch_mode(b.region as usize);
        let fetch = b.static_fetch(mode);
        if fetch.is_none() && self.max_cycles != u64::MAX {
            return false;
        }
        let loops = mode != FetchMode::Dynamic { loops: false };
        let prev = self.hot.get(self.cur);
        if self.profiler.is_some() && prev.is_some_and(|p| p.flags & QUIET_EXIT == 0) {
            return false;
        }
        if self.entered_paired {
            return false;
        }
        let mut branch = None;
        let (cost, paired) = match prev {
            Some(prev) => {
                let taken = b.start != prev.end;
                if let (Some(p), true) = (self.predictor.as_ref(), prev.flags & ENDS_IN_CONTROL != 0) {
                    // Only a correctly predicted branch, which costs nothing extra
                    // (`CoreModel::predicted_branch_penalty`): the case the memos hold.
                    let lookup = p.lookup_at(prev.last_insn_addr(), prev.btac_hint as usize);
                    if !Prediction::correct(lookup.prediction, taken, Some(b.start)) {
                        return false;
                    }
                    branch = Some((lookup, taken, b.start));
                }
                match taken {
                    false if prev.fall_next as usize == idx => (prev.fall_cost, prev.fall_paired),
                    true if prev.taken_next as usize == idx => (prev.taken_penalty, prev.taken_paired),
                    _ => return false,
                }
            }
            None => (0, false),
        };
        let entry = self.cycles.saturating_add_signed(cost as i64);
        if self.cycles.max(entry) >= self.exc.next_systick
            || entry + (b.cycles + fetch.unwrap_or(0)) as u64 > self.max_cycles
            || self.instructions + b.insns as u64 > self.max_instructions
        {
            return false;
        }
        if let (Some(p), Some((lookup, taken, start))) = (self.predictor.as_mut(), branch) {
            p.update_looked_up(lookup, taken, start);
            if let Some(slot) = lookup.slot() {
                self.hot[self.cur].btac_hint = slot as u16;
            }
        }
        let b = &self.hot[idx];
        let self_loop = self.cur == idx;
        self.deadline_countdown -= 1;
        self.cycles = entry;
        self.entered_paired = paired;
        if let Some(p) = self.profiler.as_mut() {
            p.block(b.insns as u64, b.end);
            self.sp_sample_due = false;
        }
        self.account_entry(idx);
        let static_fetch = fetch;
        let fetch = match fetch {
            Some(f) => f,
            None => self.timed_fetch(idx),
        };
        self.charge_fetch(fetch);
        // A block entered from itself, or closing a loop of a few blocks: every further
        // round does the same, so unicorn can run them without the hook
        // (`block_counters.rs`).
        if !paired && self.counters.is_some() {
            if self_loop {
                self.skip_self_loop(idx, cost, static_fetch);
            } else if loops
                && self.stalls.is_none()
                && self.hot[idx].flags & (NO_SHORT_LOOP | SHORT_RUNS_OFF) == 0
                && self.closes_short_loop(self.hot[idx].start)
            {
                self.try_skip_cycle(idx);
            }
        }
        true
    }

    /// Count an entry into block `idx` and charge its static cost.
    #[inline(always)]
    pub(super) fn account_entry(&mut self, idx: usize) {
        let b = &mut self.hot[idx];
        b.executions += 1;
        self.recent[self.recent_next] = b.start;
        self.recent_next = (self.recent_next + 1) % RECENT_BLOCKS;
        self.cur = idx;
        self.access_cursor = 0;
        self.block_entry = self.cycles;
        self.cycles += b.cycles as u64;
        self.insns_before_block = self.instructions;
        self.instructions += b.insns as u64;
    }

    /// Charge the entered block's instruction fetch stalls.
    #[inline(always)]
    pub(super) fn charge_fetch(&mut self, fetch: u32) {
        self.dyn_in_block = fetch as i64;
        self.cycles += fetch as u64;
        if fetch > 0 {
            self.regions[self.hot[self.cur].region as usize].fetch_wait_cycles += fetch as u64;
            if let Some(s) = self.stalls.as_mut() {
                s.fetch(self.blocks[self.cur].bucket, fetch as u64);
            }
        }
    }

    /// Whether the block executing now contains an IT instruction.
    pub(super) fn current_block_has_it(&self) -> bool {
        self.hot.get(self.cur).is_none_or(|b| b.flags & HAS_IT != 0)
    }

    pub(super) fn add_wait(&mut self, cycles: u64) {
        self.cycles += cycles;
        self.dyn_in_block += cycles as i64;
    }

    /// Replace the static cost of a divide with the operand-dependent one.
    pub(super) fn correct_divide(&mut self, dividend: u32, divisor: u32, signed: bool) {
        if let Some(c) = self.model.divide_cycles(dividend, divisor, signed) {
            let delta = c as i64 - DIV_STATIC as i64;
            self.cycles = self.cycles.saturating_add_signed(delta);
            self.dyn_in_block += delta;
            self.divides_timed += 1;
        }
    }

    /// The instruction at `pc` as text, from the image's bytes.
    pub(super) fn disassemble(&self, pc: u32) -> String {
        let bytes: Vec<u8> = (0..4u32).filter_map(|i| self.image.read_word(pc + i).map(|w| w as u8)).collect();
        self.decoder.disassemble_one(&bytes, pc).unwrap_or_else(|| format!("bytes {}", bytes.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(" ")))
    }

    /// Where a faulting or stopped run was, for the report's `error` object.
    pub(super) fn error_info(&self, kind: &str, pc: u32) -> simbench_profiles::report::ErrorInfo {
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
    pub(super) fn settle_block(&mut self, done: usize) {
        if let Some(b) = self.blocks.get(self.cur) {
            let done = done.min(b.addrs.len());
            self.cycles = (self.block_entry + b.offsets[done] as u64).saturating_add_signed(self.dyn_in_block);
            self.instructions = self.insns_before_block + done as u64;
        }
    }

    /// The MPU or the usable memory changed: re-apply page protections at the next block.
    pub(super) fn protections_changed(&mut self) {
        self.protections_dirty = true;
        self.ppb.nvic.check_due = true;
    }

    /// The region holding `addr` and the bytes of it the firmware assigned, when `addr`
    /// lies beyond them (FlexRAM banks left unassigned).
    pub(super) fn unassigned(&self, addr: u32) -> Option<(&simbench_cores::Region, u32)> {
        let (ri, r) = self.board.region_of(addr)?;
        let limit = self.region_limits[ri]?;
        (addr - r.base >= limit).then_some((r, limit))
    }

    pub(super) fn describe(&self, pc: u32) -> String {
        format!("pc {pc:#010x} ({})", self.image.describe(pc))
    }

    pub(super) fn set_stop(&mut self, stop: Stop, at: Option<(usize, bool)>) {
        if self.stop.is_none() {
            self.stop = Some(stop);
            self.stop_at = at;
        }
    }
}
