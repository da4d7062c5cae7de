//! A debugger in control of the machine (`simbench --gdb`, driven by `crate::gdb`): halts
//! before an instruction, single steps, breakpoints, watchpoints, a modelled-cycle
//! breakpoint, and the registers and memory as a probe sees them.
//!
//! Only a debugged run has any of this. `Debuggee::new` installs a code hook on every
//! instruction and a block hook that knows about halts; `run` installs neither, so a run
//! without a debugger pays nothing.
//!
//! Timing stays exact. A translation block is costed whole when it is entered; a halt
//! before its k-th instruction leaves that accounting alone, and what the debugger is told
//! (`Debuggee::position`) is the block's entry cycle plus the offset of instruction k plus
//! the wait states so far: the figure a report ending there gives (`State::settle_block`).
//! Resuming there makes unicorn start a translation block in the middle of the old one.
//! Its block hook is recognised as the continuation and charges nothing, so the rest of
//! the block runs on the cost already charged and the next block is entered as in a run
//! without a debugger: a run continued to its end gives the same report. The debugger's
//! code hook runs before the divide hooks, and a halt skips the hooks after it, so each
//! instruction's hooks run once, when it executes.
//!
//! Watchpoints halt before the accessing instruction, as GDB expects of Arm targets (it
//! steps over the instruction itself, then compares values): the code hook works out
//! the bytes each instruction is about to access from its addressing and the registers
//! (`watch.rs`). No memory hook is involved.
//!
//! unicorn cannot stop inside a Thumb IT block: a stop asked for there takes effect after
//! the block's last instruction (`helper_uc_tracecode` reverts it). A step into or inside
//! one, and a continue through one that holds a breakpoint, a memory access while
//! watchpoints are set, or the cycle of `break-cycle`, go one instruction at a time with
//! an exit address instead ("walking" the IT block): unicorn ends the translation there
//! and keeps the IT state. Only the continuation of the halted block is ever translated
//! that way, and continuations charge nothing, so no cost changes.

use super::watch::{self, Pattern};
use super::*;
use rustc_hash::FxHashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Why the target halted.
#[derive(Clone, Debug, PartialEq)]
pub enum Halt {
    /// At the reset vector before the first instruction: the state a client attaches to.
    Reset,
    /// At a breakpoint.
    Breakpoint,
    /// After a single step.
    Step,
    /// Before the instruction at `pc`, which is about to access watched memory at `addr`
    /// (GDB steps over it and compares values).
    Watch { kind: WatchKind, addr: u32, pc: u32 },
    /// Interrupted by the debugger (Ctrl-C).
    Interrupt,
    /// At the first instruction that starts at or after this modelled cycle.
    Cycle(u64),
    /// At the first instruction of the firmware's handler for a fault: `kind` and
    /// `message` as a report gives them.
    Fault { kind: String, message: String },
}

/// What a watchpoint watches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WatchKind {
    Write,
    Read,
    Access,
}

/// What `Debuggee::resume` came back with.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// Halted for the debugger; the run can go on.
    Halted(Halt),
    /// The run ended (exit, fault, limit…): `Debuggee::finish` gives its result.
    Ended(Stop),
}

/// Where firmware output goes while the target runs.
pub type Console = Arc<dyn Fn(&[u8]) + Send + Sync>;

/// The debugger's side of a running target: a flag it raises to interrupt the run
/// (checked at every block) and where firmware output goes while the target runs.
#[derive(Clone)]
pub struct DebugLink {
    pub interrupt: Arc<AtomicBool>,
    pub console: Console,
}

/// A core register as the debugger names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CoreReg {
    /// r0–r15 (13 = SP, the current stack pointer; 14 = LR; 15 = PC).
    R(u8),
    Xpsr,
    Msp,
    Psp,
    Primask,
    Basepri,
    Faultmask,
    Control,
    /// d0–d15 (s0–s31 in pairs).
    D(u8),
    Fpscr,
}

/// Where the target stands in modelled time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Position {
    pub pc: u32,
    pub cycles: u64,
    pub instructions: u64,
}

/// The debugger's state inside the machine (`State::debug`).
pub(super) struct DebugState {
    breakpoints: FxHashSet<u32>,
    /// (kind, address, length).
    watchpoints: Vec<(WatchKind, u32, u32)>,
    /// Each instruction's addressing, by address (with its encoding, to notice new code).
    patterns: rustc_hash::FxHashMap<u32, (u32, Pattern)>,
    step: bool,
    /// The instruction execution resumes at runs without a breakpoint check: the target
    /// halted there. Its accesses are still checked against the watchpoints
    /// (`watch_at_skip`) unless it halted there for one.
    skip: Option<u32>,
    watch_at_skip: bool,
    /// The next block hook at this address is the rest of the block the target halted in.
    continuation: Option<u32>,
    break_cycle: Option<u64>,
    /// A halt asked for outside the code hook (a fault delivered, an interrupt), taken
    /// before the next instruction.
    pending: Option<Halt>,
    /// The halt asked for, at this instruction. Inside an IT block unicorn defers the stop
    /// to the block's end; the code hook then moves it along to where it takes effect.
    halt: Option<(u32, Halt)>,
    /// The halt is internal: at an IT instruction, to walk its block (`run_from`).
    walk_request: bool,
    /// Walking an IT block: the code hook asks for no other walk.
    walking: bool,
    link: DebugLink,
    output: Vec<u8>,
    /// The debugger left: the interrupt flag is no longer looked at.
    detached: bool,
}

