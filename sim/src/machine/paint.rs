//! Memory truth at run time: paint the heap and arena when `main` is entered, read the
//! paint back at the end.

use super::*;

/// Paint the unused stack below SP, the heap and the arena when `main` is entered.
pub(super) fn paint_memory(uc: &mut Unicorn<State>) {
    let sp = uc.reg_read(RegisterARM::SP).unwrap_or(0) as u32;
    let (plan, stack_region_base) = {
        let st = uc.get_data();
        let Some(p) = &st.paint else { return };
        (p.plan.clone(), st.board.stack_region(sp).map(|r| r.base))
    };
    // The stack itself is measured from sampled SP values, not paint: firmware often
    // paints its own stack to measure it.
    let stack_bottom = plan.stack_limit.filter(|&l| l < sp).or(stack_region_base).unwrap_or(sp);
    let fill = |uc: &mut Unicorn<State>, addr: u32, len: u32| uc.mem_write(addr as u64, &vec![memtruth::PAINT; len as usize]).is_ok();
    // The heap, clipped so that it stays below the stack.
    let heap = plan.heap.clone().and_then(|mut h| {
        if h.addr + h.size > stack_bottom {
            h.size = stack_bottom.saturating_sub(h.addr);
        }
        (h.size > 0 && fill(uc, h.addr, h.size)).then_some(h)
    });

    let arena_ok = plan.arena.as_ref().is_some_and(|a| fill(uc, a.addr, a.size));
    let st = uc.get_data_mut();
    if let Some(p) = st.paint.as_mut() {
        p.heap = heap;
        if !arena_ok {
            p.plan.arena = None;
        }
        p.done = true;
        st.full_path_only = !st.entry_shortcut;
    }
}

/// Read the painted memory back.
pub(super) fn probe_memory(uc: &Unicorn<State>) -> Option<MemoryProbe> {
    let st = uc.get_data();
    let p = st.paint.as_ref().filter(|p| p.done)?;
    let read = |addr: u32, len: u32| -> Option<Vec<u8>> {
        let mut b = vec![0u8; len as usize];
        uc.mem_read(addr as u64, &mut b).ok().map(|_| b)
    };
    Some(MemoryProbe {
        stack_peak_bytes: st.min_sp.map(|m| st.initial_sp.saturating_sub(m) as u64),
        heap_used_bytes: p.heap.as_ref().and_then(|h| read(h.addr, h.size).map(|bytes| memtruth::heap_used(&bytes))),
        arena: p.plan.arena.as_ref().and_then(|a| read(a.addr, a.size).map(|bytes| memtruth::buffer_use(a, memtruth::used_bytes(&bytes)))),
    })
}
