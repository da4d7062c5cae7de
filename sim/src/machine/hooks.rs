//! The unicorn hooks: block entry (timing, exceptions, limits), interrupts (semihosting,
//! SVC, faults) and invalid accesses.

use super::*;

/// Install the hooks; the block hook only with `block_hook` (a debugger brings its own,
/// which calls `on_block`).
pub(super) fn install_hooks(uc: &mut Unicorn<'static, State>, block_hook: bool) -> Result<(), crate::error::SimError> {
    if block_hook {
        super::direct_hooks::add_block_hook(uc).map_err(|e| internal("adding the block hook", e))?;
    }

    uc.add_intr_hook(on_interrupt).map_err(|e| internal("adding the interrupt hook", e))?;

    let invalid = HookType::MEM_READ_UNMAPPED
        | HookType::MEM_WRITE_UNMAPPED
        | HookType::MEM_FETCH_UNMAPPED
        | HookType::MEM_WRITE_PROT
        | HookType::MEM_FETCH_PROT
        | HookType::MEM_READ_PROT;
    uc.add_mem_hook(invalid, 1, 0, |uc, kind, addr, size, _v| {
        uc.get_data_mut().catch_up(None);
        let fetch = matches!(kind, MemType::FETCH_UNMAPPED | MemType::FETCH_PROT);
        let pc = if fetch { pc_of(uc) } else { access_pc(uc, addr as u32) };
        let st = uc.get_data_mut();
        st.bad_access = Some((kind, addr, size));
        st.bad_access_pc = pc;
        false
    })
    .map_err(|e| internal("adding the invalid-access hook", e))?;
    Ok(())
}

/// Block entry: the previous block's branch outcome, exceptions that are due, this
/// block's costs, lazy FP state, a parked fault handler, SP sampling, painting at `main`
/// and the limits. The common case returns after `enter_steady`.
#[inline(always)]
pub(super) fn on_block(uc: &mut Unicorn<State>, addr: u32, size: u32) {
    if uc.get_data_mut().enter_steady(addr, size) {
        return;
    }
    let idx = block_at(uc, addr, size);
    let st = uc.get_data_mut();
    if st.cycles >= st.exc.next_systick || st.ppb.nvic.check_due {
        if st.protections_dirty {
            apply_protections(uc);
        }
        if uc.get_data().divide_trap_pending {
            arm_divide_trap(uc);
        }
        if uc.get_data().unaligned_trap_pending {
            arm_unaligned_trap(uc);
        }
        if exceptions::poll(uc, addr) {
            return;
        }
    }
    let st = uc.get_data_mut();
    st.enter(idx);
    if st.profiler.as_ref().is_some_and(|p| p.wants_args()) {
        // An instrumentation callback was entered: its id and kind arguments (profile).
        let arg = |uc: &Unicorn<State>, r| uc.reg_read(r).unwrap_or(0) as u32;
        let (r0, r1) = (arg(uc, RegisterARM::R0), arg(uc, RegisterARM::R1));
        if let Some(p) = uc.get_data_mut().profiler.as_mut() {
            p.set_args(r0, r1);
        }
    }
    let st = uc.get_data_mut();
    if st.hot[idx].flags & USES_FP != 0 && st.ppb.scs.fpccr & crate::peripherals::scb::FPCCR_LSPACT != 0 {
        exceptions::preserve_fp(uc);
    }
    let st = uc.get_data_mut();
    if st.hot[idx].flags & PARKS != 0 {
        if (3..=6).contains(&st.ppb.ipsr) {
            exceptions::parked_in_fault_handler(uc, addr);
            return;
        }
        if let Some(why) = exceptions::nothing_can_wake(uc) {
            park(uc, addr, "a branch to itself (`b .`)", &why);
            return;
        }
    }
    let st = uc.get_data_mut();
    if st.sp_sample_due {
        let sp = uc.reg_read(RegisterARM::SP).unwrap_or(0) as u32;
        let st = uc.get_data_mut();
        if sp >= st.stack_floor && sp <= st.initial_sp {
            st.min_sp = Some(st.min_sp.map_or(sp, |m| m.min(sp)));
        }
    }
    let st = uc.get_data_mut();
    if st.paint.as_ref().is_some_and(|p| !p.done && p.plan.main == Some(addr)) {
        paint_memory(uc);
    }
    check_limits(uc, addr);
}

