//! Setting the machine up: the vector table, the board's memory regions (with data hooks
//! only where timing needs them), vendor peripheral space and the Private Peripheral Bus.

use super::*;
use crate::error::SimError;

/// Initial SP and PC, and the vector table they came from (None: the ELF entry point was
/// used, so the firmware has no vector table to deliver exceptions through).
pub(super) fn vector_table(image: &Image, board: &Board, vtor: Option<u32>) -> Result<(u32, u32, Option<u32>), crate::error::SimError> {
    let executable = |a: u32| board.regions.iter().any(|r| r.kind.is_memory() && r.contains(a));
    let valid = |base: u32| -> Option<(u32, u32)> {
        let sp = image.read_word(base)?;
        let pc = image.read_word(base.checked_add(4)?)?;
        (pc & 1 == 1 && executable(pc & !1) && sp % 4 == 0 && board.stack_region(sp).is_some()).then_some((sp, pc & !1))
    };
    if let Some(v) = vtor {
        return valid(v).map(|(sp, pc)| (sp, pc, Some(v))).ok_or_else(|| {
            crate::error::SimError::BadElf(format!(
                "no valid vector table at --vtor {v:#010x}: word 0 must be an initial SP inside RAM of board '{}' and word 1 an odd (Thumb) reset address inside its memory",
                board.name
            ))
        });
    }
    for base in vector_table_candidates(image) {
        if let Some((sp, pc)) = valid(base) {
            return Ok((sp, pc, Some(base)));
        }
        // A real vector table (its reset vector is the ELF entry point) whose initial SP
        // is outside RAM: the part would fault at the first push. Say so rather than run
        // with another stack.
        let words = (image.read_word(base), base.checked_add(4).and_then(|a| image.read_word(a)));
        if let (Some(sp), Some(pc)) = words {
            if pc & 1 == 1 && pc & !1 == image.entry & !1 && board.stack_region(sp).is_none() {
                return Err(crate::error::SimError::BadBoard(format!(
                    "the vector table at {base:#010x} sets the initial SP to {sp:#010x}, outside the RAM of board '{}': the image does not fit this board (link it for the board, or pick the board it was built for)",
                    board.name
                )));
            }
        }
    }
    let sp = board
        .regions
        .iter()
        .filter(|r| r.kind.writable())
        .max_by_key(|r| r.size)
        .map(|r| r.end() as u32)
        .ok_or_else(|| crate::error::SimError::BadBoard(format!("board '{}' has no RAM for a stack", board.name)))?;
    if !executable(image.entry & !1) {
        return Err(crate::error::SimError::BadElf(format!(
            "no vector table found and the ELF entry point {:#010x} is outside the memory of board '{}'; pass --vtor ADDR",
            image.entry, board.name
        )));
    }
    Ok((sp, image.entry & !1, None))
}

/// SYS_HEAPINFO answer: heap between the linker's heap symbols (or `end`) and the stack.
pub(super) fn heap_info(image: &Image, board: &Board, sp: u32) -> [u32; 4] {
    let ram = board.stack_region(sp);
    let heap_base = image.first_symbol_addr(&["__heap_start__", "__HeapBase", "_end", "end"]).unwrap_or(0);
    let heap_limit = image.first_symbol_addr(&["__heap_end__", "__HeapLimit"]).unwrap_or(sp);
    let stack_limit = image.first_symbol_addr(&["__stack_limit__", "__StackLimit"]).or(ram.map(|r| r.base)).unwrap_or(0);
    [heap_base, heap_limit, sp, stack_limit]
}

pub(super) fn map_board(uc: &mut Unicorn<'static, State>, board: &Board, count_all: bool) -> Result<(), crate::error::SimError> {
    for (ri, r) in board.regions.iter().enumerate() {
        if !r.kind.is_memory() {
            // Vendor peripheral space: `peripheral` regions are registers (`peripherals/vendor.rs`),
            // `peripheral-ignore` regions read 0 and drop writes; both count accesses.
            let registers = r.kind == RegionKind::Peripheral;
            uc.mmio_map(
                r.base as u64,
                r.size as u64,
                Some(move |uc: &mut Unicorn<State>, off: u64, size: usize| {
                    uc.get_data_mut().catch_up(None);
                    clear_stale_it_state(uc);
                    let addr = uc.get_data().board.regions[ri].base + off as u32;
                    access_pc(uc, addr);
                    let st = uc.get_data_mut();
                    st.regions[ri].data_reads += 1;
                    if registers {
                        st.periph.read(addr, size) as u64
                    } else {
                        0
                    }
                }),
                Some(move |uc: &mut Unicorn<State>, off: u64, size: usize, value: u64| {
                    uc.get_data_mut().catch_up(None);
                    let addr = uc.get_data().board.regions[ri].base + off as u32;
                    let pc = access_pc(uc, addr);
                    let st = uc.get_data_mut();
                    st.regions[ri].data_writes += 1;
                    let settings = if registers { st.periph.write(addr, size, value as u32) } else { Vec::new() };
                    if !settings.is_empty() {
                        let now = st.now_at(pc);
                        for setting in settings {
                            apply_setting(st, addr, setting, now);
                        }
                    }
                }),
            )
            .map_err(|e| internal("mapping a peripheral region", e))?;
            uc.get_data_mut().regions[ri].hooked = true;
            continue;
        }
        let prot = if r.kind.writable() { Prot::ALL } else { Prot::READ | Prot::EXEC };
        uc.mem_map(r.base as u64, r.size as u64, prot).map_err(|e| internal(&format!("mapping region '{}'", r.name), e))?;
        if uc.get_data().mem.needs_data_hook(ri) || count_all {
            add_data_hook(uc, ri, r.base as u64, r.end() - 1)?;
        }
    }
    // A `--place`d range in a region without a data hook, timed as one that needs it.
    let extra: Vec<(u32, u32)> = {
        let st = uc.get_data();
        st.placed
            .iter()
            .filter(|p| st.mem.needs_data_hook(p.to) && board.region_of(p.start).is_some_and(|(i, _)| !st.regions[i].hooked))
            .map(|p| (p.start, p.end))
            .collect()
    };
    for (start, end) in extra {
        if let Some((ri, _)) = board.region_of(start) {
            add_data_hook(uc, ri, start as u64, end as u64 - 1)?;
        }
    }
    Ok(())
}

