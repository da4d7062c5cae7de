//! A floor for issue 18 on stock unicorn: the pages of the hooked regions that hold no
//! executed code mapped as MMIO instead of hooked. An MMIO page takes unicorn's slow path
//! alone (`TLB_MMIO`); its callback runs from `io_readx`/`io_writex` without
//! `cpu_restore_state`, and with no memory hook every other access keeps the TLB fast
//! path. Code pages cannot be MMIO (unicorn does not fetch from them), so data accesses to
//! them (literal pools, constants among code) would go unseen. See docs/speed.md.

use simbench_cores::Board;
use std::cell::RefCell;
use std::collections::HashSet;
use std::rc::Rc;
use unicorn_engine::Unicorn;

const PAGE: u64 = 4096;

/// Replaces each run of code-free pages of `regions` by an MMIO mapping backed by a copy
/// of its bytes; the callbacks only read or write that copy (what the least a timing model
/// would do on top).
pub fn map_data_pages(uc: &mut Unicorn<()>, board: &Board, regions: &[usize], code_pages: &HashSet<u32>) {
    let is_code = |page: u64| code_pages.contains(&((page / PAGE) as u32));
    for &ri in regions {
        let region = &board.regions[ri];
        let (mut page, end) = (region.base as u64 & !(PAGE - 1), region.end());
        while page < end {
            if is_code(page) {
                page += PAGE;
                continue;
            }
            let start = page;
            while page < end && !is_code(page) {
                page += PAGE;
            }
            // The last run ends with the region (ARM targets map 1 KiB pages).
            let len = page.min(end) - start;
            let bytes = Rc::new(RefCell::new(uc.mem_read_as_vec(start, len as usize).unwrap()));
            uc.mem_unmap(start, len).unwrap();
            let (rd, wr) = (bytes.clone(), bytes);
            let read = move |_: &mut Unicorn<()>, off: u64, size: usize| {
                let m = rd.borrow();
                (0..size).fold(0u64, |v, i| v | (*m.get(off as usize + i).unwrap_or(&0) as u64) << (8 * i))
            };
            let write = move |_: &mut Unicorn<()>, off: u64, size: usize, value: u64| {
                let mut m = wr.borrow_mut();
                for i in 0..size {
                    if let Some(b) = m.get_mut(off as usize + i) {
                        *b = (value >> (8 * i)) as u8;
                    }
                }
            };
            uc.mmio_map(start, len, Some(read), Some(write)).unwrap();
        }
    }
}