/// The cache index of the block at `addr`, decoding and costing it on first sight (or
/// when unicorn re-translated it with another size).
fn block_at(uc: &mut Unicorn<State>, addr: u32, size: u32) -> usize {
    let cached = {
        let st = uc.get_data();
        st.index.get(addr).filter(|&i| st.hot[i].tb_size as u32 == size)
    };
    match cached {
        Some(i) => i,
        None => {
            let len = if size == 0 { 4 } else { size.min(MAX_BLOCK_BYTES) } as usize;
            let mut code = vec![0u8; len];
            if uc.mem_read(addr as u64, &mut code).is_err() {
                code.truncate(2);
                let _ = uc.mem_read(addr as u64, &mut code);
            }
            let idx = uc.get_data_mut().build_block(addr, size, &code);
            hook_divides(uc, idx);
            hook_block_ipsr_reads(uc, idx, &code);
            idx
        }
    }
}

/// End the run: the firmware waits at `pc` and nothing can ever leave the wait.
pub(super) fn park(uc: &mut Unicorn<State>, pc: u32, wait: &str, why: &str) {
    let r0 = uc.reg_read(RegisterARM::R0).unwrap_or(0) as u32;
    let st = uc.get_data_mut();
    let hint = if wait.contains("b .") {
        format!(". Vendor start-up code ends this way when main returns (r0 = {r0:#x}, main's return value if it did); end the run with semihosting SYS_EXIT (exit()) to give it a status")
    } else {
        String::new()
    };
    let message = format!("the firmware parked for good at {}: {wait} and {why}{hint}", st.describe(pc));
    st.set_stop(Stop::Parked { message, pc }, None);
    let _ = uc.emu_stop();
}

/// Stop the run at a cycle, instruction or wall-clock limit, or a signal from the user.
fn check_limits(uc: &mut Unicorn<State>, addr: u32) {
    let st = uc.get_data_mut();
    let over_cycles = st.cycles > st.max_cycles;
    let over_insns = st.instructions > st.max_instructions;
    st.deadline_countdown -= 1;
    let (over_time, signal) = if st.deadline_countdown == 0 {
        st.deadline_countdown = DEADLINE_CHECK_BLOCKS;
        st.retry_short_runs();
        (st.deadline.is_some_and(|d| Instant::now() >= d), st.interrupt.as_ref().map_or(0, |f| f.load(std::sync::atomic::Ordering::Relaxed)))
    } else {
        (false, 0)
    };
    if signal != 0 {
        let name = match signal {
            2 => "SIGINT".to_string(),
            15 => "SIGTERM".to_string(),
            n => format!("signal {n}"),
        };
        let message = format!("stopped by {name} at {} after {} cycles: the report so far follows", st.describe(addr), st.cycles);
        st.set_stop(Stop::Interrupted { signal: signal as i32, message, pc: addr }, None);
        let _ = uc.emu_stop();
        return;
    }
    if over_cycles || over_insns || over_time {
        let what = if over_cycles {
            format!("--max-cycles {} reached", st.max_cycles)
        } else if over_insns {
            format!("--max-instructions {} reached", st.max_instructions)
        } else {
            "--timeout reached (host wall-clock time)".to_string()
        };
        let message = format!(
            "{what} at {} after {} cycles: the firmware did not exit. If it is a runaway loop, the pc shows where; if it just needs longer, raise the limit",
            st.describe(addr),
            st.cycles
        );
        st.set_stop(Stop::Limit { message, pc: addr }, None);
        let _ = uc.emu_stop();
    }
}

