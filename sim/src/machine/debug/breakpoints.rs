//! Breakpoints, watchpoints and the cycle breakpoint the debugger sets.

use super::*;

impl Debuggee {
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
}