impl DebugState {
    /// Firmware output, for the debugger's console.
    pub(super) fn output(&mut self, bytes: &[u8]) {
        self.output.extend_from_slice(bytes);
    }

    fn flush_output(&mut self) {
        if !self.output.is_empty() {
            (self.link.console)(&self.output);
            self.output.clear();
        }
    }
}

/// A fault was delivered to the firmware's handler (`exceptions::deliver_fault`): halt
/// at the handler's first instruction, with the fault's signal.
pub(super) fn fault_delivered(st: &mut State, kind: &str, message: &str) {
    if let Some(d) = st.debug.as_deref_mut() {
        d.pending = Some(Halt::Fault { kind: kind.to_string(), message: message.to_string() });
    }
}

/// Block hook of a debugged run: the continuation of a halted block charges nothing;
/// otherwise the interrupt flag and console output are looked at and the block is
/// entered as in any run.
fn on_block_debug(uc: &mut Unicorn<State>, addr: u32, size: u32) {
    let st = uc.get_data_mut();
    let Some(d) = st.debug.as_deref_mut() else { return on_block(uc, addr, size) };
    if d.continuation.take() == Some(addr) {
        return;
    }
    // The debugger clears the flag before it resumes the target (a lost connection
    // leaves it set: the target halts at once).
    if !d.detached && d.link.interrupt.load(Ordering::Relaxed) {
        d.pending.get_or_insert(Halt::Interrupt);
    }
    if d.output.len() >= 1024 || d.output.last() == Some(&b'\n') {
        d.flush_output();
    }
    on_block(uc, addr, size);
}

/// xPSR's IT bits (IT[7:2] in 15:10, IT[1:0] in 26:25).
const IT_BITS: u64 = 0x0600_FC00;

/// ITSTATE from xPSR.
fn itstate(xpsr: u64) -> u8 {
    (((xpsr >> 10) & 0x3F) << 2 | ((xpsr >> 25) & 3)) as u8
}

/// Whether an instruction with this xPSR executes: outside an IT block always, inside
/// one when its condition (ITSTATE[7:4]) holds for the flags.
fn condition_passes(xpsr: u64) -> bool {
    let it = itstate(xpsr);
    if it & 0xF == 0 {
        return true;
    }
    let (n, z, c, v) = (xpsr >> 31 & 1 == 1, xpsr >> 30 & 1 == 1, xpsr >> 29 & 1 == 1, xpsr >> 28 & 1 == 1);
    let cond = it >> 4;
    let base = match cond >> 1 {
        0 => z,
        1 => c,
        2 => n,
        3 => v,
        4 => c && !z,
        5 => n == v,
        6 => !z && n == v,
        _ => true,
    };
    if cond & 1 == 1 && cond != 0xF {
        !base
    } else {
        base
    }
}

/// Parse and keep the addressing of the instruction at `addr`, when watchpoints are set.
fn learn_pattern(uc: &mut Unicorn<State>, addr: u32) {
    let mut enc = [0u8; 4];
    let _ = uc.mem_read(addr as u64, &mut enc);
    let word = u32::from_le_bytes(enc);
    let st = uc.get_data();
    let Some(d) = st.debug.as_deref() else { return };
    if d.watchpoints.is_empty() || d.patterns.get(&addr).is_some_and(|(w, _)| *w == word) {
        return;
    }
    let p = st.decoder.disassemble_one(&enc, addr).map_or(Pattern::None, |t| watch::pattern(&t));
    if let Some(d) = uc.get_data_mut().debug.as_deref_mut() {
        d.patterns.insert(addr, (word, p));
    }
}

