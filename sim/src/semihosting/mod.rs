//! Arm semihosting (`BKPT 0xAB`; r0 = operation, r1 = argument), the way a debugger
//! serves it, so the same ELF runs under simbench and on a board.
//!
//! Operation numbers, argument blocks and results: Arm "Semihosting for AArch32 and
//! AArch64" (SYS_OPEN 0x01 … SYS_TICKFREQ 0x31), the whole set newlib's rdimon and
//! picolibc use, and the `:semihosting-features` file (EXIT_EXTENDED, STDOUT_STDERR).
//! Time-related calls answer in *modelled* time, never host time, so reports stay
//! deterministic: SYS_CLOCK and SYS_ELAPSED count from reset, SYS_TIME is [`EPOCH`] plus
//! modelled seconds.
//!
//! A request that fails returns -1 (REMOVE, RENAME, SYSTEM: non-zero) and sets the errno
//! SYS_ERRNO returns ([`errno`]); it never stops the run. Requests refused by policy or
//! malformed (host files off, a path leaving the folder, writes not allowed, SYS_SYSTEM,
//! bad handles, unreadable pointers, unknown operations) are also noted for the report
//! ([`Action::Refused`]). Unknown operation numbers get -1 and ENOSYS, as OpenOCD and pyOCD
//! answer them.
//!
//! Pure logic on the [`GuestMemory`] trait and a [`Host`]; the machine glue is
//! `machine/semihosting_call.rs`.

pub mod errno;
mod folder;
mod host;

pub use folder::{Folder, Refusal, Resolved};
pub use host::{Host, SemihostingOptions, Sink, FEATURES, FIRST_OPENED, MAX_HANDLES, MAX_WRITTEN};

use errno::*;

/// Guest memory as semihosting needs it.
pub trait GuestMemory {
    fn read(&self, addr: u32, len: usize) -> Option<Vec<u8>>;
    fn write(&mut self, addr: u32, bytes: &[u8]) -> bool;
    fn read_u32(&self, addr: u32) -> Option<u32> {
        let b = self.read(addr, 4)?;
        Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
}

pub const SYS_OPEN: u32 = 0x01;
pub const SYS_CLOSE: u32 = 0x02;
pub const SYS_WRITEC: u32 = 0x03;
pub const SYS_WRITE0: u32 = 0x04;
pub const SYS_WRITE: u32 = 0x05;
pub const SYS_READ: u32 = 0x06;
pub const SYS_READC: u32 = 0x07;
pub const SYS_ISERROR: u32 = 0x08;
pub const SYS_ISTTY: u32 = 0x09;
pub const SYS_SEEK: u32 = 0x0A;
pub const SYS_FLEN: u32 = 0x0C;
pub const SYS_TMPNAM: u32 = 0x0D;
pub const SYS_REMOVE: u32 = 0x0E;
pub const SYS_RENAME: u32 = 0x0F;
pub const SYS_CLOCK: u32 = 0x10;
pub const SYS_TIME: u32 = 0x11;
pub const SYS_SYSTEM: u32 = 0x12;
pub const SYS_ERRNO: u32 = 0x13;
pub const SYS_GET_CMDLINE: u32 = 0x15;
pub const SYS_HEAPINFO: u32 = 0x16;
pub const SYS_EXIT: u32 = 0x18;
pub const SYS_EXIT_EXTENDED: u32 = 0x20;
pub const SYS_ELAPSED: u32 = 0x30;
pub const SYS_TICKFREQ: u32 = 0x31;
/// ADP_Stopped_ApplicationExit: the "normal exit" reason code.
pub const ADP_APPLICATION_EXIT: u32 = 0x20026;
/// What SYS_TIME counts from: 2024-01-01 00:00:00 UTC (Unix time), plus the modelled
/// seconds since reset. A fixed, plausible date: firmware that checks the clock was set
/// sees a sane value, and the report does not depend on when it ran.
pub const EPOCH: u32 = 1_704_067_200;

/// Most bytes one SYS_WRITE or SYS_READ transfers (a larger request is served in part,
/// which the result reports, as the specification allows), and the longest SYS_WRITE0
/// string.
pub const MAX_TRANSFER: usize = 1 << 20;
/// Longest file name or command string read from the guest.
pub const MAX_NAME: usize = 4096;

/// The state semihosting answers from.
pub struct Context {
    pub cycles: u64,
    pub clock_hz: f64,
    /// heap base, heap limit, stack base, stack limit (SYS_HEAPINFO).
    pub heap_info: [u32; 4],
}

/// What the firmware gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Resume with r0 set.
    Resume { r0: u32 },
    /// Print bytes to fd 1 (stdout) or 2 (stderr), then resume with r0.
    Output { fd: u8, bytes: Vec<u8>, r0: u32 },
    /// The firmware exited with this status.
    Exit(i64),
    /// A request refused or malformed: resume with r0 (-1) after noting `why` for the
    /// report. The errno is already set.
    Refused { r0: u32, errno: i32, why: String },
}

