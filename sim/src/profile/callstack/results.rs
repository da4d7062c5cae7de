//! What the report takes from the profiler: functions, call edges, folded stacks, the
//! trace, and the active call stack.

use super::*;
use simbench_profiles::profile::{CallEdge, FunctionStat, StackSample};

impl Profiler {
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
}