/// Why to halt before the instruction at `addr` for a breakpoint, a watchpoint or the
/// cycle of `break-cycle` (`xpsr`: the flags and IT state for it).
fn halt_here(uc: &Unicorn<State>, addr: u32, xpsr: u64) -> Option<Halt> {
    let st = uc.get_data();
    let d = st.debug.as_deref()?;
    if d.breakpoints.contains(&addr) {
        return Some(Halt::Breakpoint);
    }
    if let Some(c) = d.break_cycle.filter(|&c| st.now_at(addr) >= c) {
        return Some(Halt::Cycle(c));
    }
    if d.watchpoints.is_empty() || !condition_passes(xpsr) {
        return None;
    }
    let (_, p) = d.patterns.get(&addr)?;
    let a = p.access(addr, |r| reg_value(uc, r))?;
    d.watchpoints.iter().find_map(|&(kind, start, len)| {
        let (ws, we) = (start as u64, start as u64 + len.max(1) as u64);
        let kind_hit = match kind {
            WatchKind::Write => a.store,
            WatchKind::Read => a.load,
            WatchKind::Access => true,
        };
        (kind_hit && a.start < we && ws < a.end).then(|| Halt::Watch { kind, addr: a.start.max(ws) as u32, pc: addr })
    })
}

fn reg_value(uc: &Unicorn<State>, r: u8) -> u32 {
    match r {
        0..=12 => uc.reg_read(reg_r(r)).unwrap_or(0) as u32,
        13 => uc.reg_read(RegisterARM::SP).unwrap_or(0) as u32,
        14 => uc.reg_read(RegisterARM::LR).unwrap_or(0) as u32,
        _ => pc_of(uc),
    }
}

/// Code hook of a debugged run, on every instruction before it executes.
fn on_instruction(uc: &mut Unicorn<State>, addr: u32) {
    let watching = uc.get_data().debug.as_deref().is_some_and(|d| !d.watchpoints.is_empty());
    // Inside an IT block the hook finds the IT state in xPSR (see `clear_stale_it_state`).
    let xpsr = if watching { uc.reg_read(RegisterARM::XPSR).unwrap_or(0) } else { 0 };
    if uc.get_data().current_block_has_it() {
        clear_stale_it_state(uc);
    }
    if watching {
        learn_pattern(uc, addr);
    }
    let deferred = {
        let Some(d) = uc.get_data_mut().debug.as_deref_mut() else { return };
        d.halt.take()
    };
    if let Some((_, why)) = deferred {
        // Asked for inside an IT block: it takes effect here (or further on).
        halt(uc, addr, why);
        return;
    }
    let here = halt_here(uc, addr, xpsr);
    let Some(d) = uc.get_data_mut().debug.as_deref_mut() else { return };
    let why = if d.skip.take() != Some(addr) {
        d.pending.take().or(if d.step { Some(Halt::Step) } else { None }).or(here)
    } else if d.watch_at_skip {
        // Where execution resumes only a watchpoint halts (a breakpoint there is the one
        // the target halted at).
        here.filter(|h| matches!(h, Halt::Watch { .. }))
    } else {
        None
    };
    if let Some(why) = why {
        if matches!(why, Halt::Cycle(_)) {
            d.break_cycle = None;
        }
        halt(uc, addr, why);
        return;
    }
    if !d.step && !d.walking && walk_needed(uc, addr) {
        let d = uc.get_data_mut().debug.as_deref_mut().expect("debug state");
        d.walk_request = true;
        halt(uc, addr, Halt::Step);
    }
}

fn halt(uc: &mut Unicorn<State>, addr: u32, why: Halt) {
    if let Some(d) = uc.get_data_mut().debug.as_deref_mut() {
        d.halt = Some((addr, why));
    }
    let _ = uc.emu_stop();
}

/// Whether the IT instruction at `addr` leads a block that holds a breakpoint, a memory
/// access while watchpoints are set, or the cycle of `break-cycle`: then the block is
/// walked one instruction at a time.
fn walk_needed(uc: &mut Unicorn<State>, addr: u32) -> bool {
    let span = {
        let st = uc.get_data();
        match st.blocks.get(st.cur).and_then(|b| it_block_after(uc, b, addr)) {
            Some(span) => span,
            None => return false,
        }
    };
    for &a in &span {
        learn_pattern(uc, a);
    }
    let st = uc.get_data();
    let Some(d) = st.debug.as_deref() else { return false };
    span.iter().any(|a| d.breakpoints.contains(a))
        || d.break_cycle.is_some_and(|c| span.last().is_some_and(|&l| st.now_at(l) >= c))
        || (!d.watchpoints.is_empty() && span.iter().any(|a| d.patterns.get(a).is_some_and(|(_, p)| *p != Pattern::None)))
}

/// The addresses of the instructions in the IT block of the IT instruction at `addr`,
/// when `addr` is one (`IT` is 0xBFxy with a non-zero mask y; up to four instructions).
fn it_block_after(uc: &Unicorn<State>, b: &Block, addr: u32) -> Option<Vec<u32>> {
    if !b.has_it {
        return None;
    }
    let i = b.addrs.binary_search(&addr).ok()?;
    let mut enc = [0u8; 2];
    uc.mem_read(addr as u64, &mut enc).ok()?;
    let (mask, op) = (enc[0] & 0xF, enc[1]);
    if op != 0xBF || mask == 0 {
        return None;
    }
    let n = 4 - mask.trailing_zeros() as usize;
    Some(b.addrs.iter().skip(i + 1).take(n).copied().collect())
}

