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
//!
//! The modules: `control` (resuming, halting and ending the run), `halt_hooks` (the block
//! and code hooks that decide where to halt), `breakpoints` (breakpoints, watchpoints and
//! the cycle breakpoint), `probe` (registers and memory as a probe sees them) and
//! `it_state` (Thumb IT-block state in xPSR).

mod breakpoints;
mod control;
mod halt_hooks;
mod it_state;
mod probe;

use super::watch::Pattern;
use super::*;
use halt_hooks::{on_block_debug, on_instruction};
use rustc_hash::FxHashSet;
use std::sync::atomic::AtomicBool;
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

/// Install the debugger's hooks (before any divide hook, so that a halt skips them).
pub(super) fn install(uc: &mut Unicorn<State>) -> Result<(), crate::error::SimError> {
    uc.add_block_hook(1, 0, |uc, addr, size| on_block_debug(uc, addr as u32, size)).map_err(|e| internal("adding the debugger's block hook", e))?;
    uc.add_code_hook(1, 0, |uc, addr, _size| on_instruction(uc, addr as u32)).map_err(|e| internal("adding the debugger's code hook", e))?;
    Ok(())
}
