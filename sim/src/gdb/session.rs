//! One client's session: each command answered from a `Target` (the machine, or a mock in
//! the tests). Resuming blocks until the target halts; the answer is then the stop reply.

use super::command::{parse, Command, PointKind};
use super::packet::{to_hex, MAX_PACKET};
use super::target::{target_xml, xfer_window, REGISTERS};
use crate::machine::debug::{CoreReg, Event, Halt, WatchKind};
use crate::machine::Stop;

/// What a session needs from the machine.
pub trait Target {
    fn read_register(&mut self, r: CoreReg) -> Option<u64>;
    fn write_register(&mut self, r: CoreReg, v: u64) -> bool;
    fn read_memory(&mut self, addr: u32, len: usize) -> Option<Vec<u8>>;
    fn write_memory(&mut self, addr: u32, data: &[u8]) -> bool;
    fn set_breakpoint(&mut self, addr: u32, on: bool);
    fn set_watchpoint(&mut self, kind: WatchKind, addr: u32, len: u32, on: bool) -> bool;
    /// Run until the next halt (`step`: after one instruction) or the end of the run.
    fn resume(&mut self, step: bool) -> Event;
    /// The memory map document.
    fn memory_map(&mut self) -> String;
    /// A `monitor` command: its output, and whether it reset the target.
    fn monitor(&mut self, command: &str) -> MonitorReply;
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MonitorReply {
    pub output: String,
    pub reset: bool,
}

/// What the server does after a packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    /// Serve the next packet.
    Continue,
    /// The client killed the target: end the run here.
    Kill,
    /// The client detached: run to the end without it.
    Detach,
    /// The run ended and the client was told (`W`/`X`).
    Exited,
}

/// GDB's signal numbers (gdb/signals.def; the same as Linux's for these but SIGBUS).
pub mod signal {
    pub const SIGINT: u8 = 2;
    pub const SIGILL: u8 = 4;
    pub const SIGTRAP: u8 = 5;
    pub const SIGABRT: u8 = 6;
    pub const SIGFPE: u8 = 8;
    pub const SIGKILL: u8 = 9;
    pub const SIGBUS: u8 = 10;
    pub const SIGSEGV: u8 = 11;
    pub const SIGSYS: u8 = 12;
    pub const SIGTERM: u8 = 15;
    pub const SIGXCPU: u8 = 24;
}

/// The signal a fault of `kind` (a report's `error.kind`) stops with.
pub fn fault_signal(kind: &str) -> u8 {
    use signal::*;
    match kind {
        "undefined-instruction" | "invalid-state" | "no-coprocessor" | "invalid-exception-return" => SIGILL,
        "svc" => SIGSYS,
        "unaligned" => SIGBUS,
        "divide-by-zero" => SIGFPE,
        "breakpoint" => SIGTRAP,
        "system-reset" => SIGABRT,
        _ => SIGSEGV,
    }
}

/// The signal a run that ended other than by exiting is reported with.
pub fn stop_signal(stop: &Stop) -> u8 {
    match stop {
        Stop::Exit(_) => 0,
        Stop::Fault { kind, .. } => fault_signal(kind),
        Stop::Limit { .. } => signal::SIGXCPU,
        Stop::Parked { .. } => signal::SIGTRAP,
        Stop::Interrupted { signal, .. } => u8::try_from(*signal).unwrap_or(signal::SIGINT),
    }
}

pub struct Session<T: Target> {
    pub target: T,
    no_ack: bool,
    /// The last stop reply, for `?`.
    last_stop: Vec<u8>,
    /// The run ended with this (not an exit): the next resume reports the end.
    ended: Option<Stop>,
}

impl<T: Target> Session<T> {
    /// A session with the target halted at the reset vector.
    pub fn new(target: T) -> Session<T> {
        let mut s = Session { target, no_ack: false, last_stop: Vec::new(), ended: None };
        s.last_stop = s.halt_reply(&Halt::Reset);
        s
    }

    /// Whether the client turned acknowledgements off (`QStartNoAckMode`).
    pub fn no_ack(&self) -> bool {
        self.no_ack
    }

