//! How data accesses are timed: which regions need a hook and what each access waits.

use super::{Accelerator, Fidelity, MemorySystem, RegionTiming};
use crate::board::RegionKind;

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

    /// Wait cycles of one data access. Inlined into the data hook and the drain of the
    /// access log, which call it for every hooked access.
    #[inline]
    pub fn data(&mut self, region: usize, addr: u32, write: bool) -> u32 {
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
            // Write-back, write-allocate (the Armv7-M default attributes of the SRAM and
            // code regions): a miss fills the line, reads and writes alike.
            let fill = r.fill;
            let hit = self.dcache.as_mut().is_none_or(|c| c.access(addr));
            let line_shift = self.dcache.as_ref().map_or(5, |c| c.line_bytes().trailing_zeros());
            return match self.stream.as_mut().filter(|s| s.region == region) {
                _ if hit => 0,
                // The data side's time is not known here: a streamed line costs its transfer.
                Some(s) => s.fill(addr >> line_shift, None, fill),
                None => fill,
            };
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
    use crate::memsys::test_support::board;
    use crate::memsys::{Fidelity, MemorySystem};

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
