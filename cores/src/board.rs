//! Boards as data: core, clock and memory map, from TOML.
//!
//! Built-in presets live in `cores/boards/*.toml` and are compiled into the binary;
//! users pass their own file with `--board path.toml`. Every value in a preset carries
//! its source in a TOML comment.

use crate::timing::CoreKind;
use serde::{Deserialize, Serialize};

/// The Private Peripheral Bus, modelled by the simulator itself; no region may overlap it.
pub const PPB_BASE: u32 = 0xE000_0000;
pub const PPB_SIZE: u32 = 0x0010_0000;
/// Granularity of unicorn's ARM memory map (TARGET_PAGE_BITS = 10).
pub const PAGE: u32 = 0x400;
/// Largest memory region simbench will back with host memory.
pub const MAX_REGION_BYTES: u64 = 1 << 30;

/// What a memory region is, which decides how it is mapped and timed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RegionKind {
    /// Generic read/write/execute memory.
    Code,
    /// On-chip SRAM.
    Sram,
    /// Tightly coupled memory.
    Tcm,
    /// Internal flash: read and execute only; firmware stores fault.
    Flash,
    /// Execute-in-place serial flash: read and execute only.
    Xip,
    /// Vendor peripheral space the simulator does not model: reads return 0, writes are
    /// dropped, and accesses are counted in the report.
    PeripheralIgnore,
    /// Vendor peripheral space as registers: the board's `[[registers]]` inside it have
    /// reset values, always-ready status bits and timing effects; any other address keeps
    /// what was written (reads 0 before) and is counted as unmodelled in the report.
    Peripheral,
}

impl RegionKind {
    pub fn name(self) -> &'static str {
        match self {
            RegionKind::Code => "code",
            RegionKind::Sram => "sram",
            RegionKind::Tcm => "tcm",
            RegionKind::Flash => "flash",
            RegionKind::Xip => "xip",
            RegionKind::PeripheralIgnore => "peripheral-ignore",
            RegionKind::Peripheral => "peripheral",
        }
    }
    pub fn writable(self) -> bool {
        matches!(self, RegionKind::Code | RegionKind::Sram | RegionKind::Tcm)
    }
    pub fn is_memory(self) -> bool {
        !matches!(self, RegionKind::PeripheralIgnore | RegionKind::Peripheral)
    }
}

/// One memory region of a board.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Region {
    pub name: String,
    pub base: u32,
    pub size: u32,
    pub kind: RegionKind,
    /// Extra cycles per read access (instruction fetch line or data read).
    #[serde(default)]
    pub read_wait: u32,
    /// Extra cycles per data write.
    #[serde(default)]
    pub write_wait: u32,
    /// Bytes delivered per instruction-fetch access (flash line / bus width): each line a
    /// block touches costs `read_wait` once.
    #[serde(default = "default_line")]
    pub fetch_line_bytes: u32,
    /// Accesses go through the board's caches (`[icache]`/`[dcache]`) when those are
    /// enabled, and through the flash accelerator for `flash` regions.
    #[serde(default)]
    pub cacheable: bool,
    /// Cycles to fill one cache or accelerator line from this region on a miss
    /// (`detailed` timing). 0 means `read_wait` (one access's latency).
    #[serde(default)]
    pub line_fill_cycles: u32,
}

/// A vendor peripheral register simbench models (inside a `peripheral` region).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterSpec {
    /// `PERIPHERAL_REGISTER` as the vendor's headers name it.
    pub name: String,
    pub address: u32,
    /// Value before the firmware writes it. For registers with an `effect` this is the
    /// value matching the preset's own configuration (clock, wait states), as if the boot
    /// ROM had set it, so firmware that never touches it runs as the preset describes.
    #[serde(default)]
    pub reset: u32,
    /// Status bits that always read 1 (PLL lock, oscillator ready, FlexSPI idle): what
    /// SDK drivers poll after starting something.
    #[serde(default)]
    pub ready: u32,
    /// Status bits that always read 0 (busy flags).
    #[serde(default)]
    pub busy: u32,
    /// A status field reading back a control field of the same register,
    /// `[from_shift, to_shift, width]` (STM32 RCC_CFGR.SWS follows SW: clock switch done).
    #[serde(default)]
    pub mirror: Option<[u32; 3]>,
    /// What its fields change in the model (FLASH_ACR: latency and accelerator enables).
    #[serde(default)]
    pub effects: Vec<RegisterEffect>,
}