/// Name of a semihosting operation, for messages.
pub fn op_name(op: u32) -> &'static str {
    match op {
        SYS_OPEN => "SYS_OPEN",
        SYS_CLOSE => "SYS_CLOSE",
        SYS_WRITEC => "SYS_WRITEC",
        SYS_WRITE0 => "SYS_WRITE0",
        SYS_WRITE => "SYS_WRITE",
        SYS_READ => "SYS_READ",
        SYS_READC => "SYS_READC",
        SYS_ISERROR => "SYS_ISERROR",
        SYS_ISTTY => "SYS_ISTTY",
        SYS_SEEK => "SYS_SEEK",
        SYS_FLEN => "SYS_FLEN",
        SYS_TMPNAM => "SYS_TMPNAM",
        SYS_REMOVE => "SYS_REMOVE",
        SYS_RENAME => "SYS_RENAME",
        SYS_CLOCK => "SYS_CLOCK",
        SYS_TIME => "SYS_TIME",
        SYS_SYSTEM => "SYS_SYSTEM",
        SYS_ERRNO => "SYS_ERRNO",
        SYS_GET_CMDLINE => "SYS_GET_CMDLINE",
        SYS_HEAPINFO => "SYS_HEAPINFO",
        SYS_EXIT => "SYS_EXIT",
        SYS_EXIT_EXTENDED => "SYS_EXIT_EXTENDED",
        SYS_ELAPSED => "SYS_ELAPSED",
        SYS_TICKFREQ => "SYS_TICKFREQ",
        _ => "unknown operation",
    }
}

/// The operation for a note: its name, or its number when it has none.
pub fn op_label(op: u32) -> String {
    match op_name(op) {
        "unknown operation" => format!("operation {op:#x}"),
        name => name.to_string(),
    }
}

/// fopen's spelling of an open mode.
fn mode_name(mode: u32) -> &'static str {
    const NAMES: [&str; 12] = ["r", "rb", "r+", "r+b", "w", "wb", "w+", "w+b", "a", "ab", "a+", "a+b"];
    NAMES.get(mode as usize).copied().unwrap_or("?")
}

/// Status implied by an exit reason code: 0 for a normal application exit, 1 otherwise.
fn status_of_reason(reason: u32) -> i64 {
    if reason == ADP_APPLICATION_EXIT {
        0
    } else {
        1
    }
}

/// -1 as the firmware reads r0.
const FAILED: u32 = u32::MAX;

/// Serve one semihosting call.
pub fn handle(op: u32, r1: u32, mem: &mut dyn GuestMemory, ctx: &Context, host: &mut Host) -> Action {
    match serve(op, r1, mem, ctx, host) {
        Ok(action) => action,
        Err(r) => {
            host.errno = r.errno;
            if r.noted {
                Action::Refused { r0: FAILED, errno: r.errno, why: r.why }
            } else {
                Action::Resume { r0: FAILED }
            }
        }
    }
}

/// Word `i` of the parameter block at `r1`.
fn arg(mem: &dyn GuestMemory, r1: u32, i: u32) -> Result<u32, Refusal> {
    let at = r1.wrapping_add(4 * i);
    mem.read_u32(at).ok_or_else(|| Refusal::noted(EFAULT, format!("its parameter block at {r1:#010x} is not readable memory")))
}

fn guest_bytes(mem: &dyn GuestMemory, ptr: u32, len: usize, what: &str) -> Result<Vec<u8>, Refusal> {
    if len == 0 {
        return Ok(Vec::new());
    }
    mem.read(ptr, len).ok_or_else(|| Refusal::noted(EFAULT, format!("the {what} at {ptr:#010x} ({len} bytes) is not readable memory")))
}

fn put(mem: &mut dyn GuestMemory, ptr: u32, bytes: &[u8], what: &str) -> Result<(), Refusal> {
    if bytes.is_empty() || mem.write(ptr, bytes) {
        Ok(())
    } else {
        Err(Refusal::noted(EFAULT, format!("the {what} at {ptr:#010x} ({} bytes) is not writable memory", bytes.len())))
    }
}

