//! The MPU's access decisions: PMSAv7 (Cortex-M4/M7: RBAR/RASR with subregions and
//! TEX/C/B attributes, Armv7-M ARM B3.5) and PMSAv8 (Cortex-M33: RBAR/RLAR with MAIR
//! attributes, Armv8-M ARM). The registers are decoded in `scb`.

/// One MPU region as programmed: PMSAv7 (RBAR, RASR) or PMSAv8 (RBAR, RLAR).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MpuRegion {
    pub rbar: u32,
    pub rasr_or_rlar: u32,
}

/// Access rights of an address under the MPU (privileged access: simbench runs firmware
/// privileged).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MpuAccess {
    pub read: bool,
    pub write: bool,
    pub execute: bool,
    /// Normal memory with a cacheable policy (not Device, Strongly-ordered or Normal
    /// non-cacheable): the L1 caches may hold it.
    pub cacheable: bool,
}

#[derive(Clone, Debug)]
pub struct Mpu {
    pub v8: bool,
    pub ctrl: u32,
    pub(super) rnr: u32,
    pub regions: Vec<MpuRegion>,
    pub(super) mair: [u32; 2],
}

impl Mpu {
    pub fn enabled(&self) -> bool {
        self.ctrl & 1 != 0
    }

    /// PRIVDEFENA: the default memory map applies where no region matches.
    pub fn background(&self) -> bool {
        self.ctrl & 4 != 0
    }

    /// Rights for `addr` when the MPU is enabled: the highest-numbered matching enabled
    /// region decides (PMSAv7 B3.5.2; PMSAv8 forbids overlaps, so the rule agrees on valid
    /// programs). `None` when no region matches (background map or fault).
    pub fn access(&self, addr: u32) -> Option<MpuAccess> {
        for r in self.regions.iter().rev() {
            if self.v8 {
                let (base, limit) = (r.rbar & !0x1F, r.rasr_or_rlar | 0x1F);
                if r.rasr_or_rlar & 1 == 0 || addr < base || addr > limit {
                    continue;
                }
                let ap = (r.rbar >> 1) & 3; // AP[2:1]: bit 1 = read-only
                                            // MAIR attribute: outer nibble 0 is Device; 0x44 is Normal non-cacheable.
                let index = (r.rasr_or_rlar >> 1) & 7;
                let attr = (self.mair[(index / 4) as usize] >> (8 * (index % 4))) as u8;
                let cacheable = attr >> 4 != 0 && attr != 0x44;
                return Some(MpuAccess { read: true, write: ap & 2 == 0, execute: r.rbar & 1 == 0, cacheable });
            }
            let rasr = r.rasr_or_rlar;
            let size_field = (rasr >> 1) & 0x1F;
            if rasr & 1 == 0 || size_field < 4 {
                continue;
            }
            let size = 1u64 << (size_field + 1);
            let base = (r.rbar & !0x1F) as u64 & !(size - 1);
            if (addr as u64) < base || addr as u64 >= base + size {
                continue;
            }
            // Subregion disable: eight equal parts for regions of 256 bytes or more.
            if size >= 256 {
                let sub = ((addr as u64 - base) / (size / 8)) as u32;
                if (rasr >> 8) & (1 << sub) != 0 {
                    continue;
                }
            }
            let ap = (rasr >> 24) & 7;
            let (read, write) = match ap {
                0 => (false, false),
                1..=3 => (true, true),
                5..=7 => (true, false),
                _ => (false, false), // 0b100 is reserved
            };
            // TEX [21:19], C [17], B [16] (Armv7-M ARM B3.5.7): C set, or TEX = 1xx with a
            // non-zero cache policy, is cacheable; TEX = 001 with C = B = 0 is Normal
            // non-cacheable, TEX = 000 with C = 0 Strongly-ordered or Device.
            let (tex, c, b) = ((rasr >> 19) & 7, rasr & (1 << 17) != 0, rasr & (1 << 16) != 0);
            let cacheable = c || (tex & 4 != 0 && ((tex & 3) != 0 || b));
            return Some(MpuAccess { read, write, execute: read && rasr & (1 << 28) == 0, cacheable });
        }
        None
    }
}

impl Mpu {
    /// Address boundaries where an access decision may change: region bases and ends,
    /// and PMSAv7 subregion edges.
    fn boundaries(&self) -> Vec<u64> {
        let mut out = Vec::new();
        for r in &self.regions {
            if self.v8 {
                if r.rasr_or_rlar & 1 != 0 {
                    out.push((r.rbar & !0x1F) as u64);
                    out.push((r.rasr_or_rlar | 0x1F) as u64 + 1);
                }
                continue;
            }
            let size_field = (r.rasr_or_rlar >> 1) & 0x1F;
            if r.rasr_or_rlar & 1 == 0 || size_field < 4 {
                continue;
            }
            let size = 1u64 << (size_field + 1);
            let base = (r.rbar & !0x1F) as u64 & !(size - 1);
            let parts = if size >= 256 { 8 } else { 1 };
            out.extend((0..=parts).map(|i| base + i * size / parts));
        }
        out
    }

    /// The access decision over `[start, end)` as intervals, each with one decision
    /// (`None`: no region matches), for applying the MPU to page-based memory protection.
    pub fn intervals(&self, start: u64, end: u64) -> Vec<(u64, u64, Option<MpuAccess>)> {
        let mut cuts: Vec<u64> = self.boundaries().into_iter().filter(|&b| b > start && b < end).collect();
        cuts.push(start);
        cuts.push(end);
        cuts.sort_unstable();
        cuts.dedup();
        let mut out: Vec<(u64, u64, Option<MpuAccess>)> = Vec::new();
        for w in cuts.windows(2) {
            let decision = self.access(w[0] as u32);
            match out.last_mut() {
                Some(last) if last.2 == decision && last.1 == w[0] => last.1 = w[1],
                _ => out.push((w[0], w[1], decision)),
            }
        }
        out
    }
}
