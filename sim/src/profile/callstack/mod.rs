//! Function profile from block transitions: a shadow call stack fed at every block
//! entry by the machine.
//!
//! A call is a block that ended in BL/BLX; the callee is the block that runs next, and
//! its frame returns when execution reaches the return address (BX LR, POP {…,PC},
//! LDR PC, or anything else that lands there, which also unwinds frames skipped by
//! tail calls and longjmp-like exits). A direct B/BX into another function's entry is a
//! tail call: the current frame is closed and the callee takes over its return address.
//! Cycles between two block entries belong to the frame on top of the stack; each frame
//! is also a node of the call tree (distinct call paths), which gives folded stacks.
//!
//! Operator attribution (`profile/operators/`) works on the calls recorded here: dispatches
//! of a TFLM operator loop and calls into AOT kernels. A recorded call lasts until control
//! is back at its return address, tail calls followed (a kernel wrapper that jumps into a
//! template worker keeps its record), and its *window* runs on to the next recorded call
//! from the same caller (or the caller's return): the cycles of that window are kept per
//! call path, the kernel breakdown of the operator.
//!
//! The modules: `stack` (frames pushed and popped as control moves), `recorded_calls`
//! (the calls kept for operator attribution and their windows), `results` (what the
//! report takes: functions, call edges, folded stacks, the trace), `roles` (the function
//! flags attribution needs) and `demangle`.

mod demangle;
mod recorded_calls;
mod results;
mod roles;
mod stack;
#[cfg(test)]
mod tests;

pub use demangle::demangle;
pub use recorded_calls::{ParentSpan, PathTime, RecordedCall};
pub use roles::{FuncRole, Instrument};

use rustc_hash::FxHashMap;
use simbench_profiles::profile::TraceSlice;

/// How a block hands over control, as far as calls are concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// Falls through or branches within a function.
    Plain,
    /// BL or BLX: the next block is a callee.
    Call { indirect: bool },
    /// An unconditional direct branch or BX to a register other than LR: a tail call
    /// when it lands on another function's entry.
    Jump,
    /// Writes PC from LR or the stack: a return.
    Return,
}

#[derive(Clone, Debug)]
struct Func {
    name: String,
    addr: u32,
    /// No symbol names it: shown as the address range its code was seen to span.
    anonymous: bool,
    /// End of the highest block executed while this function was on top (anonymous only).
    hi: u32,
    role: FuncRole,
    calls: u64,
    inclusive: u64,
    exclusive: u64,
    instructions: u64,
    /// Frames of this function on the stack (recursion: inclusive counted once).
    active: u32,
}

#[derive(Clone, Debug)]
struct Node {
    func: u32,
    parent: u32,
    exclusive: u64,
    children: Vec<(u32, u32)>,
}

#[derive(Clone, Debug)]
struct Frame {
    func: u32,
    node: u32,
    return_addr: u32,
    start: u64,
    /// Index into `calls` when this frame's call is recorded for operator attribution
    /// (kept by the frame a tail call replaces it with).
    record: Option<usize>,
    /// Serial number of the frame that made the call: frames that replaced it by tail
    /// calls share it, and it ends when the last of them returns.
    chain: u64,
    /// When that call was made.
    chain_start: u64,
}

/// A recorded call's window while it is open: cycles and calls per call-tree node.
#[derive(Clone, Debug)]
struct Window {
    record: usize,
    chain: u64,
    root: u32,
    times: FxHashMap<u32, (u64, u64)>,
    /// Nodes entered by a tail call in this window, and the node of the frame they
    /// replaced: the breakdown shows them below it (wrapper → worker).
    tail: FxHashMap<u32, u32>,
}

/// Limits that keep the report bounded on call-heavy firmware.
const MAX_TRACE_SLICES: usize = 200_000;
const MAX_TRACE_DEPTH: u32 = 12;
const MAX_RECORDED_CALLS: usize = 1 << 20;
/// Recorded calls whose window keeps a breakdown (the rest: cycles only).
const MAX_BREAKDOWNS: usize = 1 << 16;
const NO_NODE: u32 = u32::MAX;

#[derive(Clone, Debug)]
pub struct Profiler {
    funcs: Vec<Func>,
    by_addr: FxHashMap<u32, u32>,
    nodes: Vec<Node>,
    stack: Vec<Frame>,
    edges: FxHashMap<(u32, u32), (u64, u64)>,
    last: u64,
    serial: u64,
    trace: Vec<TraceSlice>,
    trace_dropped: u64,
    calls: Vec<RecordedCall>,
    parents: Vec<ParentSpan>,
    /// Chains that made recorded calls, to close their span on return.
    parent_open: FxHashMap<u64, usize>,
    /// Spans of TFLM's Invoke, and the open ones by chain.
    entries: Vec<ParentSpan>,
    entry_open: FxHashMap<u64, usize>,
    /// Windows of recorded calls still open, innermost last.
    windows: Vec<Window>,
    /// Frames on the stack holding a recorded kernel call: kernels they call are not
    /// recorded again.
    in_kernel: u32,
    /// A recorded call whose callee wants its first two arguments (`set_args`).
    pending_args: Option<usize>,
    /// The function on top of the stack and whether it is anonymous, cached for the
    /// per-block path (`block`).
    top_func: u32,
    top_anonymous: bool,
}

/// What the profiler knows about a function entry address the first time it sees it.
pub struct FuncInfo {
    pub name: String,
    pub role: FuncRole,
    /// No symbol: `name` is replaced by the address range seen.
    pub anonymous: bool,
}

impl Profiler {
    /// The name shown for a function: its symbol, or `0xSTART-0xEND` for code without one.
    fn display(&self, id: u32) -> String {
        let f = &self.funcs[id as usize];
        if f.anonymous {
            format!("{:#010x}-{:#010x}", f.addr, f.hi)
        } else {
            f.name.clone()
        }
    }
}
