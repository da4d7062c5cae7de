//! Arm semihosting (`BKPT 0xAB`; r0 = operation, r1 = argument), the way a debugger
//! serves it, so the same ELF runs under simbench and on a board.
//!
//! Operation numbers and argument blocks: Arm "Semihosting for AArch32 and AArch64"
//! specification (SYS_WRITEC 0x03 … SYS_TICKFREQ 0x31). Time-related calls answer in
//! *modelled* time, never host time, so reports stay deterministic.

/// Guest memory as semihosting needs it.
pub trait GuestMemory {
    fn read(&self, addr: u32, len: usize) -> Option<Vec<u8>>;
    fn write(&mut self, addr: u32, bytes: &[u8]) -> bool;
    fn read_u32(&self, addr: u32) -> Option<u32> {
        let b = self.read(addr, 4)?;
        Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
}

pub const SYS_WRITEC: u32 = 0x03;
pub const SYS_WRITE0: u32 = 0x04;
pub const SYS_WRITE: u32 = 0x05;
pub const SYS_CLOCK: u32 = 0x10;
pub const SYS_TIME: u32 = 0x11;
pub const SYS_ERRNO: u32 = 0x13;
pub const SYS_HEAPINFO: u32 = 0x16;
pub const SYS_EXIT: u32 = 0x18;
pub const SYS_EXIT_EXTENDED: u32 = 0x20;
pub const SYS_ELAPSED: u32 = 0x30;
pub const SYS_TICKFREQ: u32 = 0x31;
/// ADP_Stopped_ApplicationExit: the "normal exit" reason code.
pub const ADP_APPLICATION_EXIT: u32 = 0x20026;

/// Longest string SYS_WRITE0 follows, and largest SYS_WRITE, before calling it an error.
const MAX_STRING: usize = 1 << 20;

/// The state semihosting answers from.
pub struct Context {
    pub cycles: u64,
    pub clock_hz: f64,
    /// heap base, heap limit, stack base, stack limit (SYS_HEAPINFO).
    pub heap_info: [u32; 4],
}

/// What the firmware asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Resume with r0 set.
    Resume { r0: u32 },
    /// Print bytes to fd 1 (stdout) or 2 (stderr), then resume with r0.
    Output { fd: u8, bytes: Vec<u8>, r0: u32 },
    /// The firmware exited with this status.
    Exit(i64),
    /// A call simbench does not implement.
    Unsupported { op: u32, name: &'static str },
    /// A call whose arguments point at unreadable memory.
    BadArgs(String),
}

/// Name of a semihosting operation, for messages.
pub fn op_name(op: u32) -> &'static str {
    match op {
        0x01 => "SYS_OPEN",
        0x02 => "SYS_CLOSE",
        0x03 => "SYS_WRITEC",
        0x04 => "SYS_WRITE0",
        0x05 => "SYS_WRITE",
        0x06 => "SYS_READ",
        0x07 => "SYS_READC",
        0x08 => "SYS_ISERROR",
        0x09 => "SYS_ISTTY",
        0x0A => "SYS_SEEK",
        0x0C => "SYS_FLEN",
        0x0D => "SYS_TMPNAM",
        0x0E => "SYS_REMOVE",
        0x0F => "SYS_RENAME",
        0x10 => "SYS_CLOCK",
        0x11 => "SYS_TIME",
        0x12 => "SYS_SYSTEM",
        0x13 => "SYS_ERRNO",
        0x15 => "SYS_GET_CMDLINE",
        0x16 => "SYS_HEAPINFO",
        0x18 => "SYS_EXIT",
        0x20 => "SYS_EXIT_EXTENDED",
        0x30 => "SYS_ELAPSED",
        0x31 => "SYS_TICKFREQ",
        _ => "unknown operation",
    }
}

/// Status implied by an exit reason code: 0 for a normal application exit, 1 otherwise.
fn status_of_reason(reason: u32) -> i64 {
    if reason == ADP_APPLICATION_EXIT {
        0
    } else {
        1
    }
}

