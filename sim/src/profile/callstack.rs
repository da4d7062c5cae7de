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
//! Operator attribution (`profile/operators/`) works on the calls recorded here.

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

/// Function flags the operator attribution needs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FuncRole {
    /// TFLM's `tflite::MicroInterpreter::Invoke()`: its indirect calls run operators.
    pub interpreter_invoke: bool,
    /// An AOT kernel (`libjit_*`) or a CMSIS-NN/DSP kernel (`arm_*`).
    pub kernel: bool,
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
    /// Index into `calls` when this frame's call is recorded for operator attribution.
    record: Option<usize>,
    serial: u64,
}

/// A call kept for operator attribution: a call into a kernel, or an indirect call from
/// the interpreter's Invoke.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedCall {
    pub callee: String,
    pub callee_role: FuncRole,
    pub caller_role: FuncRole,
    pub indirect: bool,
    pub start: u64,
    pub end: u64,
    /// Serial number of the caller's frame: calls from one caller invocation share it.
    pub caller_serial: u64,
    pub depth: u32,
}

/// A frame of a function that made recorded calls (an Invoke or a bundle entry).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParentSpan {
    pub serial: u64,
    pub name: String,
    pub start: u64,
    pub end: u64,
}

/// Limits that keep the report bounded on call-heavy firmware.
const MAX_TRACE_SLICES: usize = 200_000;
const MAX_TRACE_DEPTH: u32 = 12;
const MAX_RECORDED_CALLS: usize = 1 << 20;
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
    /// Serials of frames that made recorded calls, to close their span on return.
    parent_open: FxHashMap<u64, usize>,
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
            top_func: u32::MAX,
            top_anonymous: false,
        };
        let f = p.func_id(entry, || info);
        p.push(f, u32::MAX, now, false);
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

    /// Attribute the cycles since the last event to the frame on top.
    fn settle(&mut self, now: u64) {
        let dt = now.saturating_sub(self.last);
        self.last = now;
        if let Some(top) = self.stack.last() {
            self.funcs[top.func as usize].exclusive += dt;
            if top.node != NO_NODE {
                self.nodes[top.node as usize].exclusive += dt;
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

    fn push(&mut self, func: u32, return_addr: u32, now: u64, indirect: bool) {
        let parent_node = self.stack.last().map_or(NO_NODE, |f| f.node);
        let node = self.child_node(parent_node, func);
        self.serial += 1;
        let f = &mut self.funcs[func as usize];
        f.calls += 1;
        f.active += 1;
        let callee_role = f.role;
        let record = match self.stack.last() {
            Some(caller) if self.calls.len() < MAX_RECORDED_CALLS => {
                let caller_role = self.funcs[caller.func as usize].role;
                let is_op_call = (caller_role.interpreter_invoke && indirect) || (callee_role.kernel && !caller_role.kernel);
                if is_op_call {
                    let caller_serial = caller.serial;
                    if !self.parent_open.contains_key(&caller_serial) {
                        self.parents.push(ParentSpan {
                            serial: caller_serial,
                            name: self.funcs[caller.func as usize].name.clone(),
                            start: caller.start,
                            end: caller.start,
                        });
                        self.parent_open.insert(caller_serial, self.parents.len() - 1);
                    }
                    self.calls.push(RecordedCall {
                        callee: self.funcs[func as usize].name.clone(),
                        callee_role,
                        caller_role,
                        indirect,
                        start: now,
                        end: now,
                        caller_serial,
                        depth: self.stack.len() as u32,
                    });
                    Some(self.calls.len() - 1)
                } else {
                    None
                }
            }
            _ => None,
        };
        self.stack.push(Frame { func, node, return_addr, start: now, record, serial: self.serial });
        self.refresh_top();
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

    fn pop(&mut self, now: u64) {
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
            self.calls[i].end = now;
        }
        if let Some(i) = self.parent_open.remove(&fr.serial) {
            self.parents[i].end = now;
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
        match exit {
            Exit::Plain => {}
            Exit::Call { indirect } => {
                if let Some(f) = callee {
                    self.settle(now);
                    self.push(f, fall_through, now, indirect);
                }
            }
            Exit::Return | Exit::Jump => {
                if let Some(pos) = self.stack.iter().rposition(|f| f.return_addr == to) {
                    self.settle(now);
                    while self.stack.len() > pos {
                        self.pop(now);
                    }
                } else if exit == Exit::Jump {
                    if let (Some(f), Some(top)) = (callee, self.stack.last()) {
                        if f != top.func && self.stack.len() > 1 {
                            // Tail call: the callee returns where the current frame would have.
                            let ret = top.return_addr;
                            self.settle(now);
                            self.pop(now);
                            self.push(f, ret, now, false);
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
                self.pop(now);
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
            self.pop(now);
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
}

/// Demangle a C++ symbol name (Itanium ABI), or return it unchanged.
pub fn demangle(name: &str) -> String {
    if !name.starts_with("_Z") {
        return name.to_string();
    }
    cpp_demangle::Symbol::new(name).ok().and_then(|s| s.demangle(&cpp_demangle::DemangleOptions::default()).ok()).unwrap_or_else(|| name.to_string())
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
            role: FuncRole { interpreter_invoke: true, kernel: false },
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
    }
}
