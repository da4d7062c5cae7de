//! Set-associative caches of line tags, their maintenance operations and hit counters.

use crate::board::CacheConfig;

/// A set-associative cache of line tags with least-recently-used replacement.
///
/// Arm does not document the Cortex-M7 replacement policy in the sources we carry
/// (timing-references §3); LRU is the assumption, stated in docs/timing-model.md.
#[derive(Clone, Debug)]
pub struct Cache {
    line_shift: u32,
    sets: u32,
    ways: u32,
    /// `tags[set * ways + way]` = line number, or `u32::MAX` when invalid.
    tags: Vec<u32>,
    /// Last-use stamp per way, for LRU.
    used: Vec<u64>,
    clock: u64,
    pub hits: u64,
    pub misses: u64,
}

impl Cache {
    pub fn new(size_bytes: u32, ways: u32, line_bytes: u32) -> Cache {
        let sets = (size_bytes / (ways * line_bytes)).max(1);
        Cache {
            line_shift: line_bytes.trailing_zeros(),
            sets,
            ways,
            tags: vec![u32::MAX; (sets * ways) as usize],
            used: vec![0; (sets * ways) as usize],
            clock: 0,
            hits: 0,
            misses: 0,
        }
    }

    pub fn from_config(c: &CacheConfig) -> Cache {
        Cache::new(c.size_bytes, c.ways, c.line_bytes)
    }

    pub fn line_bytes(&self) -> u32 {
        1 << self.line_shift
    }

    /// Look `addr` up; on a miss the line is allocated (replacing the least recently used
    /// way). Returns whether it hit.
    pub fn access(&mut self, addr: u32) -> bool {
        let line = addr >> self.line_shift;
        self.access_line(line)
    }

    /// The set a line maps to. Preset geometries have power-of-two set counts, where a
    /// mask replaces the division (it showed in profiles of every access).
    #[inline]
    fn set_of(&self, line: u32) -> usize {
        if self.sets.is_power_of_two() {
            (line & (self.sets - 1)) as usize
        } else {
            (line % self.sets) as usize
        }
    }

    fn access_line(&mut self, line: u32) -> bool {
        self.clock += 1;
        let set = self.set_of(line);
        let ways = self.ways as usize;
        let slots = set * ways..set * ways + ways;
        if let Some(w) = slots.clone().find(|&i| self.tags[i] == line) {
            self.used[w] = self.clock;
            self.hits += 1;
            return true;
        }
        let victim = slots.min_by_key(|&i| (self.tags[i] != u32::MAX, self.used[i])).unwrap_or(set * ways);
        self.tags[victim] = line;
        self.used[victim] = self.clock;
        self.misses += 1;
        false
    }

    /// Whether the line holding `addr` is present (no state change).
    pub fn contains(&self, addr: u32) -> bool {
        let line = addr >> self.line_shift;
        let set = self.set_of(line);
        let ways = self.ways as usize;
        self.tags[set * ways..set * ways + ways].contains(&line)
    }

    pub fn invalidate(&mut self) {
        self.tags.fill(u32::MAX);
    }

    /// Invalidate the line holding `addr` (ICIMVAU, DCIMVAC, DCCIMVAC).
    pub fn invalidate_addr(&mut self, addr: u32) {
        let line = addr >> self.line_shift;
        let set = self.set_of(line);
        let ways = self.ways as usize;
        for t in &mut self.tags[set * ways..set * ways + ways] {
            if *t == line {
                *t = u32::MAX;
            }
        }
    }

    /// Invalidate by set/way as DCISW/DCCISW encode it: the way in the top
    /// ceil(log2(ways)) bits, the set above the line-offset bits (Armv7-M ARM B2.2.7).
    pub fn invalidate_set_way(&mut self, value: u32) {
        let way_bits = (self.ways.max(1) - 1).checked_ilog2().map_or(0, |b| b + 1);
        let way = if way_bits == 0 { 0 } else { value >> (32 - way_bits) };
        let set = (value >> self.line_shift) % self.sets;
        if way < self.ways {
            self.tags[(set * self.ways + way) as usize] = u32::MAX;
        }
    }

    /// (sets, ways, line bytes): what CCSIDR describes.
    pub fn geometry(&self) -> (u32, u32, u32) {
        (self.sets, self.ways, 1 << self.line_shift)
    }
}

/// A cache maintenance operation written to the System Control Space (Armv7-M ARM
/// B2.2.7). Clean operations only write dirty lines back; the model keeps no dirty state
/// (write-back traffic is not timed), so they change nothing here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CacheMaintenance {
    /// ICIALLU.
    InvalidateICache,
    /// ICIMVAU.
    InvalidateICacheLine(u32),
    /// DCIMVAC, DCCIMVAC.
    InvalidateDCacheLine(u32),
    /// DCISW, DCCISW.
    InvalidateDCacheSetWay(u32),
}

/// Hit/miss counters for the report.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheStats {
    pub hits: u64,
    pub misses: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maintenance_by_set_way_and_by_address_evicts_the_right_lines() {
        // 16 KiB, 4 ways, 32-byte lines: 128 sets; DCISW puts the way in bits [31:30]
        // and the set in bits [11:5] (Armv7-M ARM B2.2.7).
        let mut c = Cache::new(16384, 4, 32);
        assert_eq!(c.geometry(), (128, 4, 32));
        let a = 0x2000_0040; // set 2
        assert!(!c.access(a));
        assert!(c.contains(a));
        // The line went to the first free way (0): invalidating way 1 of set 2 keeps it…
        c.invalidate_set_way(1 << 30 | 2 << 5);
        assert!(c.contains(a));
        // …way 0 of set 2 evicts it.
        c.invalidate_set_way(2 << 5);
        assert!(!c.contains(a));
        c.access(a);
        c.invalidate_addr(a + 31);
        assert!(!c.contains(a));
    }

    #[test]
    fn cache_hits_after_fill_and_evicts_lru() {
        // 2 ways, 32-byte lines, 2 sets (128 bytes): lines 0, 2, 4 map to set 0.
        let mut c = Cache::new(128, 2, 32);
        assert!(!c.access(0x00));
        assert!(c.access(0x1C)); // same line
        assert!(!c.access(0x40)); // line 2, set 0, way 1
        assert!(c.access(0x00)); // line 0 now most recent
        assert!(!c.access(0x80)); // line 4 evicts LRU line 2
        assert!(c.contains(0x00) && !c.contains(0x40));
        assert_eq!((c.hits, c.misses), (2, 3));
    }
}