/// A machine under a debugger's control.
pub struct Debuggee {
    uc: Unicorn<'static, State>,
    sp0: u32,
    pc0: u32,
    mapped_for_image: Vec<String>,
    /// Host time spent running (not halted), and when the current run leg started.
    wall: Duration,
    leg_started: Instant,
    /// Where it halted: (pc, the instruction's index in the current block) when the halt
    /// is inside a known block, so that resuming there continues the block.
    halted_in: Option<(u32, usize)>,
    /// Why it last halted.
    last_halt: Option<Halt>,
    /// Set when the run has ended.
    result: Option<RunResult>,
    halted_since: Instant,
}

impl Debuggee {
    /// Build the machine for `image`, halted at the reset vector.
    pub fn new(image: Image, opts: &RunOptions, link: DebugLink) -> Result<Debuggee, crate::error::SimError> {
        let debug = DebugState {
            breakpoints: FxHashSet::default(),
            watchpoints: Vec::new(),
            patterns: Default::default(),
            step: false,
            skip: None,
            watch_at_skip: true,
            continuation: None,
            break_cycle: None,
            pending: None,
            halt: None,
            walk_request: false,
            walking: false,
            link,
            output: Vec::new(),
            detached: false,
        };
        let Prepared { mut uc, sp, pc, mapped_for_image } = prepare(image, opts, Some(Box::new(debug)))?;
        // Halted at the reset vector (a run without a debugger starts unicorn there).
        uc.reg_write(RegisterARM::PC, pc as u64 | 1).map_err(|e| internal("setting PC", e))?;
        Ok(Debuggee {
            uc,
            sp0: sp,
            pc0: pc,
            mapped_for_image,
            wall: Duration::ZERO,
            leg_started: Instant::now(),
            halted_in: None,
            last_halt: Some(Halt::Reset),
            result: None,
            halted_since: Instant::now(),
        })
    }

    fn debug(&mut self) -> &mut DebugState {
        self.uc.get_data_mut().debug.as_deref_mut().expect("a debugged machine has debug state")
    }

    /// The board as mapped (with what a generic board mapped for the image).
    pub fn board(&self) -> &Board {
        &self.uc.get_data().board
    }

    /// Run until the next halt (`step`: after one instruction) or the end of the run.
    pub fn resume(&mut self, step: bool) -> Event {
        if let Some(r) = &self.result {
            return Event::Ended(r.stop.clone());
        }
        let pc = pc_of(&self.uc);
        let halted_in = self.halted_in.take();
        let halted_for = self.halted_since.elapsed();
        let st = self.uc.get_data_mut();
        // Halted time is not run time for --timeout.
        st.deadline = st.deadline.map(|d| d + halted_for);
        let continues = halted_in.is_some_and(|(hpc, _)| hpc == pc);
        if let Some((_, k)) = halted_in.filter(|_| !continues) {
            // The debugger moved the PC: the halted block ran only up to the halt.
            st.settle_block(k);
            st.cur = NO_BLOCK;
        }
        // Inside an IT block (or at its IT instruction, for a step) go one instruction
        // at a time with an exit address: unicorn cannot stop in there.
        let xpsr = self.uc.reg_read(RegisterARM::XPSR).unwrap_or(0);
        let inside_it = continues && xpsr & IT_BITS != 0 && it_continues(xpsr);
        let exit = if continues && (inside_it || (step && self.at_it_instruction(pc))) { self.next_in_block(pc) } else { None };
        self.halted_in = halted_in.filter(|_| continues);
        // Resuming from a watchpoint halt: the instruction it halted before may access the
        // watched bytes (GDB removes the watchpoint to step over it; other clients may not).
        let from_watch = matches!(self.last_halt, Some(Halt::Watch { pc: wpc, .. }) if wpc == pc);
        let d = self.debug();
        d.step = step;
        d.skip = Some(pc);
        d.watch_at_skip = !from_watch;
        d.continuation = continues.then_some(pc);
        d.walking = exit.is_some() && !step;
        self.leg_started = Instant::now();
        let event = self.run_from(pc, exit);
        self.debug().walking = false;
        if self.result.is_none() {
            self.wall += self.leg_started.elapsed();
        }
        self.halted_since = Instant::now();
        event
    }

    /// Whether the instruction at `pc`, in the current block, is an IT instruction.
    fn at_it_instruction(&self, pc: u32) -> bool {
        let st = self.uc.get_data();
        st.blocks.get(st.cur).is_some_and(|b| it_block_after(&self.uc, b, pc).is_some())
    }

