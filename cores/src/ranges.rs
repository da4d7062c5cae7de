//! Ranges on a board's assumptions: the low/high a preset gives a value it could not
//! take from a manual (`[ranges]` in the board TOML), and the two corner boards that
//! re-time a run with every assumption at its optimistic or its pessimistic end.
//!
//! A range is keyed by the value's path, `"regions.flash.read_wait" = [9, 15]`. Each
//! rangeable field knows which way it moves cycles: a latency costs more when higher, a
//! capacity (buffer lines, cache size) costs less. The optimistic corner takes every
//! latency at its low and every capacity at its high end; the pessimistic corner the
//! opposite.

use crate::board::Board;

/// Which end of every range a corner board takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Corner {
    /// Fewest cycles: latencies low, capacities high.
    Optimistic,
    /// Most cycles: latencies high, capacities low.
    Pessimistic,
}

/// How a rangeable value moves the cycle count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// More is slower (wait states, line fill cycles).
    Latency,
    /// More is faster (buffer lines, buffer bytes, cache size).
    Capacity,
}

/// One ranged value of a board, for reports and `simbench boards`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Assumption {
    /// `regions.flash.read_wait`, `accelerator.instruction_lines`, …
    pub path: String,
    /// The preset's value (the point estimate uses it).
    pub value: u32,
    pub low: u32,
    pub high: u32,
    /// `latency` (higher is slower) or `capacity` (higher is faster).
    pub kind: String,
}

/// The fields a range may name, and the board field each one is. `None` when the path
/// names no rangeable field of this board.
fn slot<'a>(board: &'a mut Board, path: &str) -> Option<(&'a mut u32, Direction)> {
    use Direction::*;
    let parts: Vec<&str> = path.split('.').collect();
    match parts.as_slice() {
        ["regions", name, field] => {
            let r = board.regions.iter_mut().find(|r| r.name == *name)?;
            match *field {
                "read_wait" => Some((&mut r.read_wait, Latency)),
                "write_wait" => Some((&mut r.write_wait, Latency)),
                "line_fill_cycles" => Some((&mut r.line_fill_cycles, Latency)),
                _ => None,
            }
        }
        ["accelerator", field] => {
            let a = board.accelerator.as_mut()?;
            match *field {
                "instruction_lines" => Some((&mut a.instruction_lines, Capacity)),
                "data_lines" => Some((&mut a.data_lines, Capacity)),
                _ => None,
            }
        }
        ["xip_buffer", field] => {
            let x = board.xip_buffer.as_mut()?;
            match *field {
                "buffer_bytes" => Some((&mut x.buffer_bytes, Capacity)),
                "line_cycles" => Some((&mut x.line_cycles, Latency)),
                "hit_cycles" => Some((&mut x.hit_cycles, Latency)),
                _ => None,
            }
        }
        ["icache", "size_bytes"] => Some((&mut board.icache.as_mut()?.size_bytes, Capacity)),
        ["dcache", "size_bytes"] => Some((&mut board.dcache.as_mut()?.size_bytes, Capacity)),
        _ => None,
    }
}

/// What the `[ranges]` table accepts, for error messages.
pub const RANGEABLE: &str = "regions.NAME.read_wait, regions.NAME.write_wait, regions.NAME.line_fill_cycles, \
accelerator.instruction_lines, accelerator.data_lines, xip_buffer.buffer_bytes, xip_buffer.line_cycles, \
xip_buffer.hit_cycles, icache.size_bytes, dcache.size_bytes";

impl Board {
    /// Whether any value carries a range (a run on this board is re-timed twice).
    pub fn has_ranges(&self) -> bool {
        !self.ranges.is_empty()
    }

    /// Every ranged value with the preset's value, in path order.
    pub fn assumptions(&self) -> Vec<Assumption> {
        let mut b = self.clone();
        self.ranges
            .iter()
            .filter_map(|(path, &[low, high])| {
                let (v, dir) = slot(&mut b, path)?;
                let kind = if dir == Direction::Latency { "latency" } else { "capacity" };
                Some(Assumption { path: path.clone(), value: *v, low, high, kind: kind.into() })
            })
            .collect()
    }

    /// The board with every ranged value at `corner`'s end, and no ranges.
    pub fn corner(&self, corner: Corner) -> Board {
        let mut b = self.clone();
        for (path, &[low, high]) in &self.ranges {
            if let Some((v, dir)) = slot(&mut b, path) {
                *v = match (corner, dir) {
                    (Corner::Optimistic, Direction::Latency) | (Corner::Pessimistic, Direction::Capacity) => low,
                    _ => high,
                };
            }
        }
        b.ranges.clear();
        b
    }

