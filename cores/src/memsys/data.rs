//! How data accesses are timed: which regions need a hook and what each access waits.

use super::{Accelerator, Cache, Fidelity, MemorySystem, RegionTiming};
use crate::board::RegionKind;

/// The data accesses of a region that `MemorySystem::data` times without its general
/// checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum DataPath {
    General,
    /// Through the L1 D-cache, where the MPU marks nothing non-cacheable.
    DCache,
    /// Reads through the flash accelerator's data lines.
    AcceleratorReads,
}

impl MemorySystem {
    /// Whether data accesses to `region` cost anything, so the simulator must hook them.
    pub fn needs_data_hook(&self, region: usize) -> bool {
        let Some(r) = self.regions.get(region) else {
            return false;
        };
        if !r.kind.is_memory() {
            return false;
        }
        match self.fidelity {
            // Hooks are chosen once: where the firmware can switch a cache or the
            // accelerator's data lines off, the region is hooked even while they are on.
            Fidelity::Fast => {
                let always_cached = (r.cacheable && self.dcache.is_some() && !self.dcache_soc) || (!self.switchable && self.data_cached(r));
                !always_cached && (r.read_wait > 0 || r.write_wait > 0)
            }
            Fidelity::Detailed => (r.cacheable && (self.dcache.is_some() || self.icache_data)) || r.read_wait > 0 || r.write_wait > 0,
        }
    }

    /// Whether fast timing counts data reads of `r` as cache hits: behind the L1 D-cache
    /// (on or not), behind a SoC instruction cache that serves data reads while it is
    /// on, or behind an accelerator whose data lines are on.
    fn data_cached(&self, r: &RegionTiming) -> bool {
        (r.cacheable && self.dcache.is_some())
            || (r.cacheable && self.icache_data && self.icache_on)
            || (r.kind == RegionKind::Flash && self.accel.as_ref().is_some_and(Accelerator::data_side_on))
    }

    /// The short path of `region`'s data accesses now, if any (`update_paths`).
    pub(super) fn data_path(&self, region: usize) -> DataPath {
        let Some(r) = self.regions.get(region) else {
            return DataPath::General;
        };
        if self.fidelity == Fidelity::Fast {
            return DataPath::General;
        }
        if r.cacheable && self.dcache_on {
            return DataPath::DCache;
        }
        let icache_reads = r.cacheable && self.icache_data && self.icache_on;
        if !icache_reads && r.kind == RegionKind::Flash && self.accel.as_ref().is_some_and(|a| a.data_side_on()) {
            return DataPath::AcceleratorReads;
        }
        DataPath::General
    }

    /// Wait cycles of one data access. The two paths every hooked access of the boards'
    /// flash and cached memory takes are short and inlined into the data hook and the
    /// access log's drain; each is what `data_general` does for that region then.
    #[inline(always)]
    pub fn data(&mut self, region: usize, addr: u32, write: bool) -> u32 {
        match self.data_paths.get(region) {
            Some(DataPath::AcceleratorReads) if !write => {
                let fill = self.regions[region].fill;
                self.accel.as_mut().map_or(0, |a| a.data_read(addr, fill))
            }
            Some(DataPath::DCache) if self.uncached.is_empty() => self.dcache_access(region, addr),
            _ => self.data_general(region, addr, write),
        }
    }

    /// The bytes of the aligned block within which a data access to `region` repeats the
    /// outcome of the access just before it, when both are reads or both writes: a hit
    /// that waits nothing and changes nothing but hit counts (`repeat_data`). That holds
    /// on the short paths, whose cache that access left holding the line as its most
    /// recently used; `None` on the general path (MPU ranges, wait states per access).
    pub fn repeat_granule(&self, region: usize, write: bool) -> Option<u32> {
        match self.data_paths.get(region)? {
            DataPath::DCache if self.uncached.is_empty() => self.dcache.as_ref().map(Cache::line_bytes),
            DataPath::AcceleratorReads if !write => self.accel.as_ref().map(Accelerator::word_bytes),
            _ => None,
        }
    }

    /// `n` more accesses of the kind and `repeat_granule` block of the one `data` just
    /// timed at `addr` in `region`: what `n` more calls of `data` do, without a wait.
    /// False, having changed nothing, where `repeat_granule` has none.
    pub fn repeat_data(&mut self, region: usize, addr: u32, write: bool, n: u64) -> bool {
        match self.data_paths.get(region) {
            Some(DataPath::DCache) if self.uncached.is_empty() => match self.dcache.as_mut() {
                Some(c) => c.repeat_hits(n),
                None => return false,
            },
            Some(DataPath::AcceleratorReads) if !write => match self.accel.as_mut() {
                Some(a) => a.repeat_data_reads(addr, n),
                None => return false,
            },
            _ => return false,
        }
        true
    }

