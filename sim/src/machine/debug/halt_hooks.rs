//! The debugger's block and code hooks: where the target halts (breakpoints, steps,
//! watchpoints, the cycle breakpoint, IT-block walks).

use super::it_state::condition_passes;
use super::*;
use std::sync::atomic::Ordering;

/// Block hook of a debugged run: the continuation of a halted block charges nothing;
/// otherwise the interrupt flag and console output are looked at and the block is
/// entered as in any run.
pub(super) fn on_block_debug(uc: &mut Unicorn<State>, addr: u32, size: u32) {
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

/// Parse and keep the addressing of the instruction at `addr`, when watchpoints are set.
pub(super) fn learn_pattern(uc: &mut Unicorn<State>, addr: u32) {
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
pub(super) fn halt_here(uc: &Unicorn<State>, addr: u32, xpsr: u64) -> Option<Halt> {
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
        0..=14 => read_core_reg(uc, r),
        _ => pc_of(uc),
    }
}

/// Code hook of a debugged run, on every instruction before it executes.
pub(super) fn on_instruction(uc: &mut Unicorn<State>, addr: u32) {
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
pub(super) fn it_block_after(uc: &Unicorn<State>, b: &Block, addr: u32) -> Option<Vec<u32>> {
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
