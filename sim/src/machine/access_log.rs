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
/// Timed entries a block hook leaves in the log before it moves the last one to the
/// front (`settle_access_log`): few, so that the log's memory stays in the host's cache.
const COMPACT_AFTER: usize = 64;
/// `uc_mem_type`'s `UC_MEM_WRITE`.
const UC_MEM_WRITE: u32 = 17;

/// `uc_access_log_entry`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(super) struct Entry {
    address: u64,
    /// The log's stamp when the access was made: while the block counters skip a loop
    /// whose fetch is timed per line, the block sequence number, so the entry it belongs
    /// to.
    pub(super) stamp: u64,
    kind: u32,
    /// Part of the layout; the data hook does not use it either.
    #[allow(dead_code)]
    size: u16,
    /// Accesses after this one that unicorn counted here instead of logging them
    /// (`Log::fold_mask`).
    repeats: u16,
}

/// `uc_access_log`: unicorn appends at `entries[len]` while `len < cap`, stamping each
/// entry with `*stamp`.
#[repr(C)]
struct Log {
    entries: *mut Entry,
    len: u32,
    cap: u32,
    stamp: *const u64,
    /// Nonzero: an access of the same kind as the last entry, to an address that agrees
    /// with it in these bits, is counted in its `repeats` instead (`State::sync_access_fold`).
    fold_mask: u64,
}

/// The log unicorn fills.
pub(super) struct AccessLog {
    /// Boxed: unicorn keeps its address.
    log: Box<Log>,
    entries: Box<[Entry]>,
    /// What `stamp` points at while no loop is skipped: 0.
    no_stamp: Box<u64>,
    /// Entries timed already (`take_logged`), and the repeats of the last of them timed:
    /// a block hook leaves them in the log (`settle_access_log`).
    timed: usize,
    timed_repeats: u16,
}

/// Turn the log on for the data hooks added so far (`State::data_hook_ranges`); false
/// when the linked unicorn lacks the patch (the hooks then time every access, with the
/// same reports).
pub(super) fn enable(uc: &mut Unicorn<'static, State>) -> bool {
    let mut entries = vec![Entry::default(); CAPACITY as usize].into_boxed_slice();
    let no_stamp = Box::new(0u64);
    let mut log = Box::new(Log { entries: entries.as_mut_ptr(), len: 0, cap: CAPACITY, stamp: &*no_stamp, fold_mask: 0 });
    let control = ControlType(UC_CTL_ACCESS_LOG | ControlType::IO_WRITE.0);
    let ptr: *mut Log = &mut *log;
    // SAFETY: a live engine handle; the control takes the log's address, which stays
    // valid while the engine exists (the boxes are owned by its State and never move).
    let ok = unsafe { uc_ctl(uc.get_handle(), control, ptr.cast::<c_void>()) == uc_error::OK };
    if ok {
        let st = uc.get_data_mut();
        st.access_log = Some(AccessLog { log, entries, no_stamp, timed: 0, timed_repeats: 0 });
        st.sync_access_fold();
    }
    ok
}

impl State {
    /// Whether unicorn logged accesses since the last callback. Accesses it folded into
    /// the last entry timed wait until the next entry or `settle_access_log`: hits that
    /// wait nothing, on a cache nothing else touches before that.
    #[inline(always)]
    pub(super) fn access_log_pending(&self) -> bool {
        self.access_log.as_ref().is_some_and(|l| l.log.len as usize != l.timed)
    }

    /// Time the logged accesses in their order, as the data hook would have.
    #[inline(never)]
    pub(super) fn drain_access_log(&mut self) {
        let Some(logged) = self.take_logged() else { return };
        for e in logged.entries() {
            self.time_logged(e, logged.ranges());
        }
    }

    /// The accesses logged since the last callback, marked timed, after timing those
    /// folded since into the last entry timed before.
    pub(super) fn take_logged(&mut self) -> Option<Logged> {
        self.time_folded();
        let log = self.access_log.as_mut()?;
        let (n, t) = (log.log.len as usize, log.timed);
        log.timed = n;
        log.timed_repeats = n.checked_sub(1).map_or(0, |last| log.entries[last].repeats);
        self.data_accesses_logged += (n - t) as u64;
        Some(Logged { entries: &log.entries[t..n], ranges: &self.data_hook_ranges[..] })
    }

    /// Time the accesses unicorn folded into the last entry timed since it was timed.
    fn time_folded(&mut self) {
        let Some(l) = self.access_log.as_mut().filter(|l| l.timed > 0) else { return };
        let last = l.entries[l.timed - 1];
        let fresh = last.repeats - std::mem::replace(&mut l.timed_repeats, last.repeats);
        if fresh != 0 {
            self.time_repeats(&Entry { repeats: fresh, ..last });
        }
    }

