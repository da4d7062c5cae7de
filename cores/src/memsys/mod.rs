//! Memory-system timing: what instruction fetches and data accesses cost beyond the
//! core's own pipeline, per region kind.
//!
//! Three mechanisms, each configured by the board (see `board.rs` and the presets):
//! - plain wait states: every fetch line / data access to a region costs its `read_wait`
//!   (`write_wait`);
//! - a flash accelerator in front of `flash` regions (STM32 ART, LPC55 flash controller):
//!   recently used flash lines are held in buffers and the next sequential line is read
//!   while the current one executes, so straight-line code stalls only when it runs
//!   through a line faster than the flash delivers the next one;
//! - set-associative caches (Cortex-M7 L1 I/D, STM32L5 ICACHE) over `cacheable` regions:
//!   a hit is free, a miss costs the region's `line_fill_cycles`.
//!
//! `Fidelity::Fast` keeps only plain wait states and treats cached or accelerated regions
//! as always hitting (a warm steady state); `Fidelity::Detailed` models the buffers.
//! Pure logic without an emulator, so it is unit-tested on address sequences.
//!
//! The modules: `cache` (set-associative caches), `accelerator` (flash line buffers and
//! prefetch), `xip_buffer` (an XIP controller's read buffer), `fetch` and `data` (how
//! the memory system times instruction fetches and data accesses), `fast_mode` (what
//! `Fidelity::Fast` leaves out, for the report).

mod accelerator;
mod cache;
mod data;
mod fast_mode;
mod fetch;
#[cfg(test)]
mod test_support;
mod xip_buffer;

pub use accelerator::Accelerator;
pub use cache::{Cache, CacheMaintenance, CacheStats};
pub use fast_mode::fast_mode_ignores;
pub use fetch::{CycleFetch, FetchMode, FetchPlan, LoopFetch, MAX_CYCLE_BLOCKS};

use crate::board::{AcceleratorPart, Board, CacheConfig, Region, RegionKind, RegisterEffect};
use fetch::FetchPath;
use xip_buffer::ReadStream;

/// How much of the memory system (and core) to model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Fidelity {
    /// Static block costs, branch outcomes and region wait states.
    Fast,
    /// Adds caches, accelerator line buffers and prefetch, operand-dependent divide and
    /// the Cortex-M7 branch predictor.
    Detailed,
}

impl Fidelity {
    pub fn name(self) -> &'static str {
        match self {
            Fidelity::Fast => "fast",
            Fidelity::Detailed => "detailed",
        }
    }
    pub fn parse(s: &str) -> Option<Fidelity> {
        match s {
            "fast" => Some(Fidelity::Fast),
            "detailed" => Some(Fidelity::Detailed),
            _ => None,
        }
    }
}

/// Per-region facts the memory system needs on every access.
#[derive(Clone, Debug)]
struct RegionTiming {
    kind: RegionKind,
    read_wait: u32,
    write_wait: u32,
    fill: u32,
    fetch_line_bytes: u32,
    cacheable: bool,
}

impl RegionTiming {
    fn of(r: &Region) -> RegionTiming {
        RegionTiming {
            kind: r.kind,
            read_wait: r.read_wait,
            write_wait: r.write_wait,
            fill: r.fill_cycles(),
            fetch_line_bytes: r.fetch_line_bytes.max(1),
            cacheable: r.cacheable,
        }
    }
}

/// The board's memory system as seen by one core.
#[derive(Clone, Debug)]
pub struct MemorySystem {
    fidelity: Fidelity,
    regions: Vec<RegionTiming>,
    icache: Option<Cache>,
    dcache: Option<Cache>,
    icache_on: bool,
    dcache_on: bool,
    /// SoC caches (switched by a vendor register, not SCB CCR).
    icache_soc: bool,
    dcache_soc: bool,
    /// The instruction cache also serves data reads (STM32L5 ICACHE on C-AHB).
    icache_data: bool,
    accel: Option<Accelerator>,
    /// A vendor register of the board can switch the accelerator or a SoC cache.
    switchable: bool,
    /// Address ranges `[start, end)` the MPU marks non-cacheable: data accesses there
    /// bypass the data cache.
    uncached: Vec<(u32, u64)>,
    /// How each region's fetches are timed, recomputed when the caches are switched.
    paths: Vec<FetchPath>,
    /// Each region's data accesses that take a short path, recomputed with `paths`.
    data_paths: Vec<data::DataPath>,
    /// The read buffer in front of an XIP region, if the board has one.
    stream: Option<ReadStream>,
}

