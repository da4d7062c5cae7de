//! Exception entry and return on the emulated core.
//!
//! unicorn's Cortex-M models execute instructions but take no exceptions (SVC, faults and
//! exception returns arrive as "interrupts" or failed fetches). This module does what the
//! hardware does (Armv7-M ARM B1.5.6 ExceptionEntry/PushStack, B1.5.8 ExceptionReturn/
//! PopStack, B1.5.7 lazy FP context): stack the eight-word (or, with an active FP
//! context, 26-word) frame on the current stack, switch to the main stack, load the
//! vector, and undo it all when the handler branches to an EXC_RETURN value. The NVIC's
//! state lives in `crate::peripherals::nvic`; this file touches registers and memory.
//!
//! QEMU believes the core stays in Thread mode, so the stack pointer choice is expressed
//! through CONTROL.SPSEL, which QEMU honours in Thread mode: SPSEL = 0 while a handler runs.

use super::{State, Stop, NO_BLOCK};
use crate::peripherals::nvic::{self, FaultKind, Masks};
use crate::peripherals::scb::{FPCCR_LSPACT, FPCCR_LSPEN};
use crate::profile::callstack::Exit;
use unicorn_engine::{RegisterARM, Unicorn};

/// Exception entry, exit and tail-chaining cycles. Entry 12 and exit 10: Arm KA 103489845
/// for the Cortex-M3/M4 (timing-references §1.4); the Cortex-M33 also enters in 12
/// (§2, elektroniknet). The Cortex-M7 is assumed to match (no source in the references).
/// Tail-chaining 6: the Cortex-M3/M4 figure Arm publishes with the 12-cycle latency
/// [assumption: not in timing-references.md].
pub const ENTRY_CYCLES: u64 = 12;
pub const EXIT_CYCLES: u64 = 10;
pub const TAIL_CHAIN_CYCLES: u64 = 6;
/// Saving or restoring S0–S15 and FPSCR: "a possible 17 cycles more" (§1.4).
pub const FP_CONTEXT_CYCLES: u64 = 17;

/// Lowest EXC_RETURN value; a branch at or above it from a handler is an exception return.
pub const EXC_RETURN_MIN: u32 = 0xFFFF_FF00;

const CONTROL_SPSEL: u32 = 1 << 1;
const CONTROL_FPCA: u32 = 1 << 2;
const XPSR_T: u32 = 1 << 24;
/// Stacked xPSR bit 9: the frame was realigned to 8 bytes (B1.5.7).
const XPSR_ALIGNED: u32 = 1 << 9;

/// Exception state the glue keeps besides the NVIC.
#[derive(Clone, Debug)]
pub struct ExceptionState {
    /// Modelled cycle of the next SysTick interrupt (u64::MAX: none scheduled).
    pub next_systick: u64,
    /// The firmware has a vector table, so exceptions can be delivered.
    pub deliverable: bool,
    /// Profiler depth at each active exception's entry, innermost last.
    profiler_depths: Vec<usize>,
    /// The first fault delivered to a firmware handler: reported if the run then ends
    /// other than with exit code 0 (kind, message, pc, error context, fault status).
    pub delivered_fault: Option<(String, String, u32, simbench_profiles::report::ErrorInfo)>,
    /// Exceptions taken, by exception number.
    pub taken: std::collections::BTreeMap<usize, u64>,
    pub tail_chains: u64,
    pub lazy_fp_saves: u64,
}

impl ExceptionState {
    pub fn new(deliverable: bool) -> ExceptionState {
        ExceptionState {
            next_systick: u64::MAX,
            deliverable,
            profiler_depths: Vec::new(),
            delivered_fault: None,
            taken: Default::default(),
            tail_chains: 0,
            lazy_fp_saves: 0,
        }
    }
}

/// Name of an exception number, for reports.
pub fn name(n: usize) -> String {
    match n {
        nvic::NMI => "NMI".into(),
        nvic::HARDFAULT => "HardFault".into(),
        nvic::MEMMANAGE => "MemManage".into(),
        nvic::BUSFAULT => "BusFault".into(),
        nvic::USAGEFAULT => "UsageFault".into(),
        7 => "SecureFault".into(),
        nvic::SVCALL => "SVCall".into(),
        12 => "DebugMonitor".into(),
        nvic::PENDSV => "PendSV".into(),
        nvic::SYSTICK => "SysTick".into(),
        n => format!("IRQ{}", n.saturating_sub(nvic::IRQ0)),
    }
}

fn reg(uc: &Unicorn<State>, r: RegisterARM) -> u32 {
    uc.reg_read(r).unwrap_or(0) as u32
}