    /// Each range names a rangeable field, holds low ≤ value ≤ high, and both corner
    /// boards are valid boards (cache geometry, wait-state limits).
    pub(crate) fn validate_ranges(&self) -> Result<(), String> {
        let mut b = self.clone();
        for (path, &[low, high]) in &self.ranges {
            let Some((v, _)) = slot(&mut b, path) else {
                return Err(format!("[ranges] \"{path}\" names no rangeable value of this board (rangeable: {RANGEABLE})"));
            };
            if low > high {
                return Err(format!("[ranges] \"{path}\" = [{low}, {high}]: low is above high"));
            }
            if !(low..=high).contains(v) {
                return Err(format!("[ranges] \"{path}\" = [{low}, {high}] does not contain the board's value {v}"));
            }
            if path.ends_with(".line_fill_cycles") && *v == 0 {
                return Err(format!("[ranges] \"{path}\": line_fill_cycles is 0 (it follows read_wait); set it explicitly to give it a range"));
            }
        }
        if self.has_ranges() {
            for (corner, name) in [(Corner::Optimistic, "low"), (Corner::Pessimistic, "high")] {
                self.corner(corner).validate().map_err(|e| format!("[ranges]: the board at the {name}-cycle end of its ranges is invalid: {e}"))?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "name='x'\ncore='m7'\nclock_mhz=100\n\
        [icache]\nsize_bytes=16384\nways=2\nline_bytes=32\n\
        [[regions]]\nname='flash'\nbase=0\nsize=0x10000\nkind='flash'\nread_wait=5\nline_fill_cycles=20\n\
        [accelerator]\nline_bytes=16\ninstruction_lines=2\n";

    fn board(ranges: &str) -> Result<Board, String> {
        Board::from_toml(&format!("{BASE}[ranges]\n{ranges}"))
    }

    #[test]
    fn corners_take_each_end_by_direction() {
        let b = board("'regions.flash.read_wait' = [4, 7]\n'accelerator.instruction_lines' = [1, 4]\n'icache.size_bytes' = [8192, 32768]").unwrap();
        let fast = b.corner(Corner::Optimistic);
        let slow = b.corner(Corner::Pessimistic);
        assert_eq!((fast.regions[0].read_wait, fast.accelerator.as_ref().unwrap().instruction_lines, fast.icache.as_ref().unwrap().size_bytes), (4, 4, 32768));
        assert_eq!((slow.regions[0].read_wait, slow.accelerator.as_ref().unwrap().instruction_lines, slow.icache.as_ref().unwrap().size_bytes), (7, 1, 8192));
        assert!(!fast.has_ranges() && !slow.has_ranges() && b.has_ranges());
        let a = b.assumptions();
        assert_eq!(
            a.iter().map(|a| (a.path.as_str(), a.value, a.kind.as_str())).collect::<Vec<_>>(),
            [("accelerator.instruction_lines", 2, "capacity"), ("icache.size_bytes", 16384, "capacity"), ("regions.flash.read_wait", 5, "latency")]
        );
    }

    #[test]
    fn bad_ranges_are_board_errors() {
        assert!(board("'regions.flash.read_wait' = [6, 7]").unwrap_err().contains("does not contain the board's value 5"));
        assert!(board("'regions.flash.read_wait' = [7, 4]").unwrap_err().contains("low is above high"));
        assert!(board("'regions.ram.read_wait' = [1, 7]").unwrap_err().contains("names no rangeable value"));
        assert!(board("'regions.flash.size' = [1, 7]").unwrap_err().contains("names no rangeable value"));
        assert!(board("'dcache.size_bytes' = [1, 70000]").unwrap_err().contains("names no rangeable value"));
        // A corner that breaks the cache geometry (12 KiB is not 2 × 32 × a power of two).
        assert!(board("'icache.size_bytes' = [12288, 16384]").unwrap_err().contains("high-cycle end"));
        assert!(board("'regions.flash.read_wait' = [0, 5000]").unwrap_err().contains("1000"));
        assert!(board("'regions.flash.read_wait' = [4]").is_err());
        assert!(board("'regions.flash.read_wait' = [5, 5]").is_ok());
    }

    #[test]
    fn every_preset_range_holds_its_value() {
        for (name, _) in crate::board::PRESETS {
            let b = Board::preset(name).unwrap();
            for a in b.assumptions() {
                assert!(a.low <= a.value && a.value <= a.high, "{name} {a:?}");
            }
            assert_eq!(b.assumptions().len(), b.ranges.len(), "{name}: every range names a value");
        }
    }
}