/// What a register field changes in the model. Fields are `shift`/`width` bit ranges.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum RegisterEffect {
    /// The field is the flash wait states of `region` (STM32 FLASH_ACR.LATENCY, LPC55
    /// FMCCR.FLASHTIM): read_wait follows it, the line fill scales with (WS + 1).
    FlashWaitStates { region: String, shift: u32, width: u32 },
    /// Any bit of `mask` set turns `part` of the flash accelerator on: `all` (default),
    /// or one of `prefetch`, `instruction-cache`, `data-cache` (STM32 FLASH_ACR.PRFTEN,
    /// ICEN, DCEN each switch their own part, [TR §6 STM32L4R5 ART row]).
    AcceleratorEnable {
        mask: u32,
        #[serde(default)]
        part: AcceleratorPart,
    },
    /// Any bit of `mask` set turns the board's `[icache]` on (STM32L5 ICACHE_CR.EN).
    CacheEnable { mask: u32 },
    /// The field divides the core clock by field + 1 (LPC55 AHBCLKDIV): the modelled
    /// clock is clock_mhz × (reset field + 1) / (field + 1).
    CoreClockDivider { shift: u32, width: u32 },
    /// The field divides `region`'s XIP serial clock by field + 1 (i.MX RT CCM
    /// CSCMR1.FLEXSPI_PODF): its read_wait and line fill scale with it.
    XipClockDivider { region: String, shift: u32, width: u32 },
    /// i.MX RT FlexRAM bank assignment, 2 bits per bank (01 OCRAM, 10 DTCM, 11 ITCM): the
    /// regions named `itcm`, `dtcm` and `ocram` (each mapped at its largest size) become
    /// usable only up to the size the firmware assigned; beyond it an access faults.
    FlexramBanks {
        banks: u32,
        bank_kib: u32,
        #[serde(default = "default_itcm")]
        itcm: String,
        #[serde(default = "default_dtcm")]
        dtcm: String,
        #[serde(default = "default_ocram")]
        ocram: String,
    },
}

impl RegisterEffect {
    /// The field this effect reads: (shift, width).
    pub fn field(&self) -> (u32, u32) {
        match self {
            RegisterEffect::FlashWaitStates { shift, width, .. }
            | RegisterEffect::CoreClockDivider { shift, width }
            | RegisterEffect::XipClockDivider { shift, width, .. } => (*shift, *width),
            RegisterEffect::AcceleratorEnable { .. } | RegisterEffect::CacheEnable { .. } => (0, 32),
            RegisterEffect::FlexramBanks { banks, .. } => (0, (2 * banks).min(32)),
        }
    }
}

/// Which part of a flash accelerator an `accelerator-enable` effect switches.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AcceleratorPart {
    /// The whole accelerator (one enable bit, or any bit of the mask).
    #[default]
    All,
    /// Sequential prefetch of the next flash word.
    Prefetch,
    /// The instruction line buffers / cache.
    InstructionCache,
    /// The data line buffers / cache.
    DataCache,
}

impl AcceleratorPart {
    pub fn name(self) -> &'static str {
        match self {
            AcceleratorPart::All => "flash accelerator",
            AcceleratorPart::Prefetch => "flash prefetch",
            AcceleratorPart::InstructionCache => "flash instruction cache",
            AcceleratorPart::DataCache => "flash data cache",
        }
    }
}