fn set(uc: &mut Unicorn<State>, r: RegisterARM, v: u32) {
    let _ = uc.reg_write(r, v as u64);
}

pub fn masks(uc: &Unicorn<State>) -> Masks {
    Masks { primask: reg(uc, RegisterARM::PRIMASK) & 1 != 0, faultmask: reg(uc, RegisterARM::FAULTMASK) & 1 != 0, basepri: reg(uc, RegisterARM::BASEPRI) as u8 }
}

fn write_words(uc: &mut Unicorn<State>, addr: u32, words: &[u32]) -> bool {
    let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    uc.mem_write(addr as u64, &bytes).is_ok()
}

fn read_words(uc: &Unicorn<State>, addr: u32, n: usize) -> Option<Vec<u32>> {
    let mut b = vec![0u8; n * 4];
    uc.mem_read(addr as u64, &mut b).ok()?;
    Some(b.chunks_exact(4).map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
}

const FP_REGS: [RegisterARM; 16] = [
    RegisterARM::S0,
    RegisterARM::S1,
    RegisterARM::S2,
    RegisterARM::S3,
    RegisterARM::S4,
    RegisterARM::S5,
    RegisterARM::S6,
    RegisterARM::S7,
    RegisterARM::S8,
    RegisterARM::S9,
    RegisterARM::S10,
    RegisterARM::S11,
    RegisterARM::S12,
    RegisterARM::S13,
    RegisterARM::S14,
    RegisterARM::S15,
];

/// Save S0–S15 and FPSCR into the frame's reserved FP area at `at`.
fn save_fp(uc: &mut Unicorn<State>, at: u32) -> bool {
    let mut words: Vec<u32> = FP_REGS.iter().map(|&r| reg(uc, r)).collect();
    words.push(reg(uc, RegisterARM::FPSCR));
    let st = uc.get_data_mut();
    st.cycles += FP_CONTEXT_CYCLES;
    st.exc.lazy_fp_saves += 1;
    write_words(uc, at, &words)
}

/// Lazy FP state preservation: the first FP instruction of a handler entered with an
/// active FP context saves the interrupted context's registers first (B1.5.7). Called at
/// block entry when FPCCR.LSPACT is set and the block uses the FPU.
pub fn preserve_fp(uc: &mut Unicorn<State>) {
    let fpcar = {
        let st = uc.get_data_mut();
        st.ppb.scs.fpccr &= !FPCCR_LSPACT;
        st.ppb.scs.fpcar
    };
    let _ = save_fp(uc, fpcar);
}

/// Stop the run with a fault the firmware cannot handle.
fn fail(uc: &mut Unicorn<State>, kind: &str, what: String, pc: u32) {
    let st = uc.get_data_mut();
    let message = format!("firmware fault: {what} at {}", st.describe(pc));
    st.set_stop(Stop::Fault { kind: kind.into(), message, pc }, None);
    let _ = uc.emu_stop();
}

/// Take exception `n`, returning to `return_addr` afterwards: push the frame, switch to
/// the main stack, load the vector. Returns false (and stops the run) when the frame
/// cannot be pushed or the vector is unusable.
pub fn take(uc: &mut Unicorn<State>, n: usize, return_addr: u32) -> bool {
    let control = reg(uc, RegisterARM::CONTROL);
    let (ipsr, fpu_on) = {
        let st = uc.get_data();
        (st.ppb.ipsr, st.ppb.scs.cpacr & (0xF << 20) != 0)
    };
    let thread = ipsr == 0;
    let on_psp = thread && control & CONTROL_SPSEL != 0;
    let fp_frame = fpu_on && control & CONTROL_FPCA != 0;
    let sp = reg(uc, RegisterARM::SP);
    let frame_size = if fp_frame { 0x68 } else { 0x20 };
    let realign = sp & 4 != 0;
    let frame = sp.wrapping_sub(frame_size) & !4;
    let xpsr = (reg(uc, RegisterARM::XPSR) & 0xF80F_0000) | XPSR_T | ipsr as u32 | if realign { XPSR_ALIGNED } else { 0 };
    let words = [
        reg(uc, RegisterARM::R0),
        reg(uc, RegisterARM::R1),
        reg(uc, RegisterARM::R2),
        reg(uc, RegisterARM::R3),
        reg(uc, RegisterARM::R12),
        reg(uc, RegisterARM::LR),
        return_addr & !1,
        xpsr,
    ];
    if !write_words(uc, frame, &words) {
        let what = format!("stacking for {} failed: the frame at {frame:#010x} is outside writable memory (MSTKERR/STKERR; a stack overflow)", name(n));
        fail(uc, "stack-overflow", what, return_addr);
        return false;
    }
    if fp_frame {
        let lazy = uc.get_data().ppb.scs.fpccr & FPCCR_LSPEN != 0;
        if lazy {
            let st = uc.get_data_mut();
            st.ppb.scs.fpccr |= FPCCR_LSPACT;
            st.ppb.scs.fpcar = frame + 0x20;
        } else {
            let _ = save_fp(uc, frame + 0x20);
        }
    }
    set(uc, RegisterARM::SP, frame);
    // Handler mode uses the main stack and starts without an FP context.
    set(uc, RegisterARM::CONTROL, control & !(CONTROL_SPSEL | CONTROL_FPCA));
    let exc_return = 0xFFFF_FFE1 | (!fp_frame as u32) << 4 | (thread as u32) << 3 | (on_psp as u32) << 2;
    set(uc, RegisterARM::LR, exc_return);
    enter_handler(uc, n, return_addr, ENTRY_CYCLES)
}

/// Make `n` active and jump to its vector (after the frame is in place).
fn enter_handler(uc: &mut Unicorn<State>, n: usize, return_addr: u32, cost: u64) -> bool {
    let vtor = uc.get_data().ppb.nvic.vtor;
    let vector = read_words(uc, vtor.wrapping_add(4 * n as u32), 1).map(|w| w[0]);
    let handler = match vector {
        Some(v) if v & 1 == 1 && uc.get_data().board.region_of(v & !1).is_some_and(|(_, r)| r.kind.is_memory()) => v & !1,
        other => {
            uc.get_data_mut().ppb.nvic.vector_fault();
            let what = format!(
                "{} was taken but its vector (VTOR {vtor:#010x} + {:#x}) holds {}, not a Thumb handler address in memory (HFSR.VECTTBL)",
                name(n),
                4 * n,
                other.map_or("nothing readable".to_string(), |v| format!("{v:#010x}"))
            );
            fail(uc, "bad-vector", what, return_addr);
            return false;
        }
    };
    let st = uc.get_data_mut();
    st.ppb.nvic.activate(n);
    st.ppb.ipsr = n;
    st.cycles += cost;
    *st.exc.taken.entry(n).or_default() += 1;
    let now = st.cycles;
    if let Some(p) = st.profiler.as_mut() {
        st.exc.profiler_depths.push(p.depth());
        let id = p.func_id(handler, || super::func_info_at(&st.image, handler));
        p.transfer(handler, Exit::Call { indirect: true }, return_addr, Some(id), now);
    }
    // The next block is the handler: no branch penalty or profiler transfer from the
    // block that was interrupted.
    st.cur = NO_BLOCK;
    set(uc, RegisterARM::PC, handler | 1);
    true
}

/// Before entering the block at `addr`: raise a due SysTick interrupt and take the
/// highest-priority pending exception that may preempt. Returns true when an exception
/// was taken (PC now points at its handler).
pub fn poll(uc: &mut Unicorn<State>, addr: u32) -> bool {
    let st = uc.get_data_mut();
    st.ppb.nvic.check_due = false;
    if st.ppb.nvic.reset_requested {
        let what =
            "a system reset request (AIRCR.SYSRESETREQ, as NVIC_SystemReset() makes on a fatal error); simbench does not restart the firmware".to_string();
        fail(uc, "system-reset", what, addr);
        return true;
    }
    if st.cycles >= st.exc.next_systick {
        st.ppb.nvic.set_pending(nvic::SYSTICK);
    }
    st.exc.next_systick = st.ppb.systick_interrupt_after(st.cycles).unwrap_or(u64::MAX);
    if !st.exc.deliverable || !st.ppb.nvic.any_pending() {
        return false;
    }
    let m = masks(uc);
    let Some(n) = uc.get_data().ppb.nvic.next_to_take(m) else {
        // Pending but masked: look again at every block until it can be taken.
        uc.get_data_mut().ppb.nvic.check_due = true;
        return false;
    };
    take(uc, n, addr)
}

/// SVC: taken at once, returning to the instruction after it; escalates to HardFault when
/// SVCall cannot preempt (B1.5.11).
pub fn supervisor_call(uc: &mut Unicorn<State>, next_pc: u32) -> bool {
    if !uc.get_data().exc.deliverable {
        return false;
    }
    let m = masks(uc);
    let st = uc.get_data_mut();
    let exec = st.ppb.nvic.execution_priority(m);
    let n = if st.ppb.nvic.priority_of(nvic::SVCALL) < exec {
        nvic::SVCALL
    } else {
        match st.ppb.nvic.escalate(m) {
            Some(h) => h,
            None => return false,
        }
    };
    take(uc, n, next_pc)
}

/// A synchronous fault at `pc`: record it in CFSR/HFSR/MMFAR/BFAR and deliver it to the
/// firmware's handler. Returns false when it cannot be delivered (no vector table, or a
/// fault at HardFault priority: lockup); the caller then reports it directly.
pub fn deliver_fault(uc: &mut Unicorn<State>, fault: FaultKind, pc: u32, kind: &str, message: &str) -> bool {
    // With SP outside RAM the handler could not even be stacked (lockup on hardware):
    // report the stack overflow directly.
    let sp = reg(uc, RegisterARM::SP);
    if !uc.get_data().exc.deliverable || uc.get_data().board.stack_region(sp).is_none() {
        return false;
    }
    let m = masks(uc);
    let st = uc.get_data_mut();
    // Settle the partly executed block: the faulting instruction did not complete.
    if let Some(i) = st.blocks.get(st.cur).map(|b| b.index_of(pc)) {
        st.settle_block(i);
    }
    let Some(n) = st.ppb.nvic.raise_fault(fault, m) else {
        return false;
    };
    if st.exc.delivered_fault.is_none() {
        let mut info = st.error_info(kind, pc);
        info.fault_status = fault_status(st);
        st.exc.delivered_fault = Some((kind.to_string(), message.to_string(), pc, info));
    }
    let taken = take(uc, n, pc);
    if taken {
        super::debug::fault_delivered(uc.get_data_mut(), kind, message);
    }
    taken
}

/// A fault handler reached `b .` (the usual default handler): it will never return, so
/// stop; `finish` reports the fault that was delivered.
pub fn parked_in_fault_handler(uc: &mut Unicorn<State>, addr: u32) {
    let st = uc.get_data_mut();
    let message = format!("the {} handler parked at {} (a `b .` loop)", name(st.ppb.ipsr), st.describe(addr));
    st.set_stop(Stop::Fault { kind: "parked".into(), message, pc: addr }, None);
    let _ = uc.emu_stop();
}

/// Why no exception could ever leave a wait at the current point, or None when one can:
/// a SysTick interrupt that is enabled and not masked, or a pending exception that may
/// preempt. (simbench models no peripheral interrupt sources, so an enabled external IRQ
/// can only be pended by the firmware itself.)
pub fn nothing_can_wake(uc: &Unicorn<State>) -> Option<String> {
    let st = uc.get_data();
    if !st.exc.deliverable {
        return Some("the firmware has no vector table to take an exception through".into());
    }
    let m = masks(uc);
    let exec = st.ppb.nvic.execution_priority(m);
    if st.ppb.nvic.next_to_take(m).is_some() {
        return None;
    }
    let systick = match st.ppb.systick_interrupt_after(st.cycles) {
        Some(_) if st.ppb.nvic.priority_of(nvic::SYSTICK) < exec => return None,
        Some(_) => "the SysTick interrupt is masked (PRIMASK, FAULTMASK or BASEPRI, or the current priority)",
        None => "the SysTick interrupt is off",
    };
    let irqs = st.ppb.nvic.enabled_irqs();
    let irqs = if irqs.is_empty() {
        "no external interrupt is enabled".to_string()
    } else {
        format!("IRQ {} enabled but nothing modelled raises it", irqs.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(", "))
    };
    Some(format!("{systick}, nothing is pending, and {irqs}"))
}

/// CFSR/HFSR and the fault address registers, decoded, for reports.
pub fn fault_status(st: &State) -> Vec<String> {
    let n = &st.ppb.nvic;
    let mut out = vec![format!("CFSR={:#010x} HFSR={:#010x} MMFAR={:#010x} BFAR={:#010x}", n.cfsr, n.hfsr, n.mmfar, n.bfar)];
    out.extend(nvic::cfsr::decode(n.cfsr, n.hfsr).into_iter().map(String::from));
    out
}

/// The handler branched to `exc_return`: pop the frame (or tail-chain into the next
/// pending exception) and resume the interrupted code.
pub fn exception_return(uc: &mut Unicorn<State>, exc_return: u32) {
    let (n, pc_here) = {
        let st = uc.get_data();
        (st.ppb.ipsr, st.blocks.get(st.cur).and_then(|b| b.last.as_ref()).map_or(0, |l| l.addr))
    };
    let valid = n != 0 && exc_return & 0xFFFF_FFE0 == 0xFFFF_FFE0 && matches!(exc_return & 0xF, 0x1 | 0x9 | 0xD);
    if !valid {
        let what = format!("a branch to {exc_return:#010x}, which is not a valid EXC_RETURN here (UsageFault INVPC; IPSR = {n})");
        let st = uc.get_data_mut();
        st.ppb.nvic.cfsr |= nvic::cfsr::INVPC;
        fail(uc, "invalid-exception-return", what, pc_here);
        return;
    }
    let to_thread = exc_return & 8 != 0;
    let use_psp = exc_return & 4 != 0;
    let fp_frame = exc_return & 0x10 == 0;
    let m = masks(uc);
    let st = uc.get_data_mut();
    st.ppb.nvic.deactivate(n);
    let now = st.cycles;
    if let (Some(p), Some(depth)) = (st.profiler.as_mut(), st.exc.profiler_depths.pop()) {
        p.unwind_to(depth, now);
    }
    let frame = if use_psp { reg(uc, RegisterARM::PSP) } else { reg(uc, RegisterARM::MSP) };
    let Some(words) = read_words(uc, frame, 8) else {
        fail(uc, "stack-overflow", format!("unstacking from {frame:#010x} failed (MUNSTKERR/UNSTKERR)"), pc_here);
        return;
    };
    let (ret_pc, xpsr) = (words[6], words[7]);
    let returning_ipsr = (xpsr & 0x1FF) as usize;
    // Tail-chaining: a pending exception that may preempt the context being returned to
    // is taken without unstacking and restacking (B1.5.12).
    let st = uc.get_data_mut();
    let prev_ipsr = std::mem::replace(&mut st.ppb.ipsr, returning_ipsr);
    if let Some(next) = st.ppb.nvic.next_to_take(m).filter(|_| st.exc.deliverable) {
        st.ppb.ipsr = prev_ipsr;
        st.exc.tail_chains += 1;
        set(uc, RegisterARM::LR, exc_return);
        enter_handler(uc, next, ret_pc, TAIL_CHAIN_CYCLES);
        return;
    }
    let regs = [RegisterARM::R0, RegisterARM::R1, RegisterARM::R2, RegisterARM::R3, RegisterARM::R12, RegisterARM::LR];
    for (r, v) in regs.iter().zip(&words) {
        set(uc, *r, *v);
    }
    let mut frame_size = 0x20;
    if fp_frame {
        frame_size = 0x68;
        let lspact = uc.get_data().ppb.scs.fpccr & FPCCR_LSPACT != 0;
        if lspact {
            // The handler never touched the FPU: the registers still hold the context.
            uc.get_data_mut().ppb.scs.fpccr &= !FPCCR_LSPACT;
        } else if let Some(fp) = read_words(uc, frame + 0x20, 17) {
            for (r, v) in FP_REGS.iter().zip(&fp) {
                set(uc, *r, *v);
            }
            set(uc, RegisterARM::FPSCR, fp[16]);
            uc.get_data_mut().cycles += FP_CONTEXT_CYCLES;
        }
    }
    let new_sp = frame + frame_size + if xpsr & XPSR_ALIGNED != 0 { 4 } else { 0 };
    set(uc, RegisterARM::APSR_NZCVQG, xpsr);
    let control = reg(uc, RegisterARM::CONTROL) & !(CONTROL_SPSEL | CONTROL_FPCA);
    let control = control | if to_thread && use_psp { CONTROL_SPSEL } else { 0 } | if fp_frame { CONTROL_FPCA } else { 0 };
    set(uc, RegisterARM::CONTROL, control);
    set(uc, if use_psp { RegisterARM::PSP } else { RegisterARM::MSP }, new_sp);
    let st = uc.get_data_mut();
    st.cycles += EXIT_CYCLES;
    st.cur = NO_BLOCK;
    set(uc, RegisterARM::PC, ret_pc | 1);
}

/// WFI stopped the emulator: advance modelled time to the next interrupt, if one can
/// come. Returns false when nothing could ever wake the core.
pub fn wait_for_interrupt(uc: &mut Unicorn<State>) -> bool {
    let st = uc.get_data_mut();
    st.exc.next_systick = st.ppb.systick_interrupt_after(st.cycles).unwrap_or(u64::MAX);
    if st.ppb.nvic.any_pending() {
        st.ppb.nvic.check_due = true;
        return true;
    }
    if st.exc.next_systick == u64::MAX || !st.exc.deliverable {
        return false;
    }
    st.cycles = st.exc.next_systick;
    st.ppb.nvic.check_due = true;
    true
}
