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

use crate::board::{AcceleratorConfig, AcceleratorPart, Board, CacheConfig, Region, RegionKind, RegisterEffect, XipBufferConfig};

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

/// Fully associative lines of one or more flash words, least recently used replaced;
/// each word of a line is marked valid when it is read (a line of 4 × 64 bits on the
/// STM32L4 ART is filled 64 bits at a time [TR §6 STM32L4R5 ART row]). With one word per
/// line it is a plain fully associative LRU buffer (LPC55S69 flash controller).
#[derive(Clone, Debug)]
struct WordLines {
    /// log2(words per line).
    words_shift: u32,
    /// (line number or `u32::MAX` when empty, valid words, last use).
    lines: Vec<(u32, u32, u64)>,
    clock: u64,
}

impl WordLines {
    fn new(lines: u32, words_per_line: u32) -> WordLines {
        WordLines { words_shift: words_per_line.max(1).trailing_zeros(), lines: vec![(u32::MAX, 0, 0); lines as usize], clock: 0 }
    }

    /// Whether flash word `word` is held; a hit makes its line the most recently used.
    fn lookup(&mut self, word: u32) -> bool {
        self.clock += 1;
        let (line, bit) = (word >> self.words_shift, 1u32 << (word & ((1 << self.words_shift) - 1)));
        match self.lines.iter_mut().find(|l| l.0 == line && l.1 & bit != 0) {
            Some(l) => {
                l.2 = self.clock;
                true
            }
            None => false,
        }
    }

    /// Copy flash word `word` in: into its line if present, else into an empty or the
    /// least recently used line (which loses its other words).
    fn insert(&mut self, word: u32) {
        self.clock += 1;
        let (line, bit) = (word >> self.words_shift, 1u32 << (word & ((1 << self.words_shift) - 1)));
        let clock = self.clock;
        if let Some(l) = self.lines.iter_mut().find(|l| l.0 == line) {
            l.1 |= bit;
            l.2 = clock;
            return;
        }
        if let Some(victim) = self.lines.iter_mut().min_by_key(|l| (l.0 != u32::MAX, l.2)) {
            *victim = (line, bit, clock);
        }
    }

    /// Look up and copy in on a miss; returns whether it hit.
    fn access(&mut self, word: u32) -> bool {
        let hit = self.lookup(word);
        if !hit {
            self.insert(word);
        }
        hit
    }
}

/// A flash accelerator: instruction and data lines plus sequential prefetch of the next
/// flash word, each part switched on or off by the firmware on its own (STM32
/// FLASH_ACR.PRFTEN / ICEN / DCEN). Works in flash words (`word_bytes`).
#[derive(Clone, Debug)]
pub struct Accelerator {
    word_shift: u32,
    instr: Option<WordLines>,
    data: Option<WordLines>,
    prefetch: bool,
    /// The word being prefetched and the cycle it is in the buffer.
    prefetched: Option<(u32, u64)>,
    /// A demand read waits for a prefetch under way to complete (no prefetch override).
    prefetch_completes: bool,
    /// Prefetched words are copied into the instruction lines too.
    cache_prefetched: bool,
    prefetch_on: bool,
    icache_on: bool,
    dcache_on: bool,
}

impl Accelerator {
    pub fn new(c: &AcceleratorConfig) -> Accelerator {
        let word = c.word_bytes();
        let per_line = (c.line_bytes / word).max(1);
        let lines = |n: u32| (n > 0).then(|| WordLines::new(n, per_line));
        Accelerator {
            word_shift: word.trailing_zeros(),
            instr: lines(c.instruction_lines),
            data: lines(c.data_lines),
            prefetch: c.prefetch,
            prefetched: None,
            prefetch_completes: c.prefetch_completes,
            cache_prefetched: c.cache_prefetched,
            prefetch_on: true,
            icache_on: true,
            dcache_on: true,
        }
    }

    /// Bytes one flash read delivers: the unit instruction fetches are timed in.
    pub fn word_bytes(&self) -> u32 {
        1 << self.word_shift
    }

