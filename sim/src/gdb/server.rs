//! The TCP side: listen, wait for one client with the target halted at the reset vector,
//! serve its session, and end the run the way the client leaves (run to the end after a
//! detach; stop with a partial report after a kill or a lost connection).
//!
//! A reader thread decodes what the client sends and raises the machine's interrupt flag
//! on Ctrl-C or a lost connection, so a running target halts; everything else runs on
//! the caller's thread.

use super::monitor::{self, Monitor};
use super::packet::{frame, to_hex, Decoder, Input};
use super::session::{Flow, MonitorReply, Session, Target};
use super::target::memory_map;
use crate::error::SimError;
use crate::image::Image;
use crate::machine::debug::{CoreReg, DebugLink, Debuggee, Event, WatchKind};
use crate::machine::{RunOptions, RunResult, Stop};
use crate::runner::Finished;
use simbench_profiles::{render, Format, Report};
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// SIGHUP: the run's signal when the client goes away without detaching (exit code 129).
pub const SIGHUP: i32 = 1;
/// SIGKILL: the run's signal when the client kills it (exit code 137).
pub const SIGKILL: i32 = 9;

/// A GDB server: the firmware loaded and halted at its reset vector, listening.
pub struct GdbServer {
    listener: TcpListener,
    machine: Machine,
    writer: Arc<Mutex<Option<TcpStream>>>,
}

impl GdbServer {
    /// Load the firmware at `path` with `opts`, halted at the reset vector, and listen on
    /// `addr` (port 0: a free port, see `local_addr`).
    pub fn new(addr: SocketAddr, path: &Path, opts: &RunOptions) -> Result<GdbServer, SimError> {
        let bytes = crate::image::read_firmware(path)?;
        let image = Image::parse(&bytes)?;
        let file_name = path.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
        let mut opts = opts.clone();
        // SYS_GET_CMDLINE without --args: the firmware's file name, as `run_to_report` gives.
        if opts.semihosting.args.is_none() && !file_name.is_empty() {
            opts.semihosting.args = Some(file_name.clone());
        }
        let writer: Arc<Mutex<Option<TcpStream>>> = Arc::new(Mutex::new(None));
        let console_writer = writer.clone();
        let link = DebugLink {
            interrupt: Arc::new(AtomicBool::new(false)),
            console: Arc::new(move |bytes: &[u8]| {
                if let Ok(mut w) = console_writer.lock() {
                    if let Some(s) = w.as_mut() {
                        for chunk in bytes.chunks(1024) {
                            let _ = s.write_all(&frame(format!("O{}", to_hex(chunk)).as_bytes()));
                        }
                    }
                }
            }),
        };
        let debuggee = Debuggee::new(image.clone(), &opts, link.clone())?;
        let machine = Machine { debuggee, image, opts, link, file_name, bytes, breakpoints: Vec::new(), watchpoints: Vec::new(), break_cycle: None };
        let listener = TcpListener::bind(addr).map_err(|e| {
            let hint = match e.kind() {
                std::io::ErrorKind::AddrInUse => {
                    ": another program (another simbench, OpenOCD, QEMU, a GDB server) listens there; pick another port, or --gdb 0 for a free one"
                }
                std::io::ErrorKind::PermissionDenied => ": ports below 1024 need privileges; pick a port above 1024",
                std::io::ErrorKind::AddrNotAvailable => ": that address is not one of this machine's; use 127.0.0.1 (the default)",
                _ => "",
            };
            SimError::Debugger(format!("cannot listen for GDB on {addr}: {e}{hint}"))
        })?;
        Ok(GdbServer { listener, machine, writer })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("a bound listener has an address")
    }

    /// The reset vector the target is halted at.
    pub fn reset_pc(&self) -> u32 {
        self.machine.debuggee.position().pc
    }