/// Time (and count) data accesses to `[start, end]` of region `ri`: as that region, or as
/// the region a `--place` gives the address (`data_access`).
fn add_data_hook(uc: &mut Unicorn<'static, State>, ri: usize, start: u64, end: u64) -> Result<(), crate::error::SimError> {
    super::direct_hooks::add_data_hook(uc, ri, start, end).map_err(|e| internal("adding a memory hook", e))?;
    let st = uc.get_data_mut();
    st.regions[ri].hooked = true;
    st.data_hook_ranges.push((start as u32, end as u32, ri));
    Ok(())
}

/// A hooked load or store of region `ri`: counted there, its wait timed where `--place`
/// puts the address.
#[inline(always)]
pub(super) fn data_access(uc: &mut Unicorn<State>, ri: usize, write: bool, addr: u32) {
    // Only blocks with an IT instruction can leave IT state behind (see
    // clear_stale_it_state); checking the block avoids a register read per access.
    if uc.get_data().current_block_has_it() {
        clear_stale_it_state(uc);
    }
    uc.get_data_mut().data_timed(ri, write, addr);
}

impl State {
    /// The data hook's accounting of a load or store of region `ri`, also for the
    /// accesses unicorn logged instead of calling it (`access_log.rs`).
    #[inline(always)]
    pub(super) fn data_timed(&mut self, ri: usize, write: bool, addr: u32) {
        if write {
            self.regions[ri].data_writes += 1;
        } else {
            self.regions[ri].data_reads += 1;
        }
        // Accesses are counted where they go; waits where `--place` times them.
        let timed = if self.placed.is_empty() { ri } else { crate::placement::placed_region(&self.placed, addr).unwrap_or(ri) };
        let wait = self.mem.data(timed, addr, write) as u64;
        self.regions[timed].data_wait_cycles += wait;
        self.add_wait(wait);
        if wait > 0 {
            if let Some(s) = self.stalls.as_mut() {
                s.data(addr, write, wait);
            }
        }
    }
}

pub(super) fn map_ppb(uc: &mut Unicorn<State>) -> Result<(), crate::error::SimError> {
    uc.mmio_map(
        PPB_BASE as u64,
        PPB_SIZE as u64,
        Some(|uc: &mut Unicorn<State>, off: u64, _size: usize| {
            uc.get_data_mut().catch_up(None);
            clear_stale_it_state(uc);
            let pc = access_pc(uc, PPB_BASE + off as u32);
            let st = uc.get_data_mut();
            let now = st.now_at(pc);
            st.ppb.read(PPB_BASE + off as u32, now) as u64
        }),
        Some(|uc: &mut Unicorn<State>, off: u64, size: usize, value: u64| {
            uc.get_data_mut().catch_up(None);
            let pc = access_pc(uc, PPB_BASE + off as u32);
            let st = uc.get_data_mut();
            let now = st.now_at(pc);
            let ccr_before = st.ppb.scs.ccr;
            let event = st.ppb.write(PPB_BASE + off as u32, size, value as u32, now);
            let newly_set = st.ppb.scs.ccr & !ccr_before;
            if newly_set & (1 << 4) != 0 {
                st.divide_trap_pending = true;
                st.ppb.nvic.check_due = true;
            }
            if newly_set & CCR_UNALIGN_TRP != 0 {
                st.unaligned_trap_pending = true;
                st.ppb.nvic.check_due = true;
            }
            match event {
                PpbEvent::None => {}
                PpbEvent::Text(bytes) => st.emit(1, &bytes),
                PpbEvent::CacheControl { icache, dcache } => {
                    st.mem.set_caches_enabled(icache, dcache);
                    st.sync_access_fold();
                }
                PpbEvent::Maintenance(op) => st.mem.maintain(op),
                PpbEvent::MpuChanged => st.protections_changed(),
                PpbEvent::Marker { port, value } => {
                    if st.markers.len() < MAX_MARKERS {
                        st.markers.push(MarkerEvent { port, value, cycles: now, pc });
                    } else {
                        st.markers_dropped += 1;
                    }
                }
            }
        }),
    )
    .map_err(|e| internal("mapping the Private Peripheral Bus", e))
}