    /// Whether anything on the instruction side is on (prefetch or instruction lines);
    /// if not, fetches pay the plain wait states. An accelerator with neither still reads
    /// whole lines (one per `word_bytes`) while switched on.
    fn fetch_side_on(&self) -> bool {
        let bare = !self.prefetch && self.instr.is_none();
        (self.prefetch && self.prefetch_on) || (!bare && self.instr.is_some() && self.icache_on) || (bare && self.icache_on)
    }

    /// Whether flash data reads go through the data lines.
    fn data_side_on(&self) -> bool {
        self.data.is_some() && self.dcache_on
    }

    /// Switch one part (or all) on or off.
    fn set_part(&mut self, part: AcceleratorPart, on: bool) {
        match part {
            AcceleratorPart::All => {
                self.prefetch_on = on;
                self.icache_on = on;
                self.dcache_on = on;
            }
            AcceleratorPart::Prefetch => self.prefetch_on = on,
            AcceleratorPart::InstructionCache => self.icache_on = on,
            AcceleratorPart::DataCache => self.dcache_on = on,
        }
        if !self.prefetch_on {
            self.prefetched = None;
        }
    }

    /// Wait cycles for the core to get flash word `word` at cycle `t`, when a flash
    /// read takes `fill` cycles.
    fn fetch_word(&mut self, word: u32, t: u64, fill: u32) -> u32 {
        let cached = self.icache_on && self.instr.is_some();
        let hit = cached
            && match self.instr.as_mut() {
                Some(c) if self.cache_prefetched => c.access(word),
                Some(c) => c.lookup(word),
                None => false,
            };
        let prefetching = self.prefetch && self.prefetch_on;
        let mut from_prefetch = false;
        let wait = if hit {
            0
        } else {
            match self.prefetched {
                Some((w, ready)) if w == word && prefetching => {
                    from_prefetch = true;
                    ready.saturating_sub(t) as u32
                }
                // The flash array reads one line at a time: a prefetch of another line that
                // is still under way is completed first ("any previously initiated prefetch
                // will be completed", LPC55S6x FMCCR.PREFOVR = 0 [TR §6 LPC55S69 FMC row]),
                // then the demand read starts. A taken branch out of a loop's last line
                // therefore waits for the useless prefetch of the line after it.
                Some((_, ready)) if prefetching && self.prefetch_completes && ready > t + 1 => (ready - 1 - t) as u32 + fill,
                _ => fill,
            }
        };
        // ST: a word that was neither cached nor the prefetched one is a miss, and only
        // then is it copied into the instruction cache [TR §6 STM32L4R5 ART row].
        if cached && !self.cache_prefetched && !hit && !from_prefetch {
            if let Some(c) = self.instr.as_mut() {
                c.insert(word);
            }
        }
        if prefetching {
            // The next sequential word is read as soon as this one has arrived; a flash
            // read takes the wait states plus one cycle.
            let arrived = t + wait as u64;
            let next = word.wrapping_add(1);
            match self.prefetched {
                Some((w, _)) if w == next => {}
                _ => self.prefetched = Some((next, arrived + fill as u64 + 1)),
            }
        }
        wait
    }

    /// Wait cycles of a data read through the data lines (a miss reads one flash word).
    fn data_read(&mut self, addr: u32, fill: u32) -> u32 {
        let word = addr >> self.word_shift;
        let hit = self.data.as_mut().is_some_and(|c| c.access(word));
        if hit {
            0
        } else {
            fill
        }
    }
}

/// An XIP controller's read buffer with sequential prefetch (i.MX RT FlexSPI AHB RX
/// buffer, [TR §6 i.MX RT1010 FlexSPI row]): a line fill that misses it pays the whole
/// serial read (command, address, dummy cycles, data: the region's line fill), after which
/// the controller keeps streaming the following lines into the buffer, one every
/// `line_cycles`, up to `window` lines ahead of the last one asked for. A fill of a
/// streamed line waits only until its data has arrived; one of a line still held
/// (behind the head, within the buffer) costs `hit_cycles`.
#[derive(Clone, Debug)]
struct ReadStream {
    region: usize,
    window: u32,
    line_cycles: u32,
    hit_cycles: u32,
    /// The region's line fill when the stream's cycles were set, to scale them when a
    /// vendor register changes the serial clock.
    base_fill: u32,
    base_line_cycles: u32,
    base_hit_cycles: u32,
    /// (first line of the current stream, cycle its data arrived if known, highest line
    /// asked for since).
    state: Option<(u32, Option<u64>, u32)>,
}

