//! `--place SYMBOL=REGION`: time a symbol's address range as if the linker had put it in
//! another region of the board, without moving its bytes (execution is unchanged; only
//! the wait states, caches and accelerator it meets change).

use crate::error::SimError;
use crate::image::Image;
use simbench_cores::board::Board;

/// A placement as the user wrote it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlaceSpec {
    pub symbol: String,
    pub region: String,
}

impl PlaceSpec {
    /// `SYMBOL=REGION`.
    pub fn parse(s: &str) -> Result<PlaceSpec, String> {
        match s.rsplit_once('=') {
            Some((sym, reg)) if !sym.trim().is_empty() && !reg.trim().is_empty() => Ok(PlaceSpec { symbol: sym.trim().into(), region: reg.trim().into() }),
            _ => Err(format!("--place '{s}': expected SYMBOL=REGION, e.g. --place g_model=sram")),
        }
    }
}

/// A placement resolved against the image and the board: `[start, end)` is timed as
/// region `to`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Placed {
    pub symbol: String,
    pub start: u32,
    pub end: u32,
    pub from: String,
    pub to: usize,
}

/// Bytes of `region` the image already occupies: its sections there (run-time
/// addresses) plus the load images of initialised data kept there.
pub fn used_bytes(image: &Image, board: &Board, region: usize) -> u64 {
    let r = &board.regions[region];
    image
        .sections
        .iter()
        .map(|s| {
            let at = |a: u32| r.contains(a) as u64 * s.size as u64;
            at(s.addr) + s.load_addr.filter(|&l| l != s.addr).map_or(0, at)
        })
        .sum()
}

/// The address range of a symbol (data or function, plain or demangled name) or of a
/// section (a name starting with '.').
fn range_of(image: &Image, name: &str) -> Option<(u32, u32)> {
    if name.starts_with('.') {
        if let Some(s) = image.sections.iter().find(|s| s.name == name) {
            return Some((s.addr, s.addr + s.size));
        }
    }
    let sym = image.sized_symbol(name)?;
    Some((sym.addr, sym.addr + sym.size))
}

/// Check and resolve the placements: each symbol must exist with a size, the region must
/// be a memory region of the board other than the symbol's own, and it must have room
/// for the symbol beside what the image and earlier placements already put there.
pub fn resolve(image: &Image, board: &Board, specs: &[PlaceSpec]) -> Result<Vec<Placed>, SimError> {
    let mut out: Vec<Placed> = Vec::new();
    let mut added = vec![0u64; board.regions.len()];
    for p in specs {
        let (start, end) = range_of(image, &p.symbol).ok_or_else(|| {
            SimError::Usage(format!("--place {}={}: no symbol or section '{}' with a size in the ELF (see arm-none-eabi-nm -S)", p.symbol, p.region, p.symbol))
        })?;
        let names = || board.regions.iter().filter(|r| r.kind.is_memory()).map(|r| r.name.as_str()).collect::<Vec<_>>().join(", ");
        let to = board.regions.iter().position(|r| r.name == p.region && r.kind.is_memory()).ok_or_else(|| {
            SimError::Usage(format!("--place {}={}: board '{}' has no memory region '{}' (it has: {})", p.symbol, p.region, board.name, p.region, names()))
        })?;
        let from = board.region_of(start).map(|(_, r)| r.name.clone()).unwrap_or_else(|| "unmapped".into());
        if from == p.region {
            return Err(SimError::Usage(format!("--place {}={}: '{}' already lives in '{}'", p.symbol, p.region, p.symbol, p.region)));
        }
        if let Some(o) = out.iter().find(|o| start < o.end && o.start < end) {
            return Err(SimError::Usage(format!("--place {}: overlaps the placement of '{}'", p.symbol, o.symbol)));
        }
        let size = (end - start) as u64;
        let r = &board.regions[to];
        let free = (r.size as u64).saturating_sub(used_bytes(image, board, to) + added[to]);
        if size > free {
            return Err(SimError::Usage(format!(
                "--place {}={}: '{}' needs {size} bytes, '{}' has {free} free ({} bytes, {} used by the image{})",
                p.symbol,
                p.region,
                p.symbol,
                p.region,
                r.size,
                used_bytes(image, board, to),
                if added[to] > 0 { format!(", {} by earlier placements", added[to]) } else { String::new() }
            )));
        }
        added[to] += size;
        out.push(Placed { symbol: p.symbol.clone(), start, end, from, to });
    }
    Ok(out)
}

/// The region whose timing `addr` gets: a placement's, else None (its own).
#[inline]
pub fn placed_region(placed: &[Placed], addr: u32) -> Option<usize> {
    placed.iter().find(|p| addr >= p.start && addr < p.end).map(|p| p.to)
}
