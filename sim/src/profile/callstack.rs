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

use rustc_hash::FxHashMap;
use simbench_profiles::profile::{CallEdge, FunctionStat, StackSample, TraceSlice};

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

/// Function flags the operator attribution needs (`operators::role_of` sets them).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FuncRole {
    /// TFLM's `tflite::MicroInterpreter::Invoke()`: one inference, tail calls followed.
    pub interpreter_invoke: bool,
    /// A TFLM operator loop (`Invoke()` of 2020, `MicroGraph::InvokeSubgraph(int)`,
    /// `MicroInterpreterGraph::InvokeSubgraph(int)`): its indirect calls dispatch operators.
    pub op_loop: bool,
    /// A kernel an AOT bundle's entry calls (`libjit_*`).
    pub kernel: bool,
    /// A Glow `-instrument-ir` callback (`libjit_instrument_*`, `glow_instrument_*`).
    pub instrument: Option<Instrument>,
    /// A C++ function whose parameters are not a kernel's `(TfLiteContext*, TfLiteNode*)`:
    /// an operator loop's indirect call to it is a virtual method (an allocator's, a
    /// profiler's), not an operator.
    pub not_an_operator: bool,
}

/// Which instrumentation callback.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Instrument {
    Before,
    After,
}

impl FuncRole {
    /// A call from a function with role `self` to one with role `callee` is kept for
    /// operator attribution: an operator loop's dispatch, or a call into a kernel or an
    /// instrumentation callback from outside the kernels.
    pub fn records(&self, callee: &FuncRole, indirect: bool) -> bool {
        (self.op_loop && indirect && !callee.op_loop && !callee.not_an_operator) || (callee.is_bundle_call() && !self.is_bundle_call())
    }

    /// A kernel or an instrumentation callback: what a bundle's entry calls.
    pub fn is_bundle_call(&self) -> bool {
        self.kernel || self.instrument.is_some()
    }
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

/// A call kept for operator attribution: an indirect call from a TFLM operator loop (a
/// dispatch), or a call into a kernel or instrumentation callback from outside them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedCall {
    pub callee: String,
    pub callee_role: FuncRole,
    /// The calling function's name.
    pub caller: String,
    pub caller_role: FuncRole,
    pub indirect: bool,
    pub start: u64,
    /// Control back at the call's return address (tail calls followed).
    pub end: u64,
    /// End of the call's window: the next recorded call from the same caller, or the
    /// caller's return.
    pub window_end: u64,
    /// Serial number of the caller's call chain: calls from one caller invocation share it.
    pub caller_serial: u64,
    pub depth: u32,
    /// r0 and r1 when the callee was entered (instrumentation callbacks: id and kind).
    pub args: Option<[u32; 2]>,
    /// Cycles of the window by call path, the caller first (see [`PathTime`]).
    pub breakdown: Vec<PathTime>,
}

/// Cycles spent in one call path during a recorded call's window: `path` runs from the
/// caller (the operator loop or bundle entry, whose own code is the one-element path) to
/// the function that ran them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathTime {
    pub path: Vec<String>,
    /// Exclusive cycles of the path's last function within the window.
    pub cycles: u64,
    /// Calls that entered this path within the window.
    pub calls: u64,
}