    /// The instruction after `pc` in the current block.
    fn next_in_block(&self, pc: u32) -> Option<u32> {
        let st = self.uc.get_data();
        let b = st.blocks.get(st.cur)?;
        let i = b.addrs.binary_search(&pc).ok()?;
        b.addrs.get(i + 1).copied()
    }

    /// Run from `pc` until a halt or the end. With `exit`, run one instruction of the
    /// halted block to the exit address first (a step into or inside an IT block, or a
    /// walk through one: `walking`).
    fn run_from(&mut self, pc: u32, exit: Option<u32>) -> Event {
        let mut resume = pc;
        let mut exit = exit;
        loop {
            if let Some(e) = exit {
                // The halted block's continuation is translated anew, ending at the exit.
                let _ = self.uc.ctl_exits_enable();
                let _ = self.uc.ctl_set_exits(&[e as u64]);
                let _ = self.uc.ctl_remove_cache(resume as u64, e as u64 + 2);
            }
            self.uc.get_data_mut().bad_access = None;
            let result = self.uc.emu_start(resume as u64 | 1, u64::MAX, 0, 0);
            if let Some(e) = exit.take() {
                let _ = self.uc.ctl_set_exits(&[]);
                let _ = self.uc.ctl_exits_disable();
                let _ = self.uc.ctl_remove_cache(resume as u64, e as u64 + 2);
                if self.uc.get_data().stop.is_some() {
                    return self.end(result);
                }
                if result.is_ok() && pc_of(&self.uc) & !1 == e {
                    if let Some(event) = self.at_exit(e) {
                        return event;
                    }
                    resume = e;
                    exit = if self.debug().walking { self.next_in_block(e) } else { None };
                    if exit.is_none() {
                        self.debug().walking = false;
                    }
                    continue;
                }
                self.debug().walking = false;
            }
            if self.uc.get_data().stop.is_some() {
                return self.end(result);
            }
            let halt = self.debug().halt.take();
            if let Some((hpc, why)) = halt {
                if std::mem::take(&mut self.debug().walk_request) {
                    // Halted at an IT instruction to walk its block.
                    self.halted_in = self.locate(hpc);
                    let d = self.debug();
                    d.skip = Some(hpc);
                    d.continuation = Some(hpc);
                    resume = hpc;
                    exit = self.next_in_block(hpc);
                    self.debug().walking = exit.is_some();
                    continue;
                }
                return self.halted(hpc, why);
            }
            if !resume_after(&mut self.uc, &result) {
                return self.end(result);
            }
            resume = pc_of(&self.uc);
        }
    }

    /// Stopped at the exit address `e` inside the halted block: halt there (a step, a
    /// halt asked for inside the IT block, a breakpoint, watchpoint or cycle at `e`), or
    /// None to go on, continuing the block from `e`.
    fn at_exit(&mut self, e: u32) -> Option<Event> {
        self.halted_in = self.locate(e);
        let xpsr = self.uc.reg_read(RegisterARM::XPSR).unwrap_or(0);
        learn_pattern(&mut self.uc, e);
        let here = halt_here(&self.uc, e, xpsr);
        let d = self.debug();
        let asked = d.halt.take().map(|(_, h)| h).or(d.pending.take());
        let why = asked.or(if d.walking { None } else { Some(Halt::Step) }).or(here);
        if let Some(why) = why {
            if matches!(why, Halt::Cycle(_)) {
                d.break_cycle = None;
            }
            d.walking = false;
            return Some(self.halted(e, why));
        }
        // Out of the IT block: the walk ends; the run goes on from `e` as usual.
        if xpsr & IT_BITS == 0 {
            d.walking = false;
        }
        d.skip = Some(e);
        d.continuation = Some(e);
        None
    }

    /// The halt at `pc` and its place in the current block.
    fn locate(&self, pc: u32) -> Option<(u32, usize)> {
        let st = self.uc.get_data();
        st.blocks.get(st.cur).and_then(|b| b.addrs.binary_search(&pc).ok()).map(|k| (pc, k))
    }

    fn halted(&mut self, pc: u32, why: Halt) -> Event {
        self.halted_in = self.locate(pc);
        self.last_halt = Some(why.clone());
        self.debug().flush_output();
        Event::Halted(why)
    }

    /// The run ended: settle it into its result (the registers stay readable).
    fn end(&mut self, result: Result<(), unicorn_engine::unicorn_const::uc_error>) -> Event {
        self.debug().flush_output();
        self.halted_in = None;
        self.wall += self.leg_started.elapsed();
        match finish(&mut self.uc, result, self.sp0, self.pc0, self.wall) {
            Ok(mut run) => {
                run.mapped_for_image = self.mapped_for_image.clone();
                if let Stop::Fault { pc, .. } | Stop::Limit { pc, .. } | Stop::Parked { pc, .. } | Stop::Interrupted { pc, .. } = &run.stop {
                    // Show the debugger the instruction the run stopped at.
                    let _ = self.uc.reg_write(RegisterARM::PC, *pc as u64 | 1);
                }
                let stop = run.stop.clone();
                self.result = Some(run);
                Event::Ended(stop)
            }
            Err(e) => {
                let stop = Stop::Fault { kind: "emulator-error".into(), message: e.to_string(), pc: pc_of(&self.uc) };
                Event::Ended(stop)
            }
        }
    }