    /// Serve one packet. What to send goes to `send` in order (console output, then the
    /// answer); a packet that needs no answer sends nothing.
    pub fn handle(&mut self, payload: &[u8], send: &mut dyn FnMut(&[u8])) -> Flow {
        let answer: Vec<u8> = match parse(payload) {
            Command::HaltReason => self.last_stop.clone(),
            Command::ReadRegisters => {
                let mut out = String::new();
                for r in REGISTERS.iter() {
                    out.push_str(&self.register_hex(r.reg, r.bits));
                }
                out.into_bytes()
            }
            Command::WriteRegisters(bytes) => {
                let mut at = 0;
                for r in REGISTERS.iter() {
                    let n = (r.bits / 8) as usize;
                    if at + n > bytes.len() {
                        break;
                    }
                    self.target.write_register(r.reg, le_value(&bytes[at..at + n]));
                    at += n;
                }
                b"OK".to_vec()
            }
            Command::ReadRegister(n) => match REGISTERS.get(n) {
                Some(r) => self.register_hex(r.reg, r.bits).into_bytes(),
                None => b"E01".to_vec(),
            },
            Command::WriteRegister(n, bytes) => match REGISTERS.get(n) {
                Some(r) if bytes.len() == (r.bits / 8) as usize && self.target.write_register(r.reg, le_value(&bytes)) => b"OK".to_vec(),
                _ => b"E01".to_vec(),
            },
            Command::ReadMemory { addr, len } => match self.target.read_memory(addr, len.min(MAX_PACKET / 2 - 16)) {
                Some(bytes) => to_hex(&bytes).into_bytes(),
                None => b"E14".to_vec(),
            },
            Command::WriteMemory { addr, data } => ok_or(data.is_empty() || self.target.write_memory(addr, &data), "E14"),
            Command::Resume { step, addr } => {
                if let Some(stop) = &self.ended {
                    // The run is over: report how it ended.
                    send(format!("X{:02x}", stop_signal(stop)).as_bytes());
                    return Flow::Exited;
                }
                if let Some(a) = addr {
                    self.target.write_register(CoreReg::R(15), a as u64);
                }
                let event = self.target.resume(step);
                return self.report(event, send);
            }
            Command::VContQuery => b"vCont;c;C;s;S".to_vec(),
            Command::Point { insert, kind, addr, len } => match kind {
                PointKind::Software | PointKind::Hardware => {
                    self.target.set_breakpoint(addr, insert);
                    b"OK".to_vec()
                }
                PointKind::Watch(w) => ok_or(self.target.set_watchpoint(w, addr, len, insert), "E01"),
            },
            Command::Kill => {
                if payload.starts_with(b"vKill") {
                    send(b"OK");
                }
                return Flow::Kill;
            }
            Command::Detach => {
                send(b"OK");
                return Flow::Detach;
            }
            Command::Supported(_) => {
                format!("PacketSize={MAX_PACKET:x};qXfer:features:read+;qXfer:memory-map:read+;QStartNoAckMode+;vContSupported+").into_bytes()
            }
            Command::XferRead { object, annex, offset, len } => {
                let len = len.min(MAX_PACKET - 16);
                match (object.as_str(), annex.as_str()) {
                    ("features", "target.xml") => xfer_window(target_xml().as_bytes(), offset, len),
                    ("memory-map", "") => xfer_window(self.target.memory_map().as_bytes(), offset, len),
                    ("features", _) => b"E00".to_vec(),
                    _ => Vec::new(),
                }
            }
            Command::Monitor(text) => {
                let reply = self.target.monitor(text.trim());
                if reply.reset {
                    self.ended = None;
                    self.last_stop = self.halt_reply(&Halt::Reset);
                }
                console(&reply.output, send);
                b"OK".to_vec()
            }
            Command::StartNoAck => {
                // The answer is still acknowledged; the server stops after sending it.
                self.no_ack = true;
                b"OK".to_vec()
            }
            Command::Attached => b"1".to_vec(),
            Command::CurrentThread => b"QC1".to_vec(),
            Command::ThreadsFirst => b"m1".to_vec(),
            Command::ThreadsNext => b"l".to_vec(),
            Command::ThreadOk | Command::Symbol | Command::FlashDone => b"OK".to_vec(),
            Command::FlashErase { addr, len } => {
                // Erased flash reads 0xFF; the range must be mapped.
                ok_or(self.target.write_memory(addr, &vec![0xFF; len as usize]), "E01")
            }
            Command::FlashWrite { addr, data } => ok_or(self.target.write_memory(addr, &data), "E01"),
            Command::Unknown => Vec::new(),
            Command::Malformed => b"E01".to_vec(),
        };
        send(&answer);
        Flow::Continue
    }

