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
//! unicorn cannot stop inside a Thumb IT block: a stop asked for there takes effect after
//! the block's last instruction (`helper_uc_tracecode` reverts it). A step or a
//! breakpoint that lands inside one is served with an exit address instead: unicorn ends
//! the translation there and keeps the IT state, and only the continuation of the halted
//! block is ever translated that way, so no cost changes (`it_exit`).

use super::*;
use rustc_hash::FxHashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use unicorn_engine::UcHookId;

/// Why the target halted.
#[derive(Clone, Debug, PartialEq)]
pub enum Halt {
    /// At the reset vector before the first instruction: the state a client attaches to.
    Reset,
    /// At a breakpoint.
    Breakpoint,
    /// After a single step.
    Step,
    /// After the instruction at `pc` accessed watched memory at `addr`.
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

/// The debugger's side of a running target: a flag it raises to interrupt the run
/// (checked at every block) and where firmware output goes while the target runs.
#[derive(Clone)]
pub struct DebugLink {
    pub interrupt: Arc<AtomicBool>,
    pub console: Arc<dyn Fn(&[u8]) + Send + Sync>,
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

struct Watchpoint {
    kind: WatchKind,
    addr: u32,
    len: u32,
    hooks: Vec<UcHookId>,
}

/// The debugger's state inside the machine (`State::debug`).
pub(super) struct DebugState {
    breakpoints: FxHashSet<u32>,
    step: bool,
    /// The instruction execution resumes at runs without a check: the target halted there.
    skip: Option<u32>,
    /// The next block hook at this address is the rest of the block the target halted in.
    continuation: Option<u32>,
    break_cycle: Option<u64>,
    /// A halt asked for outside the code hook (a watchpoint hit, a fault delivered, an
    /// interrupt), taken before the next instruction.
    pending: Option<Halt>,
    /// The halt asked for, at this instruction. Inside an IT block unicorn defers the stop
    /// to the block's end; the code hook then moves it along to where it takes effect.
    halt: Option<(u32, Halt)>,
    /// The halt is internal: at an IT instruction, to continue with an exit address
    /// inside its block (`it_exit`).
    it_target: Option<(u32, Halt)>,
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

/// Code hook of a debugged run, on every instruction before it executes.
fn on_instruction(uc: &mut Unicorn<State>, addr: u32) {
    if uc.get_data().current_block_has_it() {
        clear_stale_it_state(uc);
    }
    let (now, it_span) = {
        let st = uc.get_data();
        let Some(d) = st.debug.as_deref() else { return };
        let now = d.break_cycle.map(|_| st.now_at(addr));
        let it_span = if d.step || d.it_target.is_some() || d.breakpoints.is_empty() {
            None
        } else {
            st.blocks.get(st.cur).and_then(|b| it_block_after(uc, b, addr))
        };
        (now, it_span)
    };
    let Some(d) = uc.get_data_mut().debug.as_deref_mut() else { return };
    if let Some((_, why)) = d.halt.take() {
        // Asked for inside an IT block: it takes effect here (or further on).
        d.halt = Some((addr, why));
        let _ = uc.emu_stop();
        return;
    }
    // The instruction execution resumes at runs unchecked: the target halted there.
    if d.skip.take() != Some(addr) {
        let why = if let Some(p) = d.pending.take() {
            Some(p)
        } else if d.step {
            Some(Halt::Step)
        } else if d.breakpoints.contains(&addr) {
            Some(Halt::Breakpoint)
        } else if d.break_cycle.is_some_and(|c| now.is_some_and(|n| n >= c)) {
            d.break_cycle.take().map(Halt::Cycle)
        } else {
            None
        };
        if let Some(why) = why {
            d.halt = Some((addr, why));
            let _ = uc.emu_stop();
            return;
        }
    }
    // An IT instruction whose block holds a breakpoint: halt here internally and go on
    // with an exit address at the breakpoint, where unicorn can stop (`run_from`).
    if let Some(&bp) = it_span.as_ref().and_then(|span| span.iter().find(|a| d.breakpoints.contains(a))) {
        d.it_target = Some((bp, Halt::Breakpoint));
        d.halt = Some((addr, Halt::Breakpoint));
        let _ = uc.emu_stop();
    }
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

/// A memory hook for a watchpoint over `[start, start + len)`: a hit asks for a halt
/// after the accessing instruction, whose PC it notes.
fn watch_hook(kind: WatchKind, start: u32, len: u32) -> impl FnMut(&mut Unicorn<State>, MemType, u64, usize, i64) -> bool {
    move |uc, _mt, addr, size, _value| {
        let (a, end) = (addr, addr + size.max(1) as u64);
        if end <= start as u64 || a >= start as u64 + len as u64 {
            return true;
        }
        if uc.get_data().current_block_has_it() {
            clear_stale_it_state(uc);
        }
        // Locate the instruction without moving the cursor MMIO accesses are located from.
        let cursor = uc.get_data().access_cursor;
        let pc = access_pc(uc, addr as u32);
        let st = uc.get_data_mut();
        st.access_cursor = cursor;
        if let Some(d) = st.debug.as_deref_mut() {
            d.pending.get_or_insert(Halt::Watch { kind, addr: (addr as u32).max(start), pc });
        }
        true
    }
}

/// A machine under a debugger's control.
pub struct Debuggee {
    uc: Unicorn<'static, State>,
    sp0: u32,
    pc0: u32,
    mapped_for_image: Vec<String>,
    /// Host time spent running (not halted).
    wall: Duration,
    /// Where it halted: (pc, the instruction's index in the current block) when the halt
    /// is inside a known block, so that resuming there continues the block.
    halted_in: Option<(u32, usize)>,
    watchpoints: Vec<Watchpoint>,
    /// Set when the run has ended.
    result: Option<RunResult>,
    halted_since: Instant,
}

impl Debuggee {
    /// Build the machine for `image`, halted at the reset vector.
    pub fn new(image: Image, opts: &RunOptions, link: DebugLink) -> Result<Debuggee, crate::error::SimError> {
        let debug = DebugState {
            breakpoints: FxHashSet::default(),
            step: false,
            skip: None,
            continuation: None,
            break_cycle: None,
            pending: None,
            halt: None,
            it_target: None,
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
            halted_in: None,
            watchpoints: Vec::new(),
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
        match halted_in {
            Some((hpc, _)) if hpc == pc => {}
            // The debugger moved the PC: the halted block ran only up to the halt.
            Some((_, k)) => {
                st.settle_block(k);
                st.cur = NO_BLOCK;
            }
            None => {}
        }
        let continues = halted_in.is_some_and(|(hpc, _)| hpc == pc);
        // A step from an IT instruction, or from inside an IT block, stops at the next
        // instruction of the block with an exit address (unicorn cannot stop there).
        let exit = if step && continues { self.step_exit_in_it_block(pc) } else { None };
        let d = self.debug();
        d.step = step;
        d.skip = Some(pc);
        d.continuation = continues.then_some(pc);
        let started = Instant::now();
        let event = self.run_from(pc, exit);
        self.wall += started.elapsed();
        self.halted_since = Instant::now();
        event
    }

    /// The exit address for a step from `pc` (a halt inside the current block) when the
    /// next instruction is inside an IT block: `pc` is the IT instruction, or inside its
    /// block but not the last.
    fn step_exit_in_it_block(&self, pc: u32) -> Option<u32> {
        let st = self.uc.get_data();
        let b = st.blocks.get(st.cur)?;
        let i = b.addrs.binary_search(&pc).ok()?;
        let next = *b.addrs.get(i + 1)?;
        let xpsr = self.uc.reg_read(RegisterARM::XPSR).unwrap_or(0);
        (it_block_after(&self.uc, b, pc).is_some() || it_continues(xpsr)).then_some(next)
    }

    /// Run from `pc` until a halt or the end, with an optional exit address.
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
                let target = self.debug().it_target.take();
                if self.uc.get_data().stop.is_some() {
                    return self.end(result);
                }
                if result.is_ok() && pc_of(&self.uc) & !1 == e {
                    // A halt asked for inside the IT block takes effect here too.
                    let why = self.debug().halt.take().map(|(_, h)| h).or(target.map(|(_, h)| h)).unwrap_or(Halt::Step);
                    return self.halted(e, why);
                }
            }
            if self.uc.get_data().stop.is_some() {
                return self.end(result);
            }
            if let Some((hpc, why)) = self.debug().halt.take() {
                if let Some((target, _)) = self.debug().it_target {
                    // Halted internally at an IT instruction: on to the breakpoint inside its block.
                    self.halted_in = self.locate(hpc);
                    let d = self.debug();
                    d.skip = Some(hpc);
                    d.continuation = Some(hpc);
                    exit = Some(target);
                    resume = hpc;
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

    /// The halt at `pc` and its place in the current block.
    fn locate(&self, pc: u32) -> Option<(u32, usize)> {
        let st = self.uc.get_data();
        st.blocks.get(st.cur).and_then(|b| b.addrs.binary_search(&pc).ok()).map(|k| (pc, k))
    }

    fn halted(&mut self, pc: u32, why: Halt) -> Event {
        self.halted_in = self.locate(pc);
        self.debug().flush_output();
        Event::Halted(why)
    }

    /// The run ended: settle it into its result (the registers stay readable).
    fn end(&mut self, result: Result<(), unicorn_engine::unicorn_const::uc_error>) -> Event {
        self.debug().flush_output();
        self.halted_in = None;
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
        for w in std::mem::take(&mut self.watchpoints) {
            for h in w.hooks {
                let _ = self.uc.remove_hook(h);
            }
        }
        self.flush_translations();
        let d = self.debug();
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

    /// Add or remove a watchpoint; false when unicorn refuses the hook.
    pub fn set_watchpoint(&mut self, kind: WatchKind, addr: u32, len: u32, on: bool) -> bool {
        let len = len.max(1);
        if !on {
            let Some(i) = self.watchpoints.iter().position(|w| w.kind == kind && w.addr == addr && w.len == len) else { return false };
            let w = self.watchpoints.remove(i);
            for h in w.hooks {
                let _ = self.uc.remove_hook(h);
            }
            self.flush_translations();
            return true;
        }
        // The hook range is checked against an access's first byte: start it early enough
        // to see a wide access that begins below the watched bytes.
        let (from, to) = (addr.saturating_sub(7) as u64, addr as u64 + len as u64 - 1);
        let types: &[HookType] = match kind {
            WatchKind::Write => &[HookType::MEM_WRITE],
            WatchKind::Read => &[HookType::MEM_READ],
            WatchKind::Access => &[HookType::MEM_READ, HookType::MEM_WRITE],
        };
        let mut hooks = Vec::new();
        for &t in types {
            match self.uc.add_mem_hook(t, from, to, watch_hook(kind, addr, len)) {
                Ok(h) => hooks.push(h),
                Err(_) => {
                    for h in hooks {
                        let _ = self.uc.remove_hook(h);
                    }
                    return false;
                }
            }
        }
        self.watchpoints.push(Watchpoint { kind, addr, len, hooks });
        self.flush_translations();
        true
    }

    /// Make unicorn see hooks added or removed while halted (memory accesses take the
    /// hooked path only in code translated, and TLB entries filled, after the change).
    fn flush_translations(&mut self) {
        let _ = self.uc.ctl_flush_tlb();
        let _ = self.uc.ctl_flush_tb();
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
}
