//! unicorn stopped on its own: an invalid access, an exception return, WFI. Decide whether
//! the firmware's handlers take it and the run resumes, and describe what went wrong.

use super::*;

/// unicorn stopped without a simbench stop: an exception return on a core that raises
/// none (a fetch from an EXC_RETURN address), a fault the firmware's handlers take, or
/// WFI. Returns whether to resume at the (new) PC.
pub(super) fn resume_after(uc: &mut Unicorn<State>, result: &Result<(), unicorn_engine::unicorn_const::uc_error>) -> bool {
    let pc = pc_of(uc);
    match (result, uc.get_data().bad_access) {
        (Err(_), Some((MemType::FETCH_UNMAPPED, addr, _))) if addr as u32 >= exceptions::EXC_RETURN_MIN && uc.get_data().ppb.ipsr != 0 => {
            exceptions::exception_return(uc, addr as u32 | 1);
            true
        }
        (Err(_), Some((kind, addr, size))) => {
            let pc = uc.get_data().bad_access_pc;
            let (kind_name, message) = describe_bad_access(uc.get_data(), kind, addr, size, pc);
            let addr = addr as u32;
            let mpu = uc.get_data().ppb.scs.mpu.enabled();
            let fetch = matches!(kind, MemType::FETCH_UNMAPPED | MemType::FETCH_PROT);
            // Unassigned FlexRAM is a bus error even though it is enforced by protections.
            let unassigned = uc.get_data().unassigned(addr).is_some();
            let fault = match kind {
                MemType::FETCH_PROT | MemType::WRITE_PROT | MemType::READ_PROT if mpu && !unassigned => {
                    FaultKind::MemManage { data: !fetch, addr: (!fetch).then_some(addr) }
                }
                _ => FaultKind::Bus { data: !fetch, addr: (!fetch).then_some(addr) },
            };
            exceptions::deliver_fault(uc, fault, pc, kind_name, &format!("firmware fault: {message}"))
        }
        // An undefined instruction (unicorn stops with INSN_INVALID): UsageFault UNDEFINSTR,
        // taken by the firmware's handler like on silicon.
        (Err(unicorn_engine::unicorn_const::uc_error::INSN_INVALID), None) => {
            let message = format!("firmware fault: {}", undefined_instruction(uc.get_data(), pc));
            exceptions::deliver_fault(uc, FaultKind::Usage(cfsr::UNDEFINSTR), pc, "undefined-instruction", &message)
        }
        // WFI halts unicorn (Ok with no stop): sleep until the next interrupt.
        (Ok(()), None) if is_wfi_before(uc, pc) => {
            if exceptions::wait_for_interrupt(uc) {
                return true;
            }
            let why = exceptions::nothing_can_wake(uc).unwrap_or_else(|| "nothing can wake the core".into());
            park(uc, pc.wrapping_sub(2), "WFI", &why);
            false
        }
        _ => false,
    }
}

/// Fault kind and message for an invalid access seen by the unmapped/protection hook.
pub(super) fn describe_bad_access(st: &State, kind: MemType, addr: u64, size: usize, pc: u32) -> (&'static str, String) {
    let protection = matches!(kind, MemType::READ_PROT | MemType::WRITE_PROT | MemType::FETCH_PROT);
    if let Some((r, limit)) = st.unassigned(addr as u32).filter(|_| protection) {
        return (
            "unassigned-memory",
            format!(
                "access to {addr:#010x} at {}, beyond the {} KiB the firmware assigned to region '{}' (FlexRAM bank configuration): a bus error on the device",
                st.describe(pc),
                limit / 1024,
                r.name
            ),
        );
    }
    if protection && st.ppb.scs.mpu.enabled() {
        let access = match kind {
            MemType::READ_PROT => "read of",
            MemType::WRITE_PROT => "write to",
            _ => "instruction fetch from",
        };
        return ("mpu-violation", format!("{access} {addr:#010x} ({size} bytes) at {}: the MPU forbids it (MemManage)", st.describe(pc)));
    }
    let access = match kind {
        MemType::READ_UNMAPPED => "read of unmapped address",
        MemType::WRITE_UNMAPPED => "write to unmapped address",
        MemType::FETCH_UNMAPPED => "instruction fetch from unmapped address",
        MemType::WRITE_PROT => "write to read-only memory (flash) at",
        MemType::FETCH_PROT => "instruction fetch from non-executable memory at",
        _ => "invalid access at",
    };
    let region = st.board.region_of(addr as u32).map(|(_, r)| format!(" (region '{}')", r.name)).unwrap_or_default();
    let hint = if matches!(kind, MemType::READ_UNMAPPED | MemType::WRITE_UNMAPPED) {
        format!(
            "Nothing is mapped there on board '{}': fix the pointer, or map the range in a board file (kind = \"peripheral-ignore\" for vendor peripherals)",
            st.board.name
        )
    } else {
        "Fix the firmware (a bad pointer or jump)".to_string()
    };
    let kind_name = match kind {
        MemType::FETCH_UNMAPPED | MemType::FETCH_PROT => "unmapped-fetch",
        MemType::WRITE_PROT => "write-to-flash",
        _ => "unmapped-access",
    };
    (kind_name, format!("{access} {addr:#010x}{region} ({size} bytes) at {}. {hint}", st.describe(pc)))
}

/// Whether the instruction before `pc` is a WFI (16-bit 0xBF30 or 32-bit 0xF3AF 0x8003).
pub(super) fn is_wfi_before(uc: &Unicorn<State>, pc: u32) -> bool {
    let mut b = [0u8; 4];
    let short = uc.mem_read(pc.wrapping_sub(2) as u64, &mut b[..2]).is_ok() && b[..2] == [0x30, 0xBF];
    short || (uc.mem_read(pc.wrapping_sub(4) as u64, &mut b).is_ok() && b == [0xAF, 0xF3, 0x03, 0x80])
}

/// What an undefined instruction at `pc` is, with a hint for double-precision FPU
/// instructions on a single-precision FPU.
pub(super) fn undefined_instruction(st: &State, pc: u32) -> String {
    let text = st.disassemble(pc);
    let hint = if text.contains(".f64") && !st.board.double_precision_fpu() {
        format!(
            ". Board '{}' has a single-precision FPU (fpu = \"sp\"), on which double-precision instructions are undefined: build with -mfpu=fpv5-sp-d16 (or fpv4-sp-d16 on the M4), or pick a part with a double-precision FPU",
            st.board.name
        )
    } else {
        String::new()
    };
    format!("an undefined or unsupported instruction ({text}) at {}{hint}", st.describe(pc))
}
