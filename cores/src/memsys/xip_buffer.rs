//! The read buffer of an XIP controller, streaming the lines after a miss.

use crate::board::XipBufferConfig;

/// An XIP controller's read buffer with sequential prefetch (i.MX RT FlexSPI AHB RX
/// buffer, [TR §6 i.MX RT1010 FlexSPI row]): a line fill that misses it pays the whole
/// serial read (command, address, dummy cycles, data: the region's line fill), after which
/// the controller keeps streaming the following lines into the buffer, one every
/// `line_cycles`, up to `window` lines ahead of the last one asked for. A fill of a
/// streamed line waits only until its data has arrived; one of a line still held
/// (behind the head, within the buffer) costs `hit_cycles`.
#[derive(Clone, Debug)]
pub(super) struct ReadStream {
    pub(super) region: usize,
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
    pub(super) fn new(c: &XipBufferConfig, region: usize, line_bytes: u32, fill: u32) -> ReadStream {
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
    pub(super) fn fill(&mut self, line: u32, t: Option<u64>, fill: u32) -> u32 {
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

    pub(super) fn rescale(&mut self, fill: u32) {
        self.line_cycles = (self.base_line_cycles as u64 * fill as u64 / self.base_fill as u64) as u32;
        self.hit_cycles = self.base_hit_cycles;
        self.state = None;
    }
}

#[cfg(test)]
mod tests {
    use crate::board::Board;
    use crate::memsys::{Fidelity, MemorySystem};

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
}
