//! The ITM stimulus ports (Armv7-M ARM C1.7): port 0 carries text, ports 1–31 markers.
//! Reads of a port return 1 (FIFO ready), so firmware never waits.

pub const ITM_STIM_BASE: u32 = 0xE000_0000;
/// Trace Enable Register: one bit per stimulus port.
pub const ITM_TER: u32 = 0xE000_0E00;
/// Trace Control Register; bit 0 ITMENA.
pub const ITM_TCR: u32 = 0xE000_0E80;
pub const ITM_TCR_ITMENA: u32 = 1;
pub const ITM_STIM_END: u32 = 0xE000_0080;

/// What a write to a stimulus port carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stimulus {
    /// Bytes written to port 0 (text).
    Text(Vec<u8>),
    /// A value written to port 1–31 (a marker).
    Marker { port: u8, value: u32 },
}

/// Whether `addr` is a stimulus port.
pub fn is_port(addr: u32) -> bool {
    (ITM_STIM_BASE..ITM_STIM_END).contains(&addr)
}

/// A write of `size` bytes of `value` to the port at `addr`.
pub fn stimulus(addr: u32, size: usize, value: u32) -> Stimulus {
    let port = ((addr - ITM_STIM_BASE) / 4) as u8;
    if port == 0 {
        Stimulus::Text(value.to_le_bytes()[..size.min(4)].to_vec())
    } else {
        Stimulus::Marker { port, value }
    }
}