impl ReadStream {
    fn new(c: &XipBufferConfig, region: usize, line_bytes: u32, fill: u32) -> ReadStream {
        ReadStream {
            region,
            window: (c.buffer_bytes / line_bytes.max(1)).max(1),
            line_cycles: c.line_cycles,
            hit_cycles: c.hit_cycles,
            base_fill: fill.max(1),
            base_line_cycles: c.line_cycles,
            base_hit_cycles: c.hit_cycles,
            state: None,
        }
    }

    /// Cycles a line fill of `line` waits at cycle `t` (None: not known, no overlap credit),
    /// when a read from the flash itself takes `fill`.
    fn fill(&mut self, line: u32, t: Option<u64>, fill: u32) -> u32 {
        if let Some((first, t0, head)) = self.state {
            let arrival = t0.map(|t0| t0 + (line.wrapping_sub(first)) as u64 * self.line_cycles as u64);
            if line >= first && line <= head && head - line < self.window {
                // Still in the buffer.
                return match (arrival, t) {
                    (Some(a), Some(t)) => (a.saturating_sub(t) as u32).max(self.hit_cycles),
                    _ => self.hit_cycles,
                };
            }
            if line > head && line - head <= self.window && line >= first {
                // Streamed ahead of the last request.
                self.state = Some((first, t0, line));
                return match (arrival, t) {
                    (Some(a), Some(t)) => (a.saturating_sub(t) as u32).max(self.hit_cycles),
                    _ => self.line_cycles,
                };
            }
        }
        self.state = Some((line, t.map(|t| t + fill as u64), line));
        fill
    }

    fn rescale(&mut self, fill: u32) {
        self.line_cycles = (self.base_line_cycles as u64 * fill as u64 / self.base_fill as u64) as u32;
        self.hit_cycles = self.base_hit_cycles;
        self.state = None;
    }
}

/// What `Fidelity::Fast` leaves out on `board`, in words a report can show next to the
/// cycles: accelerators and caches counted as always hitting (with what a miss costs in
/// `detailed`), the XIP read buffer, and the core's operand-dependent and predicted timing.
pub fn fast_mode_ignores(board: &Board) -> Vec<String> {
    let mut out = Vec::new();
    // Accelerator parts a vendor register switches: fast mode follows those switches.
    let switched = board.registers.iter().flat_map(|r| &r.effects).any(|e| matches!(e, RegisterEffect::AcceleratorEnable { .. }));
    if let Some(a) = &board.accelerator {
        for r in board.regions.iter().filter(|r| r.kind == RegionKind::Flash && r.read_wait > 0) {
            out.push(format!(
                "flash '{}': every fetch and data read counts as a hit in the accelerator ({} wait states per {}-byte {}{} in detailed mode){}",
                r.name,
                r.read_wait,
                a.word_bytes(),
                if a.word_bytes() < a.line_bytes { "flash word" } else { "line" },
                if a.prefetch { ", with prefetch" } else { "" },
                if switched {
                    "; fetches pay the wait states while the firmware keeps both prefetch and instruction cache off, data reads while the data cache is off"
                } else {
                    ""
                }
            ));
        }
    }
    let soc_only = board.icache.as_ref().is_none_or(CacheConfig::is_soc) && board.dcache.as_ref().is_none_or(CacheConfig::is_soc);
    if board.icache.is_some() || board.dcache.is_some() {
        for r in board.regions.iter().filter(|r| r.cacheable) {
            if soc_only {
                let data = board.icache.as_ref().is_some_and(|c| c.data_reads);
                out.push(format!(
                    "'{}' behind the SoC cache: every fetch{} hits while the firmware keeps the cache on (off, fast mode charges the wait states; a line fill costs {} cycles in detailed mode)",
                    r.name,
                    if data { " and data read" } else { "" },
                    r.fill_cycles()
                ));
            } else {
                out.push(format!(
                    "'{}' behind the L1 caches: every access hits, whether or not the firmware enables them (a line fill costs {} cycles in detailed mode)",
                    r.name,
                    r.fill_cycles()
                ));
            }
        }
    }
    match board.core {
        crate::timing::CoreKind::M7 => out.push("branches: static prediction instead of the BTAC".into()),
        _ => out.push(format!("SDIV/UDIV: {} cycles each instead of 2-12 by operands", crate::timing::DIV_STATIC)),
    }
    out
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

/// How a region's instruction fetches are timed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FetchPath {
    Free,
    /// `read_wait` per `fetch_line_bytes` line touched: static, precomputed per block.
    Plain,
    ICache,
    Accelerator,
}

