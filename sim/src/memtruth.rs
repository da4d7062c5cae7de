//! Memory truth: what the firmware occupies and actually uses.
//!
//! Flash and RAM by section come from the ELF's section headers and the board's regions.
//! Heap and tensor-arena use are measured the way embedded developers paint stacks:
//! when `main` is first entered, the heap and the arena are filled with a pattern; after
//! the run, the bytes that no longer hold it were written. (The stack is measured from SP
//! samples instead, see `machine/paint.rs`: firmware often paints its own stack.) TFLM allocates its arena from both ends, so arena use is the buffer minus its
//! largest untouched gap. (A written byte that happens to equal the pattern is missed;
//! at the edge of a gap that can hide a few bytes.)

use crate::image::Image;
use simbench_cores::board::Board;
use simbench_profiles::profile::{BufferUse, SectionUse};
use simbench_profiles::report::hex32;

/// The byte painted into unused memory.
pub const PAINT: u8 = 0xA5;

/// Symbols tried for the arena when `--arena` is not given: TFLM's usual name and the
/// AOT harness's activations buffer.
pub const ARENA_SYMBOLS: [&str; 4] = ["tensor_arena", "g_tensor_arena", "activations", "g_activations"];

/// A painted range.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Painted {
    pub name: String,
    pub addr: u32,
    pub size: u32,
}

/// What to paint at `main`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PaintPlan {
    /// Entry address of `main`.
    pub main: Option<u32>,
    /// Lowest address the stack may grow to.
    pub stack_limit: Option<u32>,
    pub heap: Option<Painted>,
    pub arena: Option<Painted>,
}

/// A data symbol by its plain or demangled name (C++ `static` arrays are `_ZL…`).
fn data_symbol<'a>(image: &'a Image, name: &str) -> Option<&'a crate::image::Symbol> {
    image.symbols.iter().find(|s| !s.is_func && (s.name == name || crate::profile::callstack::demangle(&s.name) == name))
}

/// Locate main, the stack limit, the heap and the arena (`arena`: a symbol or
/// `ADDR:SIZE`, both accepting 0x-hex).
pub fn plan(image: &Image, board: &Board, arena: Option<&str>) -> Result<PaintPlan, String> {
    let main = image.symbol("main").filter(|s| s.is_func).map(|s| s.addr);
    let stack_limit = image.first_symbol_addr(&["__stack_limit__", "__StackLimit"]);
    let heap = match (image.first_symbol_addr(&["__heap_start__", "__HeapBase"]), image.first_symbol_addr(&["__heap_end__", "__HeapLimit"])) {
        (Some(a), Some(b)) if b > a => Some(Painted { name: "heap".into(), addr: a, size: b - a }),
        _ => None,
    };
    let parse_num = |s: &str| -> Option<u32> {
        let s = s.trim();
        match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
            Some(h) => u32::from_str_radix(h, 16).ok(),
            None => s.parse().ok(),
        }
    };
    let arena = match arena {
        Some(spec) => match spec.split_once(':') {
            Some((a, n)) => {
                let (Some(addr), Some(size)) = (parse_num(a), parse_num(n)) else {
                    return Err(format!("--arena '{spec}': expected a symbol or ADDR:SIZE (e.g. 0x20001000:35328)"));
                };
                Some(Painted { name: spec.to_string(), addr, size })
            }
            None => {
                let s = data_symbol(image, spec).ok_or_else(|| format!("--arena '{spec}': no such data symbol in the ELF"))?;
                Some(Painted { name: spec.to_string(), addr: s.addr, size: s.size })
            }
        },
        None => {
            ARENA_SYMBOLS.iter().find_map(|n| data_symbol(image, n).filter(|s| s.size > 0).map(|s| Painted { name: n.to_string(), addr: s.addr, size: s.size }))
        }
    };
    if let Some(a) = &arena {
        let ok = board.regions.iter().any(|r| r.kind.writable() && r.contains_range(a.addr, a.size as u64));
        if a.size == 0 || !ok {
            return Err(format!("--arena {}: {:#010x}+{} is not inside a RAM region of board '{}'", a.name, a.addr, a.size, board.name));
        }
    }
    Ok(PaintPlan { main, stack_limit, heap, arena })
}

/// Bytes in use of a painted buffer: its size minus its longest run of paint.
pub fn used_bytes(bytes: &[u8]) -> u64 {
    let mut best = 0usize;
    let mut run = 0usize;
    for &b in bytes {
        if b == PAINT {
            run += 1;
            best = best.max(run);
        } else {
            run = 0;
        }
    }
    (bytes.len() - best) as u64
}

/// Heap bytes used: up to the highest byte that no longer holds paint.
pub fn heap_used(bytes: &[u8]) -> u64 {
    bytes.iter().rposition(|&b| b != PAINT).map_or(0, |i| i as u64 + 1)
}

/// Sections that occupy memory, classified by where they live.
pub fn sections(image: &Image, board: &Board) -> (Vec<SectionUse>, u64, u64) {
    let region_of = |a: u32| board.region_of(a).map(|(_, r)| r);
    let mut out = Vec::new();
    let (mut flash, mut ram) = (0u64, 0u64);
    for s in &image.sections {
        let Some(r) = region_of(s.addr) else { continue };
        let stored_in_flash = s.load_addr.is_some_and(|l| region_of(l).is_some_and(|lr| !lr.kind.writable()));
        let kind = if !r.kind.writable() {
            "flash"
        } else if stored_in_flash && !s.nobits {
            "both"
        } else {
            "ram"
        };
        match kind {
            "flash" => flash += s.size as u64,
            "ram" => ram += s.size as u64,
            _ => {
                flash += s.size as u64;
                ram += s.size as u64;
            }
        }
        out.push(SectionUse { name: s.name.clone(), address: hex32(s.addr), bytes: s.size as u64, region: r.name.clone(), kind: kind.into() });
    }
    (out, flash, ram)
}

/// Report entry for a measured buffer.
pub fn buffer_use(p: &Painted, used: u64) -> BufferUse {
    BufferUse { name: p.name.clone(), address: hex32(p.addr), size: p.size as u64, used_bytes: used }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arena_use_is_size_minus_the_largest_gap() {
        // Head 10 bytes written, a 70-byte untouched gap, tail 20 bytes written, with a
        // stray byte equal to the paint inside the head.
        let mut b = vec![PAINT; 100];
        b[..10].fill(1);
        b[80..].fill(1);
        b[3] = PAINT;
        assert_eq!(used_bytes(&b), 30);
        assert_eq!(used_bytes(&[PAINT; 8]), 0);
    }

    #[test]
    fn heap_use_reaches_the_highest_written_byte() {
        let mut b = vec![PAINT; 0x100];
        b[0x3F] = 0;
        assert_eq!(heap_used(&b), 0x40);
        assert_eq!(heap_used(&[PAINT; 4]), 0);
    }
}