    /// A data access through the L1 D-cache: write-back, write-allocate (the Armv7-M
    /// default attributes of the SRAM and code regions), so a miss fills the line, reads
    /// and writes alike.
    #[inline]
    fn dcache_access(&mut self, region: usize, addr: u32) -> u32 {
        let fill = self.regions[region].fill;
        let hit = self.dcache.as_mut().is_none_or(|c| c.access(addr));
        if hit {
            return 0;
        }
        let line_shift = self.dcache.as_ref().map_or(5, |c| c.line_bytes().trailing_zeros());
        match self.stream.as_mut().filter(|s| s.region == region) {
            // The data side's time is not known here: a streamed line costs its transfer.
            Some(s) => s.fill(addr >> line_shift, None, fill),
            None => fill,
        }
    }

    /// `data` for any region and state.
    #[inline(never)]
    fn data_general(&mut self, region: usize, addr: u32, write: bool) -> u32 {
        let Some(r) = self.regions.get(region) else {
            return 0;
        };
        if self.fidelity == Fidelity::Fast {
            return if self.data_cached(r) {
                0
            } else if write {
                r.write_wait
            } else {
                r.read_wait
            };
        }
        if r.cacheable && self.dcache_on && !self.uncached.iter().any(|&(s, e)| addr >= s && (addr as u64) < e) {
            return self.dcache_access(region, addr);
        }
        if write {
            return r.write_wait;
        }
        if r.cacheable && self.icache_data && self.icache_on && !self.uncached.iter().any(|&(s, e)| addr >= s && (addr as u64) < e) {
            // The STM32L5 ICACHE caches the core's data reads from the code region as
            // well [TR §6 STM32L552 ICACHE row]: same lines, same fill as fetches.
            let hit = self.icache.as_mut().is_none_or(|c| c.access(addr));
            return if hit { 0 } else { r.fill };
        }
        if r.kind == RegionKind::Flash {
            let fill = r.fill;
            if let Some(acc) = self.accel.as_mut().filter(|a| a.data_side_on()) {
                return acc.data_read(addr, fill);
            }
        }
        r.read_wait
    }
}

#[cfg(test)]
mod tests {
    use crate::board::{AcceleratorPart, Board, PRESETS};
    use crate::memsys::test_support::board;
    use crate::memsys::{Fidelity, MemorySystem};

    #[test]
    fn the_short_data_paths_wait_what_the_general_rules_do() {
        // Every preset board in each switch state the firmware can reach (L1 caches, SoC
        // cache, accelerator data lines, MPU non-cacheable ranges): one memory system
        // times a walk of reads and writes through `data`, a copy through `data_general`;
        // both must wait the same and end with the same cache counters.
        // Also a board whose SoC cache serves flash data reads in front of an accelerator.
        let both = board(
            "[icache]\nsize_bytes=1024\nways=2\nline_bytes=16\nsoc=true\ndata_reads=true\n[accelerator]\nline_bytes=16\ninstruction_lines=1\ndata_lines=1",
            "name='flash'\nbase=0\nsize=0x10000\nkind='flash'\ncacheable=true\nread_wait=5",
        );
        let boards = PRESETS.iter().map(|(name, _)| (*name, Board::preset(name).unwrap())).chain([("soc cache and accelerator", both)]);
        let mut short_paths = 0;
        for (name, b) in boards {
            for state in 0..16u32 {
                let mut m = MemorySystem::new(&b, Fidelity::Detailed);
                m.set_caches_enabled(state & 1 != 0, state & 2 != 0);
                m.set_soc_cache_enabled(state & 4 != 0);
                m.set_accelerator_part(AcceleratorPart::DataCache, state & 8 == 0);
                if state == 15 {
                    m.set_uncached_ranges(vec![(b.regions[0].base, b.regions[0].base as u64 + 0x100)]);
                }
                short_paths += m.data_paths.iter().filter(|p| **p != super::DataPath::General).count();
                let mut general = m.clone();
                for (ri, r) in b.regions.iter().enumerate() {
                    for i in 0..200u32 {
                        let addr = r.base + (i * 52) % r.size.min(0x4000);
                        let write = i % 7 == 3;
                        let (a, g) = (m.data(ri, addr, write), general.data_general(ri, addr, write));
                        assert_eq!(a, g, "{name} state {state}: {} {addr:#x} write {write}", r.name);
                    }
                }
                assert_eq!(format!("{:?}", (m.icache_stats(), m.dcache_stats())), format!("{:?}", (general.icache_stats(), general.dcache_stats())));
            }
        }
        assert!(short_paths > 0, "no preset takes a short path");
    }

