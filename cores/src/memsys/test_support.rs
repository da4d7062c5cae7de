//! Boards and loops shared by the memory-system tests.

use super::{Fidelity, MemorySystem};
use crate::board::Board;

pub(super) fn board(extra: &str, region: &str) -> Board {
    let text =
        format!("name='t'\ncore='m7'\nclock_mhz=100\n{extra}\n[[regions]]\n{region}\n[[regions]]\nname='ram'\nbase=0x20000000\nsize=0x10000\nkind='tcm'\n");
    Board::from_toml(&text).unwrap()
}

/// Fetch stalls of `passes` passes over a loop of `words` 64-bit flash words of four
/// 16-bit single-cycle instructions each at 0x0800_0000 (`core` cycles of work per
/// pass); returns the stalls of the last pass.
pub(super) fn loop_stalls(m: &mut MemorySystem, words: u32, core: u64, passes: u32) -> u32 {
    let addrs: Vec<u32> = (0..words * 4).map(|i| 0x0800_0000 + 2 * i).collect();
    let offsets: Vec<u32> = (0..words * 4).collect();
    let (mut t, mut last) = (0u64, 0);
    for _ in 0..passes {
        last = m.fetch(0, &addrs, 0x0800_0000 + 8 * words, &offsets, t);
        t += core + last as u64;
    }
    last
}

pub(super) fn l4r5() -> MemorySystem {
    MemorySystem::new(&Board::preset("stm32l4r5").unwrap(), Fidelity::Detailed)
}
