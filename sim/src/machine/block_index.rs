//! Block start address → block cache index, looked up on every block the firmware
//! enters. A hash map cost half of fast mode's per-block time (probing showed at the top
//! of `perf`), so this is a two-level table indexed directly by the address: 64 KiB
//! pages of Thumb halfword slots, allocated when a block first starts in that page.

/// Address bits covered by one page.
const PAGE_BITS: u32 = 16;
/// Thumb instructions start on halfwords: one slot per two bytes.
const SLOTS: usize = 1 << (PAGE_BITS - 1);

pub struct BlockIndex {
    /// One entry per 64 KiB of the 4 GiB address space; slots hold block index + 1
    /// (0: no block starts there).
    pages: Vec<Option<Box<[u32]>>>,
}

impl Default for BlockIndex {
    fn default() -> Self {
        BlockIndex { pages: vec![None; 1 << (32 - PAGE_BITS)] }
    }
}

impl BlockIndex {
    /// The block recorded as starting at `addr`, if any.
    #[inline]
    pub fn get(&self, addr: u32) -> Option<usize> {
        let page = self.pages[(addr >> PAGE_BITS) as usize].as_deref()?;
        let slot = page[((addr & ((1 << PAGE_BITS) - 1)) >> 1) as usize];
        slot.checked_sub(1).map(|i| i as usize)
    }

    /// Record `idx` as the block starting at `addr` (replacing a previous one there).
    pub fn insert(&mut self, addr: u32, idx: usize) {
        let page = self.pages[(addr >> PAGE_BITS) as usize].get_or_insert_with(|| vec![0; SLOTS].into_boxed_slice());
        page[((addr & ((1 << PAGE_BITS) - 1)) >> 1) as usize] = u32::try_from(idx + 1).unwrap_or(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_what_was_inserted_and_nothing_else() {
        let mut ix = BlockIndex::default();
        assert_eq!(ix.get(0x6000_2000), None);
        ix.insert(0x6000_2000, 0);
        ix.insert(0x6000_2002, 7);
        ix.insert(0xFFFF_FFFE, 3);
        assert_eq!(ix.get(0x6000_2000), Some(0));
        assert_eq!(ix.get(0x6000_2002), Some(7));
        assert_eq!(ix.get(0x6000_2004), None);
        assert_eq!(ix.get(0x6001_2000), None, "another page");
        assert_eq!(ix.get(0xFFFF_FFFE), Some(3));
        ix.insert(0x6000_2002, 9);
        assert_eq!(ix.get(0x6000_2002), Some(9), "a re-translated block replaces the old entry");
    }
}
