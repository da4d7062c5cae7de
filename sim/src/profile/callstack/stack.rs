//! The shadow call stack: frames pushed on calls, popped on returns, replaced on tail
//! calls, and the cycles between block entries charged to the frame on top.

use super::*;

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

    /// Close every open frame at `now` (end of the run).
    pub fn finish(&mut self, now: u64) {
        self.settle(now);
        while !self.stack.is_empty() {
            self.pop(now, true);
        }
    }
}
