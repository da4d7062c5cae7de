//! Hooked data accesses as a log instead of callbacks, from
//! `patches/unicorn-*-access-log.patch` (`scripts/build-unicorn`). With the narrow path on
//! (`narrow_hooks.rs`) every load and store to a page a data hook covers still left
//! unicorn's generated code for its full slow path and a callback into simbench: 20 % and
//! 11 % of a `detailed` AOT run on the LPC55S69 (perf, docs/speed.md section (j)). With
//! `UC_CTL_ACCESS_LOG` unicorn appends a naturally aligned access on such a page to this
//! log and performs it without the hooks; `State::catch_up`, first thing in every
//! callback, times the logged accesses in their order through `State::data_timed`, the
//! data hook's own accounting. Any access unicorn does not log (unaligned, a store to
//! read-only memory, a full log) reaches the data hook
//! as before, after the catch-up has timed everything logged before it, so the order of
//! the accesses, and every report, stays that of the hooks.

use super::*;
use std::ffi::c_void;
use unicorn_engine::{uc_ctl, uc_error, ControlType};

/// The control the access-log patch appends after `UC_CTL_BLOCK_COUNTERS` (16).
const UC_CTL_ACCESS_LOG: u32 = 17;
/// Entries between two callbacks: a block entry empties the log, and one translation
/// block makes at most a few hundred accesses. While a loop is skipped
/// (`block_counters.rs`) its iterations' accesses pile up; once the log is full, the next
/// one reaches the data hook, whose catch-up ends the skipping.
const CAPACITY: u32 = 4096;
/// `uc_mem_type`'s `UC_MEM_WRITE`.
const UC_MEM_WRITE: u32 = 17;

/// `uc_access_log_entry`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(super) struct Entry {
    address: u64,
    /// The log's stamp when the access was made: while the block counters skip a loop
    /// whose fetch is timed per line, its counter's count, so the iteration it belongs to.
    pub(super) stamp: u64,
    kind: u32,
    /// Part of the layout; the data hook does not use it either.
    #[allow(dead_code)]
    size: u32,
}

/// `uc_access_log`: unicorn appends at `entries[len]` while `len < cap`, stamping each
/// entry with `*stamp`.
#[repr(C)]
struct Log {
    entries: *mut Entry,
    len: u32,
    cap: u32,
    stamp: *const u64,
}

/// The log unicorn fills.
pub(super) struct AccessLog {
    /// Boxed: unicorn keeps its address.
    log: Box<Log>,
    entries: Box<[Entry]>,
    /// What `stamp` points at while no loop is skipped: 0.
    no_stamp: Box<u64>,
}

/// Turn the log on for the data hooks added so far (`State::data_hook_ranges`); false
/// when the linked unicorn lacks the patch (the hooks then time every access, with the
/// same reports).
pub(super) fn enable(uc: &mut Unicorn<'static, State>) -> bool {
    let mut entries = vec![Entry::default(); CAPACITY as usize].into_boxed_slice();
    let no_stamp = Box::new(0u64);
    let mut log = Box::new(Log { entries: entries.as_mut_ptr(), len: 0, cap: CAPACITY, stamp: &*no_stamp });
    let control = ControlType(UC_CTL_ACCESS_LOG | ControlType::IO_WRITE.0);
    let ptr: *mut Log = &mut *log;
    // SAFETY: a live engine handle; the control takes the log's address, which stays
    // valid while the engine exists (the boxes are owned by its State and never move).
    let ok = unsafe { uc_ctl(uc.get_handle(), control, ptr.cast::<c_void>()) == uc_error::OK };
    if ok {
        uc.get_data_mut().access_log = Some(AccessLog { log, entries, no_stamp });
    }
    ok
}

impl State {
    /// Whether unicorn logged accesses since the last callback.
    #[inline(always)]
    pub(super) fn access_log_pending(&self) -> bool {
        self.access_log.as_ref().is_some_and(|l| l.log.len != 0)
    }

    /// Time the logged accesses in their order, as the data hook would have, and empty
    /// the log.
    #[inline(never)]
    pub(super) fn drain_access_log(&mut self) {
        let Some(logged) = self.take_logged() else { return };
        for e in logged.entries() {
            self.time_logged(e, logged.ranges());
        }
    }

    /// The accesses logged since the last callback, and empty the log.
    pub(super) fn take_logged(&mut self) -> Option<Logged> {
        let log = self.access_log.as_mut()?;
        let n = std::mem::replace(&mut log.log.len, 0) as usize;
        let logged = Logged { entries: &log.entries[..n], ranges: &self.data_hook_ranges[..] };
        self.data_accesses_logged += n as u64;
        Some(logged)
    }

    /// Time one logged access: every data hook whose range holds the address, as unicorn
    /// calls them.
    #[inline(always)]
    pub(super) fn time_logged(&mut self, e: &Entry, ranges: &[(u32, u32, usize)]) {
        let addr = e.address as u32;
        for &(begin, end, ri) in ranges {
            if (begin..=end).contains(&addr) {
                self.data_timed(ri, e.kind == UC_MEM_WRITE, addr);
            }
        }
    }

    /// While unicorn skips a loop's block hooks with a static fetch cost, log nothing: a
    /// hooked access then reaches the data hook, whose catch-up ends the skipping
    /// (`block_counters.rs`). Also undoes `stamp_access_log`.
    pub(super) fn pause_access_log(&mut self, paused: bool) {
        if let Some(l) = self.access_log.as_mut() {
            l.log.cap = if paused { 0 } else { CAPACITY };
            l.log.stamp = &*l.no_stamp;
        }
    }

    /// Stamp each logged access with `*count` (a skipped loop's counter) until
    /// `pause_access_log`.
    pub(super) fn stamp_access_log(&mut self, count: *const u64) {
        if let Some(l) = self.access_log.as_mut() {
            l.log.stamp = count;
        }
    }
}

/// The entries of a drained log and the hooks' ranges, both on the heap apart from the
/// rest of the `State` that timing them updates (which touches neither).
pub(super) struct Logged {
    entries: *const [Entry],
    ranges: *const [(u32, u32, usize)],
}

impl Logged {
    pub(super) fn entries<'a>(&self) -> &'a [Entry] {
        // SAFETY: the boxed entries stay allocated and unchanged until unicorn runs
        // again, after the callback that drains them has returned.
        unsafe { &*self.entries }
    }

    pub(super) fn ranges<'a>(&self) -> &'a [(u32, u32, usize)] {
        // SAFETY: as for `entries`; `State::data_hook_ranges` never changes after the
        // hooks are added.
        unsafe { &*self.ranges }
    }
}