/// `value`'s bits `[shift, shift + width)`.
pub fn field(value: u32, shift: u32, width: u32) -> u32 {
    let w = width.min(32);
    let v = value.checked_shr(shift).unwrap_or(0);
    if w >= 32 {
        v
    } else {
        v & ((1u32 << w) - 1)
    }
}

/// A set-associative cache (Cortex-M7 L1 caches, or a SoC-level cache such as the
/// STM32L5 ICACHE).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CacheConfig {
    pub size_bytes: u32,
    pub ways: u32,
    pub line_bytes: u32,
    /// On at reset (a SoC cache the firmware is assumed to enable), rather than switched
    /// on by the firmware through SCB CCR.IC / CCR.DC (the Cortex-M7 L1 caches).
    /// Implies `soc`.
    #[serde(default)]
    pub enabled_at_reset: bool,
    /// A SoC cache switched by a vendor register (`cache-enable` effect, STM32L5
    /// ICACHE_CR.EN), not by SCB CCR; off at reset unless `enabled_at_reset`.
    #[serde(default)]
    pub soc: bool,
    /// The cache also serves data reads of its cacheable regions (the STM32L5 ICACHE
    /// sits on the C-AHB bus, which carries the core's data reads from the code region
    /// too, [TR §6 STM32L552 ICACHE row]).
    #[serde(default)]
    pub data_reads: bool,
}

impl CacheConfig {
    /// Switched by a vendor register rather than SCB CCR.
    pub fn is_soc(&self) -> bool {
        self.soc || self.enabled_at_reset
    }
}

/// A flash accelerator in front of `flash` regions (STM32 ART, LPC55 flash controller):
/// a few lines of flash kept in buffers, plus sequential prefetch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AcceleratorConfig {
    /// Bytes of one buffer or cache line.
    pub line_bytes: u32,
    /// Bytes one flash read delivers (default: `line_bytes`). Smaller than the line, a
    /// line holds several flash words, each read and marked valid on its own (STM32L4
    /// ART: lines of 4 × 64 bits filled 64 bits at a time).
    #[serde(default)]
    pub word_bytes: Option<u32>,
    /// Instruction lines kept (fully associative, least recently used replaced).
    pub instruction_lines: u32,
    /// Data (literal pool, constant table) lines kept.
    #[serde(default)]
    pub data_lines: u32,
    /// The next sequential line is read while the current one executes.
    #[serde(default)]
    pub prefetch: bool,
    /// A demand read of another line waits until a prefetch under way has completed
    /// (LPC55S6x FMCCR.PREFOVR = 0); otherwise the prefetch is abandoned at once.
    #[serde(default)]
    pub prefetch_completes: bool,
    /// Whether a word the prefetch delivered is also copied into the instruction lines
    /// (default true). `false`: only words read on a miss (not in the cache and not the
    /// prefetched word) are copied, as ST describes its ART [TR §6 STM32L4R5 ART row],
    /// so straight-line code streams through the prefetch and the cache keeps branch
    /// targets.
    #[serde(default = "default_true")]
    pub cache_prefetched: bool,
}

impl AcceleratorConfig {
    /// Bytes one flash read delivers.
    pub fn word_bytes(&self) -> u32 {
        self.word_bytes.unwrap_or(self.line_bytes)
    }
}

fn default_true() -> bool {
    true
}

/// An XIP controller's read buffer that keeps reading sequentially ahead of the last
/// read (i.MX RT FlexSPI AHB RX buffer with AHB read prefetch), feeding the L1 line fills.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct XipBufferConfig {
    /// Name of the region it serves.
    pub region: String,
    /// Bytes the buffer holds: how far it reads ahead.
    pub buffer_bytes: u32,
    /// Cycles to stream one cache line once a read is under way (no command, address or
    /// dummy phase: the data transfer alone).
    pub line_cycles: u32,
    /// Cycles to deliver a line already in the buffer.
    pub hit_cycles: u32,
}