/// Interrupt hook: semihosting (`BKPT 0xAB`), SVC, a Cortex-M33 exception return, or a
/// processor exception that becomes a fault.
fn on_interrupt(uc: &mut Unicorn<State>, intno: u32) {
    uc.get_data_mut().catch_up(None);
    let pc = pc_of(uc);
    let mut insn = [0u8; 2];
    let _ = uc.mem_read(pc as u64, &mut insn);
    let at = {
        let st = uc.get_data();
        st.blocks.get(st.cur).map(|b| b.index_of(pc))
    };
    // EXCP_BKPT = 7 (QEMU's target/arm numbering, which unicorn passes through).
    if intno == 7 && insn == [0xAB, 0xBE] {
        serve_semihosting(uc, pc, at);
        return;
    }
    // SVC: PC already points past it. EXCP_EXCEPTION_EXIT (8): a Cortex-M33 branch to
    // an EXC_RETURN value, which QEMU reports instead of fetching from it.
    if intno == 2 && exceptions::supervisor_call(uc, pc) {
        return;
    }
    // The v7-M models (M4, M7) report a branch to EXC_RETURN as a prefetch abort (3) at
    // the EXC_RETURN address, since simbench, not unicorn, keeps IPSR.
    let exc_return = intno == 8 || (intno == 3 && pc >= exceptions::EXC_RETURN_MIN & !1);
    if exc_return && uc.get_data().ppb.ipsr != 0 {
        exceptions::exception_return(uc, pc | 1);
        return;
    }
    let usage = match intno {
        1 => Some(cfsr::UNDEFINSTR),
        17 => Some(cfsr::NOCP),
        18 => Some(cfsr::INVSTATE),
        19 => Some(cfsr::STKOF),
        22 => Some(cfsr::UNALIGNED),
        _ => None,
    };
    let st = uc.get_data_mut();
    let (kind, what) = match intno {
        1 => ("undefined-instruction", "an undefined or unsupported instruction (UsageFault UNDEFINSTR)".to_string()),
        2 => ("svc", "an SVC the firmware cannot take (no vector table, or SVCall escalated at HardFault priority)".to_string()),
        7 => ("breakpoint", format!("a BKPT #{:#04x} that is not semihosting (BKPT 0xAB)", insn[0])),
        17 => ("no-coprocessor", "an FPU instruction with the FPU disabled (UsageFault NOCP): set CPACR.CP10/CP11 first".to_string()),
        18 => ("invalid-state", "a jump to a non-Thumb (even) address (UsageFault INVSTATE)".to_string()),
        19 => ("stack-overflow", "a stack-limit violation (UsageFault STKOF)".to_string()),
        22 => ("unaligned", "an unaligned access that the core does not allow (UsageFault UNALIGNED)".to_string()),
        n => ("exception", format!("processor exception {n}")),
    };
    let message = format!("firmware fault: {what} at {}", st.describe(pc));
    if let Some(bit) = usage {
        if exceptions::deliver_fault(uc, FaultKind::Usage(bit), pc, kind, &message) {
            return;
        }
    }
    let st = uc.get_data_mut();
    st.set_stop(Stop::Fault { kind: kind.into(), message, pc }, at.map(|i| (i, false)));
    let _ = uc.emu_stop();
}

/// Work around a unicorn 2.1.5 bug: calling a hook from inside a Thumb IT block stores
/// the IT state into the CPU state, and nothing clears it when the block ends, so the
/// next translation block is looked up (and, the first time, translated) as if it were
/// still inside the IT block: its first instructions become conditional and may be
/// skipped. (Seen as a lost `strh` after `itte ls; ldrls ...; bx lr` with a read hook on
/// the loaded address; cf. unicorn issue #2309.) The rest of the current block is
/// translated with its IT conditions baked in, so clearing the stored IT bits here is
/// safe: QEMU writes them back at the end of a block that stops inside an IT block.
pub(super) fn clear_stale_it_state(uc: &mut Unicorn<State>) {
    /// xPSR IT/ICI bits: [26:25] and [15:10] (Armv7-M ARM B1.4.2).
    const IT_BITS: u64 = 0x0600_FC00;
    if let Ok(xpsr) = uc.reg_read(RegisterARM::XPSR) {
        if xpsr & IT_BITS != 0 {
            let _ = uc.reg_write(RegisterARM::XPSR, xpsr & !IT_BITS);
        }
    }
}
