//! SysTick: a 24-bit down-counter clocked by the core clock, counting *modelled* cycles
//! (Armv7-M ARM B3.3). Its value is computed from an anchor, not ticked, so reads at any
//! cycle agree with the report.

pub const SYST_CSR: u32 = 0xE000_E010;
pub const SYST_RVR: u32 = 0xE000_E014;
pub const SYST_CVR: u32 = 0xE000_E018;
pub const SYST_CALIB: u32 = 0xE000_E01C;

#[derive(Clone, Debug, Default)]
pub struct SysTick {
    clock_hz: f64,
    csr: u32,
    rvr: u32,
    /// (modelled cycle, current value then) when SysTick was enabled or last written.
    anchor: (u64, u32),
    /// Cycle up to which COUNTFLAG has been reported (reads clear it).
    flag_checked: u64,
}

impl SysTick {
    pub fn new(clock_hz: f64) -> SysTick {
        SysTick { clock_hz, ..SysTick::default() }
    }

    fn enabled(&self) -> bool {
        self.csr & 1 != 0
    }

    /// The modelled cycle, after `after`, at which SysTick next counts to 0 with its
    /// interrupt enabled (CSR.ENABLE and CSR.TICKINT), if it does.
    pub fn interrupt_after(&self, after: u64) -> Option<u64> {
        if self.csr & 0b10 == 0 {
            return None; // TICKINT clear
        }
        let (first, period) = self.zeros()?;
        if first > after {
            return Some(first);
        }
        Some(first + ((after - first) / period + 1) * period)
    }

    /// Current value: counts down once per (modelled) cycle from the anchor value and
    /// reloads RVR on the cycle after reaching 0.
    fn value_at(&self, now: u64) -> u32 {
        let (t0, v0) = self.anchor;
        let elapsed = now.saturating_sub(t0);
        if !self.enabled() {
            return v0;
        }
        if elapsed <= v0 as u64 {
            return v0 - elapsed as u32;
        }
        let period = self.rvr as u64 + 1;
        self.rvr - ((elapsed - v0 as u64 - 1) % period) as u32
    }

    /// Cycle at which the counter most recently reached 0 (the event that sets
    /// COUNTFLAG), if it did after the anchor.
    fn last_zero(&self, now: u64) -> Option<u64> {
        let (first, period) = self.zeros()?;
        (now >= first).then(|| first + (now - first) / period * period)
    }

    /// When an enabled SysTick first counts to 0 after its anchor, and its period: from
    /// the anchor value v0 it reaches 0 after v0 cycles (or, starting at 0, after the
    /// reload: one full period), then once per period.
    fn zeros(&self) -> Option<(u64, u64)> {
        if !self.enabled() {
            return None;
        }
        let (t0, v0) = self.anchor;
        let period = self.rvr as u64 + 1;
        Some((t0 + if v0 > 0 { v0 as u64 } else { period }, period))
    }

    /// The register at `addr` at modelled cycle `now`, if it is one of SysTick's (reading
    /// CSR clears COUNTFLAG).
    pub fn read(&mut self, addr: u32, now: u64) -> Option<u32> {
        Some(match addr {
            SYST_CSR => {
                let flag = match self.last_zero(now) {
                    Some(w) if w > self.flag_checked => 1 << 16,
                    _ => 0,
                };
                self.flag_checked = now;
                self.csr | flag
            }
            SYST_RVR => self.rvr,
            SYST_CVR => self.value_at(now),
            // NOREF = 1, TENMS = cycles in 10 ms at the board clock (24 bits).
            SYST_CALIB => (1 << 31) | (((self.clock_hz / 100.0) as u32).saturating_sub(1) & 0x00FF_FFFF),
            _ => return None,
        })
    }

    /// Write a SysTick register: None when `addr` is not one, else whether the next
    /// interrupt time may have changed.
    pub fn write(&mut self, addr: u32, value: u32, now: u64) -> Option<bool> {
        match addr {
            SYST_CSR => {
                let current = self.value_at(now);
                let was_enabled = self.enabled();
                self.csr = value & 0x7;
                if !was_enabled || !self.enabled() {
                    self.anchor = (now, current);
                }
            }
            SYST_RVR => self.rvr = value & 0x00FF_FFFF,
            SYST_CVR => {
                // Any write clears the counter to 0 and clears COUNTFLAG.
                self.anchor = (now, 0);
                self.flag_checked = now;
            }
            SYST_CALIB => return Some(false),
            _ => return None,
        }
        Some(true)
    }
}