/// How the simulator times a block's instruction fetch, per region (see
/// [`MemorySystem::fetch_mode`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FetchMode {
    /// Nothing to charge.
    Free,
    /// `read_wait` per line: a constant per block ([`Region::fetch_wait`]).
    Plain,
    /// Ask [`MemorySystem::fetch`] on every execution.
    Dynamic,
}

/// The fetch lines one execution of a block requests, in order, each with the cycle
/// offset (from block entry, before stalls) of the first instruction that needs it.
/// Built once per block and line size, so each execution walks lines, not instructions.
#[derive(Clone, Debug, Default)]
pub struct FetchPlan {
    /// log2 of the line size the plan is for; None: not built yet.
    shift: Option<u32>,
    lines: Vec<(u32, u32)>,
}

impl FetchPlan {
    fn new(addrs: &[u32], end: u32, offsets: &[u32], shift: u32) -> FetchPlan {
        let mut lines: Vec<(u32, u32)> = Vec::new();
        for (i, &a) in addrs.iter().enumerate() {
            let e = addrs.get(i + 1).copied().unwrap_or(end).max(a + 1);
            let offset = offsets.get(i).copied().unwrap_or(0);
            for line in (a >> shift)..=((e - 1) >> shift) {
                if lines.last().is_none_or(|&(l, _)| l < line) {
                    lines.push((line, offset));
                }
            }
        }
        FetchPlan { shift: Some(shift), lines }
    }
}