/// Serve one semihosting call.
pub fn handle(op: u32, r1: u32, mem: &mut dyn GuestMemory, ctx: &Context) -> Action {
    let unreadable = |what: &str, addr: u32| Action::BadArgs(format!("{} argument {what} at {addr:#010x} is not readable memory", op_name(op)));
    match op {
        SYS_WRITEC => match mem.read(r1, 1) {
            Some(b) => Action::Output { fd: 1, bytes: b, r0: 0 },
            None => unreadable("character", r1),
        },
        SYS_WRITE0 => {
            let mut out = Vec::new();
            let mut addr = r1;
            loop {
                let Some(chunk) = mem.read(addr, 1) else {
                    return unreadable("string", addr);
                };
                if chunk[0] == 0 {
                    break;
                }
                out.push(chunk[0]);
                if out.len() > MAX_STRING {
                    return Action::BadArgs(format!("SYS_WRITE0 string at {r1:#010x} has no NUL within 1 MiB"));
                }
                addr = addr.wrapping_add(1);
            }
            Action::Output { fd: 1, bytes: out, r0: 0 }
        }
        SYS_WRITE => {
            let (Some(fd), Some(ptr), Some(len)) = (mem.read_u32(r1), mem.read_u32(r1.wrapping_add(4)), mem.read_u32(r1.wrapping_add(8))) else {
                return unreadable("block", r1);
            };
            if len as usize > MAX_STRING {
                return Action::BadArgs(format!("SYS_WRITE of {len} bytes is larger than 1 MiB"));
            }
            match (fd, mem.read(ptr, len as usize)) {
                // r0 = number of bytes NOT written.
                (1 | 2, Some(bytes)) => Action::Output { fd: fd as u8, bytes, r0: 0 },
                (1 | 2, None) => unreadable("buffer", ptr),
                // Handles other than the standard streams were never opened: all unwritten.
                _ => Action::Resume { r0: len },
            }
        }
        // Centiseconds since start, in modelled time.
        SYS_CLOCK => Action::Resume { r0: (ctx.cycles as f64 / ctx.clock_hz * 100.0) as u32 },
        // Seconds "since the epoch": modelled seconds since reset (deterministic).
        SYS_TIME => Action::Resume { r0: (ctx.cycles as f64 / ctx.clock_hz) as u32 },
        SYS_ERRNO => Action::Resume { r0: 0 },
        SYS_TICKFREQ => Action::Resume { r0: ctx.clock_hz.round() as u32 },
        SYS_ELAPSED => {
            let bytes = ctx.cycles.to_le_bytes();
            if mem.write(r1, &bytes) {
                Action::Resume { r0: 0 }
            } else {
                unreadable("block", r1)
            }
        }
        SYS_HEAPINFO => {
            let Some(block) = mem.read_u32(r1) else {
                return unreadable("pointer", r1);
            };
            let bytes: Vec<u8> = ctx.heap_info.iter().flat_map(|w| w.to_le_bytes()).collect();
            if mem.write(block, &bytes) {
                Action::Resume { r0: 0 }
            } else {
                unreadable("block", block)
            }
        }
        // On 32-bit targets r1 holds the reason code itself.
        SYS_EXIT => Action::Exit(status_of_reason(r1)),
        SYS_EXIT_EXTENDED => match (mem.read_u32(r1), mem.read_u32(r1.wrapping_add(4))) {
            (Some(ADP_APPLICATION_EXIT), Some(code)) => Action::Exit(code as i32 as i64),
            (Some(reason), Some(_)) => Action::Exit(status_of_reason(reason)),
            _ => unreadable("block", r1),
        },
        _ => Action::Unsupported { op, name: op_name(op) },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Ram(Vec<u8>);
    impl GuestMemory for Ram {
        fn read(&self, addr: u32, len: usize) -> Option<Vec<u8>> {
            self.0.get(addr as usize..addr as usize + len).map(|s| s.to_vec())
        }
        fn write(&mut self, addr: u32, bytes: &[u8]) -> bool {
            match self.0.get_mut(addr as usize..addr as usize + bytes.len()) {
                Some(s) => {
                    s.copy_from_slice(bytes);
                    true
                }
                None => false,
            }
        }
    }

    fn ctx() -> Context {
        Context { cycles: 250_000_000, clock_hz: 100e6, heap_info: [1, 2, 3, 4] }
    }

    #[test]
    fn write_calls_and_time() {
        let mut m = Ram(vec![0; 256]);
        m.0[16..22].copy_from_slice(b"hello\0");
        assert_eq!(handle(SYS_WRITE0, 16, &mut m, &ctx()), Action::Output { fd: 1, bytes: b"hello".to_vec(), r0: 0 });
        m.0[0..12].copy_from_slice(&[2, 0, 0, 0, 16, 0, 0, 0, 3, 0, 0, 0]);
        assert_eq!(handle(SYS_WRITE, 0, &mut m, &ctx()), Action::Output { fd: 2, bytes: b"hel".to_vec(), r0: 0 });
        // 2.5 s of modelled time at 100 MHz.
        assert_eq!(handle(SYS_CLOCK, 0, &mut m, &ctx()), Action::Resume { r0: 250 });
        assert_eq!(handle(SYS_TIME, 0, &mut m, &ctx()), Action::Resume { r0: 2 });
        assert_eq!(handle(SYS_TICKFREQ, 0, &mut m, &ctx()), Action::Resume { r0: 100_000_000 });
        assert_eq!(handle(SYS_ELAPSED, 32, &mut m, &ctx()), Action::Resume { r0: 0 });
        assert_eq!(u64::from_le_bytes(m.0[32..40].try_into().unwrap()), 250_000_000);
    }

    #[test]
    fn exit_forms_and_unsupported_and_bad_pointers() {
        let mut m = Ram(vec![0; 64]);
        assert_eq!(handle(SYS_EXIT, ADP_APPLICATION_EXIT, &mut m, &ctx()), Action::Exit(0));
        assert_eq!(handle(SYS_EXIT, 0x20023, &mut m, &ctx()), Action::Exit(1));
        m.0[0..8].copy_from_slice(&[0x26, 0x00, 0x02, 0x00, 3, 0, 0, 0]);
        assert_eq!(handle(SYS_EXIT_EXTENDED, 0, &mut m, &ctx()), Action::Exit(3));
        assert_eq!(handle(0x01, 0, &mut m, &ctx()), Action::Unsupported { op: 1, name: "SYS_OPEN" });
        assert!(matches!(handle(SYS_WRITE0, 0x1000, &mut m, &ctx()), Action::BadArgs(_)));
        m.0[40..44].copy_from_slice(&48u32.to_le_bytes());
        assert_eq!(handle(SYS_HEAPINFO, 40, &mut m, &ctx()), Action::Resume { r0: 0 });
        assert_eq!(&m.0[48..52], &1u32.to_le_bytes());
    }
}