/// A call chain of a function that made recorded calls (an operator loop or a bundle
/// entry), or of TFLM's Invoke: from its call to its return, tail calls followed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParentSpan {
    pub serial: u64,
    pub name: String,
    pub start: u64,
    pub end: u64,
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
    /// Start with the reset handler's frame on the stack.
    pub fn new(entry: u32, info: FuncInfo, now: u64) -> Profiler {
        let mut p = Profiler {
            funcs: Vec::new(),
            by_addr: FxHashMap::default(),
            nodes: Vec::new(),
            stack: Vec::new(),
            edges: FxHashMap::default(),
            last: now,
            serial: 0,
            trace: Vec::new(),
            trace_dropped: 0,
            calls: Vec::new(),
            parents: Vec::new(),
            parent_open: FxHashMap::default(),
            entries: Vec::new(),
            entry_open: FxHashMap::default(),
            windows: Vec::new(),
            in_kernel: 0,
            pending_args: None,
            top_func: u32::MAX,
            top_anonymous: false,
        };
        let f = p.func_id(entry, || info);
        p.push(f, u32::MAX, now, false, None);
        p
    }

    /// The id of the function entered at `addr`, registering it on first sight.
    pub fn func_id(&mut self, addr: u32, info: impl FnOnce() -> FuncInfo) -> u32 {
        if let Some(&id) = self.by_addr.get(&addr) {
            return id;
        }
        let i = info();
        let id = self.funcs.len() as u32;
        self.funcs.push(Func {
            name: i.name,
            addr,
            anonymous: i.anonymous,
            hi: addr,
            role: i.role,
            calls: 0,
            inclusive: 0,
            exclusive: 0,
            instructions: 0,
            active: 0,
        });
        self.by_addr.insert(addr, id);
        id
    }

    pub fn known_func(&self, addr: u32) -> Option<u32> {
        self.by_addr.get(&addr).copied()
    }

    /// Function id of the frame on top of the stack.
    pub fn current_func(&self) -> Option<u32> {
        self.stack.last().map(|f| f.func)
    }

    /// Attribute the cycles since the last event to the frame on top (and to the open
    /// windows of recorded calls).
    fn settle(&mut self, now: u64) {
        let dt = now.saturating_sub(self.last);
        self.last = now;
        if let Some(top) = self.stack.last() {
            self.funcs[top.func as usize].exclusive += dt;
            if top.node != NO_NODE {
                self.nodes[top.node as usize].exclusive += dt;
                for w in &mut self.windows {
                    w.times.entry(top.node).or_default().0 += dt;
                }
            }
        }
    }

    fn child_node(&mut self, parent: u32, func: u32) -> u32 {
        if parent != NO_NODE {
            if let Some(&(_, n)) = self.nodes[parent as usize].children.iter().find(|(f, _)| *f == func) {
                return n;
            }
        }
        let id = self.nodes.len() as u32;
        self.nodes.push(Node { func, parent, exclusive: 0, children: Vec::new() });
        if parent != NO_NODE {
            self.nodes[parent as usize].children.push((func, id));
        }
        id
    }

    /// Push a frame of `func`. `inherit` is the frame a tail call replaces: its chain and
    /// recorded call carry over (else the frame starts a chain, and its call is recorded
    /// when the caller on top and the callee call for it).
    fn push(&mut self, func: u32, return_addr: u32, now: u64, indirect: bool, inherit: Option<(u64, u64, Option<usize>)>) {
        let parent_node = self.stack.last().map_or(NO_NODE, |f| f.node);
        let node = self.child_node(parent_node, func);
        self.serial += 1;
        let f = &mut self.funcs[func as usize];
        f.calls += 1;
        f.active += 1;
        let callee_role = f.role;
        let (chain, chain_start, record) = match inherit {
            Some(i) => i,
            None => {
                let record = match self.stack.len() {
                    0 => None,
                    n => self.record_call(n - 1, func, indirect, now),
                };
                (self.serial, now, record)
            }
        };
        // Counted in the windows open now, the one this call opened included.
        for w in &mut self.windows {
            w.times.entry(node).or_default().1 += 1;
        }
        if callee_role.interpreter_invoke && !self.entry_open.contains_key(&chain) {
            self.entries.push(ParentSpan { serial: chain, name: self.funcs[func as usize].name.clone(), start: chain_start, end: chain_start });
            self.entry_open.insert(chain, self.entries.len() - 1);
        }
        if record.is_some_and(|r| self.calls[r].callee_role.is_bundle_call()) {
            self.in_kernel += 1;
        }
        self.stack.push(Frame { func, node, return_addr, start: now, record, chain, chain_start });
        self.refresh_top();
    }

    /// Record a call from the frame at `caller` (a stack index) into `func` if it is one
    /// operator attribution needs; returns its index. Opens its window, closing the
    /// previous window of the same caller chain.
    fn record_call(&mut self, caller: usize, func: u32, indirect: bool, now: u64) -> Option<usize> {
        let callee_role = self.funcs[func as usize].role;
        let fr = &self.stack[caller];
        let caller_role = self.funcs[fr.func as usize].role;
        if self.calls.len() >= MAX_RECORDED_CALLS || !caller_role.records(&callee_role, indirect) || (callee_role.is_bundle_call() && self.in_kernel > 0) {
            return None;
        }
        let (chain, chain_start, root) = (fr.chain, fr.chain_start, fr.node);
        let caller_name = self.funcs[fr.func as usize].name.clone();
        if !self.parent_open.contains_key(&chain) {
            self.parents.push(ParentSpan { serial: chain, name: caller_name.clone(), start: chain_start, end: chain_start });
            self.parent_open.insert(chain, self.parents.len() - 1);
        }
        self.close_window(chain, now);
        self.calls.push(RecordedCall {
            callee: self.funcs[func as usize].name.clone(),
            callee_role,
            caller: caller_name,
            caller_role,
            indirect,
            start: now,
            end: now,
            window_end: now,
            caller_serial: chain,
            depth: caller as u32 + 1,
            args: None,
            breakdown: Vec::new(),
        });
        let idx = self.calls.len() - 1;
        self.windows.push(Window { record: idx, chain, root, times: FxHashMap::default(), tail: FxHashMap::default() });
        if callee_role.instrument.is_some() {
            self.pending_args = Some(idx);
        }
        Some(idx)
    }

    /// Close the open window of call chain `chain`, if any, at `now`.
    fn close_window(&mut self, chain: u64, now: u64) {
        let Some(pos) = self.windows.iter().rposition(|w| w.chain == chain) else { return };
        let w = self.windows.remove(pos);
        let mut breakdown = Vec::new();
        if w.record < MAX_BREAKDOWNS {
            breakdown = w.times.iter().map(|(&node, &(cycles, calls))| PathTime { path: self.path_below(&w, node), cycles, calls }).collect();
            breakdown.sort_by(|a, b| b.cycles.cmp(&a.cycles).then_with(|| a.path.cmp(&b.path)));
        }
        let rec = &mut self.calls[w.record];
        rec.window_end = now;
        rec.breakdown = breakdown;
    }

    /// Function names from the window's root (its caller's call-tree node) down to `node`,
    /// a frame replaced by a tail call standing above the frame that replaced it (from the
    /// root's depth when `node` is not below the root at all).
    fn path_below(&self, w: &Window, node: u32) -> Vec<String> {
        let mut ids = Vec::new();
        let mut cur = node;
        while cur != NO_NODE && ids.len() <= self.nodes.len() {
            ids.push(cur);
            if cur == w.root {
                break;
            }
            cur = w.tail.get(&cur).copied().unwrap_or(self.nodes[cur as usize].parent);
        }
        if ids.last() != Some(&w.root) {
            let mut depth = 0;
            let mut r = w.root;
            while self.nodes[r as usize].parent != NO_NODE {
                depth += 1;
                r = self.nodes[r as usize].parent;
            }
            ids.truncate(ids.len().saturating_sub(depth));
        }
        ids.iter().rev().map(|&n| self.display(self.nodes[n as usize].func)).collect()
    }

    /// The callee just entered asked for its arguments (an instrumentation callback).
    pub fn wants_args(&self) -> bool {
        self.pending_args.is_some()
    }

    /// r0 and r1 at the entry of the callee that asked for them.
    pub fn set_args(&mut self, r0: u32, r1: u32) {
        if let Some(i) = self.pending_args.take() {
            self.calls[i].args = Some([r0, r1]);
        }
    }

    fn refresh_top(&mut self) {
        match self.stack.last() {
            Some(f) => {
                self.top_func = f.func;
                self.top_anonymous = self.funcs[f.func as usize].anonymous;
            }
            None => {
                self.top_func = u32::MAX;
                self.top_anonymous = false;
            }
        }
    }

    /// Every block entered, after any `transfer`: count its instructions for the function
    /// on top, and widen that function's range if it has no symbol.
    #[inline]
    pub fn block(&mut self, instructions: u64, end: u32) {
        if let Some(f) = self.funcs.get_mut(self.top_func as usize) {
            f.instructions += instructions;
            if self.top_anonymous && end > f.hi {
                f.hi = end;
            }
        }
    }

    /// Pop the top frame. A frame that returns (`returns`) ends its chain: its recorded
    /// call, window and spans close; one replaced by a tail call hands them on.
    fn pop(&mut self, now: u64, returns: bool) {
        let Some(fr) = self.stack.pop() else { return };
        self.refresh_top();
        let dur = now.saturating_sub(fr.start);
        let f = &mut self.funcs[fr.func as usize];
        f.active -= 1;
        if f.active == 0 {
            f.inclusive += dur;
        }
        if let Some(caller) = self.stack.last() {
            let e = self.edges.entry((caller.func, fr.func)).or_default();
            e.0 += 1;
            e.1 += dur;
        }
        if let Some(i) = fr.record {
            if self.calls[i].callee_role.is_bundle_call() {
                self.in_kernel -= 1;
            }
            if returns {
                self.calls[i].end = now;
            }
        }
        if returns {
            self.close_window(fr.chain, now);
            if let Some(i) = self.parent_open.remove(&fr.chain) {
                self.parents[i].end = now;
            }
            if let Some(i) = self.entry_open.remove(&fr.chain) {
                self.entries[i].end = now;
            }
        }
        let depth = self.stack.len() as u32;
        if depth <= MAX_TRACE_DEPTH && self.trace.len() < MAX_TRACE_SLICES {
            self.trace.push(TraceSlice { name: self.display(fr.func), category: "function".into(), start_cycle: fr.start, cycles: dur, depth });
        } else if depth <= MAX_TRACE_DEPTH {
            self.trace_dropped += 1;
        }
    }

    /// Control reaches a block starting at `to` at cycle `now` from a block that ended with
    /// `exit` (whose fall-through address is `fall_through`); `callee` is the function id
    /// when `to` is a call target or a function entry. (Blocks entered with `Exit::Plain`
    /// need only [`Profiler::block`].)
    pub fn transfer(&mut self, to: u32, exit: Exit, fall_through: u32, callee: Option<u32>, now: u64) {
        self.pending_args = None;
        match exit {
            Exit::Plain => {}
            Exit::Call { indirect } => {
                if let Some(f) = callee {
                    self.settle(now);
                    self.push(f, fall_through, now, indirect, None);
                }
            }
            Exit::Return | Exit::Jump => {
                if let Some(pos) = self.stack.iter().rposition(|f| f.return_addr == to) {
                    self.settle(now);
                    while self.stack.len() > pos {
                        self.pop(now, true);
                    }
                } else if exit == Exit::Jump {
                    if let (Some(f), Some(top)) = (callee, self.stack.last()) {
                        if f != top.func && self.stack.len() > 1 {
                            // Tail call: the callee returns where the current frame would
                            // have, in the same chain, with the same recorded call. A bundle
                            // entry that tail-calls its last kernel still records that call.
                            let (ret, chain, chain_start, own, top_node) = (top.return_addr, top.chain, top.chain_start, top.record, top.node);
                            self.settle(now);
                            let record = match own {
                                Some(r) => Some(r),
                                None => self.record_call(self.stack.len() - 1, f, false, now),
                            };
                            let replaced = top_node;
                            self.pop(now, false);
                            self.push(f, ret, now, false, Some((chain, chain_start, record)));
                            if let Some(new) = self.stack.last().map(|t| t.node) {
                                for w in &mut self.windows {
                                    w.tail.insert(new, replaced);
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// The name shown for a function: its symbol, or `0xSTART-0xEND` for code without one.
    fn display(&self, id: u32) -> String {
        let f = &self.funcs[id as usize];
        if f.anonymous {
            format!("{:#010x}-{:#010x}", f.addr, f.hi)
        } else {
            f.name.clone()
        }
    }

    /// Frames on the shadow call stack.
    pub fn depth(&self) -> usize {
        self.stack.len()
    }

    /// Pop frames until `depth` remain: an exception handler returned. (After a context
    /// switch the handler returns to another task's code, whose frames the shadow stack
    /// does not hold, so its return address cannot be matched.)
    pub fn unwind_to(&mut self, depth: usize, now: u64) {
        if self.stack.len() > depth {
            self.settle(now);
            while self.stack.len() > depth {
                self.pop(now, true);
            }
        }
    }

    /// Active calls, innermost first: `function (returns to 0x…)`; identical consecutive
    /// frames (recursion) are folded into one line with `× N`, and at most 64 lines kept.
    pub fn call_stack(&self) -> Vec<String> {
        let mut out: Vec<(String, usize)> = Vec::new();
        for f in self.stack.iter().rev() {
            let line = if f.return_addr == u32::MAX { self.display(f.func) } else { format!("{} (returns to {:#010x})", self.display(f.func), f.return_addr) };
            match out.last_mut() {
                Some((l, n)) if *l == line => *n += 1,
                _ => out.push((line, 1)),
            }
        }
        let total = out.len();
        let mut lines: Vec<String> = out.into_iter().take(64).map(|(l, n)| if n > 1 { format!("{l} × {n}") } else { l }).collect();
        if total > 64 {
            lines.push(format!("… {} more", total - 64));
        }
        lines
    }

    /// Close every open frame at `now` (end of the run).
    pub fn finish(&mut self, now: u64) {
        self.settle(now);
        while !self.stack.is_empty() {
            self.pop(now, true);
        }
    }

    pub fn functions(&self) -> Vec<FunctionStat> {
        let mut v: Vec<FunctionStat> = self
            .funcs
            .iter()
            .enumerate()
            .filter(|(_, f)| f.calls > 0 || f.exclusive > 0)
            .map(|(id, f)| FunctionStat {
                name: self.display(id as u32),
                address: simbench_profiles::report::hex32(f.addr),
                calls: f.calls,
                inclusive_cycles: f.inclusive,
                exclusive_cycles: f.exclusive,
                instructions: f.instructions,
            })
            .collect();
        v.sort_by(|a, b| b.exclusive_cycles.cmp(&a.exclusive_cycles).then_with(|| a.name.cmp(&b.name)).then_with(|| a.address.cmp(&b.address)));
        v
    }

    pub fn call_edges(&self) -> Vec<CallEdge> {
        let mut v: Vec<CallEdge> =
            self.edges.iter().map(|(&(a, b), &(calls, cycles))| CallEdge { caller: self.display(a), callee: self.display(b), calls, cycles }).collect();
        v.sort_by(|a, b| b.cycles.cmp(&a.cycles).then_with(|| a.caller.cmp(&b.caller)).then_with(|| a.callee.cmp(&b.callee)));
        v
    }

    /// Folded stacks: one entry per call-tree node with own cycles.
    pub fn stacks(&self) -> Vec<StackSample> {
        let mut v: Vec<StackSample> = self
            .nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| n.exclusive > 0)
            .map(|(i, n)| {
                let mut path = Vec::new();
                let mut cur = i as u32;
                while cur != NO_NODE {
                    path.push(self.display(self.nodes[cur as usize].func));
                    cur = self.nodes[cur as usize].parent;
                }
                path.reverse();
                StackSample { stack: path, exclusive_cycles: n.exclusive }
            })
            .collect();
        v.sort_by(|a, b| a.stack.cmp(&b.stack));
        v
    }

    /// Function slices in start order, and how many were left out (depth or count cap).
    pub fn trace(&self) -> (Vec<TraceSlice>, u64) {
        let mut t = self.trace.clone();
        t.sort_by(|a, b| a.start_cycle.cmp(&b.start_cycle).then(a.depth.cmp(&b.depth)).then_with(|| a.name.cmp(&b.name)));
        (t, self.trace_dropped)
    }

    pub fn recorded_calls(&self) -> &[RecordedCall] {
        &self.calls
    }

    pub fn parent_spans(&self) -> &[ParentSpan] {
        &self.parents
    }

    /// Spans of TFLM's `MicroInterpreter::Invoke()`, tail calls followed.
    pub fn entry_spans(&self) -> &[ParentSpan] {
        &self.entries
    }
}

/// Demangle a C++ symbol name (Itanium ABI), or return it unchanged. Template functions
/// are shown without their return type (`ns::f<int>(int)`, not `void ns::f<int>(int)`), as
/// every other function is.
pub fn demangle(name: &str) -> String {
    if !name.starts_with("_Z") {
        return name.to_string();
    }
    let options = cpp_demangle::DemangleOptions::new().no_return_type();
    cpp_demangle::Symbol::new(name).ok().and_then(|s| s.demangle(&options).ok()).unwrap_or_else(|| name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One block entry as the machine does it: the transfer, then the block's count.
    fn step(p: &mut Profiler, to: u32, exit: Exit, fall_through: u32, callee: Option<u32>, now: u64, instructions: u64) {
        p.transfer(to, exit, fall_through, callee, now);
        p.block(instructions, 0);
    }

    fn info(name: &str) -> FuncInfo {
        FuncInfo { name: name.into(), role: FuncRole::default(), anonymous: false }
    }

    #[test]
    fn calls_returns_and_exclusive_cycles() {
        // main (0x100) runs 10 cycles, calls f (0x200) at 10, f runs until 25 and returns
        // to 0x104, main runs until 30.
        let mut p = Profiler::new(0x100, info("main"), 0);
        let f = p.func_id(0x200, || info("f"));
        step(&mut p, 0x200, Exit::Call { indirect: false }, 0x104, Some(f), 10, 3);
        step(&mut p, 0x104, Exit::Return, 0, None, 25, 2);
        p.finish(30);
        let fs = p.functions();
        let get = |n: &str| fs.iter().find(|x| x.name == n).unwrap().clone();
        assert_eq!((get("f").inclusive_cycles, get("f").exclusive_cycles, get("f").calls, get("f").instructions), (15, 15, 1, 3));
        assert_eq!((get("main").inclusive_cycles, get("main").exclusive_cycles), (30, 15));
        assert_eq!(p.call_edges(), vec![CallEdge { caller: "main".into(), callee: "f".into(), calls: 1, cycles: 15 }]);
        let st = p.stacks();
        assert_eq!(st.iter().map(|s| s.exclusive_cycles).sum::<u64>(), 30);
        assert!(st.iter().any(|s| s.stack == ["main", "f"] && s.exclusive_cycles == 15));
    }

    #[test]
    fn recursion_counts_inclusive_once_and_tail_calls_take_over_the_frame() {
        let mut p = Profiler::new(0x100, info("main"), 0);
        let r = p.func_id(0x300, || info("rec"));
        let t = p.func_id(0x400, || info("tail"));
        step(&mut p, 0x300, Exit::Call { indirect: false }, 0x104, Some(r), 0, 1);
        step(&mut p, 0x300, Exit::Call { indirect: false }, 0x310, Some(r), 5, 1);
        step(&mut p, 0x310, Exit::Return, 0, None, 9, 1);
        // rec tail-calls `tail` (B to its entry); `tail` returns straight to main.
        step(&mut p, 0x400, Exit::Jump, 0, Some(t), 12, 1);
        step(&mut p, 0x104, Exit::Return, 0, None, 20, 1);
        p.finish(20);
        let fs = p.functions();
        let get = |n: &str| fs.iter().find(|x| x.name == n).unwrap().clone();
        assert_eq!((get("rec").calls, get("rec").inclusive_cycles), (2, 12));
        assert_eq!((get("tail").calls, get("tail").inclusive_cycles), (1, 8));
        assert_eq!(get("main").exclusive_cycles, 0);
    }

    #[test]
    fn indirect_calls_from_invoke_and_kernel_calls_are_recorded() {
        let mut p = Profiler::new(0x100, info("main"), 0);
        let inv = p.func_id(0x500, || FuncInfo {
            name: "tflite::MicroInterpreter::Invoke()".into(),
            role: FuncRole { interpreter_invoke: true, op_loop: true, ..FuncRole::default() },
            anonymous: false,
        });
        let k = p.func_id(0x600, || info("Eval"));
        let h = p.func_id(0x700, || info("helper"));
        step(&mut p, 0x500, Exit::Call { indirect: false }, 0x104, Some(inv), 10, 1);
        step(&mut p, 0x700, Exit::Call { indirect: false }, 0x504, Some(h), 11, 1); // direct: not an op
        step(&mut p, 0x504, Exit::Return, 0, None, 12, 1);
        step(&mut p, 0x600, Exit::Call { indirect: true }, 0x508, Some(k), 13, 1);
        step(&mut p, 0x508, Exit::Return, 0, None, 40, 1);
        step(&mut p, 0x104, Exit::Return, 0, None, 45, 1);
        p.finish(50);
        let calls = p.recorded_calls();
        assert_eq!(calls.len(), 1);
        assert_eq!((calls[0].callee.as_str(), calls[0].start, calls[0].end), ("Eval", 13, 40));
        assert_eq!(p.parent_spans()[0].start, 10);
        assert_eq!(p.parent_spans()[0].end, 45);
    }

    fn role(name: &str, role: FuncRole) -> FuncInfo {
        FuncInfo { name: name.into(), role, anonymous: false }
    }

    const KERNEL: FuncRole = FuncRole { interpreter_invoke: false, op_loop: false, kernel: true, instrument: None, not_an_operator: false };
    const LOOP: FuncRole = FuncRole { interpreter_invoke: false, op_loop: true, kernel: false, instrument: None, not_an_operator: false };

    fn paths(c: &RecordedCall) -> Vec<(String, u64)> {
        c.breakdown.iter().map(|p| (p.path.join(">"), p.cycles)).collect()
    }

    #[test]
    fn a_kernel_call_lasts_through_the_worker_it_tail_calls() {
        // A Glow-shaped entry `kws` (0x200) calls the kernel wrapper `conv` (0x300) at 10; the
        // wrapper tail-calls (B) the worker (0x400) at 12; the worker calls a helper at 20
        // that returns at 30; the worker returns straight to kws at 50; kws calls `fc` at 60,
        // which returns at 70; kws returns at 75.
        let mut p = Profiler::new(0x100, info("main"), 0);
        let kws = p.func_id(0x200, || info("kws"));
        let conv = p.func_id(0x300, || role("conv", KERNEL));
        let worker = p.func_id(0x400, || info("worker<int>(int)"));
        let helper = p.func_id(0x500, || info("helper"));
        let fc = p.func_id(0x600, || role("fc", KERNEL));
        step(&mut p, 0x200, Exit::Call { indirect: false }, 0x104, Some(kws), 5, 1);
        step(&mut p, 0x300, Exit::Call { indirect: false }, 0x204, Some(conv), 10, 1);
        step(&mut p, 0x400, Exit::Jump, 0, Some(worker), 12, 1);
        step(&mut p, 0x500, Exit::Call { indirect: false }, 0x404, Some(helper), 20, 1);
        step(&mut p, 0x404, Exit::Return, 0, None, 30, 1);
        step(&mut p, 0x204, Exit::Return, 0, None, 50, 1);
        step(&mut p, 0x600, Exit::Call { indirect: false }, 0x208, Some(fc), 60, 1);
        step(&mut p, 0x208, Exit::Return, 0, None, 70, 1);
        step(&mut p, 0x104, Exit::Return, 0, None, 75, 1);
        p.finish(80);
        let c = p.recorded_calls();
        assert_eq!(c.len(), 2);
        // The call ends when control is back in kws, not at the tail call.
        assert_eq!((c[0].callee.as_str(), c[0].start, c[0].end, c[0].window_end), ("conv", 10, 50, 60));
        assert_eq!((c[1].callee.as_str(), c[1].start, c[1].end, c[1].window_end), ("fc", 60, 70, 75));
        assert_eq!(c[0].caller, "kws");
        // The breakdown puts the worker below the wrapper it replaced, and kws's own code
        // after the return (50..60) at the root.
        assert_eq!(
            paths(&c[0]),
            vec![("kws>conv>worker<int>(int)".into(), 28), ("kws".into(), 10), ("kws>conv>worker<int>(int)>helper".into(), 10), ("kws>conv".into(), 2)]
        );
        assert_eq!(c[0].breakdown.iter().map(|p| p.cycles).sum::<u64>(), c[0].window_end - c[0].start);
        assert_eq!(paths(&c[1]), vec![("kws>fc".into(), 10), ("kws".into(), 5)]);
        // The entry's span, for the inference.
        assert_eq!(p.parent_spans(), &[ParentSpan { serial: c[0].caller_serial, name: "kws".into(), start: 5, end: 75 }]);
        // The function profile still sees the tail call as the worker replacing the wrapper.
        let fs = p.functions();
        let get = |n: &str| fs.iter().find(|x| x.name == n).unwrap().clone();
        assert_eq!((get("conv").inclusive_cycles, get("worker<int>(int)").inclusive_cycles), (2, 38));
    }

    #[test]
    fn a_tail_called_operator_loop_dispatches_within_invoke() {
        // TFLM 2021 at -O3: Invoke (0x200) tail-calls InvokeSubgraph (0x300), whose indirect
        // calls are the operators; a direct call (ResetTempAllocations) after each is loop code.
        let mut p = Profiler::new(0x100, info("main"), 0);
        let invoke = p.func_id(0x200, || role("tflite::MicroInterpreter::Invoke()", FuncRole { interpreter_invoke: true, ..LOOP }));
        let graph = p.func_id(0x300, || role("tflite::MicroGraph::InvokeSubgraph(int)", LOOP));
        let eval = p.func_id(0x400, || info("Eval"));
        let reset = p.func_id(0x500, || info("Reset"));
        step(&mut p, 0x200, Exit::Call { indirect: false }, 0x104, Some(invoke), 10, 1);
        step(&mut p, 0x300, Exit::Jump, 0, Some(graph), 14, 1);
        step(&mut p, 0x400, Exit::Call { indirect: true }, 0x304, Some(eval), 20, 1);
        step(&mut p, 0x304, Exit::Return, 0, None, 100, 1);
        step(&mut p, 0x500, Exit::Call { indirect: false }, 0x308, Some(reset), 102, 1);
        step(&mut p, 0x308, Exit::Return, 0, None, 105, 1);
        step(&mut p, 0x400, Exit::Call { indirect: true }, 0x304, Some(eval), 110, 1);
        step(&mut p, 0x304, Exit::Return, 0, None, 150, 1);
        step(&mut p, 0x104, Exit::Return, 0, None, 160, 1);
        p.finish(170);
        let c = p.recorded_calls();
        assert_eq!(c.len(), 2, "the direct call to Reset is not a dispatch");
        assert_eq!((c[0].start, c[0].end, c[0].window_end, c[1].start, c[1].window_end), (20, 100, 110, 110, 160));
        assert_eq!(c[0].caller, "tflite::MicroGraph::InvokeSubgraph(int)");
        assert_eq!(c[0].caller_serial, c[1].caller_serial);
        assert_eq!(
            paths(&c[0]),
            vec![
                ("tflite::MicroGraph::InvokeSubgraph(int)>Eval".into(), 80),
                ("tflite::MicroGraph::InvokeSubgraph(int)".into(), 7),
                ("tflite::MicroGraph::InvokeSubgraph(int)>Reset".into(), 3)
            ]
        );
        // The loop's chain began with Invoke's call; Invoke's span follows the tail call.
        assert_eq!((p.parent_spans()[0].start, p.parent_spans()[0].end), (10, 160));
        assert_eq!(p.entry_spans(), &[ParentSpan { serial: c[0].caller_serial, name: "tflite::MicroInterpreter::Invoke()".into(), start: 10, end: 160 }]);
    }

    #[test]
    fn instrumentation_callbacks_get_their_arguments_and_kernels_inside_kernels_are_not_recorded() {
        let mut p = Profiler::new(0x100, info("main"), 0);
        let kws = p.func_id(0x200, || info("kws"));
        let before = p.func_id(0x300, || role("libjit_instrument_before", FuncRole { instrument: Some(Instrument::Before), ..FuncRole::default() }));
        let cb = p.func_id(0x350, || role("glow_instrument_before", FuncRole { instrument: Some(Instrument::Before), ..FuncRole::default() }));
        let conv = p.func_id(0x400, || role("conv", KERNEL));
        let inner = p.func_id(0x500, || role("libjit_inner", KERNEL));
        step(&mut p, 0x200, Exit::Call { indirect: false }, 0x104, Some(kws), 1, 1);
        assert!(!p.wants_args());
        step(&mut p, 0x300, Exit::Call { indirect: false }, 0x204, Some(before), 10, 1);
        assert!(p.wants_args());
        p.set_args(7, 36);
        assert!(!p.wants_args());
        // The thunk's own call of the application's callback is not recorded again.
        step(&mut p, 0x350, Exit::Call { indirect: false }, 0x304, Some(cb), 12, 1);
        assert!(!p.wants_args());
        step(&mut p, 0x304, Exit::Return, 0, None, 14, 1);
        step(&mut p, 0x204, Exit::Return, 0, None, 16, 1);
        step(&mut p, 0x400, Exit::Call { indirect: false }, 0x208, Some(conv), 20, 1);
        step(&mut p, 0x500, Exit::Call { indirect: false }, 0x404, Some(inner), 22, 1);
        step(&mut p, 0x404, Exit::Return, 0, None, 30, 1);
        step(&mut p, 0x208, Exit::Return, 0, None, 40, 1);
        step(&mut p, 0x104, Exit::Return, 0, None, 45, 1);
        p.finish(50);
        let c = p.recorded_calls();
        assert_eq!(c.iter().map(|c| c.callee.as_str()).collect::<Vec<_>>(), ["libjit_instrument_before", "conv"]);
        assert_eq!((c[0].args, c[1].args), (Some([7, 36]), None));
        assert_eq!((c[0].end, c[0].window_end), (16, 20));
    }

    #[test]
    fn an_entry_that_tail_calls_its_last_kernel_still_records_it() {
        // kws calls conv (10..20), then ends with `b fc` at 25; fc returns to main at 40.
        let mut p = Profiler::new(0x100, info("main"), 0);
        let kws = p.func_id(0x200, || info("kws"));
        let conv = p.func_id(0x300, || role("conv", KERNEL));
        let fc = p.func_id(0x600, || role("fc", KERNEL));
        step(&mut p, 0x200, Exit::Call { indirect: false }, 0x104, Some(kws), 5, 1);
        step(&mut p, 0x300, Exit::Call { indirect: false }, 0x204, Some(conv), 10, 1);
        step(&mut p, 0x204, Exit::Return, 0, None, 20, 1);
        step(&mut p, 0x600, Exit::Jump, 0, Some(fc), 25, 1);
        step(&mut p, 0x104, Exit::Return, 0, None, 40, 1);
        p.finish(45);
        let c = p.recorded_calls();
        assert_eq!(c.iter().map(|c| (c.callee.as_str(), c.start, c.end, c.window_end)).collect::<Vec<_>>(), [("conv", 10, 20, 25), ("fc", 25, 40, 40)]);
        assert_eq!(c[0].caller_serial, c[1].caller_serial);
        assert_eq!(paths(&c[1]), vec![("kws>fc".into(), 15)]);
        assert_eq!((p.parent_spans()[0].start, p.parent_spans()[0].end), (5, 40));
    }

    #[test]
    fn code_without_symbols_is_named_by_the_range_it_ran() {
        let mut p = Profiler::new(0x100, info("main"), 0);
        let anon = p.func_id(0x800, || FuncInfo { name: "0x00000800".into(), role: FuncRole::default(), anonymous: true });
        p.transfer(0x800, Exit::Call { indirect: false }, 0x104, Some(anon), 1);
        p.block(1, 0x810);
        p.block(1, 0x83a);
        step(&mut p, 0x104, Exit::Return, 0, None, 3, 1);
        p.finish(4);
        assert!(p.functions().iter().any(|f| f.name == "0x00000800-0x0000083a" && f.calls == 1));
        assert!(p.call_edges().iter().any(|e| e.callee == "0x00000800-0x0000083a"));
    }

    #[test]
    fn demangles_cpp_names() {
        assert_eq!(demangle("_ZN6tflite16MicroInterpreter6InvokeEv"), "tflite::MicroInterpreter::Invoke()");
        assert_eq!(demangle("main"), "main");
        // Template functions without their return type (Glow's workers).
        assert_eq!(
            demangle("_ZN12_GLOBAL__N_117libjit_fc_genericIaiEEvPT_PKS1_S4_PKT0_PKjS9_S9_S9_iiiiiiiiii"),
            "(anonymous namespace)::libjit_fc_generic<signed char, int>(signed char*, signed char const*, signed char const*, int const*, \
             unsigned int const*, unsigned int const*, unsigned int const*, unsigned int const*, int, int, int, int, int, int, int, int, int, int)"
        );
        assert_eq!(demangle("_Z12libjit_getXYPKjjj"), "libjit_getXY(unsigned int const*, unsigned int, unsigned int)");
    }
}