    /// Tell the client how `resume` came back.
    fn report(&mut self, event: Event, send: &mut dyn FnMut(&[u8])) -> Flow {
        match event {
            Event::Halted(h) => {
                match &h {
                    Halt::Fault { message, .. } => console(&format!("simbench: {message}\n"), send),
                    Halt::Cycle(c) => console(&format!("simbench: reached modelled cycle {c}\n"), send),
                    _ => {}
                }
                self.last_stop = self.halt_reply(&h);
                send(&self.last_stop.clone());
                Flow::Continue
            }
            Event::Ended(Stop::Exit(code)) => {
                send(format!("W{:02x}", code as u8).as_bytes());
                Flow::Exited
            }
            Event::Ended(stop) => {
                console(&format!("simbench: {}\n", stop.message().unwrap_or("the run ended")), send);
                self.last_stop = self.stop_reply(stop_signal(&stop), "");
                self.ended = Some(stop);
                send(&self.last_stop.clone());
                Flow::Continue
            }
        }
    }

    fn halt_reply(&mut self, h: &Halt) -> Vec<u8> {
        let (sig, extra) = match h {
            Halt::Interrupt => (signal::SIGINT, String::new()),
            Halt::Fault { kind, .. } => (fault_signal(kind), String::new()),
            Halt::Watch { kind, addr, .. } => {
                let name = match kind {
                    WatchKind::Write => "watch",
                    WatchKind::Read => "rwatch",
                    WatchKind::Access => "awatch",
                };
                (signal::SIGTRAP, format!("{name}:{addr:x};"))
            }
            Halt::Reset | Halt::Breakpoint | Halt::Step | Halt::Cycle(_) => (signal::SIGTRAP, String::new()),
        };
        self.stop_reply(sig, &extra)
    }

    /// `T` with the signal, the PC, SP and LR (saving the client three reads), the thread.
    fn stop_reply(&mut self, sig: u8, extra: &str) -> Vec<u8> {
        let mut t = format!("T{sig:02x}");
        for n in [15usize, 13, 14] {
            t.push_str(&format!("{n:02x}:{};", self.register_hex(REGISTERS[n].reg, 32)));
        }
        t.push_str(extra);
        t.push_str("thread:1;");
        t.into_bytes()
    }

    fn register_hex(&mut self, r: CoreReg, bits: u32) -> String {
        let n = (bits / 8) as usize;
        match self.target.read_register(r) {
            Some(v) => to_hex(&v.to_le_bytes()[..n]),
            None => "xx".repeat(n),
        }
    }
}

fn ok_or(ok: bool, err: &str) -> Vec<u8> {
    if ok {
        b"OK".to_vec()
    } else {
        err.as_bytes().to_vec()
    }
}

fn le_value(bytes: &[u8]) -> u64 {
    bytes.iter().rev().fold(0u64, |v, &b| v << 8 | b as u64)
}

