//! Semihosting: `semihost::handle` for a sequence of calls against a fake guest memory
//! (a window of bytes at a fuzzed base address, out-of-range accesses refused), with the
//! modelled time and clock also taken from the input.
//!
//! Input: base (4), cycles (8), clock_hz bits (8), ncalls (1), then ncalls × (op 1, r1 4),
//! and the rest is guest memory.
#![no_main]

use libfuzzer_sys::fuzz_target;
use simbench_sim::semihosting::{handle, Action, Context, GuestMemory};

struct Window {
    base: u32,
    bytes: Vec<u8>,
}

impl Window {
    fn range(&self, addr: u32, len: usize) -> Option<std::ops::Range<usize>> {
        let off = addr.checked_sub(self.base)? as usize;
        let end = off.checked_add(len)?;
        (end <= self.bytes.len()).then_some(off..end)
    }
}

impl GuestMemory for Window {
    fn read(&self, addr: u32, len: usize) -> Option<Vec<u8>> {
        self.range(addr, len).map(|r| self.bytes[r].to_vec())
    }
    fn write(&mut self, addr: u32, bytes: &[u8]) -> bool {
        match self.range(addr, bytes.len()) {
            Some(r) => {
                self.bytes[r].copy_from_slice(bytes);
                true
            }
            None => false,
        }
    }
}

/// Operations worth hitting: every implemented call, a few unimplemented, one unknown.
const OPS: [u32; 16] = [0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x10, 0x11, 0x13, 0x16, 0x18, 0x20, 0x30, 0x31, 0x15, 0x99];

fn u32_at(d: &[u8], i: usize) -> u32 {
    u32::from_le_bytes(d[i..i + 4].try_into().unwrap())
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 21 {
        return;
    }
    let base = u32_at(data, 0);
    let cycles = u64::from_le_bytes(data[4..12].try_into().unwrap());
    let clock_hz = f64::from_bits(u64::from_le_bytes(data[12..20].try_into().unwrap()));
    let ncalls = (data[20] % 8) as usize;
    let calls_end = 21 + ncalls * 5;
    if data.len() < calls_end {
        return;
    }
    let mut mem = Window { base, bytes: data[calls_end..].to_vec() };
    let ctx = Context { cycles, clock_hz, heap_info: [base, base.wrapping_add(16), 0x2000_0000, 0x2000_1000] };
    for c in data[21..calls_end].chunks_exact(5) {
        let op = if c[0] & 0x80 != 0 { c[0] as u32 & 0x7F } else { OPS[(c[0] & 15) as usize] };
        // Half the calls point r1 into (or just past) the window, the rest anywhere.
        let raw = u32_at(c, 1);
        let r1 = if c[0] & 0x40 != 0 { base.wrapping_add(raw % (mem.bytes.len() as u32 + 8)) } else { raw };
        match handle(op, r1, &mut mem, &ctx) {
            Action::Output { fd, bytes, .. } => {
                assert!(fd == 1 || fd == 2);
                assert!(bytes.len() <= 1 << 20);
            }
            Action::BadArgs(msg) => assert!(!msg.is_empty()),
            _ => {}
        }
    }
});