    /// End the run here (kill, a client gone) unless it has ended, and give its result.
    pub fn finish(mut self, stop: Stop) -> Result<RunResult, crate::error::SimError> {
        if let Some(r) = self.result.take() {
            return Ok(r);
        }
        let st = self.uc.get_data_mut();
        let at = self.halted_in.map(|(_, k)| (k, false));
        st.set_stop(stop, at);
        let mut run = finish(&mut self.uc, Ok(()), self.sp0, self.pc0, self.wall)?;
        run.mapped_for_image = self.mapped_for_image.clone();
        Ok(run)
    }

    /// The result the run would have if it ended here (`monitor report`); the run goes on.
    pub fn snapshot(&mut self) -> Result<RunResult, crate::error::SimError> {
        if let Some(r) = &self.result {
            return Ok(r.clone());
        }
        let pc = pc_of(&self.uc);
        let at = self.halted_in.map(|(_, k)| (k, false));
        let st = self.uc.get_data_mut();
        let saved = (
            st.cycles,
            st.instructions,
            st.markers.clone(),
            st.output.clone(),
            st.settings.clone(),
            st.profiler.clone(),
            st.regions.clone(),
            st.exc.delivered_fault.clone(),
        );
        let host = st.semihost.take();
        st.stop = Some(Stop::Interrupted { signal: 5, message: format!("halted in the debugger at {}: the report so far", st.describe(pc)), pc });
        st.stop_at = at;
        let run = finish(&mut self.uc, Ok(()), self.sp0, self.pc0, self.wall);
        let st = self.uc.get_data_mut();
        (st.cycles, st.instructions, st.markers, st.output, st.settings, st.profiler, st.regions, st.exc.delivered_fault) = saved;
        st.stop = None;
        st.stop_at = None;
        let notes = host.as_ref().map(|h| h.notes()).unwrap_or_default();
        st.semihost = host;
        let mut run = run?;
        run.semihosting_notes = notes;
        run.mapped_for_image = self.mapped_for_image.clone();
        Ok(run)
    }

    /// The PC and the modelled cycle and instruction counts where the target stands: the
    /// instructions executed so far and the cycles they took.
    pub fn position(&self) -> Position {
        let pc = pc_of(&self.uc) & !1;
        if let Some(r) = &self.result {
            return Position { pc, cycles: r.cycles, instructions: r.instructions };
        }
        let st = self.uc.get_data();
        match (self.halted_in, st.blocks.get(st.cur)) {
            (Some((_, k)), Some(b)) => Position {
                pc,
                cycles: (st.block_entry + b.offsets[k] as u64).saturating_add_signed(st.dyn_in_block),
                instructions: st.insns_before_block + k as u64,
            },
            _ => Position { pc, cycles: st.cycles, instructions: st.instructions },
        }
    }

    /// The run's result once it has ended.
    pub fn result(&self) -> Option<&RunResult> {
        self.result.as_ref()
    }

    pub fn set_breakpoint(&mut self, addr: u32, on: bool) {
        let d = self.debug();
        if on {
            d.breakpoints.insert(addr & !1);
        } else {
            d.breakpoints.remove(&(addr & !1));
        }
    }

    /// The debugger leaves: no more breakpoints, watchpoints or interrupts; the run goes
    /// on as without it (a fault delivered to a handler still halts: resume again).
    pub fn detach(&mut self) {
        let d = self.debug();
        d.watchpoints.clear();
        d.breakpoints.clear();
        d.break_cycle = None;
        d.detached = true;
    }

    /// Halt at the first instruction that starts at or after modelled cycle `c` (None: off).
    pub fn set_break_cycle(&mut self, c: Option<u64>) {
        self.debug().break_cycle = c;
    }

    pub fn break_cycle(&mut self) -> Option<u64> {
        self.debug().break_cycle
    }

    /// Add or remove a watchpoint (false: removing one that is not set).
    pub fn set_watchpoint(&mut self, kind: WatchKind, addr: u32, len: u32, on: bool) -> bool {
        let w = (kind, addr, len.max(1));
        let d = self.debug();
        let had = d.watchpoints.contains(&w);
        d.watchpoints.retain(|&x| x != w);
        if on {
            d.watchpoints.push(w);
        }
        on || had
    }