    /// Last thing of every catch-up, with everything logged timed: a block hook's
    /// (`keep`) leaves the last entry in the log, so that unicorn goes on folding the
    /// accesses that repeat it into it (`sync_access_fold`); loops that are not skipped
    /// enter a block hook every few accesses, and most of their accesses repeat the line
    /// of the access before, made in the block entered before. Any other callback may
    /// change the data side (an access through the data hook, cache maintenance) or
    /// report it: the folded accesses are timed and the log emptied, as before the block
    /// hook applies the MPU's cacheability (`apply_protections`; exception entry and
    /// return, its other work, write memory past the model).
    #[inline(always)]
    pub(super) fn settle_access_log(&mut self, keep: bool) {
        let Some(l) = self.access_log.as_mut() else { return };
        if keep && l.log.fold_mask != 0 {
            if l.timed > COMPACT_AFTER {
                l.entries[0] = l.entries[l.timed - 1];
                l.log.len = 1;
                l.timed = 1;
            }
            return;
        }
        self.time_folded();
        if let Some(l) = self.access_log.as_mut() {
            l.log.len = 0;
            l.timed = 0;
        }
    }

    /// Time one logged access and its repeats: every data hook whose range holds the
    /// address, as unicorn calls them.
    #[inline(always)]
    pub(super) fn time_logged(&mut self, e: &Entry, ranges: &[(u32, u32, usize)]) {
        let (addr, write) = (e.address as u32, e.kind == UC_MEM_WRITE);
        for &(begin, end, ri) in ranges {
            if (begin..=end).contains(&addr) {
                self.data_timed(ri, write, addr);
            }
        }
        if e.repeats != 0 {
            self.time_repeats(e);
        }
    }

    /// `time_logged` for the repeats of an access timed already.
    fn time_repeats(&mut self, e: &Entry) {
        let (addr, write) = (e.address as u32, e.kind == UC_MEM_WRITE);
        self.data_accesses_logged += e.repeats as u64;
        self.data_accesses_folded += e.repeats as u64;
        for i in 0..self.data_hook_ranges.len() {
            let (begin, end, ri) = self.data_hook_ranges[i];
            if (begin..=end).contains(&addr) {
                self.data_repeated(ri, write, addr, e.repeats as u64);
            }
        }
    }

    /// `n` accesses unicorn folded into the logged one at `addr` before them: hits that
    /// wait nothing where the fold mask allowed folding (`sync_access_fold`), else each
    /// timed like the logged one.
    fn data_repeated(&mut self, ri: usize, write: bool, addr: u32, n: u64) {
        if !self.placed.is_empty() || !self.mem.repeat_data(ri, addr, write, n) {
            (0..n).for_each(|_| self.data_timed(ri, write, addr));
            return;
        }
        let r = &mut self.regions[ri];
        *(if write { &mut r.data_writes } else { &mut r.data_reads }) += n;
    }

    /// Let unicorn fold repeated accesses into the log's last entry where that changes
    /// no timing: while every hooked region's short data path makes an access to the line
    /// (or flash word) the access before it used, of the same kind, a hit that waits
    /// nothing (`MemorySystem::repeat_granule`). Called whenever the data paths may have
    /// changed (caches and accelerator switched, MPU ranges); a callback has drained the
    /// log by then, so no entry straddles the change. Most hooked accesses of the
    /// inference fixtures repeat the previous one's line (76–92 %).
    pub(super) fn sync_access_fold(&mut self) {
        let granule = |write| {
            self.data_hook_ranges.iter().try_fold(u32::MAX, |g, &(_, _, ri)| {
                // Unicorn logs stores only where the region is mapped writable.
                if write && !self.board.regions[ri].kind.writable() {
                    return Some(g);
                }
                self.mem.repeat_granule(ri, write).map(|r| g.min(r))
            })
        };
        let fold = match (self.placed.is_empty(), granule(false), granule(true)) {
            (true, Some(r), Some(w)) => !(r.min(w) as u64 - 1),
            _ => 0,
        };
        if let Some(l) = self.access_log.as_mut() {
            l.log.fold_mask = fold;
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

    /// Stamp each logged access with `*sequence` (the block sequence number) until
    /// `pause_access_log`.
    pub(super) fn stamp_access_log(&mut self, sequence: *const u64) {
        if let Some(l) = self.access_log.as_mut() {
            l.log.stamp = sequence;
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
