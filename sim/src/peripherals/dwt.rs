//! The DWT cycle counter and DEMCR's trace enable: CYCCNT counts *modelled* cycles while
//! DEMCR.TRCENA and DWT_CTRL.CYCCNTENA are both set (Armv7-M ARM C1.8.8, C1.6.5).

pub const DWT_CTRL: u32 = 0xE000_1000;
pub const DWT_CYCCNT: u32 = 0xE000_1004;
pub const DEMCR: u32 = 0xE000_EDFC;

pub(super) const DEMCR_TRCENA: u32 = 1 << 24;
const CYCCNTENA: u32 = 1;
/// DWT_CTRL reset value: NUMCOMP = 4 comparators in bits [31:28] (Cortex-M4/M7 TRMs).
const DWT_CTRL_RESET: u32 = 0x4000_0000;

#[derive(Clone, Debug)]
pub struct Dwt {
    demcr: u32,
    ctrl: u32,
    /// CYCCNT value when it last stopped or was written…
    held: u32,
    /// …and the modelled cycle at which it (re)started counting, when counting.
    since: Option<u64>,
}

impl Default for Dwt {
    fn default() -> Dwt {
        Dwt { demcr: 0, ctrl: DWT_CTRL_RESET, held: 0, since: None }
    }
}

impl Dwt {
    fn cyccnt(&self, now: u64) -> u32 {
        match self.since {
            Some(since) => self.held.wrapping_add(now.saturating_sub(since) as u32),
            None => self.held,
        }
    }

    fn update_enable(&mut self, now: u64) {
        let on = self.demcr & DEMCR_TRCENA != 0 && self.ctrl & CYCCNTENA != 0;
        match (on, self.since) {
            (true, None) => self.since = Some(now),
            (false, Some(_)) => {
                self.held = self.cyccnt(now);
                self.since = None;
            }
            _ => {}
        }
    }

    /// The register at `addr` at modelled cycle `now`, if it is one of the DWT's.
    pub fn read(&self, addr: u32, now: u64) -> Option<u32> {
        Some(match addr {
            DWT_CTRL => self.ctrl,
            DWT_CYCCNT => self.cyccnt(now),
            DEMCR => self.demcr,
            _ => return None,
        })
    }

    /// Write a DWT register; false when `addr` is not one.
    pub fn write(&mut self, addr: u32, value: u32, now: u64) -> bool {
        match addr {
            DWT_CTRL => {
                // NUMCOMP and other ID fields are read-only.
                self.ctrl = (DWT_CTRL_RESET & 0xF000_0000) | (value & 0x0FFF_FFFF);
                self.update_enable(now);
            }
            DWT_CYCCNT => {
                self.held = value;
                if self.since.is_some() {
                    self.since = Some(now);
                }
            }
            DEMCR => {
                self.demcr = value;
                self.update_enable(now);
            }
            _ => return false,
        }
        true
    }
}
