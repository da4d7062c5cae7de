//! A `BKPT 0xAB` reached: serve the semihosting call (`crate::semihosting`) with the
//! guest's registers and memory, and resume or stop; refusals become notes for the report.

use super::*;

/// Semihosting's view of guest memory.
pub(super) struct UcMemory<'a, 'b>(&'a mut Unicorn<'b, State>);

impl GuestMemory for UcMemory<'_, '_> {
    fn read(&self, addr: u32, len: usize) -> Option<Vec<u8>> {
        let mut buf = vec![0u8; len];
        self.0.mem_read(addr as u64, &mut buf).ok().map(|_| buf)
    }
    fn write(&mut self, addr: u32, bytes: &[u8]) -> bool {
        self.0.mem_write(addr as u64, bytes).is_ok()
    }
}

pub(super) fn serve_semihosting(uc: &mut Unicorn<State>, pc: u32, at: Option<usize>) {
    let op = uc.reg_read(RegisterARM::R0).unwrap_or(0) as u32;
    let r1 = uc.reg_read(RegisterARM::R1).unwrap_or(0) as u32;
    let ctx = {
        let st = uc.get_data();
        semihosting::Context { cycles: st.now_at(pc), clock_hz: st.board.clock_hz(), heap_info: st.heap_info }
    };
    // The host travels outside the state while the call borrows guest memory.
    let mut host = uc.get_data_mut().semihost.take().expect("the semihosting host is in the state");
    let action = semihosting::handle(op, r1, &mut UcMemory(uc), &ctx, &mut host);
    let resume = |uc: &mut Unicorn<State>, r0: u32| {
        let _ = uc.reg_write(RegisterARM::R0, r0 as u64);
        let _ = uc.reg_write(RegisterARM::PC, (pc as u64 + 2) | 1);
    };
    match action {
        semihosting::Action::Resume { r0 } => resume(uc, r0),
        semihosting::Action::Output { fd, bytes, r0 } => {
            uc.get_data_mut().emit(fd, &bytes);
            resume(uc, r0);
        }
        semihosting::Action::Exit(status) => {
            uc.get_data_mut().set_stop(Stop::Exit(status), at.map(|i| (i, true)));
            let _ = uc.emu_stop();
        }
        // Refused or malformed: the firmware gets -1 and errno, as from a debugger; the
        // report notes why.
        semihosting::Action::Refused { r0, errno, why } => {
            let st = uc.get_data();
            host.note(format!(
                "{} at {}: {why}; the firmware got -1 and errno {errno} ({})",
                semihosting::op_label(op),
                st.describe(pc),
                semihosting::errno::name(errno)
            ));
            resume(uc, r0);
        }
    }
    uc.get_data_mut().semihost = Some(host);
}