impl MemorySystem {
    pub fn new(board: &Board, fidelity: Fidelity) -> MemorySystem {
        let mut m = MemorySystem {
            fidelity,
            regions: board.regions.iter().map(RegionTiming::of).collect(),
            icache: board.icache.as_ref().map(Cache::from_config),
            dcache: board.dcache.as_ref().map(Cache::from_config),
            icache_on: board.icache.as_ref().is_some_and(|c| c.enabled_at_reset),
            dcache_on: board.dcache.as_ref().is_some_and(|c| c.enabled_at_reset),
            icache_soc: board.icache.as_ref().is_some_and(CacheConfig::is_soc),
            dcache_soc: board.dcache.as_ref().is_some_and(CacheConfig::is_soc),
            icache_data: board.icache.as_ref().is_some_and(|c| c.data_reads),
            accel: board.accelerator.as_ref().map(Accelerator::new),
            switchable: board
                .registers
                .iter()
                .flat_map(|r| &r.effects)
                .any(|e| matches!(e, RegisterEffect::AcceleratorEnable { .. } | RegisterEffect::CacheEnable { .. })),
            uncached: Vec::new(),
            paths: Vec::new(),
            data_paths: Vec::new(),
            stream: board.xip_buffer.as_ref().and_then(|x| {
                let (i, r) = board.regions.iter().enumerate().find(|(_, r)| r.name == x.region)?;
                let line = board.icache.as_ref().or(board.dcache.as_ref()).map_or(32, |c| c.line_bytes);
                Some(ReadStream::new(x, i, line, r.fill_cycles()))
            }),
        };
        m.update_paths();
        m
    }

    pub fn fidelity(&self) -> Fidelity {
        self.fidelity
    }

    /// SCB CCR.IC / CCR.DC as the firmware last wrote them (Cortex-M7 L1 caches).
    /// SoC caches (such as the STM32L5 ICACHE) are not controlled by CCR.
    pub fn set_caches_enabled(&mut self, icache: bool, dcache: bool) {
        if !self.icache_soc {
            self.icache_on = icache && self.icache.is_some();
        }
        if !self.dcache_soc {
            self.dcache_on = dcache && self.dcache.is_some();
        }
        self.update_paths();
    }

    pub fn caches_enabled(&self) -> (bool, bool) {
        (self.icache_on, self.dcache_on)
    }

    pub fn icache_stats(&self) -> Option<CacheStats> {
        self.icache.as_ref().map(|c| CacheStats { hits: c.hits, misses: c.misses })
    }

    pub fn dcache_stats(&self) -> Option<CacheStats> {
        self.dcache.as_ref().map(|c| CacheStats { hits: c.hits, misses: c.misses })
    }

    /// A vendor register changed a region's latency: wait states per access and the
    /// cycles of a line fill.
    pub fn set_region_timing(&mut self, region: usize, read_wait: u32, fill: u32) {
        if let Some(r) = self.regions.get_mut(region) {
            r.read_wait = read_wait;
            r.fill = fill;
        }
        if let Some(s) = self.stream.as_mut().filter(|s| s.region == region) {
            s.rescale(fill);
        }
        self.update_paths();
    }

    /// The MPU's non-cacheable ranges (replacing the previous ones).
    pub fn set_uncached_ranges(&mut self, ranges: Vec<(u32, u64)>) {
        self.uncached = ranges;
    }

    /// A vendor register switched the whole flash accelerator on or off.
    pub fn set_accelerator_enabled(&mut self, on: bool) {
        self.set_accelerator_part(AcceleratorPart::All, on);
    }

    /// A vendor register switched one part of the flash accelerator (STM32
    /// FLASH_ACR.PRFTEN, ICEN, DCEN) on or off.
    pub fn set_accelerator_part(&mut self, part: AcceleratorPart, on: bool) {
        if let Some(a) = self.accel.as_mut() {
            a.set_part(part, on);
        }
        self.update_paths();
    }

    /// A vendor register switched a SoC cache (one that SCB CCR does not control, such as
    /// the STM32L5 ICACHE) on or off.
    pub fn set_soc_cache_enabled(&mut self, on: bool) {
        if self.icache_soc {
            self.icache_on = on && self.icache.is_some();
        }
        if self.dcache_soc {
            self.dcache_on = on;
        }
        self.update_paths();
    }