fn default_line() -> u32 {
    4
}

impl Region {
    pub fn end(&self) -> u64 {
        self.base as u64 + self.size as u64
    }
    pub fn contains(&self, addr: u32) -> bool {
        addr >= self.base && (addr as u64) < self.end()
    }
    pub fn contains_range(&self, addr: u32, len: u64) -> bool {
        addr >= self.base && addr as u64 + len <= self.end()
    }
    /// Wait cycles to fetch the code bytes `[start, end)` from this region.
    pub fn fetch_wait(&self, start: u32, end: u32) -> u32 {
        if self.read_wait == 0 || end <= start {
            return 0;
        }
        let line = self.fetch_line_bytes.max(1);
        let lines = (end - 1) / line - start / line + 1;
        lines * self.read_wait
    }
    /// Data accesses here cost extra cycles, so the simulator must hook them.
    pub fn needs_data_hook(&self) -> bool {
        self.kind.is_memory() && (self.read_wait > 0 || self.write_wait > 0)
    }
    /// Cycles to fill one cache/accelerator line from here.
    pub fn fill_cycles(&self) -> u32 {
        if self.line_fill_cycles > 0 {
            self.line_fill_cycles
        } else {
            self.read_wait
        }
    }
}

/// A board: the core, its clock and the memory map.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Board {
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub core: CoreKind,
    pub clock_mhz: f64,
    pub regions: Vec<Region>,
    #[serde(default)]
    pub icache: Option<CacheConfig>,
    #[serde(default)]
    pub dcache: Option<CacheConfig>,
    #[serde(default)]
    pub accelerator: Option<AcceleratorConfig>,
    /// A read buffer with sequential prefetch in front of an execute-in-place region
    /// (i.MX RT FlexSPI AHB RX buffer).
    #[serde(default)]
    pub xip_buffer: Option<XipBufferConfig>,
    /// NVIC priority bits the device implements (its CMSIS header's `__NVIC_PRIO_BITS`).
    #[serde(default = "default_prio_bits")]
    pub nvic_prio_bits: u32,
    /// External interrupt lines of the device's NVIC.
    #[serde(default = "default_irq_lines")]
    pub irq_lines: u32,
    /// Modelled vendor peripheral registers (inside `peripheral` regions).
    #[serde(default)]
    pub registers: Vec<RegisterSpec>,
    /// The FPU's precision: `"sp"` (single precision only: FPv4-SP on the M4, FPv5-SP on
    /// the M33 and on Cortex-M7 parts such as the i.MX RT1010) or `"dp"` (the M7's
    /// FPv5-D16: STM32H7/F7, i.MX RT1060/1170). Default: `dp` on the M7, `sp` elsewhere.
    #[serde(default)]
    pub fpu: Option<String>,
    /// Whether the ITM starts as a debugger set up for SWO leaves it (TCR.ITMENA and every
    /// stimulus port enabled); `false` for a part run without a trace probe. Default true.
    #[serde(default)]
    pub swo: Option<bool>,
    /// Low/high of the values that are assumptions rather than manual figures, keyed by
    /// path (`"regions.flash.read_wait" = [9, 15]`): runs are re-timed at both ends
    /// (`ranges.rs`). Empty when every value is known.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub ranges: std::collections::BTreeMap<String, [u32; 2]>,
}

fn default_itcm() -> String {
    "itcm".into()
}

fn default_dtcm() -> String {
    "dtcm".into()
}

fn default_ocram() -> String {
    "ocram".into()
}

fn default_prio_bits() -> u32 {
    4
}

fn default_irq_lines() -> u32 {
    64
}