/// Hit/miss counters for the report.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheStats {
    pub hits: u64,
    pub misses: u64,
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
            stream: board.xip_buffer.as_ref().and_then(|x| {
                let (i, r) = board.regions.iter().enumerate().find(|(_, r)| r.name == x.region)?;
                let line = board.icache.as_ref().or(board.dcache.as_ref()).map_or(32, |c| c.line_bytes);
                Some(ReadStream::new(x, i, line, r.fill_cycles()))
            }),
        };
        m.update_paths();
        m
    }

    fn update_paths(&mut self) {
        self.paths = (0..self.regions.len()).map(|r| self.fetch_path(r)).collect();
    }

    /// How fetches from `region` are timed now (out-of-range regions are free). Asked on
    /// every block entry.
    #[inline]
    pub fn fetch_mode(&self, region: usize) -> FetchMode {
        match self.paths.get(region) {
            Some(FetchPath::Plain) => FetchMode::Plain,
            Some(FetchPath::ICache | FetchPath::Accelerator) => FetchMode::Dynamic,
            Some(FetchPath::Free) | None => FetchMode::Free,
        }
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

    fn fetch_path(&self, region: usize) -> FetchPath {
        let Some(r) = self.regions.get(region) else {
            return FetchPath::Free;
        };
        let cached = r.cacheable && self.icache.is_some();
        let accelerated = r.kind == RegionKind::Flash && self.accel.as_ref().is_some_and(Accelerator::fetch_side_on);
        // Fast: caches and accelerators always hit while on. The Cortex-M7 L1 caches
        // count as on even before CCR.IC is set (stated in `fast_mode_ignores`); a SoC
        // cache the firmware left off costs the wait states, like a disabled accelerator.
        let fast_cached = cached && (!self.icache_soc || self.icache_on);
        match self.fidelity {
            Fidelity::Fast if fast_cached || accelerated => FetchPath::Free,
            Fidelity::Detailed if cached && self.icache_on => FetchPath::ICache,
            Fidelity::Detailed if accelerated => FetchPath::Accelerator,
            _ if r.read_wait > 0 => FetchPath::Plain,
            _ => FetchPath::Free,
        }
    }

    /// Wait cycles to fetch one execution of a block: instructions at `addrs` (the block
    /// ends at `end`) that start at cycles `entry + offsets[i]` without fetch stalls.
    /// Each line the block touches is requested when its first instruction is due.
    pub fn fetch(&mut self, region: usize, addrs: &[u32], end: u32, offsets: &[u32], entry: u64) -> u32 {
        self.fetch_planned(region, &mut FetchPlan::default(), addrs, end, offsets, entry)
    }

    /// `fetch`, with the block's lines kept in `plan` between executions (rebuilt when
    /// the line size in use changes): the simulator calls this on every block entry.
    pub fn fetch_planned(&mut self, region: usize, plan: &mut FetchPlan, addrs: &[u32], end: u32, offsets: &[u32], entry: u64) -> u32 {
        let path = self.paths.get(region).copied().unwrap_or(FetchPath::Free);
        let line_bytes = match path {
            FetchPath::Free => return 0,
            FetchPath::ICache => self.icache.as_ref().map_or(32, Cache::line_bytes),
            FetchPath::Accelerator => self.accel.as_ref().map_or(16, Accelerator::word_bytes),
            FetchPath::Plain => self.regions[region].fetch_line_bytes,
        };
        let shift = line_bytes.trailing_zeros();
        if plan.shift != Some(shift) {
            *plan = FetchPlan::new(addrs, end, offsets, shift);
        }
        let r = &self.regions[region];
        let (fill, plain_wait) = (r.fill, r.read_wait);
        let mut stall = 0u32;
        for &(line, offset) in &plan.lines {
            let now = entry + offset as u64 + stall as u64;
            stall += match path {
                FetchPath::ICache => {
                    let hit = self.icache.as_mut().is_none_or(|c| c.access(line << shift));
                    if hit {
                        0
                    } else {
                        match self.stream.as_mut().filter(|s| s.region == region) {
                            Some(s) => s.fill(line, Some(now), fill),
                            None => fill,
                        }
                    }
                }
                FetchPath::Accelerator => self.accel.as_mut().map_or(0, |acc| acc.fetch_word(line, now, fill)),
                _ => plain_wait,
            };
        }
        stall
    }

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

    /// Wait cycles of one data access.
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

    use super::*;

    fn board(extra: &str, region: &str) -> Board {
        let text =
            format!("name='t'\ncore='m7'\nclock_mhz=100\n{extra}\n[[regions]]\n{region}\n[[regions]]\nname='ram'\nbase=0x20000000\nsize=0x10000\nkind='tcm'\n");
        Board::from_toml(&text).unwrap()
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

    #[test]
    fn accelerator_prefetch_hides_wait_states_for_slow_enough_code() {
        // 5 wait states, 8-byte lines, prefetch, no line cache. Straight-line 16-bit code,
        // one instruction per cycle: a line holds 4 instructions = 4 cycles, and a flash
        // read takes 5 + 1 = 6 cycles, so each sequential line arrives 6 cycles after the
        // previous one: 2 stall cycles per line after the first (which pays the full 5).
        let b = board("[accelerator]\nline_bytes=8\ninstruction_lines=0\nprefetch=true", "name='flash'\nbase=0\nsize=0x10000\nkind='flash'\nread_wait=5");
        let mut m = MemorySystem::new(&b, Fidelity::Detailed);
        let addrs: Vec<u32> = (0..16).map(|i| i * 2).collect();
        let offsets: Vec<u32> = (0..16).collect();
        // Line 0 at t=0: 5 (arrives 5). Line 1 needed at 4+5 = 9, ready at 5+6 = 11: 2.
        // Line 2 needed at 8+7 = 15, ready at 11+6 = 17: 2. Line 3 at 12+9 = 21, ready 23: 2.
        assert_eq!(m.fetch(0, &addrs, 32, &offsets, 0), 11);
        // Without prefetch every line pays 5.
        let b = board("[accelerator]\nline_bytes=8\ninstruction_lines=0", "name='flash'\nbase=0\nsize=0x10000\nkind='flash'\nread_wait=5");
        let mut m = MemorySystem::new(&b, Fidelity::Detailed);
        assert_eq!(m.fetch(0, &addrs, 32, &offsets, 0), 20);
    }

    #[test]
    fn a_demand_read_waits_for_the_prefetch_under_way_when_it_completes_first() {
        // 11 wait states (12-cycle reads), 16-byte lines, one line buffer, prefetch. A loop
        // over lines 0 and 1, 8 cycles of work in each: line 0 pays 11 (arrives at 11) and
        // starts the prefetch of line 1 (ready at 23), needed at 19: 4; line 1 starts the
        // prefetch of line 2 (ready at 35). Branching back at 30, line 0 first waits for
        // line 2's read to finish (34), then its own 11: 15 with `prefetch_completes`,
        // 11 without (the prefetch is abandoned).
        let run = |completes: bool| {
            let b = board(
                &format!("[accelerator]\nline_bytes=16\ninstruction_lines=1\nprefetch=true\nprefetch_completes={completes}"),
                "name='flash'\nbase=0\nsize=0x10000\nkind='flash'\nread_wait=11",
            );
            let mut m = MemorySystem::new(&b, Fidelity::Detailed);
            let addrs: Vec<u32> = (0..16).map(|i| i * 2).collect();
            let offsets: Vec<u32> = (0..16).collect();
            let first = m.fetch(0, &addrs, 32, &offsets, 0);
            (first, m.fetch(0, &addrs, 32, &offsets, 16 + first as u64 - 1))
        };
        assert_eq!(run(true).0, 11 + 4);
        // The second pass enters at 30 (15 stall + 16 cycles of work - 1): line 2's prefetch
        // is ready at 35.
        assert_eq!(run(true).1, (35 - 1 - 30) + 11 + 4);
        assert_eq!(run(false).1, 11 + 4);
    }

    #[test]
    fn accelerator_line_cache_makes_loops_free_after_the_first_pass() {
        let b = board("[accelerator]\nline_bytes=16\ninstruction_lines=4\nprefetch=false", "name='flash'\nbase=0\nsize=0x10000\nkind='flash'\nread_wait=3");
        let mut m = MemorySystem::new(&b, Fidelity::Detailed);
        let addrs = [0x100, 0x104, 0x108, 0x10C, 0x110];
        let offsets = [0, 1, 2, 3, 4];
        assert_eq!(m.fetch(0, &addrs, 0x114, &offsets, 0), 6); // two lines, 3 each
        assert_eq!(m.fetch(0, &addrs, 0x114, &offsets, 100), 0);
        // Fast fidelity treats the accelerator as always hitting.
        let mut f = MemorySystem::new(&b, Fidelity::Fast);
        assert_eq!(f.fetch_mode(0), FetchMode::Free);
        assert_eq!(f.fetch(0, &addrs, 0x114, &offsets, 0), 0);
    }

    #[test]
    fn fast_mode_names_what_it_leaves_out_on_the_board() {
        let lpc = Board::from_toml(include_str!("../boards/lpc55s69.toml")).unwrap();
        let said = fast_mode_ignores(&lpc);
        assert!(said[0].starts_with("flash 'flash': every fetch and data read counts as a hit"), "{said:?}");
        assert!(said[0].contains("11 wait states per 16-byte line, with prefetch"));
        let rt = Board::from_toml(include_str!("../boards/mimxrt1011.toml")).unwrap();
        let said = fast_mode_ignores(&rt);
        assert!(said.iter().any(|s| s.starts_with("'flexspi' behind the L1 caches") && s.contains("420 cycles")), "{said:?}");
        assert!(said.iter().any(|s| s.starts_with("branches: static prediction")));
        let generic = Board::from_toml(include_str!("../boards/generic-m4.toml")).unwrap();
        assert_eq!(fast_mode_ignores(&generic), vec!["SDIV/UDIV: 7 cycles each instead of 2-12 by operands".to_string()]);
    }

    #[test]
    fn an_xip_read_buffer_streams_the_lines_after_a_miss() {
        // FlexSPI-like buffer: a line fill from the flash takes 420 cycles (command, address,
        // dummy and data), the following lines stream in at 320 each, 256 bytes ahead.
        let b = Board::from_toml(
            "name='t'\ncore='m7'\nclock_mhz=500\n[icache]\nsize_bytes=1024\nways=2\nline_bytes=32\n\
             [xip_buffer]\nregion='xip'\nbuffer_bytes=256\nline_cycles=320\nhit_cycles=8\n\
             [[regions]]\nname='xip'\nbase=0x60000000\nsize=0x100000\nkind='xip'\ncacheable=true\nread_wait=140\nline_fill_cycles=420\n\
             [[regions]]\nname='ram'\nbase=0x20000000\nsize=0x10000\nkind='tcm'\n",
        )
        .unwrap();
        let mut m = MemorySystem::new(&b, Fidelity::Detailed);
        m.set_caches_enabled(true, false);
        // Straight-line code over 3 lines, 8 cycles of work per line: the first line pays
        // 420 (arrives at 420); the second arrives 320 later (740) and is needed at
        // 420 + 8 = 428: 312; the third at 1060, needed at 748: 312. Total 1044.
        let addrs: Vec<u32> = (0..48).map(|i| 0x6000_0000 + 2 * i).collect();
        let offsets: Vec<u32> = (0..48).map(|i| i / 2).collect();
        assert_eq!(m.fetch(0, &addrs, 0x6000_0060, &offsets, 0), 420 + 312 + 312);
        // A jump elsewhere restarts the read: 420 again.
        assert_eq!(m.fetch(0, &[0x6001_0000], 0x6001_0002, &[0], 5000), 420);
    }

    /// Fetch stalls of `passes` passes over a loop of `words` 64-bit flash words of four
    /// 16-bit single-cycle instructions each at 0x0800_0000 (`core` cycles of work per
    /// pass); returns the stalls of the last pass.
    fn loop_stalls(m: &mut MemorySystem, words: u32, core: u64, passes: u32) -> u32 {
        let addrs: Vec<u32> = (0..words * 4).map(|i| 0x0800_0000 + 2 * i).collect();
        let offsets: Vec<u32> = (0..words * 4).collect();
        let (mut t, mut last) = (0u64, 0);
        for _ in 0..passes {
            last = m.fetch(0, &addrs, 0x0800_0000 + 8 * words, &offsets, t);
            t += core + last as u64;
        }
        last
    }

    fn l4r5() -> MemorySystem {
        MemorySystem::new(&Board::preset("stm32l4r5").unwrap(), Fidelity::Detailed)
    }

    #[test]
    fn stm32l4_art_bits_each_switch_their_own_part() {
        // [TR §6 STM32L4R5 rows] 5 wait states, 64-bit flash words (reads of 5 + 1
        // cycles). A two-word loop with 9 cycles of work per pass (the calibration
        // benchmark art_loop_*), steady state: everything off, 5 per word; prefetch alone,
        // the head 5 (the prefetch holds the word after the loop) and the second word 2
        // (arrives 6 after the head, needed after 4); I-cache alone, both words cached;
        // D-cache alone, as off; all on, the head is a cached branch target and the second
        // word streams from the prefetch: 2.
        let cases = [
            (AcceleratorPart::All, false, 10),
            (AcceleratorPart::Prefetch, true, 7),
            (AcceleratorPart::InstructionCache, true, 0),
            (AcceleratorPart::DataCache, true, 10),
        ];
        for (part, alone, stall) in cases {
            let mut m = l4r5();
            m.set_accelerator_enabled(false);
            if alone {
                m.set_accelerator_part(part, true);
            }
            assert_eq!(loop_stalls(&mut m, 2, 9, 4), stall, "{part:?} alone");
        }
        assert_eq!(loop_stalls(&mut l4r5(), 2, 9, 4), 2, "all on (the preset)");
        // Flash data reads: 5 without the data cache, a hit with it (after one miss).
        let mut m = l4r5();
        m.set_accelerator_part(AcceleratorPart::DataCache, false);
        assert_eq!((m.data(0, 0x0800_1000, false), m.data(0, 0x0800_1000, false)), (5, 5));
        m.set_accelerator_part(AcceleratorPart::DataCache, true);
        assert_eq!((m.data(0, 0x0800_1000, false), m.data(0, 0x0800_1004, false)), (5, 0));
        // Switching the prefetch off leaves the I-cache on: still the accelerator path.
        m.set_accelerator_part(AcceleratorPart::Prefetch, false);
        assert_eq!(m.fetch_mode(0), FetchMode::Dynamic);
        m.set_accelerator_part(AcceleratorPart::InstructionCache, false);
        assert_eq!(m.fetch_mode(0), FetchMode::Plain);
    }

    #[test]
    fn stm32l4_art_has_no_capacity_cliff_with_prefetch_but_thrashes_without() {
        // All on: only misses are copied into the 32 × 32-byte I-cache, so a loop costs
        // 2 per word after its (cached) head whatever its size: 512 bytes (64 words) and
        // 2304 bytes (288 words, more than the 1 KiB cache) alike. The work per word is 4
        // cycles, plus 4 for the loop's last word (ADDS, SUBS, BNE.W).
        assert_eq!(loop_stalls(&mut l4r5(), 64, 4 * 64, 4), 2 * 63);
        assert_eq!(loop_stalls(&mut l4r5(), 288, 4 * 288, 4), 2 * 287);
        // The I-cache alone holds 128 words: the 512-byte loop fits, the 2304-byte one
        // misses every word under LRU (5 each).
        let alone = || {
            let mut m = l4r5();
            m.set_accelerator_part(AcceleratorPart::Prefetch, false);
            m.set_accelerator_part(AcceleratorPart::DataCache, false);
            m
        };
        assert_eq!(loop_stalls(&mut alone(), 64, 256, 4), 0);
        assert_eq!(loop_stalls(&mut alone(), 288, 1152, 4), 5 * 288);
    }

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
        // through the same cache [TR §6 STM32L552 ICACHE row].
        assert_eq!(loop_stalls(&mut m, 2, 9, 1), 12);
        assert_eq!(loop_stalls(&mut m, 2, 9, 1), 0);
        assert_eq!((m.data(0, 0x0800_2000, false), m.data(0, 0x0800_200C, false)), (12, 0));
        assert_eq!(m.icache_stats().map(|s| (s.hits, s.misses)), Some((2, 2)));
    }

    #[test]
    fn fast_mode_charges_a_disabled_soc_cache_and_says_so() {
        let b = Board::preset("stm32l552").unwrap();
        let mut m = MemorySystem::new(&b, Fidelity::Fast);
        // Off: the wait states, like a disabled accelerator; the region is hooked for data.
        assert_eq!(m.fetch_mode(0), FetchMode::Plain);
        assert!(m.needs_data_hook(0));
        assert_eq!(m.data(0, 0x0800_2000, false), 5);
        m.set_soc_cache_enabled(true);
        assert_eq!(m.fetch_mode(0), FetchMode::Free);
        assert_eq!(m.data(0, 0x0800_2000, false), 0);
        let said = fast_mode_ignores(&b);
        assert!(said[0].contains("every fetch and data read hits while the firmware keeps the cache on (off, fast mode charges the wait states"), "{said:?}");
        // The STM32L4R5 ART: off parts are charged in fast mode too.
        let l4 = Board::preset("stm32l4r5").unwrap();
        let mut f = MemorySystem::new(&l4, Fidelity::Fast);
        assert_eq!(f.fetch_mode(0), FetchMode::Free);
        assert!(f.needs_data_hook(0), "switchable data cache: hooked while on");
        assert_eq!(f.data(0, 0x0800_2000, false), 0);
        f.set_accelerator_part(AcceleratorPart::DataCache, false);
        assert_eq!(f.data(0, 0x0800_2000, false), 5);
        f.set_accelerator_part(AcceleratorPart::Prefetch, false);
        assert_eq!(f.fetch_mode(0), FetchMode::Free, "I-cache still on");
        f.set_accelerator_part(AcceleratorPart::InstructionCache, false);
        assert_eq!(f.fetch_mode(0), FetchMode::Plain);
        assert!(fast_mode_ignores(&l4)[0].contains("8-byte flash word, with prefetch"), "{:?}", fast_mode_ignores(&l4));
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
        assert_eq!(m.fetch_mode(0), FetchMode::Dynamic);
        assert_eq!(m.fetch(0, &addrs, 0x6000_0008, &[0, 1], 0), 90); // one line fill
        assert_eq!(m.fetch(0, &addrs, 0x6000_0008, &[0, 1], 0), 0);
        assert_eq!(m.data(0, 0x6000_1000, false), 90);
        assert_eq!(m.data(0, 0x6000_101C, false), 0); // same 32-byte line
        assert_eq!(m.data(1, 0x2000_0000, true), 0); // TCM: never cached, no wait
        assert!(m.needs_data_hook(0) && !m.needs_data_hook(1));
    }
}