    /// Wait for a client, serve it, and give the run's report as `runner::run_to_report`
    /// does.
    pub fn serve(self) -> Result<Finished, SimError> {
        let GdbServer { listener, machine, writer } = self;
        let Some(stream) = accept(&listener, &machine.opts)? else {
            let signal = machine.opts.interrupt.as_ref().map_or(2, |f| f.load(Ordering::Relaxed) as i32);
            let stop = machine.stop_here(signal, "stopped by a signal while waiting for a GDB client");
            return machine.into_finished(stop);
        };
        // One client: others are refused rather than left waiting.
        drop(listener);
        let _ = stream.set_nodelay(true);
        let _ = stream.set_write_timeout(Some(Duration::from_secs(10)));
        *writer.lock().map_err(|_| SimError::Internal("the GDB writer lock".into()))? = Some(stream.try_clone().map_err(io_error)?);

        let gone = Arc::new(AtomicBool::new(false));
        let (tx, rx) = mpsc::channel::<Option<Input>>();
        {
            let mut reader = stream.try_clone().map_err(io_error)?;
            let (interrupt, gone) = (machine.link.interrupt.clone(), gone.clone());
            std::thread::spawn(move || {
                let mut decoder = Decoder::default();
                let mut buf = [0u8; 4096];
                let mut inputs = Vec::new();
                loop {
                    match reader.read(&mut buf) {
                        Ok(0) | Err(_) => {
                            // Gone: a running target halts, and stays interrupted.
                            gone.store(true, Ordering::SeqCst);
                            interrupt.store(true, Ordering::SeqCst);
                            let _ = tx.send(None);
                            return;
                        }
                        Ok(n) => {
                            decoder.feed(&buf[..n], &mut inputs);
                            for input in inputs.drain(..) {
                                if input == Input::Interrupt {
                                    interrupt.store(true, Ordering::SeqCst);
                                }
                                if tx.send(Some(input)).is_err() {
                                    return;
                                }
                            }
                        }
                    }
                }
            });
        }

        let send_raw = |bytes: &[u8]| {
            if let Ok(mut w) = writer.lock() {
                if let Some(s) = w.as_mut() {
                    let _ = s.write_all(bytes);
                }
            }
        };
        let interrupt = machine.link.interrupt.clone();
        let signal_flag = machine.opts.interrupt.clone();
        let mut session = Session::new(machine);
        let mut last: Vec<u8> = Vec::new();
        let ending = loop {
            let msg = match rx.recv_timeout(Duration::from_millis(100)) {
                Ok(m) => m,
                Err(RecvTimeoutError::Timeout) => {
                    // SIGINT or SIGTERM to simbench while the target is halted.
                    match signal_flag.as_ref().map_or(0, |f| f.load(Ordering::Relaxed)) {
                        0 => continue,
                        s => break Ending::Signal(s as i32),
                    }
                }
                Err(RecvTimeoutError::Disconnected) => None,
            };
            match msg {
                None => break Ending::Gone,
                Some(Input::Packet(p)) => {
                    if !session.no_ack() {
                        send_raw(b"+");
                    }
                    if is_resume(&p) {
                        // A Ctrl-C from before this resume is spent; a lost client is not.
                        interrupt.store(false, Ordering::SeqCst);
                        if gone.load(Ordering::SeqCst) {
                            interrupt.store(true, Ordering::SeqCst);
                        }
                    }
                    let flow = session.handle(&p, &mut |reply| {
                        last = frame(reply);
                        send_raw(&last);
                    });
                    match flow {
                        Flow::Continue => {}
                        Flow::Kill => break Ending::Kill,
                        Flow::Detach => break Ending::Detach,
                        Flow::Exited => break Ending::Exited,
                    }
                }
                Some(Input::Nack) => send_raw(&last),
                Some(Input::Bad) => send_raw(b"-"),
                Some(Input::Ack | Input::Interrupt) => {}
            }
        };
        let _ = stream.shutdown(Shutdown::Both);
        if let Ok(mut w) = writer.lock() {
            *w = None;
        }
        let mut machine = session.target;
        let stop = match ending {
            Ending::Exited => None,
            Ending::Kill => Some(machine.stop_here(SIGKILL, "killed from GDB")),
            Ending::Gone => Some(machine.stop_here(SIGHUP, "the GDB client disconnected without detaching")),
            Ending::Signal(s) => Some(machine.stop_here(s, &format!("stopped by {} while halted in GDB", if s == 15 { "SIGTERM" } else { "SIGINT" }))),
            Ending::Detach => {
                machine.debuggee.detach();
                while let Event::Halted(_) = machine.debuggee.resume(false) {}
                None
            }
        };
        machine.into_finished(stop.unwrap_or(Stop::Exit(0)))
    }
}