/// Text for the client's console: `O` packets of hex.
pub fn console(text: &str, send: &mut dyn FnMut(&[u8])) {
    for chunk in text.as_bytes().chunks(1024) {
        send(format!("O{}", to_hex(chunk)).as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// A target with 1 KiB of RAM at 0x2000_0000 and scripted resume events.
    struct Mock {
        regs: BTreeMap<String, u64>,
        ram: Vec<u8>,
        breakpoints: Vec<u32>,
        events: Vec<Event>,
        steps: Vec<bool>,
    }

    impl Mock {
        fn new(events: Vec<Event>) -> Mock {
            Mock { regs: BTreeMap::new(), ram: vec![0; 1024], breakpoints: Vec::new(), events, steps: Vec::new() }
        }
    }

    impl Target for Mock {
        fn read_register(&mut self, r: CoreReg) -> Option<u64> {
            match r {
                CoreReg::D(15) => None,
                _ => Some(*self.regs.get(&format!("{r:?}")).unwrap_or(&0)),
            }
        }
        fn write_register(&mut self, r: CoreReg, v: u64) -> bool {
            self.regs.insert(format!("{r:?}"), v);
            true
        }
        fn read_memory(&mut self, addr: u32, len: usize) -> Option<Vec<u8>> {
            let off = addr.checked_sub(0x2000_0000)? as usize;
            (off < self.ram.len()).then(|| self.ram[off..(off + len).min(self.ram.len())].to_vec())
        }
        fn write_memory(&mut self, addr: u32, data: &[u8]) -> bool {
            let Some(off) = addr.checked_sub(0x2000_0000).map(|o| o as usize) else { return false };
            if off + data.len() > self.ram.len() {
                return false;
            }
            self.ram[off..off + data.len()].copy_from_slice(data);
            true
        }
        fn set_breakpoint(&mut self, addr: u32, on: bool) {
            if on {
                self.breakpoints.push(addr)
            } else {
                self.breakpoints.retain(|&a| a != addr)
            }
        }
        fn set_watchpoint(&mut self, _: WatchKind, addr: u32, _: u32, _: bool) -> bool {
            addr >= 0x2000_0000
        }
        fn resume(&mut self, step: bool) -> Event {
            self.steps.push(step);
            self.events.remove(0)
        }
        fn memory_map(&mut self) -> String {
            "<memory-map/>".into()
        }
        fn monitor(&mut self, command: &str) -> MonitorReply {
            MonitorReply { output: format!("did {command}\n"), reset: command == "reset" }
        }
    }

    fn ask(s: &mut Session<Mock>, packet: &str) -> (Vec<String>, Flow) {
        let mut sent = Vec::new();
        let flow = s.handle(packet.as_bytes(), &mut |p| sent.push(String::from_utf8_lossy(p).into_owned()));
        (sent, flow)
    }

    fn one(s: &mut Session<Mock>, packet: &str) -> String {
        let (sent, flow) = ask(s, packet);
        assert_eq!(flow, Flow::Continue);
        assert_eq!(sent.len(), 1, "{packet}: {sent:?}");
        sent[0].clone()
    }

    #[test]
    fn handshake_and_description() {
        let mut s = Session::new(Mock::new(vec![]));
        assert!(one(&mut s, "qSupported:multiprocess+;swbreak+").contains("qXfer:features:read+"));
        assert_eq!(one(&mut s, "vMustReplyEmpty"), "");
        assert_eq!(one(&mut s, "QStartNoAckMode"), "OK");
        assert!(s.no_ack());
        let xml = one(&mut s, "qXfer:features:read:target.xml:0,fff");
        assert!(xml.starts_with("l<?xml"), "{xml}");
        assert!(one(&mut s, "qXfer:features:read:target.xml:0,10").starts_with('m'));
        assert_eq!(one(&mut s, "qXfer:features:read:other.xml:0,10"), "E00");
        assert_eq!(one(&mut s, "qXfer:memory-map:read::0,100"), "l<memory-map/>");
        assert_eq!(one(&mut s, "qXfer:libraries:read::0,100"), "");
        assert_eq!(one(&mut s, "qAttached"), "1");
        assert_eq!(one(&mut s, "qfThreadInfo"), "m1");
        assert_eq!(one(&mut s, "qsThreadInfo"), "l");
        assert_eq!(one(&mut s, "Hg0"), "OK");
        assert!(one(&mut s, "?").starts_with("T05"));
    }

    #[test]
    fn registers_in_order_little_endian() {
        let mut s = Session::new(Mock::new(vec![]));
        s.target.regs.insert("R(15)".into(), 0x2c8);
        s.target.regs.insert("Xpsr".into(), 0x0100_0000);
        let g = one(&mut s, "g");
        // 23 words, 16 doubles (the last unavailable), fpscr.
        assert_eq!(g.len(), 2 * (23 * 4 + 16 * 8 + 4));
        assert_eq!(&g[15 * 8..16 * 8], "c8020000");
        assert_eq!(&g[16 * 8..17 * 8], "00000001");
        assert_eq!(&g[2 * (23 * 4 + 15 * 8)..2 * (23 * 4 + 16 * 8)], "xxxxxxxxxxxxxxxx");
        assert_eq!(one(&mut s, "pf"), "c8020000");
        assert_eq!(one(&mut s, "p17"), "0000000000000000", "d0 is 64 bits");
        assert_eq!(one(&mut s, "p28"), "E01");
        assert_eq!(one(&mut s, "P1=78563412"), "OK");
        assert_eq!(s.target.regs["R(1)"], 0x1234_5678);
        assert_eq!(one(&mut s, "P1=7856"), "E01", "wrong width");
        assert_eq!(one(&mut s, "P99=78563412"), "E01");
    }

    #[test]
    fn memory_reads_and_writes() {
        let mut s = Session::new(Mock::new(vec![]));
        assert_eq!(one(&mut s, "M20000004,2:beef"), "OK");
        assert_eq!(one(&mut s, "m20000004,4"), "beef0000");
        assert_eq!(one(&mut s, "X20000000,1:}]"), "OK");
        assert_eq!(s.target.ram[0], b'}');
        assert_eq!(one(&mut s, "m10000000,4"), "E14");
        assert_eq!(one(&mut s, "M10000000,1:00"), "E14");
        assert_eq!(one(&mut s, "X10000000,0:"), "OK", "a zero-length write probes for X support");
        assert_eq!(one(&mut s, "m20000000"), "E01", "malformed");
        assert_eq!(one(&mut s, "vFlashErase:20000000,4"), "OK");
        assert_eq!(&s.target.ram[..4], &[0xFF; 4]);
        assert_eq!(one(&mut s, "vFlashWrite:20000000:ab"), "OK");
        assert_eq!(one(&mut s, "vFlashDone"), "OK");
    }

    #[test]
    fn run_control_and_stop_replies() {
        let events = vec![
            Event::Halted(Halt::Breakpoint),
            Event::Halted(Halt::Watch { kind: WatchKind::Write, addr: 0x2000_0405, pc: 0x2f6 }),
            Event::Halted(Halt::Fault { kind: "unmapped-access".into(), message: "firmware fault: read of unmapped address".into() }),
            Event::Halted(Halt::Interrupt),
            Event::Ended(Stop::Exit(3)),
        ];
        let mut s = Session::new(Mock::new(events));
        assert_eq!(one(&mut s, "Z0,2c8,2"), "OK");
        assert_eq!(s.target.breakpoints, vec![0x2c8]);
        assert_eq!(one(&mut s, "Z2,20000405,1"), "OK");
        assert_eq!(one(&mut s, "Z2,10,1"), "E01");
        let t = one(&mut s, "vCont;c");
        assert!(t.starts_with("T05") && t.contains("0f:") && t.ends_with("thread:1;"), "{t}");
        let t = one(&mut s, "vCont;s:1");
        assert!(t.contains("watch:20000405;"), "{t}");
        assert_eq!(s.target.steps, vec![false, true]);
        let (sent, _) = ask(&mut s, "c");
        assert_eq!(sent.len(), 2, "console message, then the stop");
        assert!(sent[0].starts_with('O'));
        assert!(sent[1].starts_with("T0b"), "SIGSEGV: {}", sent[1]);
        assert!(one(&mut s, "?").starts_with("T0b"));
        assert!(one(&mut s, "c").starts_with("T02"));
        let (sent, flow) = ask(&mut s, "c");
        assert_eq!((sent, flow), (vec!["W03".to_string()], Flow::Exited));
    }

    #[test]
    fn a_run_that_ends_in_a_fault_stays_inspectable_then_exits_with_its_signal() {
        let stop = Stop::Fault { kind: "undefined-instruction".into(), message: "firmware fault: undefined".into(), pc: 0x100 };
        let mut s = Session::new(Mock::new(vec![Event::Ended(stop)]));
        let (sent, flow) = ask(&mut s, "c");
        assert_eq!(flow, Flow::Continue);
        assert!(sent[1].starts_with("T04"), "SIGILL: {sent:?}");
        assert_eq!(one(&mut s, "m20000000,1"), "00");
        let (sent, flow) = ask(&mut s, "s");
        assert_eq!((sent, flow), (vec!["X04".to_string()], Flow::Exited));
    }

    #[test]
    fn monitor_kill_detach() {
        let mut s = Session::new(Mock::new(vec![]));
        let (sent, flow) = ask(&mut s, &format!("qRcmd,{}", to_hex(b"cycles")));
        assert_eq!(flow, Flow::Continue);
        assert_eq!(sent, vec![format!("O{}", to_hex(b"did cycles\n")), "OK".into()]);
        assert_eq!(ask(&mut s, "k"), (vec![], Flow::Kill));
        assert_eq!(ask(&mut s, "vKill;1"), (vec!["OK".to_string()], Flow::Kill));
        assert_eq!(ask(&mut s, "D"), (vec!["OK".to_string()], Flow::Detach));
    }

    #[test]
    fn malformed_and_unknown_packets_are_answered() {
        let mut s = Session::new(Mock::new(vec![]));
        for p in ["", "qTStatus", "!", "vRun;", "qXfer:threads:read::0,100", "bc", "i"] {
            assert_eq!(one(&mut s, p), "", "{p}");
        }
        for p in ["m", "M1,2:zz", "Gz", "pz", "Z0,", "qRcmd,zz", "vCont;x", "vFlashErase:", "C"] {
            assert_eq!(one(&mut s, p), "E01", "{p}");
        }
    }
}