    pub fn read_register(&self, r: CoreReg) -> Option<u64> {
        let uc = &self.uc;
        let read = |reg: RegisterARM| uc.reg_read(reg).ok();
        match r {
            CoreReg::R(15) => Some(pc_of(uc) as u64 & !1),
            CoreReg::R(n @ 0..=12) => read(reg_r(n)),
            CoreReg::R(13) => read(RegisterARM::SP),
            CoreReg::R(14) => read(RegisterARM::LR),
            CoreReg::R(_) => None,
            // QEMU believes the core stays in Thread mode: IPSR is simbench's.
            CoreReg::Xpsr => read(RegisterARM::XPSR).map(|x| (x & !0x1FF) | 1 << 24 | self.uc.get_data().ppb.ipsr as u64),
            CoreReg::Msp => read(RegisterARM::MSP),
            CoreReg::Psp => read(RegisterARM::PSP),
            CoreReg::Primask => read(RegisterARM::PRIMASK),
            CoreReg::Basepri => read(RegisterARM::BASEPRI),
            CoreReg::Faultmask => read(RegisterARM::FAULTMASK),
            CoreReg::Control => read(RegisterARM::CONTROL),
            CoreReg::D(n @ 0..=15) => read(reg_d(n)),
            CoreReg::D(_) => None,
            CoreReg::Fpscr => read(RegisterARM::FPSCR),
        }
    }

    pub fn write_register(&mut self, r: CoreReg, v: u64) -> bool {
        let reg = match r {
            CoreReg::R(15) => {
                let ok = self.uc.reg_write(RegisterARM::PC, v | 1).is_ok();
                return ok;
            }
            CoreReg::R(n @ 0..=12) => reg_r(n),
            CoreReg::R(13) => RegisterARM::SP,
            CoreReg::R(14) => RegisterARM::LR,
            CoreReg::R(_) => return false,
            // The flags; IPSR and the execution state stay as they are.
            CoreReg::Xpsr => RegisterARM::APSR_NZCVQG,
            CoreReg::Msp => RegisterARM::MSP,
            CoreReg::Psp => RegisterARM::PSP,
            CoreReg::Primask => RegisterARM::PRIMASK,
            CoreReg::Basepri => RegisterARM::BASEPRI,
            CoreReg::Faultmask => RegisterARM::FAULTMASK,
            CoreReg::Control => RegisterARM::CONTROL,
            CoreReg::D(n @ 0..=15) => reg_d(n),
            CoreReg::D(_) => return false,
            CoreReg::Fpscr => RegisterARM::FPSCR,
        };
        let ok = self.uc.reg_write(reg, v).is_ok();
        if matches!(r, CoreReg::Primask | CoreReg::Basepri | CoreReg::Faultmask) {
            // A pending exception may be unmasked now.
            self.uc.get_data_mut().ppb.nvic.check_due = true;
        }
        ok
    }

    /// Read memory as a probe does, without side effects: peripheral registers are read
    /// from copies of their models. A read that starts in unmapped space gives None; one
    /// that runs into it gives the bytes before.
    pub fn read_memory(&self, addr: u32, len: usize) -> Option<Vec<u8>> {
        let st = self.uc.get_data();
        let now = self.position().cycles;
        let mut ppb: Option<Ppb> = None;
        let mut periph: Option<Peripherals> = None;
        let mut out = Vec::with_capacity(len);
        let end = addr as u64 + len as u64;
        let mut a = addr as u64;
        while a < end {
            let a32 = a as u32;
            if (PPB_BASE as u64..PPB_BASE as u64 + PPB_SIZE as u64).contains(&a) {
                let p = ppb.get_or_insert_with(|| st.ppb.clone());
                let word = p.read(a32 & !3, now).to_le_bytes();
                out.push(word[(a32 & 3) as usize]);
                a += 1;
                continue;
            }
            let Some((_, r)) = st.board.region_of(a32) else { break };
            if !r.kind.is_memory() {
                let v = if r.kind == RegionKind::Peripheral { periph.get_or_insert_with(|| st.periph.clone()).read(a32 & !3, 4) } else { 0 };
                out.push(v.to_le_bytes()[(a32 & 3) as usize]);
                a += 1;
                continue;
            }
            let chunk = (end.min(r.end()) - a) as usize;
            let mut buf = vec![0u8; chunk];
            if self.uc.mem_read(a, &mut buf).is_err() {
                break;
            }
            out.extend_from_slice(&buf);
            a += chunk as u64;
        }
        (!out.is_empty() || len == 0).then_some(out)
    }

