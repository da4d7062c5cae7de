//! Calls kept for operator attribution: each with its window of cycles by call path, and
//! the spans of the functions that made them.

use super::*;

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

impl Profiler {
    /// Record a call from the frame at `caller` (a stack index) into `func` if it is one
    /// operator attribution needs; returns its index. Opens its window, closing the
    /// previous window of the same caller chain.
    pub(super) fn record_call(&mut self, caller: usize, func: u32, indirect: bool, now: u64) -> Option<usize> {
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
    pub(super) fn close_window(&mut self, chain: u64, now: u64) {
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