/// Every byte of the image must land in the board's memory.
pub(super) fn check_image_fits(image: &Image, board: &Board) -> Result<(), SimError> {
    for seg in &image.segments {
        let ok = board.regions.iter().any(|r| r.kind.is_memory() && r.contains_range(seg.paddr, seg.data.len() as u64));
        if !ok {
            return Err(SimError::BadBoard(format!(
                "the ELF loads {} bytes at {:#010x}–{:#010x}, outside every memory region of board '{}'. Link for this board (runtime/boards/*.ld) or pick the board the firmware was built for (simbench boards)",
                seg.data.len(),
                seg.paddr,
                seg.paddr as u64 + seg.data.len() as u64,
                board.name
            )));
        }
    }
    Ok(())
}

/// unicorn as the board's core: Thumb, M-profile, the matching CPU model.
/// With `narrow`, before any hook exists: the patched unicorn's page-granular memory hooks.
pub(super) fn create_emulator<'a>(state: State, core: simbench_cores::CoreKind, double_fpu: bool, narrow: bool) -> Result<Unicorn<'a, State>, SimError> {
    // Not `Mode::MCLASS`: unicorn 2.1.5's `cpu_arm_init` then replaces any model with the
    // Cortex-M33, so an M7 would lose its double-precision FPU and an M4 would run v8-M.
    // M-profile behaviour comes from the model itself (fixtures/field/NOTES-fp64.md).
    let mut uc = Unicorn::new_with_data(Arch::ARM, Mode::THUMB, state).map_err(|e| internal("creating the emulator", e))?;
    let cpu = cpu_model(core, double_fpu);
    uc.ctl_set_cpu_model(cpu as i32).map_err(|e| internal("selecting the CPU model", e))?;
    if narrow {
        super::narrow_hooks::enable(&mut uc);
    }

    Ok(uc)
}

/// unicorn's CPU model for a core. A Cortex-M7 with a single-precision FPU (FPv5-SP-D16,
/// e.g. the i.MX RT1010) runs on the Cortex-M33 model: unicorn has no such M7, and the
/// M33's FPU is exactly FPv5-SP-D16 while its instruction set contains Armv7E-M's, so
/// double-precision arithmetic is undefined as on the part.
fn cpu_model(core: simbench_cores::CoreKind, double_fpu: bool) -> ArmCpuModel {
    match core {
        simbench_cores::CoreKind::M4 => ArmCpuModel::CORTEX_M4,
        simbench_cores::CoreKind::M7 if double_fpu => ArmCpuModel::CORTEX_M7,
        simbench_cores::CoreKind::M7 | simbench_cores::CoreKind::M33 => ArmCpuModel::CORTEX_M33,
    }
}

/// Where a vector table may be: the usual symbols of vendor start-up code, then the
/// lowest code address.
fn vector_table_candidates(image: &Image) -> impl Iterator<Item = u32> + '_ {
    const NAMES: [&str; 5] = ["__isr_vector", "__vector_table", "g_pfnVectors", "__Vectors", "vector_table"];
    NAMES.iter().filter_map(|n| image.symbol(n).map(|s| s.addr)).chain(image.lowest_code_addr())
}

/// A generic board (`--core`) runs any image: zero-wait memory where the image loads and
/// where its data lives, and RAM below the initial SP, wherever the board has none.
/// Returns what was added, for the report.
pub(super) fn fit_generic_board(board: &mut Board, image: &Image, vtor: Option<u32>) -> Vec<String> {
    let mut added = Vec::new();
    let covered = |b: &Board, start: u32, len: u64| len == 0 || b.regions.iter().any(|r| r.kind.is_memory() && r.contains_range(start, len));
    for seg in &image.segments {
        for (start, len, name, kind, what) in [
            (seg.paddr, seg.data.len() as u64, "image", RegionKind::Code, "the image loads there"),
            (seg.vaddr, seg.mem_size as u64, "image-data", RegionKind::Sram, "the image's data lives there"),
        ] {
            if !covered(board, start, len) {
                if let Some(text) = board.add_zero_wait(name, start, start as u64 + len, kind) {
                    added.push(format!("{text}: {what}"));
                }
            }
        }
    }
    let sp = vtor.into_iter().chain(vector_table_candidates(image)).filter_map(|v| image.read_word(v)).find(|&sp| sp % 8 == 0 && sp != 0);
    if let Some(sp) = sp.filter(|&sp| board.stack_region(sp).is_none()) {
        if let Some(text) = board.add_zero_wait("stack", sp.saturating_sub(1 << 20), sp as u64, RegionKind::Sram) {
            added.push(format!("{text}: RAM below the initial SP {sp:#010x}"));
        }
    }
    added
}
