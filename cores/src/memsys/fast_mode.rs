//! What fast fidelity leaves out on a board, in words for the report.

use crate::board::{Board, CacheConfig, RegionKind, RegisterEffect};

/// What `Fidelity::Fast` leaves out on `board`, in words a report can show next to the
/// cycles: accelerators and caches counted as always hitting (with what a miss costs in
/// `detailed`), the XIP read buffer, and the core's operand-dependent and predicted timing.
pub fn fast_mode_ignores(board: &Board) -> Vec<String> {
    let mut out = Vec::new();
    // Accelerator parts a vendor register switches: fast mode follows those switches.
    let switched = board.registers.iter().flat_map(|r| &r.effects).any(|e| matches!(e, RegisterEffect::AcceleratorEnable { .. }));
    if let Some(a) = &board.accelerator {
        for r in board.regions.iter().filter(|r| r.kind == RegionKind::Flash && r.read_wait > 0) {
            out.push(format!(
                "flash '{}': every fetch and data read counts as a hit in the accelerator ({} wait states per {}-byte {}{} in detailed mode){}",
                r.name,
                r.read_wait,
                a.word_bytes(),
                if a.word_bytes() < a.line_bytes { "flash word" } else { "line" },
                if a.prefetch { ", with prefetch" } else { "" },
                if switched {
                    "; fetches pay the wait states while the firmware keeps both prefetch and instruction cache off, data reads while the data cache is off"
                } else {
                    ""
                }
            ));
        }
    }
    let soc_only = board.icache.as_ref().is_none_or(CacheConfig::is_soc) && board.dcache.as_ref().is_none_or(CacheConfig::is_soc);
    if board.icache.is_some() || board.dcache.is_some() {
        for r in board.regions.iter().filter(|r| r.cacheable) {
            if soc_only {
                let data = board.icache.as_ref().is_some_and(|c| c.data_reads);
                out.push(format!(
                    "'{}' behind the SoC cache: every fetch{} hits while the firmware keeps the cache on (off, fast mode charges the wait states; a line fill costs {} cycles in detailed mode)",
                    r.name,
                    if data { " and data read" } else { "" },
                    r.fill_cycles()
                ));
            } else {
                out.push(format!(
                    "'{}' behind the L1 caches: every access hits, whether or not the firmware enables them (a line fill costs {} cycles in detailed mode)",
                    r.name,
                    r.fill_cycles()
                ));
            }
        }
    }
    match board.core {
        crate::timing::CoreKind::M7 => out.push("branches: static prediction instead of the BTAC".into()),
        _ => out.push(format!("SDIV/UDIV: {} cycles each instead of 2-12 by operands", crate::timing::DIV_STATIC)),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::board::AcceleratorPart;
    use crate::memsys::{FetchMode, Fidelity, MemorySystem};

    #[test]
    fn fast_mode_names_what_it_leaves_out_on_the_board() {
        let lpc = Board::from_toml(include_str!("../../boards/lpc55s69.toml")).unwrap();
        let said = fast_mode_ignores(&lpc);
        assert!(said[0].starts_with("flash 'flash': every fetch and data read counts as a hit"), "{said:?}");
        assert!(said[0].contains("11 wait states per 16-byte line, with prefetch"));
        let rt = Board::from_toml(include_str!("../../boards/mimxrt1011.toml")).unwrap();
        let said = fast_mode_ignores(&rt);
        assert!(said.iter().any(|s| s.starts_with("'flexspi' behind the L1 caches") && s.contains("420 cycles")), "{said:?}");
        assert!(said.iter().any(|s| s.starts_with("branches: static prediction")));
        let generic = Board::from_toml(include_str!("../../boards/generic-m4.toml")).unwrap();
        assert_eq!(fast_mode_ignores(&generic), vec!["SDIV/UDIV: 7 cycles each instead of 2-12 by operands".to_string()]);
    }

    #[test]
    fn fast_mode_charges_a_disabled_soc_cache_and_says_so() {
        let b = Board::preset("stm32l552").unwrap();
        let mut m = MemorySystem::new(&b, Fidelity::Fast);
        // Off: the wait states, like a disabled accelerator; the region is hooked for data.
        assert_eq!(m.fetch_mode(0), FetchMode::Plain);
        assert!(m.needs_data_hook(0));
        assert_eq!(m.data(0, 0x0800_2000, false), 5);
        m.set_soc_cache_enabled(true);
        assert_eq!(m.fetch_mode(0), FetchMode::Free);
        assert_eq!(m.data(0, 0x0800_2000, false), 0);
        let said = fast_mode_ignores(&b);
        assert!(said[0].contains("every fetch and data read hits while the firmware keeps the cache on (off, fast mode charges the wait states"), "{said:?}");
        // The STM32L4R5 ART: off parts are charged in fast mode too.
        let l4 = Board::preset("stm32l4r5").unwrap();
        let mut f = MemorySystem::new(&l4, Fidelity::Fast);
        assert_eq!(f.fetch_mode(0), FetchMode::Free);
        assert!(f.needs_data_hook(0), "switchable data cache: hooked while on");
        assert_eq!(f.data(0, 0x0800_2000, false), 0);
        f.set_accelerator_part(AcceleratorPart::DataCache, false);
        assert_eq!(f.data(0, 0x0800_2000, false), 5);
        f.set_accelerator_part(AcceleratorPart::Prefetch, false);
        assert_eq!(f.fetch_mode(0), FetchMode::Free, "I-cache still on");
        f.set_accelerator_part(AcceleratorPart::InstructionCache, false);
        assert_eq!(f.fetch_mode(0), FetchMode::Plain);
        assert!(fast_mode_ignores(&l4)[0].contains("8-byte flash word, with prefetch"), "{:?}", fast_mode_ignores(&l4));
    }
}