/// A name (file, command) of `len` bytes at `ptr`.
fn guest_name(mem: &dyn GuestMemory, ptr: u32, len: u32, what: &str) -> Result<String, Refusal> {
    if len as usize > MAX_NAME {
        return Err(Refusal::noted(ENAMETOOLONG, format!("the {what} is {len} bytes long (simbench reads up to {MAX_NAME})")));
    }
    let bytes = guest_bytes(mem, ptr, len as usize, what)?;
    String::from_utf8(bytes).map_err(|_| Refusal::noted(EINVAL, format!("the {what} at {ptr:#010x} is not UTF-8")))
}

/// A handle as a note shows it.
fn handle_name(h: u32) -> String {
    format!("handle {}", h as i32)
}

/// A name as a note shows it: quoted, escaped, cut at 80 characters.
fn shown(name: &str) -> String {
    let cut: String = name.chars().take(80).collect();
    let more = if cut.len() < name.len() { "…" } else { "" };
    format!("{cut:?}{more}")
}

fn serve(op: u32, r1: u32, mem: &mut dyn GuestMemory, ctx: &Context, host: &mut Host) -> Result<Action, Refusal> {
    let resume = |r0: u32| Ok(Action::Resume { r0 });
    match op {
        SYS_OPEN => {
            let (ptr, mode, len) = (arg(mem, r1, 0)?, arg(mem, r1, 1)?, arg(mem, r1, 2)?);
            let name = guest_name(mem, ptr, len, "file name")?;
            let h = host.open(&name, mode).map_err(|r| r.about(&format!("{} (mode {})", shown(&name), mode_name(mode))))?;
            resume(h)
        }
        SYS_CLOSE => {
            let h = arg(mem, r1, 0)?;
            host.close(h).map_err(|r| r.about(&handle_name(h)))?;
            resume(0)
        }
        SYS_WRITEC => Ok(Action::Output { fd: 1, bytes: guest_bytes(mem, r1, 1, "character")?, r0: 0 }),
        SYS_WRITE0 => {
            let mut out = Vec::new();
            let mut addr = r1;
            loop {
                // Up to the end of the current 256-byte chunk, so a string that ends just
                // before unmapped memory is still read whole.
                let n = 256 - (addr as usize & 255);
                let chunk = match mem.read(addr, n) {
                    Some(c) => c,
                    None => guest_bytes(mem, addr, 1, "string")?,
                };
                if let Some(end) = chunk.iter().position(|&b| b == 0) {
                    out.extend_from_slice(&chunk[..end]);
                    break;
                }
                out.extend_from_slice(&chunk);
                if out.len() > MAX_TRANSFER {
                    return Err(Refusal::noted(EINVAL, format!("the string at {r1:#010x} has no NUL within 1 MiB")));
                }
                addr = addr.wrapping_add(chunk.len() as u32);
            }
            Ok(Action::Output { fd: 1, bytes: out, r0: 0 })
        }
        SYS_WRITE => {
            let (h, ptr, len) = (arg(mem, r1, 0)?, arg(mem, r1, 1)?, arg(mem, r1, 2)?);
            let n = (len as usize).min(MAX_TRANSFER);
            let sink = host.sink(h).map_err(|r| r.about(&handle_name(h)))?;
            let bytes = guest_bytes(mem, ptr, n, "buffer")?;
            // r0 = bytes NOT written.
            match sink {
                Sink::Console(fd) => Ok(Action::Output { fd, bytes, r0: len - n as u32 }),
                Sink::File => resume(len - host.write_file(h, &bytes).map_err(|r| r.about(&handle_name(h)))? as u32),
            }
        }
        SYS_READ => {
            let (h, ptr, len) = (arg(mem, r1, 0)?, arg(mem, r1, 1)?, arg(mem, r1, 2)?);
            let data = host.read(h, (len as usize).min(MAX_TRANSFER)).map_err(|r| r.about(&handle_name(h)))?;
            put(mem, ptr, &data, "buffer")?;
            // r0 = bytes NOT read: len means end of file.
            resume(len - data.len() as u32)
        }
        SYS_READC => resume(host.readc().map_or(FAILED, u32::from)),
        SYS_ISERROR => resume(((arg(mem, r1, 0)? as i32) < 0) as u32),
        SYS_ISTTY => {
            let h = arg(mem, r1, 0)?;
            resume(host.istty(h).map_err(|r| r.about(&handle_name(h)))? as u32)
        }
        SYS_SEEK => {
            let (h, pos) = (arg(mem, r1, 0)?, arg(mem, r1, 1)?);
            host.seek(h, pos).map_err(|r| r.about(&handle_name(h)))?;
            resume(0)
        }
        SYS_FLEN => {
            let h = arg(mem, r1, 0)?;
            resume(host.flen(h).map_err(|r| r.about(&handle_name(h)))?)
        }
        SYS_TMPNAM => {
            let (ptr, id, len) = (arg(mem, r1, 0)?, arg(mem, r1, 1)?, arg(mem, r1, 2)?);
            let mut name = host.tmpnam(id)?.into_bytes();
            name.push(0);
            if name.len() > len as usize {
                return Err(Refusal::noted(EINVAL, format!("its buffer of {len} bytes cannot hold the {}-byte name", name.len())));
            }
            put(mem, ptr, &name, "buffer")?;
            resume(0)
        }
        SYS_REMOVE => {
            let (ptr, len) = (arg(mem, r1, 0)?, arg(mem, r1, 1)?);
            let name = guest_name(mem, ptr, len, "file name")?;
            host.remove(&name).map_err(|r| r.about(&shown(&name)))?;
            resume(0)
        }
        SYS_RENAME => {
            let (p1, l1, p2, l2) = (arg(mem, r1, 0)?, arg(mem, r1, 1)?, arg(mem, r1, 2)?, arg(mem, r1, 3)?);
            let from = guest_name(mem, p1, l1, "old name")?;
            let to = guest_name(mem, p2, l2, "new name")?;
            host.rename(&from, &to).map_err(|r| r.about(&format!("{} to {}", shown(&from), shown(&to))))?;
            resume(0)
        }
        // Centiseconds since reset, in modelled time.
        SYS_CLOCK => resume((ctx.cycles as f64 / ctx.clock_hz * 100.0) as u32),
        // Seconds since the Unix epoch: a fixed date plus modelled seconds (deterministic).
        SYS_TIME => resume(EPOCH.wrapping_add((ctx.cycles as f64 / ctx.clock_hz) as u32)),
        SYS_SYSTEM => {
            let command = match (arg(mem, r1, 0), arg(mem, r1, 1)) {
                (Ok(ptr), Ok(len)) => guest_name(mem, ptr, len.min(MAX_NAME as u32), "command").map(|c| format!("{} ", shown(&c))).unwrap_or_default(),
                _ => String::new(),
            };
            Err(Refusal::noted(EPERM, format!("{command}refused: simbench never runs host commands for the firmware")))
        }
        SYS_ERRNO => resume(host.errno as u32),
        SYS_GET_CMDLINE => {
            let (ptr, size) = (arg(mem, r1, 0)?, arg(mem, r1, 1)?);
            let mut line = host.cmdline().as_bytes().to_vec();
            let len = line.len() as u32;
            line.push(0);
            if line.len() > size as usize {
                return Err(Refusal::noted(EINVAL, format!("the command line ({len} bytes and a NUL) does not fit the firmware's {size}-byte buffer")));
            }
            put(mem, ptr, &line, "buffer")?;
            put(mem, r1.wrapping_add(4), &len.to_le_bytes(), "parameter block")?;
            resume(0)
        }
        SYS_TICKFREQ => resume(ctx.clock_hz.round() as u32),
        SYS_ELAPSED => {
            put(mem, r1, &ctx.cycles.to_le_bytes(), "block")?;
            resume(0)
        }
        SYS_HEAPINFO => {
            let block = arg(mem, r1, 0)?;
            let bytes: Vec<u8> = ctx.heap_info.iter().flat_map(|w| w.to_le_bytes()).collect();
            put(mem, block, &bytes, "block")?;
            resume(0)
        }
        // On 32-bit targets r1 holds the reason code itself.
        SYS_EXIT => Ok(Action::Exit(status_of_reason(r1))),
        SYS_EXIT_EXTENDED => match (arg(mem, r1, 0)?, arg(mem, r1, 1)?) {
            (ADP_APPLICATION_EXIT, code) => Ok(Action::Exit(code as i32 as i64)),
            (reason, _) => Ok(Action::Exit(status_of_reason(reason))),
        },
        _ => Err(Refusal::noted(ENOSYS, "not a semihosting operation (OpenOCD and pyOCD answer it the same way; QEMU would stop the run)")),
    }
}

#[cfg(test)]
pub(crate) mod tests;
