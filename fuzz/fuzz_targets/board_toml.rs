//! Board TOML: `Board::from_toml` on arbitrary text; for boards that validate, the lookups
//! and the memory-system construction a run performs, at both fidelities, cache
//! maintenance, and (with the `sim` feature) the board's PPB (NVIC size, cache ID
//! registers) and vendor peripheral registers.
#![no_main]

use libfuzzer_sys::fuzz_target;
use simbench_cores::memsys::CacheMaintenance;
use simbench_cores::{Board, Fidelity, MemorySystem};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(board) = Board::from_toml(text) else { return };
    assert!(board.validate().is_ok(), "from_toml returned a board that does not validate");
    let _ = board.clock_hz();
    // Arbitrary register values for the set/way maintenance operation (firmware writes any).
    let tail = data.len().saturating_sub(4);
    let mut word = [0u8; 4];
    word[..data.len() - tail].copy_from_slice(&data[tail..]);
    let values = [0u32, u32::MAX, 0xC000_0FE0, u32::from_le_bytes(word)];
    let mut addrs = vec![0u32, u32::MAX];
    for r in &board.regions {
        let last = (r.end() - 1) as u32;
        addrs.extend([r.base, last, r.base.wrapping_sub(1), r.end() as u32]);
        let _ = r.contains_range(r.base, r.size as u64);
        let _ = r.contains_range(last, 2);
        // A block is at most a few dozen bytes: fetch the region's first 64.
        let _ = (r.needs_data_hook(), r.fill_cycles(), r.fetch_wait(r.base, r.base + r.size.min(64) - 1));
    }
    for &a in &addrs {
        let _ = board.region_of(a);
        let _ = board.stack_region(a);
    }
    for fidelity in [Fidelity::Fast, Fidelity::Detailed] {
        let mut m = MemorySystem::new(&board, fidelity);
        for (i, r) in board.regions.iter().enumerate() {
            let _ = (m.fetch_mode(i), m.needs_data_hook(i));
            let last = (r.end() - 1) as u32;
            for a in [r.base, last & !3, r.base.wrapping_add(r.size / 2)] {
                let _ = m.data(i, a, false);
                let _ = m.data(i, a, true);
            }
            if r.size >= 16 {
                let b = r.base;
                let _ = m.fetch(i, &[b, b + 2, b + 4, b + 8], b + 12, &[0, 1, 2, 3], 0);
                let _ = m.fetch(i, &[b, b + 2, b + 4, b + 8], b + 12, &[0, 1, 2, 3], 100);
            }
        }
        m.set_caches_enabled(true, true);
        m.set_accelerator_enabled(true);
        m.set_soc_cache_enabled(true);
        for (i, r) in board.regions.iter().enumerate() {
            let _ = (m.fetch_mode(i), m.data(i, r.base, false), m.data(i, r.base, true));
            m.maintain(CacheMaintenance::InvalidateICacheLine(r.base));
            m.maintain(CacheMaintenance::InvalidateDCacheLine(r.base));
            let _ = m.dcache_contains(r.base);
        }
        for v in values {
            m.maintain(CacheMaintenance::InvalidateDCacheSetWay(v));
        }
        m.maintain(CacheMaintenance::InvalidateICache);
        let _ = (m.icache_stats(), m.dcache_stats(), m.caches_enabled());
    }
    #[cfg(feature = "sim")]
    {
        use simbench_sim::peripherals::{nvic, scb as scs, vendor::Peripherals, Ppb};
        let mut p = Ppb::for_board(&board, 0);
        for a in [scs::CLIDR, scs::CTR, scs::CCSIDR, nvic::ICSR, 0xE000_E004, nvic::NVIC_IPR, nvic::NVIC_ISER + 0x3C] {
            let _ = p.read(a, 0);
        }
        let _ = p.write(scs::CSSELR, 4, 1, 0);
        let _ = p.read(scs::CCSIDR, 0);
        for v in values {
            let _ = p.write(0xE000_EF60, 4, v, 1); // DCISW
        }
        let mut regs = Peripherals::new(&board.registers);
        for r in board.registers.iter().take(64) {
            let _ = regs.register_name(r.address);
            let _ = regs.read(r.address, 4);
            for v in values {
                let _ = regs.write(r.address, 4, v);
                let _ = regs.read(r.address, 4);
            }
        }
    }
});