/// Wait for a client; None when a signal asked simbench to stop first.
fn accept(listener: &TcpListener, opts: &RunOptions) -> Result<Option<TcpStream>, SimError> {
    listener.set_nonblocking(true).map_err(io_error)?;
    loop {
        match listener.accept() {
            Ok((stream, _)) => {
                stream.set_nonblocking(false).map_err(io_error)?;
                return Ok(Some(stream));
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                if opts.interrupt.as_ref().is_some_and(|f| f.load(Ordering::Relaxed) != 0) {
                    return Ok(None);
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => return Err(SimError::Debugger(format!("waiting for a GDB client: {e}"))),
        }
    }
}

fn io_error(e: std::io::Error) -> SimError {
    SimError::Debugger(format!("the GDB connection: {e}"))
}

/// A packet that resumes the target.
fn is_resume(p: &[u8]) -> bool {
    matches!(p.first(), Some(b'c' | b's' | b'C' | b'S')) || p.starts_with(b"vCont;")
}

enum Ending {
    Exited,
    Kill,
    Gone,
    Detach,
    Signal(i32),
}

/// The machine as a session's target, with what a reset needs to build it again.
struct Machine {
    debuggee: Debuggee,
    image: Image,
    opts: RunOptions,
    link: DebugLink,
    file_name: String,
    bytes: Vec<u8>,
    breakpoints: Vec<u32>,
    watchpoints: Vec<(WatchKind, u32, u32)>,
    break_cycle: Option<u64>,
}

impl Machine {
    fn report(&self, run: &RunResult) -> Report {
        crate::report::build(&self.file_name, &self.bytes, &self.image, &self.opts, run)
    }

    /// A stop for ending the run here by `signal`.
    fn stop_here(&self, signal: i32, why: &str) -> Stop {
        let p = self.debuggee.position();
        let message = format!("{why} at pc {:#010x} ({}) after {} cycles: the report so far follows", p.pc, self.debuggee.describe(p.pc), p.cycles);
        Stop::Interrupted { signal, message, pc: p.pc }
    }

    /// The run's report; `stop` ends it here unless it has ended.
    fn into_finished(self, stop: Stop) -> Result<Finished, SimError> {
        let (file_name, bytes, image, opts) = (self.file_name, self.bytes, self.image, self.opts);
        let run = self.debuggee.finish(stop)?;
        let report = crate::report::build(&file_name, &bytes, &image, &opts, &run);
        Ok(Finished { report, stop: run.stop })
    }

    fn cycles(&mut self) -> String {
        let p = self.debuggee.position();
        let mut out = format!("cycles {} instructions {} pc {:#010x} ({})", p.cycles, p.instructions, p.pc, self.debuggee.describe(p.pc));
        if let Ok(run) = self.debuggee.snapshot() {
            let report = self.report(&run);
            out.push_str(&format!(" time {:.3} us", report.latency_us));
            if !report.operators.is_empty() {
                // The operator running now (one cut short here ends now).
                let op = report.operators.iter().rev().find(|o| o.start_cycle <= p.cycles && p.cycles <= o.start_cycle + o.cycles);
                match op {
                    Some(o) => out.push_str(&format!("\noperator #{} {} (invocation {}), from cycle {}", o.index, o.op, o.invocation, o.start_cycle)),
                    None => out.push_str("\noperator none running"),
                }
            }
        }
        out.push('\n');
        out
    }

    fn reset(&mut self) -> MonitorReply {
        match Debuggee::new(self.image.clone(), &self.opts, self.link.clone()) {
            Ok(d) => {
                self.debuggee = d;
                for &a in &self.breakpoints {
                    self.debuggee.set_breakpoint(a, true);
                }
                for &(k, a, l) in &self.watchpoints {
                    self.debuggee.set_watchpoint(k, a, l, true);
                }
                self.debuggee.set_break_cycle(self.break_cycle);
                let pc = self.debuggee.position().pc;
                MonitorReply {
                    output: format!(
                        "reset: halted at the reset vector, pc {pc:#010x} ({}); cycles 0 (`flushregs` makes GDB read the registers again)\n",
                        self.debuggee.describe(pc)
                    ),
                    reset: true,
                }
            }
            Err(e) => MonitorReply { output: format!("reset failed: {e}\n"), reset: false },
        }
    }
}

impl Target for Machine {
    fn read_register(&mut self, r: CoreReg) -> Option<u64> {
        self.debuggee.read_register(r)
    }
    fn write_register(&mut self, r: CoreReg, v: u64) -> bool {
        self.debuggee.write_register(r, v)
    }
    fn read_memory(&mut self, addr: u32, len: usize) -> Option<Vec<u8>> {
        self.debuggee.read_memory(addr, len)
    }
    fn write_memory(&mut self, addr: u32, data: &[u8]) -> bool {
        self.debuggee.write_memory(addr, data)
    }
    fn set_breakpoint(&mut self, addr: u32, on: bool) {
        self.breakpoints.retain(|&a| a != addr);
        if on {
            self.breakpoints.push(addr);
        }
        self.debuggee.set_breakpoint(addr, on);
    }
    fn set_watchpoint(&mut self, kind: WatchKind, addr: u32, len: u32, on: bool) -> bool {
        let ok = self.debuggee.set_watchpoint(kind, addr, len, on);
        if ok {
            self.watchpoints.retain(|&w| w != (kind, addr, len));
            if on {
                self.watchpoints.push((kind, addr, len));
            }
        }
        ok
    }
    fn resume(&mut self, step: bool) -> Event {
        let event = self.debuggee.resume(step);
        if matches!(event, Event::Halted(crate::machine::debug::Halt::Cycle(_))) {
            self.break_cycle = None;
        }
        event
    }
    fn memory_map(&mut self) -> String {
        memory_map(self.debuggee.board().regions.iter().map(|r| (r.base, r.size as u64, r.kind)))
    }
    fn monitor(&mut self, command: &str) -> MonitorReply {
        let output = match monitor::parse(command) {
            Monitor::Help => monitor::HELP.to_string(),
            Monitor::Cycles => self.cycles(),
            Monitor::Reset => return self.reset(),
            Monitor::Halt => "halted\n".to_string(),
            Monitor::Report => match self.debuggee.snapshot() {
                Ok(run) => render(&self.report(&run), Format::Text),
                Err(e) => format!("no report: {e}\n"),
            },
            Monitor::BreakCycle(None) => match self.break_cycle {
                Some(c) => format!("break-cycle {c}\n"),
                None => "no break-cycle set\n".to_string(),
            },
            Monitor::BreakCycle(Some(c)) => {
                self.break_cycle = c;
                self.debuggee.set_break_cycle(c);
                match c {
                    Some(c) => format!("break-cycle {c}: continue to halt at the first instruction starting at or after modelled cycle {c}\n"),
                    None => "break-cycle off\n".to_string(),
                }
            }
            Monitor::Unknown(t) => format!("unknown monitor command '{t}'\n{}", monitor::HELP),
        };
        MonitorReply { output, reset: false }
    }
}