    /// Write memory as a probe does (flash included). Writes to code drop its
    /// translations; writes to peripheral registers reach their models.
    pub fn write_memory(&mut self, addr: u32, bytes: &[u8]) -> bool {
        let end = addr as u64 + bytes.len() as u64;
        let mapped = {
            let st = self.uc.get_data();
            let ppb = (PPB_BASE as u64..PPB_BASE as u64 + PPB_SIZE as u64).contains(&(addr as u64));
            ppb || st.board.region_of(addr).is_some_and(|(_, r)| r.end() >= end)
        };
        if !mapped {
            return false;
        }
        // A peripheral write's callback locates its instruction: keep the cursor.
        let cursor = self.uc.get_data().access_cursor;
        let ok = self.uc.mem_write(addr as u64, bytes).is_ok();
        self.uc.get_data_mut().access_cursor = cursor;
        let _ = self.uc.ctl_remove_cache(addr as u64, end);
        ok
    }

    /// The firmware output captured so far (also sent to the console as it comes).
    pub fn output(&self) -> &[u8] {
        &self.uc.get_data().output
    }

    /// Where the PC is, as `symbol+offset`.
    pub fn describe(&self, pc: u32) -> String {
        self.uc.get_data().image.describe(pc)
    }
}

/// Whether the IT state in `xpsr` has instructions left after the current one: the next
/// instruction is still inside the block.
fn it_continues(xpsr: u64) -> bool {
    // ITSTATE = IT[7:2] in xPSR[15:10], IT[1:0] in xPSR[26:25]; IT[3:0] is the mask,
    // which shifts left per instruction: after this one, instructions remain while the
    // mask's low three bits are not all zero.
    let it = (((xpsr >> 10) & 0x3F) << 2 | ((xpsr >> 25) & 3)) as u8;
    it & 0x7 != 0
}

fn reg_r(n: u8) -> RegisterARM {
    const R: [RegisterARM; 13] = [
        RegisterARM::R0,
        RegisterARM::R1,
        RegisterARM::R2,
        RegisterARM::R3,
        RegisterARM::R4,
        RegisterARM::R5,
        RegisterARM::R6,
        RegisterARM::R7,
        RegisterARM::R8,
        RegisterARM::R9,
        RegisterARM::R10,
        RegisterARM::R11,
        RegisterARM::R12,
    ];
    R[n as usize]
}

fn reg_d(n: u8) -> RegisterARM {
    const D: [RegisterARM; 16] = [
        RegisterARM::D0,
        RegisterARM::D1,
        RegisterARM::D2,
        RegisterARM::D3,
        RegisterARM::D4,
        RegisterARM::D5,
        RegisterARM::D6,
        RegisterARM::D7,
        RegisterARM::D8,
        RegisterARM::D9,
        RegisterARM::D10,
        RegisterARM::D11,
        RegisterARM::D12,
        RegisterARM::D13,
        RegisterARM::D14,
        RegisterARM::D15,
    ];
    D[n as usize]
}

/// Install the debugger's hooks (before any divide hook, so that a halt skips them).
pub(super) fn install(uc: &mut Unicorn<State>) -> Result<(), crate::error::SimError> {
    uc.add_block_hook(1, 0, |uc, addr, size| on_block_debug(uc, addr as u32, size)).map_err(|e| internal("adding the debugger's block hook", e))?;
    uc.add_code_hook(1, 0, |uc, addr, _size| on_instruction(uc, addr as u32)).map_err(|e| internal("adding the debugger's code hook", e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_state_tells_whether_the_block_goes_on() {
        // ITE EQ (firstcond 0000, mask 1100): IT[7:0] = 0000_1100 before the first
        // instruction; after it the mask shifts to 1000 (one left).
        let xpsr = |it: u8| (((it >> 2) as u64) << 10) | ((it & 3) as u64) << 25;
        assert!(it_continues(xpsr(0b0000_1100)), "first of two: one left");
        assert!(!it_continues(xpsr(0b0001_1000)), "the last one");
        assert!(!it_continues(0));
    }

    #[test]
    fn conditions_inside_it_blocks() {
        // xPSR with ITSTATE = cond:mask (mask 1000: the last instruction) and NZCV.
        let x = |cond: u8, nzcv: u64| {
            let it = cond << 4 | 0b1000;
            (((it >> 2) as u64) << 10) | ((it & 3) as u64) << 25 | nzcv << 28
        };
        assert!(condition_passes(0), "outside an IT block");
        assert!(condition_passes(x(0b0000, 0b0100)), "EQ with Z");
        assert!(!condition_passes(x(0b0000, 0)), "EQ without Z");
        assert!(condition_passes(x(0b0001, 0)), "NE without Z");
        assert!(condition_passes(x(0b1001, 0b0100)), "LS with Z");
        assert!(!condition_passes(x(0b1000, 0b0110)), "HI needs C and not Z");
        assert!(condition_passes(x(0b1010, 0b1001)), "GE: N == V");
        assert!(!condition_passes(x(0b1011, 0b1001)), "LT: N != V");
        assert!(condition_passes(x(0b1110, 0)), "AL");
    }
}