    #[test]
    fn repeats_of_an_access_wait_nothing_and_leave_what_single_accesses_do() {
        // Every preset in each switch state, every region and kind of access that has a
        // repeat granule: one memory system times each access of a walk and then 3
        // repeats at once (`repeat_data`, as simbench does for accesses unicorn folded),
        // the other times the access and 3 more at other addresses of its granule one by
        // one. Those must all wait 0, and both must end in the same state (caches, flash
        // data lines, LRU clocks), so that a walk after waits the same.
        let mut repeated = 0;
        for (name, text) in PRESETS {
            let b = Board::from_toml(text).unwrap();
            for state in 0..16u32 {
                let mut m = MemorySystem::new(&b, Fidelity::Detailed);
                m.set_caches_enabled(state & 1 != 0, state & 2 != 0);
                m.set_soc_cache_enabled(state & 4 != 0);
                m.set_accelerator_part(AcceleratorPart::DataCache, state & 8 == 0);
                for (ri, r) in b.regions.iter().enumerate() {
                    for write in [false, true] {
                        let Some(granule) = m.repeat_granule(ri, write) else { continue };
                        assert!(granule.is_power_of_two() && granule >= 4, "{name}: granule {granule}");
                        let mut single = m.clone();
                        for i in 0..300u32 {
                            let addr = r.base + (i * 52) % r.size.min(0x4000) / 4 * 4;
                            let block = addr & !(granule - 1);
                            assert_eq!(m.data(ri, addr, write), single.data(ri, addr, write), "{name} state {state}: {addr:#x}");
                            assert!(m.repeat_data(ri, addr, write, 3), "{name}: repeats refused where a granule was given");
                            for k in 1..=3 {
                                let other = block + (addr - block + 4 * k) % granule;
                                assert_eq!(single.data(ri, other, write), 0, "{name} state {state}: repeat at {other:#x} waited");
                            }
                            repeated += 1;
                        }
                        assert_eq!(format!("{m:?}"), format!("{single:?}"), "{name} state {state} {} write {write}", r.name);
                    }
                }
            }
        }
        assert!(repeated > 0, "no preset has a repeat granule");
    }

    #[test]
    fn nothing_repeats_where_every_access_waits() {
        // Flash without data lines, SRAM with wait states, and the D-cache with an MPU
        // non-cacheable range: each access waits, so none may be counted as a repeat.
        let b = board("[accelerator]\nline_bytes=16\ninstruction_lines=1\ndata_lines=0", "name='flash'\nbase=0\nsize=0x10000\nkind='flash'\nread_wait=5");
        let mut m = MemorySystem::new(&b, Fidelity::Detailed);
        assert_eq!((m.repeat_granule(0, false), m.data(0, 0x100, false)), (None, 5));
        assert!(!m.repeat_data(0, 0x100, false, 1));
        let mut m = MemorySystem::new(
            &board("[dcache]\nsize_bytes=1024\nways=2\nline_bytes=32", "name='ram'\nbase=0\nsize=0x10000\nkind='sram'\nread_wait=3\ncacheable=true"),
            Fidelity::Detailed,
        );
        assert_eq!(m.repeat_granule(0, false), None, "D-cache off");
        m.set_caches_enabled(false, true);
        assert_eq!((m.repeat_granule(0, false), m.repeat_granule(0, true)), (Some(32), Some(32)));
        m.set_uncached_ranges(vec![(0x1000, 0x2000)]);
        assert_eq!(m.repeat_granule(0, false), None, "an MPU non-cacheable range");
    }

    #[test]
    fn mpu_non_cacheable_ranges_bypass_the_data_cache() {
        let mut m = MemorySystem::new(
            &board(
                "[dcache]\nsize_bytes=1024\nways=2\nline_bytes=32",
                "name='ram'\nbase=0\nsize=0x10000\nkind='sram'\nread_wait=3\ncacheable=true\nline_fill_cycles=8",
            ),
            Fidelity::Detailed,
        );
        m.set_caches_enabled(false, true);
        assert_eq!((m.data(0, 0x100, false), m.data(0, 0x104, false)), (8, 0), "miss fills the line, then hits");
        m.set_uncached_ranges(vec![(0x1000, 0x2000)]);
        assert_eq!((m.data(0, 0x1000, false), m.data(0, 0x1004, false)), (3, 3), "uncached: read_wait every time");
        assert_eq!(m.data(0, 0x104, false), 0, "outside the range the cache still hits");
    }
}