/// The built-in presets: (name, TOML text).
pub const PRESETS: &[(&str, &str)] = &[
    ("generic-m4", include_str!("../boards/generic-m4.toml")),
    ("generic-m33", include_str!("../boards/generic-m33.toml")),
    ("generic-m7", include_str!("../boards/generic-m7.toml")),
    ("lpc55s69", include_str!("../boards/lpc55s69.toml")),
    ("mimxrt1011", include_str!("../boards/mimxrt1011.toml")),
    ("stm32l4r5", include_str!("../boards/stm32l4r5.toml")),
    ("stm32l552", include_str!("../boards/stm32l552.toml")),
    ("stm32h743", include_str!("../boards/stm32h743.toml")),
];

impl Board {
    /// Parse and validate a board description.
    pub fn from_toml(text: &str) -> Result<Board, String> {
        let board: Board = toml::from_str(text).map_err(|e| e.to_string().trim_end().to_string())?;
        board.validate()?;
        Ok(board)
    }

    /// A built-in preset by name.
    pub fn preset(name: &str) -> Option<Board> {
        PRESETS.iter().find(|(n, _)| *n == name).map(|(_, text)| Board::from_toml(text).expect("built-in presets are valid (tested)"))
    }

    /// The zero-wait generic board of a core (`--core X` alone).
    pub fn generic(core: CoreKind) -> Board {
        Board::preset(&format!("generic-{}", core.name())).expect("generic presets exist")
    }

    /// A generic board (`--core`): zero-wait memory, extended to fit any image.
    pub fn is_generic(&self) -> bool {
        self.name.starts_with("generic-")
    }

    /// Add a zero-wait region over `[base, end)` (rounded out to 64 KiB) where it does not
    /// overlap an existing region; returns its description, or None when nothing was
    /// free. For generic boards only: the memory a firmware was linked for.
    pub fn add_zero_wait(&mut self, name: &str, base: u32, end: u64, kind: RegionKind) -> Option<String> {
        const GRAIN: u64 = 64 * 1024;
        let mut start = base as u64 / GRAIN * GRAIN;
        let mut stop = end.div_ceil(GRAIN) * GRAIN;
        // Clip against existing regions: keep the part around [base, end) that is free.
        for r in &self.regions {
            let (rs, re) = (r.base as u64, r.end());
            if re <= base as u64 {
                start = start.max(re);
            } else if rs >= end {
                stop = stop.min(rs);
            } else {
                return None;
            }
        }
        let size = u32::try_from(stop.checked_sub(start)?).ok().filter(|&s| s > 0)?;
        let region = Region {
            name: name.into(),
            base: start as u32,
            size,
            kind,
            read_wait: 0,
            write_wait: 0,
            fetch_line_bytes: default_line(),
            cacheable: false,
            line_fill_cycles: 0,
        };
        let text = format!("{name} {:#010x}–{:#010x}", region.base, region.end());
        self.regions.push(region);
        Some(text)
    }

    /// Whether the core executes double-precision FPU instructions (else they are
    /// undefined, a UsageFault, as on silicon).
    pub fn double_precision_fpu(&self) -> bool {
        match self.fpu.as_deref() {
            Some(f) => f == "dp",
            None => self.core == CoreKind::M7,
        }
    }

    pub fn clock_hz(&self) -> f64 {
        self.clock_mhz * 1e6
    }

    /// The RAM region a stack pointer value belongs to: inside it, or at its top (a
    /// full-descending stack starts one past the end).
    pub fn stack_region(&self, sp: u32) -> Option<&Region> {
        self.regions.iter().find(|r| r.kind.writable() && (r.contains(sp) || (r.end() == sp as u64 && sp != 0)))
    }

    pub fn region_of(&self, addr: u32) -> Option<(usize, &Region)> {
        self.regions.iter().enumerate().find(|(_, r)| r.contains(addr))
    }

