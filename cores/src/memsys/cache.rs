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
    /// `sets - 1` where the set count is a power of two (every preset): a mask then
    /// replaces the division, and the test for it is not redone per access.
    set_mask: Option<u32>,
    ways: u32,
    /// `tags[set * ways + way]` = line number, or `u32::MAX` when invalid.
    tags: Vec<u32>,
    /// Last-use stamp per way, for LRU.
    used: Vec<u64>,
    clock: u64,
    /// The line of the previous access: present and the most recently used line of its
    /// set, so that accessing it again changes no LRU order (loops re-fetch the same
    /// line, and byte loads walk one); `u32::MAX` after any invalidation.
    last: u32,
    /// The line accessed before `last` (`u32::MAX` after any invalidation): while it maps
    /// to another set than `last`, it is still the most recently used line of its own set
    /// (two streams interleaved, such as weights and activations, alternate between them).
    prev: u32,
    /// Changes to the set of present lines (fills and invalidations): while it is what it
    /// was, every line then present is still present, in the same way (`hit_slots`).
    generation: u64,
    pub hits: u64,
    pub misses: u64,
}

impl Cache {
    pub fn new(size_bytes: u32, ways: u32, line_bytes: u32) -> Cache {
        let sets = (size_bytes / (ways * line_bytes)).max(1);
        Cache {
            line_shift: line_bytes.trailing_zeros(),
            sets,
            set_mask: sets.is_power_of_two().then(|| sets - 1),
            ways,
            tags: vec![u32::MAX; (sets * ways) as usize],
            used: vec![0; (sets * ways) as usize],
            clock: 0,
            last: u32::MAX,
            prev: u32::MAX,
            generation: 0,
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
    #[inline]
    pub fn access(&mut self, addr: u32) -> bool {
        let line = addr >> self.line_shift;
        self.access_line(line)
    }

    /// The set a line maps to. Preset geometries have power-of-two set counts, where a
    /// mask replaces the division (it showed in profiles of every access).
    #[inline]
    fn set_of(&self, line: u32) -> usize {
        match self.set_mask {
            Some(mask) => (line & mask) as usize,
            None => (line % self.sets) as usize,
        }
    }

    /// Inlined where the simulator accesses the caches on every fetch line and hooked data
    /// access: the previous line's hit is the common case, the set search the rare one.
    #[inline]
    fn access_line(&mut self, line: u32) -> bool {
        self.clock += 1;
        // Its last-use stamp is the newest of all, and stays newer than every line
        // accessed before and older than every line accessed after: the same order as if
        // it were updated.
        if line == self.last {
            self.hits += 1;
            return true;
        }
        if line == self.prev && self.set_of(line) != self.set_of(self.last) {
            self.prev = self.last;
            self.last = line;
            self.hits += 1;
            return true;
        }
        self.search_line(line)
    }

    /// `access_line` for a line other than the previous one.
    #[inline(never)]
    fn search_line(&mut self, line: u32) -> bool {
        self.prev = self.last;
        self.last = line;
        let ways = self.ways as usize;
        let first = self.set_of(line) * ways;
        // The set's ways as slices: one bounds check per set rather than per way (this
        // search runs on every new line of straight-line code and strided data).
        let (tags, used) = (&mut self.tags[first..first + ways], &mut self.used[first..first + ways]);
        if let Some(w) = tags.iter().position(|&t| t == line) {
            used[w] = self.clock;
            self.hits += 1;
            return true;
        }
        // The first invalid way, else the least recently used (the first of equals).
        let mut victim = 0;
        for w in 1..ways {
            if (tags[w] != u32::MAX, used[w]) < (tags[victim] != u32::MAX, used[victim]) {
                victim = w;
            }
        }
        tags[victim] = line;
        used[victim] = self.clock;
        self.misses += 1;
        self.generation += 1;
        false
    }

    /// What `hit_slots` needs to know is still true: see `generation`.
    pub(super) fn generation(&self) -> u64 {
        self.generation
    }

    /// Where the line holding `addr` is (`set * ways + way`), if present.
    pub(super) fn slot_of(&self, addr: u32) -> Option<u32> {
        let line = addr >> self.line_shift;
        let first = self.set_of(line) * self.ways as usize;
        self.tags[first..first + self.ways as usize].iter().position(|&t| t == line).map(|w| (first + w) as u32)
    }

    /// `access` on each of `slots`' lines in order, each present in its slot (found at
    /// the current `generation`), without searching their sets. Each access makes its
    /// line the most recently used of its set, as `access_line` leaves it whether it
    /// restamps the line or finds it already newest (`last`, `prev`), so every set's
    /// order, and with it every later victim, is the same.
    #[inline]
    pub(super) fn hit_slots(&mut self, slots: &[(u32, u32)]) {
        for &(line, slot) in slots {
            self.clock += 1;
            self.used[slot as usize] = self.clock;
            if line != self.last {
                self.prev = self.last;
                self.last = line;
            }
        }
        self.hits += slots.len() as u64;
    }

    /// `n` more hits on present lines touched again in the order of their last use,
    /// which leaves the LRU order as it is.
    pub(super) fn repeat_hits(&mut self, n: u64) {
        self.clock += n;
        self.hits += n;
    }

    /// Whether the line holding `addr` is present (no state change).
    pub fn contains(&self, addr: u32) -> bool {
        self.slot_of(addr).is_some()
    }

    pub fn invalidate(&mut self) {
        self.generation += 1;
        self.last = u32::MAX;
        self.prev = u32::MAX;
        self.tags.fill(u32::MAX);
    }

    /// Invalidate the line holding `addr` (ICIMVAU, DCIMVAC, DCCIMVAC).
    pub fn invalidate_addr(&mut self, addr: u32) {
        self.generation += 1;
        self.last = u32::MAX;
        self.prev = u32::MAX;
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
        self.generation += 1;
        self.last = u32::MAX;
        self.prev = u32::MAX;
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

    /// True LRU with invalidations, written plainly: per set, the valid lines from least
    /// to most recently used.
    struct Reference {
        sets: Vec<Vec<u32>>,
        ways: usize,
    }

    impl Reference {
        fn access(&mut self, line: u32) -> bool {
            let n = self.sets.len() as u32;
            let set = &mut self.sets[(line % n) as usize];
            let hit = set.iter().position(|&l| l == line).map(|i| set.remove(i)).is_some();
            if !hit && set.len() == self.ways {
                set.remove(0);
            }
            set.push(line);
            hit
        }
    }

    #[test]
    fn repeated_and_interleaved_accesses_hit_and_miss_as_true_lru_does() {
        // 4 sets of 2 or 4 ways of 16-byte lines, over 4 lines per way of a set; a
        // pseudo-random walk that often repeats the previous line or the one before it
        // (the shortcuts), revisits recent ones and now and then invalidates. With 4 ways
        // the victim search weighs more than two candidates.
        for ways in [2u32, 4] {
            let lines = 8 * ways;
            let mut c = Cache::new(4 * ways * 16, ways, 16);
            let mut r = Reference { sets: vec![Vec::new(); 4], ways: ways as usize };
            let (mut x, mut line, mut before) = (12345u32, 0u32, 0u32);
            let (mut hits, mut repeats, mut returns, mut accesses) = (0u64, 0, 0, 0u64);
            for i in 0..20_000 {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                match (x >> 16) % 10 {
                    0..=1 => repeats += 1,
                    2..=3 => {
                        std::mem::swap(&mut line, &mut before);
                        returns += 1;
                    }
                    4 => {
                        let victim = (x >> 8) % lines;
                        c.invalidate_addr(victim << 4);
                        r.sets[(victim % 4) as usize].retain(|&l| l != victim);
                        continue;
                    }
                    _ => before = std::mem::replace(&mut line, (x >> 20) % lines),
                }
                let hit = c.access(line << 4);
                assert_eq!(hit, r.access(line), "{ways} ways: access {i} to line {line}");
                hits += u64::from(hit);
                accesses += 1;
            }
            assert!(
                repeats > 3_000 && returns > 3_000 && hits > 8_000 && accesses - hits > 2_000,
                "{ways} ways: {repeats} repeats, {returns} returns, {hits} hits of {accesses}"
            );
            assert_eq!((c.hits, c.misses), (hits, accesses - hits), "{ways} ways: the report's counters");
        }
    }

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