    /// Apply a cache maintenance operation to the caches.
    pub fn maintain(&mut self, op: CacheMaintenance) {
        match op {
            CacheMaintenance::InvalidateICache => self.icache.iter_mut().for_each(Cache::invalidate),
            CacheMaintenance::InvalidateICacheLine(a) => self.icache.iter_mut().for_each(|c| c.invalidate_addr(a)),
            CacheMaintenance::InvalidateDCacheLine(a) => self.dcache.iter_mut().for_each(|c| c.invalidate_addr(a)),
            CacheMaintenance::InvalidateDCacheSetWay(v) => self.dcache.iter_mut().for_each(|c| c.invalidate_set_way(v)),
        }
    }

    /// Whether the data cache holds the line of `addr` (tests and reports).
    pub fn dcache_contains(&self, addr: u32) -> bool {
        self.dcache.as_ref().is_some_and(|c| c.contains(addr))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memsys::test_support::{board, loop_stalls};

    #[test]
    fn stm32l5_icache_is_off_at_reset_and_caches_flash_data_reads() {
        let b = Board::preset("stm32l552").unwrap();
        let mut m = MemorySystem::new(&b, Fidelity::Detailed);
        // Off (ICACHE_CR.EN = 0, RM0438): every 64-bit fetch line and data read pays 5.
        assert_eq!(m.caches_enabled(), (false, false));
        assert_eq!(loop_stalls(&mut m, 2, 9, 3), 10);
        assert_eq!((m.data(0, 0x0800_2000, false), m.data(0, 0x0800_2000, false)), (5, 5));
        // SCB CCR does not switch it; ICACHE_CR.EN does.
        m.set_caches_enabled(true, true);
        assert_eq!(m.caches_enabled(), (false, false));
        m.set_soc_cache_enabled(true);
        // One 16-byte line fill (12), then hits; data reads of the code region go
        // through the same cache [TR §6 STM32L552 ICACHE row], so a loop of several
        // blocks is not replayed from its fetches alone.
        assert_eq!(m.fetch_mode(0), FetchMode::Dynamic { loops: false });
        assert_eq!(loop_stalls(&mut m, 2, 9, 1), 12);
        assert_eq!(loop_stalls(&mut m, 2, 9, 1), 0);
        assert_eq!((m.data(0, 0x0800_2000, false), m.data(0, 0x0800_200C, false)), (12, 0));
        assert_eq!(m.icache_stats().map(|s| (s.hits, s.misses)), Some((2, 2)));
    }

    #[test]
    fn l1_caches_follow_ccr_and_charge_line_fills() {
        let b = board(
            "[icache]\nsize_bytes=1024\nways=2\nline_bytes=32\n[dcache]\nsize_bytes=1024\nways=4\nline_bytes=32",
            "name='xip'\nbase=0x60000000\nsize=0x100000\nkind='xip'\ncacheable=true\nread_wait=20\nline_fill_cycles=90",
        );
        let mut m = MemorySystem::new(&b, Fidelity::Detailed);
        assert_eq!(m.fetch_mode(0), FetchMode::Plain);
        let addrs = [0x6000_0000, 0x6000_0004];
        // Caches off at reset (M7: SCB CCR.IC = 0): every 4-byte fetch line pays read_wait.
        assert_eq!(m.fetch(0, &addrs, 0x6000_0008, &[0, 1], 0), 40);
        assert_eq!(m.data(0, 0x6000_1000, false), 20);
        m.set_caches_enabled(true, true);
        assert_eq!(m.fetch_mode(0), FetchMode::Dynamic { loops: true });
        assert_eq!(m.fetch(0, &addrs, 0x6000_0008, &[0, 1], 0), 90); // one line fill
        assert_eq!(m.fetch(0, &addrs, 0x6000_0008, &[0, 1], 0), 0);
        assert_eq!(m.data(0, 0x6000_1000, false), 90);
        assert_eq!(m.data(0, 0x6000_101C, false), 0); // same 32-byte line
        assert_eq!(m.data(1, 0x2000_0000, true), 0); // TCM: never cached, no wait
        assert!(m.needs_data_hook(0) && !m.needs_data_hook(1));
    }
}