    /// Check the things a typo in a board file would otherwise turn into a confusing
    /// emulator error later.
    pub fn validate(&self) -> Result<(), String> {
        if self.name.trim().is_empty() {
            return Err("board name is empty".into());
        }
        if !(self.clock_mhz.is_finite() && self.clock_mhz > 0.0 && self.clock_mhz <= 10_000.0) {
            return Err(format!("clock_mhz = {} is not a plausible clock (0 < MHz ≤ 10000)", self.clock_mhz));
        }
        if self.regions.is_empty() {
            return Err("the board has no memory regions".into());
        }
        if let Some(x) = &self.xip_buffer {
            if !self.regions.iter().any(|r| r.name == x.region) {
                return Err(format!("xip_buffer.region = \"{}\" is not a region of this board", x.region));
            }
        }
        match (self.fpu.as_deref(), self.core) {
            (None | Some("sp"), _) | (Some("dp"), CoreKind::M7) => {}
            (Some("dp"), c) => return Err(format!("fpu = \"dp\": the Cortex-{} has a single-precision FPU only", c.name().to_uppercase())),
            (Some(other), _) => return Err(format!("fpu = \"{other}\": use \"sp\" or \"dp\"")),
        }
        if !(2..=8).contains(&self.nvic_prio_bits) {
            return Err(format!("nvic_prio_bits = {} is outside 2..=8 (Armv7-M/Armv8-M Mainline)", self.nvic_prio_bits));
        }
        if self.irq_lines > 480 {
            return Err(format!("irq_lines = {} is more than the 480 the NVIC architecture allows", self.irq_lines));
        }
        for r in &self.regions {
            let what = format!("region '{}' ({:#010x}, size {:#x})", r.name, r.base, r.size);
            if r.size == 0 {
                return Err(format!("{what} has size 0"));
            }
            if r.end() > 1u64 << 32 {
                return Err(format!("{what} extends past the 4 GiB address space"));
            }
            if r.base % PAGE != 0 || r.size % PAGE != 0 {
                return Err(format!("{what}: base and size must be multiples of {PAGE:#x} bytes"));
            }
            if r.kind.is_memory() && r.size as u64 > MAX_REGION_BYTES {
                return Err(format!("{what} is larger than the 1 GiB simbench backs with memory"));
            }
            if (r.base as u64) < PPB_BASE as u64 + PPB_SIZE as u64 && r.end() > PPB_BASE as u64 {
                return Err(format!("{what} overlaps the Private Peripheral Bus (0xE0000000–0xE00FFFFF), which simbench models"));
            }
            if r.read_wait > 1000 || r.write_wait > 1000 {
                return Err(format!("{what}: wait states above 1000 are not plausible"));
            }
            if r.fetch_line_bytes == 0 || !r.fetch_line_bytes.is_power_of_two() || r.fetch_line_bytes > 256 {
                return Err(format!("{what}: fetch_line_bytes must be a power of two from 1 to 256"));
            }
        }
        for reg in &self.registers {
            let inside = self.regions.iter().any(|r| r.kind == RegionKind::Peripheral && r.contains_range(reg.address, 4));
            if !inside || reg.address % 4 != 0 {
                return Err(format!("register '{}' at {:#010x} must be word-aligned inside a region of kind \"peripheral\"", reg.name, reg.address));
            }
            if let Some([from, to, width]) = reg.mirror {
                if from.max(to) + width > 32 || width == 0 {
                    return Err(format!("register '{}': mirror fields must lie within 32 bits", reg.name));
                }
            }
            for e in &reg.effects {
                if let RegisterEffect::FlashWaitStates { region, .. } | RegisterEffect::XipClockDivider { region, .. } = e {
                    if !self.regions.iter().any(|r| &r.name == region && r.kind.is_memory()) {
                        return Err(format!("register '{}': effect names region '{region}', which is not a memory region of this board", reg.name));
                    }
                }
                let (shift, width) = e.field();
                if width == 0 || shift + width > 32 {
                    return Err(format!("register '{}': effect field (shift {shift}, width {width}) must lie within 32 bits", reg.name));
                }
            }
        }
        if self.registers.iter().enumerate().any(|(i, a)| self.registers[..i].iter().any(|b| b.address == a.address)) {
            return Err("two [[registers]] share an address".into());
        }
        for (what, c) in [("icache", &self.icache), ("dcache", &self.dcache)] {
            if let Some(c) = c {
                // ways × line_bytes in u32 overflowed for absurd ways (found while fuzzing,
                // tests/fuzz_regressions.rs): a set larger than the cache is invalid anyway.
                let set_bytes = c.ways.checked_mul(c.line_bytes).filter(|&b| b > 0 && b <= c.size_bytes);
                let ok = c.line_bytes.is_power_of_two()
                    && (4..=256).contains(&c.line_bytes)
                    && set_bytes.is_some_and(|b| c.size_bytes % b == 0 && (c.size_bytes / b).is_power_of_two())
                    && c.size_bytes <= 1 << 20;
                if !ok {
                    return Err(format!(
                        "[{what}]: size_bytes must be ways × line_bytes × a power-of-two number of sets (≤ 1 MiB), line_bytes a power of two from 4 to 256"
                    ));
                }
            }
        }
        if let Some(a) = &self.accelerator {
            if !a.line_bytes.is_power_of_two() || !(4..=256).contains(&a.line_bytes) || a.instruction_lines > 4096 || a.data_lines > 4096 {
                return Err("[accelerator]: line_bytes must be a power of two from 4 to 256 and at most 4096 lines".into());
            }
            let w = a.word_bytes();
            if !w.is_power_of_two() || w < 4 || w > a.line_bytes || a.line_bytes / w > 32 {
                return Err("[accelerator]: word_bytes must be a power of two from 4 to line_bytes, at most 32 words per line".into());
            }
        }
        let mut sorted: Vec<&Region> = self.regions.iter().collect();
        sorted.sort_by_key(|r| r.base);
        for w in sorted.windows(2) {
            if w[0].end() > w[1].base as u64 {
                return Err(format!("regions '{}' and '{}' overlap", w[0].name, w[1].name));
            }
        }
        self.validate_ranges()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_parses_and_validates() {
        for (name, text) in PRESETS {
            let b = Board::from_toml(text).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(&b.name, name);
        }
        assert_eq!(Board::generic(CoreKind::M7).core, CoreKind::M7);
        assert_eq!(Board::preset("lpc55s69").unwrap().core, CoreKind::M33);
        assert_eq!(Board::preset("mimxrt1011").unwrap().clock_mhz, 500.0);
    }

    #[test]
    fn stm32_presets_start_as_their_enable_registers_say() {
        // The memory model starts with the ART fully on and a SoC cache off unless
        // `enabled_at_reset`; the registers' reset values must say the same.
        let l4 = Board::preset("stm32l4r5").unwrap();
        let acr = l4.registers.iter().find(|r| r.name == "FLASH_ACR").unwrap();
        let parts: Vec<(u32, AcceleratorPart)> = acr
            .effects
            .iter()
            .filter_map(|e| match e {
                RegisterEffect::AcceleratorEnable { mask, part } => Some((*mask, *part)),
                _ => None,
            })
            .collect();
        assert_eq!(parts, vec![(0x100, AcceleratorPart::Prefetch), (0x200, AcceleratorPart::InstructionCache), (0x400, AcceleratorPart::DataCache)]);
        assert_eq!(acr.reset & 0x70F, 0x705, "PRFTEN, ICEN, DCEN on, 5 wait states");
        let a = l4.accelerator.as_ref().unwrap();
        assert_eq!((a.line_bytes, a.word_bytes(), a.instruction_lines, a.data_lines, a.cache_prefetched), (32, 8, 32, 8, false));
        let l5 = Board::preset("stm32l552").unwrap();
        let ic = l5.icache.as_ref().unwrap();
        assert!(ic.is_soc() && !ic.enabled_at_reset && ic.data_reads);
        for r in l5.registers.iter().filter(|r| r.name.starts_with("ICACHE_CR")) {
            assert_eq!(r.reset & 1, 0, "{}: EN = 0 at reset (RM0438)", r.name);
        }
    }

    #[test]
    fn rejects_bad_accelerator_words_and_parts_with_a_message() {
        let base = "name='x'\ncore='m4'\nclock_mhz=100\n[[regions]]\nname='flash'\nbase=0x08000000\nsize=0x10000\nkind='flash'\n";
        let acc = |extra: &str| format!("{base}[accelerator]\nline_bytes=32\ninstruction_lines=4\n{extra}\n");
        assert!(Board::from_toml(&acc("word_bytes=8")).is_ok());
        for bad in ["word_bytes=64", "word_bytes=6", "word_bytes=0"] {
            assert!(Board::from_toml(&acc(bad)).unwrap_err().contains("word_bytes must be a power of two"), "{bad}");
        }
        let reg = "[[regions]]\nname='p'\nbase=0x40000000\nsize=0x1000\nkind='peripheral'\n[[registers]]\nname='ACR'\naddress=0x40000000\n";
        let part = |p: &str| format!("{base}{reg}effects=[{{ kind = 'accelerator-enable', mask = 0x100, part = '{p}' }}]\n");
        assert!(Board::from_toml(&part("prefetch")).is_ok());
        assert!(Board::from_toml(&part("branch-cache")).unwrap_err().contains("unknown variant `branch-cache`"));
    }

    #[test]
    fn generic_boards_have_the_documented_map() {
        for core in CoreKind::ALL {
            let b = Board::generic(core);
            let code = b.region_of(0).unwrap().1;
            let sram = b.region_of(0x2000_0000).unwrap().1;
            assert_eq!((code.size, sram.size), (4 << 20, 4 << 20));
            assert_eq!((code.read_wait, sram.read_wait, sram.write_wait), (0, 0, 0));
        }
    }

    #[test]
    fn rejects_overlaps_ppb_and_bad_values() {
        let base = "name='x'\ncore='m4'\nclock_mhz=100\n";
        let region = |b: &str, s: &str| format!("[[regions]]\nname='r{b}'\nbase={b}\nsize={s}\nkind='sram'\n");
        let overlap = format!("{base}{}{}", region("0x0", "0x2000"), region("0x1000", "0x1000"));
        assert!(Board::from_toml(&overlap).unwrap_err().contains("overlap"));
        let ppb = format!("{base}{}", region("0xE0000000", "0x1000"));
        assert!(Board::from_toml(&ppb).unwrap_err().contains("Private Peripheral Bus"));
        let odd = format!("{base}{}", region("0x10", "0x1000"));
        assert!(Board::from_toml(&odd).unwrap_err().contains("multiples"));
        let huge = format!("{base}{}", region("0x0", "0x80000000"));
        assert!(Board::from_toml(&huge).unwrap_err().contains("1 GiB"));
        assert!(Board::from_toml("name='x'\ncore='m99'\nclock_mhz=1\nregions=[]").is_err());
        assert!(Board::from_toml(base).is_err());
    }

    #[test]
    fn fetch_wait_counts_lines_touched() {
        let r = Region {
            name: "flash".into(),
            base: 0,
            size: 0x1000,
            kind: RegionKind::Flash,
            read_wait: 3,
            write_wait: 0,
            fetch_line_bytes: 16,
            cacheable: false,
            line_fill_cycles: 0,
        };
        // 0x0E..0x22 touches lines 0x00, 0x10, 0x20: 3 lines × 3 wait states.
        assert_eq!(r.fetch_wait(0x0E, 0x22), 9);
        assert_eq!(r.fetch_wait(0x10, 0x20), 3);
    }
}
