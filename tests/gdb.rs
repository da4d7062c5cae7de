//! The GDB server (`--gdb`) with a real client: Debian's gdb-multiarch in batch mode
//! against fixtures (scripts/setup installs it; without it these tests skip with a
//! message), and a raw TCP client for what gdb does not send. Every wait has a timeout;
//! servers listen on 127.0.0.1 on a port the system picks.
//!
//! Timing is the point: a run under GDB, with breakpoints, steps and watchpoints on the
//! way, gives the same report (minus `host`) as the run without it.

mod common;
use common::*;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const GDB: &str = "gdb-multiarch";

fn have_gdb() -> bool {
    match Command::new(GDB).arg("--version").output() {
        Ok(o) if o.status.success() => true,
        _ => {
            eprintln!("SKIPPED: {GDB} not found (scripts/setup installs it)");
            false
        }
    }
}

fn tmp(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("gdb_{name}"))
}

/// Wait for `child` at most `secs` seconds (then kill it and fail).
fn wait(child: &mut Child, secs: u64, what: &str) -> i32 {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(s) = child.try_wait().expect("try_wait") {
            return s.code().unwrap_or(-1);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what} did not finish within {secs} s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A simbench run serving GDB on a free port, its JSON report going to a file.
struct Served {
    child: Child,
    port: u16,
    report: PathBuf,
    stderr: mpsc::Receiver<String>,
    elf: &'static str,
}

fn serve(name: &str, elf: &'static str, args: &[&str]) -> Served {
    let report = tmp(&format!("{name}.json"));
    let _ = std::fs::remove_file(&report);
    let mut child = Command::new(env!("CARGO_BIN_EXE_simbench"))
        .arg(fixture(elf))
        .args(args)
        .args(["--format", "json", "-o"])
        .arg(&report)
        .args(["--gdb", "127.0.0.1:0"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("simbench starts");
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut text = String::new();
        let mut r = std::io::BufReader::new(stderr);
        while std::io::BufRead::read_line(&mut r, &mut text).map(|n| n > 0).unwrap_or(false) {
            if tx.send(std::mem::take(&mut text)).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    let port = loop {
        let Ok(line) = rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) else {
            let _ = child.kill();
            panic!("simbench did not announce its GDB port");
        };
        if let Some(rest) = line.split("listening on 127.0.0.1:").nth(1) {
            break rest.split(|c: char| !c.is_ascii_digit()).next().unwrap().parse().unwrap();
        }
    };
    Served { child, port, report, stderr: rx, elf }
}

impl Served {
    /// gdb-multiarch in batch mode: attach, run `commands`, leave; its output.
    fn gdb(&self, commands: &[&str]) -> String {
        run_gdb(self.port, self.elf, commands)
    }

    /// Wait for simbench to end: its exit code, JSON report and stderr.
    fn finish(mut self) -> (i32, serde_json::Value, String) {
        let code = wait(&mut self.child, 60, "simbench");
        let mut err = String::new();
        while let Ok(l) = self.stderr.recv_timeout(Duration::from_secs(5)) {
            err.push_str(&l);
        }
        let text = std::fs::read_to_string(&self.report).unwrap_or_default();
        let report = serde_json::from_str(&text).unwrap_or(serde_json::Value::Null);
        (code, report, err)
    }
}

/// gdb-multiarch in batch mode against the server on `port`.
fn run_gdb(port: u16, elf: &str, commands: &[&str]) -> String {
    let log = tmp(&format!("gdb_{port}.log"));
    let file = std::fs::File::create(&log).unwrap();
    let mut cmd = Command::new(GDB);
    cmd.args(["-batch", "-nx", "-ex", "set pagination off", "-ex", "set confirm off", "-ex", &format!("target remote 127.0.0.1:{port}")]);
    for c in commands {
        cmd.args(["-ex", c]);
    }
    // One file for both streams keeps gdb's output in order.
    cmd.arg(fixture(elf)).stdin(Stdio::null()).stdout(file.try_clone().unwrap()).stderr(file);
    let mut child = cmd.spawn().expect("gdb-multiarch starts");
    wait(&mut child, 60, GDB);
    std::fs::read_to_string(&log).unwrap_or_default()
}

/// The JSON report of a run without GDB.
fn plain(elf: &str, args: &[&str]) -> serde_json::Value {
    let mut a = vec![fixture(elf).display().to_string()];
    a.extend(args.iter().map(|s| s.to_string()));
    a.extend(["--format", "json", "-q", "--no-ranges"].map(String::from));
    let run = simbench(a);
    run.json()
}

/// The reports agree but for the host and, on a board with assumption ranges, the range
/// a debugged run cannot have (it says why; the run without GDB is given `--no-ranges`).
fn assert_same_report(under_gdb: &serde_json::Value, without: &serde_json::Value, what: &str) {
    let mut a = without_host(under_gdb.clone());
    if let Some(range) = a.as_object_mut().unwrap().remove("range") {
        assert!(range.get("cycles").is_none(), "{what}: a debugged run has no bounds: {range}");
        assert!(range["note"].as_str().unwrap().contains("under GDB"), "{what}: {range}");
    }
    let b = without_host(without.clone());
    if a != b {
        let keys: Vec<String> = b.as_object().unwrap().iter().filter(|(k, v)| a.get(k.as_str()) != Some(v)).map(|(k, _)| k.clone()).collect();
        panic!("{what}: the report under GDB differs from the run without it in {keys:?}\nunder gdb: cycles {} instructions {}\nwithout:   cycles {} instructions {}", a["cycles"], a["instructions"], b["cycles"], b["instructions"]);
    }
}

/// The number after `key ` in `text`.
fn number_after(text: &str, key: &str) -> u64 {
    let at = text.find(key).unwrap_or_else(|| panic!("'{key}' in:\n{text}")) + key.len();
    text[at..].trim_start().split(|c: char| !c.is_ascii_digit()).next().unwrap().parse().unwrap_or_else(|_| panic!("a number after '{key}' in:\n{text}"))
}

#[test]
fn break_at_main_step_read_registers_and_a_variable_then_continue_to_exit() {
    if !have_gdb() {
        return;
    }
    let s = serve("session", "micro/dot_m4.elf", &["--core", "m4"]);
    let out = s.gdb(&[
        "info registers pc",
        "break main",
        "continue",
        "stepi",
        "next",
        "next",
        "info registers",
        "p/x $xpsr",
        "p $s0",
        "p sizeof(a)",
        "p a[5]",
        "p/x &b[0]",
        "x/4xb &a",
        "bt",
        "continue",
    ]);
    let (code, report, err) = s.finish();
    // Halted at the reset vector until attached.
    assert!(out.contains("pc             0x40                0x40 <Reset_Handler>"), "{out}");
    assert!(out.contains("Breakpoint 1, main ()"), "{out}");
    // Every register by name, system ones included.
    for r in ["r0 ", "r12 ", "sp ", "lr ", "pc ", "xpsr ", "msp ", "psp ", "primask ", "basepri ", "faultmask ", "control ", "fpscr "] {
        assert!(out.lines().any(|l| l.starts_with(r)), "register {r} in:\n{out}");
    }
    assert!(out.contains("$1 = 0x1000000") || out.contains("$1 = 0x"), "{out}");
    assert!(out.contains("$3 = 1024"), "sizeof(a): {out}");
    assert!(out.contains("$4 = -30 '\\342'"), "a[5] after dot_init: {out}");
    assert!(out.contains("$5 = 0x20000000"), "&b[0]: {out}");
    assert!(out.contains("dot: result=34300"), "semihosting output on GDB's console: {out}");
    assert!(out.contains("exited normally"), "{out}");
    assert_eq!(code, 0, "{err}");
    assert_same_report(&report, &plain("micro/dot_m4.elf", &["--core", "m4"]), "dot_m4 stepped");
}

#[test]
fn continued_to_the_end_under_gdb_the_report_is_the_same() {
    if !have_gdb() {
        return;
    }
    // Caches, flash wait states, SysTick and SVC exceptions, a fault taken by a handler.
    let cases: [(&str, &'static str, &[&str], &[&str]); 4] = [
        ("plain", "micro/dot_m4.elf", &["--core", "m4"], &["continue"]),
        (
            "rtos_rt1011",
            "system/vendor_rtos_mimxrt1011.elf",
            &["--board", "mimxrt1011"],
            &["break main", "continue", "stepi 300", "next", "stepi 50", "delete", "continue"],
        ),
        ("rtos_lpc55", "system/vendor_rtos_lpc55s69.elf", &["--board", "lpc55s69", "--timing", "fast"], &["break main", "continue", "stepi 200", "continue"]),
        ("fault_rt1011", "system/vendor_fault_mimxrt1011.elf", &["--board", "mimxrt1011"], &["continue", "stepi 20", "continue", "continue"]),
    ];
    for (name, elf, args, commands) in cases {
        let s = serve(name, elf, args);
        let out = s.gdb(commands);
        let (code, report, err) = s.finish();
        assert!(!err.contains("panicked"), "{name}: {err}");
        let without = plain(elf, args);
        // mimxrt1011 and lpc55s69 have assumption ranges: the debugged run says why it has none.
        assert_eq!(report.get("range").is_some(), name != "plain", "{name}: {report}");
        assert_same_report(&report, &without, name);
        assert_eq!(code, if without["outcome"]["kind"] == "exit" { 0 } else { 4 }, "{name}: {out}\n{err}");
    }
}

#[test]
fn a_watchpoint_on_a_buffer_halts_at_the_instruction_that_writes_it() {
    if !have_gdb() {
        return;
    }
    let s = serve("watch", "micro/dot_m4.elf", &["--core", "m4"]);
    let out = s.gdb(&[
        "break main",
        "continue",
        "watch a[5]",
        "continue",
        "p/x $pc",
        "x/i $pc - 4",
        "delete",
        "rwatch b[7]",
        "continue",
        "p/x $pc",
        "x/i $pc - 4",
        "delete",
        "continue",
    ]);
    let (code, report, err) = s.finish();
    // dot_init's `strb.w r1, [r2, #1]!` at 0x2de writes a[5]; GDB steps over it itself
    // and reports at the next instruction, with the old and new values.
    assert!(out.contains("Hardware watchpoint 2: a[5]"), "{out}");
    assert!(out.contains("Old value = 0 '\\000'") && out.contains("New value = -30 '\\342'"), "{out}");
    assert!(out.contains("$1 = 0x2e2"), "halted right after the store: {out}");
    assert!(out.contains("0x2de <main+22>:\tstrb.w\tr1, [r2, #1]!"), "{out}");
    // dot_kernel's `ldrsb.w r2, [r1, #1]!` at 0x2b2 reads b[7].
    assert!(out.contains("Hardware read watchpoint 3: b[7]") && out.contains("Value = 80 'P'"), "{out}");
    assert!(out.contains("$2 = 0x2b6"), "{out}");
    assert!(out.contains("0x2b2 <dot_kernel+18>:\tldrsb.w\tr2, [r1, #1]!"), "{out}");
    assert_eq!(code, 0, "{err}");
    assert_same_report(&report, &plain("micro/dot_m4.elf", &["--core", "m4"]), "dot_m4 with watchpoints");
}

#[test]
fn a_watchpoint_fires_on_the_instruction_a_breakpoint_halted_at() {
    if !have_gdb() {
        return;
    }
    // Halted at the store that writes a[0]; continuing (GDB steps over the breakpoint)
    // must still see the write.
    let s = serve("watch_at_break", "micro/dot_m4.elf", &["--core", "m4"]);
    let out = s.gdb(&["break *0x2de", "continue", "watch a[0]", "continue", "p/x $pc", "delete", "continue"]);
    let (code, report, err) = s.finish();
    assert!(out.contains("Hardware watchpoint 2: a[0]") && out.contains("Old value = 0 '\\000'"), "{out}");
    assert!(out.contains("$1 = 0x2e2"), "{out}");
    assert_eq!(code, 0, "{err}");
    assert_same_report(&report, &plain("micro/dot_m4.elf", &["--core", "m4"]), "dot_m4 watch at a breakpoint");
}

#[test]
fn monitor_cycles_equals_the_reports_figure_at_that_point() {
    if !have_gdb() {
        return;
    }
    // The report's first marker: the store to ITM port 1, its PC and modelled cycle.
    let without = plain("micro/dot_m4.elf", &["--core", "m4"]);
    let marker = &without["markers"][0];
    let (pc, cycle) = (marker["pc"].as_str().unwrap().to_string(), marker["cycles"].as_u64().unwrap());
    let s = serve("cycles", "micro/dot_m4.elf", &["--core", "m4"]);
    let out = s.gdb(&["monitor cycles", &format!("break *{pc}"), "continue", "monitor cycles", "monitor report", "continue"]);
    let (code, report, err) = s.finish();
    assert!(out.contains("cycles 0 instructions 0 pc 0x00000040"), "at reset: {out}");
    let at = &out[out.find("Breakpoint 1,").unwrap_or_else(|| panic!("{out}"))..];
    assert_eq!(number_after(at, "cycles"), cycle, "monitor cycles at the marker's store ({pc}): {at}");
    // The report so far ends there too.
    assert!(at.contains("interrupted: halted in the debugger at pc"), "{at}");
    let line = at.lines().find(|l| l.starts_with("  cycles")).unwrap_or_else(|| panic!("{at}")).replace(',', "");
    assert_eq!(number_after(&line, "cycles"), cycle, "{line}");
    assert_eq!(code, 0, "{err}");
    assert_same_report(&report, &without, "dot_m4 with monitor commands");
}

#[test]
fn monitor_cycles_names_the_operator_running() {
    if !have_gdb() {
        return;
    }
    let s = serve("operator", "inference/tflm_kws_lpc55s69_O3.elf", &["--board", "lpc55s69"]);
    let out = s.gdb(&["monitor break-cycle 60000000", "continue", "monitor cycles", "kill"]);
    let (code, report, _) = s.finish();
    assert!(out.contains("reached modelled cycle 60000000"), "{out}");
    // The first instruction that starts at or after the cycle.
    let c = number_after(&out[out.find("cycles ").unwrap()..], "cycles");
    assert!((60_000_000..60_000_100).contains(&c), "{out}");
    assert!(out.contains("operator #2 CONV_2D"), "{out}");
    assert_eq!(code, 137, "killed from GDB");
    assert_eq!(report["cycles"].as_u64(), Some(c), "the partial report ends where the target was killed");
    assert_eq!(report["outcome"]["kind"], "interrupted");
}

#[test]
fn stepping_through_an_it_block_stops_at_each_instruction() {
    if !have_gdb() {
        return;
    }
    // pick(): `cmp r0, #11; itte ls; ldrls r3, [pc, #8]; ldrls.w r0, [r3, r0, lsl #2];
    // ldrhi r0, [pc, #8]; bx lr`, with flash reads hooked (the IT-state regression).
    let args = ["--core", "m4", "--count-accesses"];
    let s = serve("it", "micro/it_hook_m4.elf", &args);
    let out = s.gdb(&[
        "break pick",
        "continue",
        "stepi",
        "p/x $pc",
        "stepi",
        "p/x $pc",
        "p/x $xpsr",
        "stepi",
        "p/x $pc",
        "stepi",
        "p/x $pc",
        "stepi",
        "p/x $pc",
        "p/x $r0",
        "continue",
        "stepi 2",
        "continue",
    ]);
    let (code, report, err) = s.finish();
    for (n, pc) in [(1, "0x256"), (2, "0x258"), (4, "0x25a"), (5, "0x25e"), (6, "0x260")] {
        assert!(out.contains(&format!("${n} = {pc}")), "a step to {pc}: {out}");
    }
    // Inside the block: ITSTATE in xPSR (IT[7:2] in bits 15:10).
    let xpsr = u64::from_str_radix(out.split("$3 = 0x").nth(1).unwrap().split_whitespace().next().unwrap(), 16).unwrap();
    assert_ne!(xpsr & 0xFC00, 0, "IT bits set inside the IT block: {xpsr:#x}");
    assert!(out.contains("$7 = 0x324"), "names[0]: {out}");
    assert_eq!(report["firmware_output"], "0x00000324 0x00000328 0x00000324 0x00000328 \n", "intact");
    assert_eq!(code, 0, "{err}");
    assert_same_report(&report, &plain("micro/it_hook_m4.elf", &args), "it_hook stepped");
}

#[test]
fn firmware_faults_stop_with_their_signal_and_fault_registers_readable() {
    if !have_gdb() {
        return;
    }
    // UDF: UsageFault UNDEFINSTR escalated to HardFault; the handler is where it stops.
    let s = serve("udf", "micro/udf_m4.elf", &["--core", "m4"]);
    let out = s.gdb(&["continue", "bt", "x/wx 0xE000ED28", "x/wx 0xE000ED2C", "continue", "continue"]);
    let (code, _, err) = s.finish();
    assert!(out.contains("Program received signal SIGILL, Illegal instruction."), "{out}");
    assert!(out.contains("simbench: firmware fault: an undefined or unsupported instruction (udf #0)"), "the fault on GDB's console: {out}");
    assert!(out.contains("<signal handler called>") && out.contains("bad_insn ()"), "the faulting frame: {out}");
    assert!(out.contains("0xe000ed28:\t0x00010000"), "CFSR.UNDEFINSTR: {out}");
    assert!(out.contains("0xe000ed2c:\t0x40000000"), "HFSR.FORCED: {out}");
    assert!(out.contains("Program terminated with signal SIGILL"), "{out}");
    assert_eq!(code, 4, "{err}");

    // An unmapped read: BusFault, BFAR holds the address.
    let s = serve("unmapped", "micro/unmapped_read_m4.elf", &["--core", "m4"]);
    let out = s.gdb(&["continue", "x/wx 0xE000ED38", "kill"]);
    let (code, _, err) = s.finish();
    assert!(out.contains("Program received signal SIGSEGV, Segmentation fault."), "{out}");
    assert!(out.contains("0xe000ed38:\t0x50000000"), "BFAR: {out}");
    // A fault the firmware's handler took, then anything but a clean exit: the fault is
    // the outcome, as without GDB.
    assert_eq!(code, 4, "{err}");
    assert!(err.contains("then: killed from GDB"), "{err}");

    // A stack overflow nothing can take: the run ends there, registers still readable.
    let s = serve("overflow", "micro/stack_overflow_m4.elf", &["--core", "m4"]);
    let out = s.gdb(&["continue", "p/x $sp", "continue"]);
    let (code, _, _) = s.finish();
    assert!(out.contains("Program received signal SIGSEGV") && out.contains("in recurse ("), "{out}");
    assert!(out.contains("$1 = 0x1ffff"), "SP below RAM: {out}");
    assert!(out.contains("Program terminated with signal SIGSEGV"), "{out}");
    assert_eq!(code, 4);
}

#[test]
fn ctrl_c_interrupts_the_target_break_cycle_halts_at_a_cycle_and_kill_ends_the_run() {
    if !have_gdb() {
        return;
    }
    let s = serve("interrupt", "micro/runaway_m4.elf", &["--core", "m4"]);
    // A million cycles after where Ctrl-C stopped it.
    let later = "python c = int(gdb.execute('monitor cycles', to_string=True).split()[1]); print('target', c + 1000000); gdb.execute('monitor break-cycle %d' % (c + 1000000))";
    // Ctrl-C as in gdb's terminal: a SIGINT to gdb half a second into `continue` (gdb then
    // sends the target 0x03).
    let ctrl_c = "python import os, signal, threading; threading.Timer(0.5, lambda: os.kill(os.getpid(), signal.SIGINT)).start()";
    let out = s.gdb(&[ctrl_c, "continue", "p/x $pc", later, "continue", "monitor cycles", "kill"]);
    let (code, report, err) = s.finish();
    assert!(out.contains("Program received signal SIGINT, Interrupt."), "{out}");
    assert!(out.contains("spin_forever"), "{out}");
    let target = number_after(&out, "target");
    assert!(out.contains(&format!("reached modelled cycle {target}")), "{out}");
    let after = &out[out.find("reached modelled cycle").unwrap()..];
    let halted = number_after(after, "\ncycles");
    assert!((target..target + 4).contains(&halted), "halted at {halted}, the first instruction at or after {target}: {after}");
    assert_eq!(code, 137, "{err}");
    assert!(err.contains("killed from GDB at pc"), "{err}");
    assert_eq!(report["cycles"].as_u64(), Some(halted));
    assert_eq!(report["outcome"]["kind"], "interrupted");
}

#[test]
fn detach_runs_the_firmware_to_its_end() {
    if !have_gdb() {
        return;
    }
    let s = serve("detach", "micro/dot_m4.elf", &["--core", "m4"]);
    let out = s.gdb(&["break main", "continue", "watch a[7]", "detach"]);
    let (code, report, err) = s.finish();
    assert!(out.contains("[Inferior 1 (Remote target) detached]"), "{out}");
    assert_eq!(code, 0, "{err}");
    assert_same_report(&report, &plain("micro/dot_m4.elf", &["--core", "m4"]), "detached");
}

#[test]
fn memory_map_flash_and_reset() {
    if !have_gdb() {
        return;
    }
    let args = ["--board", "lpc55s69"];
    let s = serve("map", "system/vendor_rtos_lpc55s69.elf", &args);
    let out = s.gdb(&[
        "info mem",
        "break main",
        "continue",
        "monitor reset",
        "maintenance flush register-cache",
        "p/x $pc",
        "monitor cycles",
        "load",
        "continue",
        "delete",
        "continue",
    ]);
    let (code, report, err) = s.finish();
    assert!(out.contains("0x00000000 0x0009d800 flash blocksize 0x400"), "flash from the board's regions: {out}");
    assert!(out.contains("0x20000000 0x20044000 rw"), "{out}");
    assert!(out.contains("0xe0000000 0xe0100000 rw"), "the PPB: {out}");
    assert!(out.contains("automatically using hardware breakpoints for read-only addresses"), "{out}");
    assert!(out.contains("reset: halted at the reset vector"), "{out}");
    assert!(out.contains("cycles 0 instructions 0"), "{out}");
    assert!(out.contains("Loading section .text"), "programmed through vFlash packets: {out}");
    assert_eq!(out.matches("Breakpoint 1, main ()").count(), 2, "{out}");
    assert_eq!(code, 0, "{err}");
    // After the reset the run starts over: its report is a whole run's.
    assert_same_report(&report, &plain("system/vendor_rtos_lpc55s69.elf", &args), "after monitor reset and load");
}

/// A minimal client: send a packet, read the answer (acknowledging it).
struct Client(TcpStream);

impl Client {
    fn connect(port: u16) -> Client {
        let s = TcpStream::connect(("127.0.0.1", port)).expect("connects");
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        Client(s)
    }

    fn raw(&mut self, bytes: &[u8]) {
        self.0.write_all(bytes).unwrap();
    }

    fn packet(&mut self, payload: &str) -> String {
        let sum = payload.bytes().fold(0u8, |s, b| s.wrapping_add(b));
        self.raw(format!("${payload}#{sum:02x}").as_bytes());
        self.answer()
    }

    /// The next packet's payload (acks before it skipped).
    fn answer(&mut self) -> String {
        let mut got = Vec::new();
        let mut b = [0u8; 1];
        loop {
            self.0.read_exact(&mut b).expect("an answer within 10 s");
            got.push(b[0]);
            if got.len() >= 3 && got[got.len() - 3] == b'#' {
                break;
            }
        }
        self.raw(b"+");
        let text = String::from_utf8_lossy(&got).into_owned();
        let start = text.find('$').unwrap_or_else(|| panic!("a packet in {text:?}"));
        text[start + 1..text.len() - 3].to_string()
    }
}

#[test]
fn malformed_packets_are_answered_and_never_crash_the_server() {
    let s = serve("raw", "micro/dot_m4.elf", &["--core", "m4"]);
    let mut c = Client::connect(s.port);
    assert!(c.packet("qSupported:swbreak+").contains("PacketSize="));
    // A bad checksum is refused with '-'.
    c.raw(b"$g#00");
    let mut b = [0u8; 1];
    c.0.read_exact(&mut b).unwrap();
    assert_eq!(b[0], b'-');
    // Noise between packets is ignored.
    c.raw(b"garbage\x7f\xff");
    assert_eq!(c.packet("qTStatus"), "", "unknown: empty");
    for p in ["m", "mzz,4", "M20000000,2:zz", "P99=00000000", "Z0,", "qRcmd,0", "vCont;x", "X20000000,4:ab"] {
        assert!(c.packet(p).starts_with('E'), "{p}");
    }
    assert_eq!(c.packet("m50000000,4"), "E14", "unmapped memory");
    assert_eq!(c.packet("m20000000,4"), "00000000");
    assert_eq!(c.packet("X20000000,2:}]}\x03"), "OK", "escaped binary");
    assert_eq!(c.packet("m20000000,2"), "7d23");
    assert!(c.packet("qXfer:features:read:target.xml:0,fff").contains("org.gnu.gdb.arm.m-profile"));
    assert!(c.packet("?").starts_with("T05"));
    assert_eq!(c.packet(&format!("qRcmd,{}", "nonsense".bytes().map(|b| format!("{b:02x}")).collect::<String>())).chars().next(), Some('O'));
    c.raw(b"$k#6b");
    let (code, report, err) = s.finish();
    assert_eq!(code, 137, "{err}");
    assert!(!err.contains("panicked"));
    assert_eq!(report["outcome"]["kind"], "interrupted");
}

#[test]
fn a_client_that_disconnects_ends_the_run_cleanly_with_a_partial_report() {
    // Mid-run: the target runs (forever) when the connection drops.
    let s = serve("gone_running", "micro/runaway_m4.elf", &["--core", "m4"]);
    let mut c = Client::connect(s.port);
    assert!(c.packet("?").starts_with("T05"));
    c.raw(b"$c#63");
    std::thread::sleep(Duration::from_millis(300));
    drop(c);
    let (code, report, err) = s.finish();
    assert_eq!(code, 129, "{err}");
    assert!(err.contains("the GDB client disconnected without detaching at pc"), "{err}");
    assert_eq!(report["outcome"]["kind"], "interrupted");
    assert!(report["cycles"].as_u64().unwrap() > 0);

    // While halted at the reset vector.
    let s = serve("gone_halted", "micro/dot_m4.elf", &["--core", "m4"]);
    drop(Client::connect(s.port));
    let (code, report, _) = s.finish();
    assert_eq!(code, 129);
    assert_eq!(report["cycles"].as_u64(), Some(0));
}

#[test]
fn a_port_in_use_is_a_clear_error_with_exit_code_8() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let run = simbench([fixture("micro/dot_m4.elf").display().to_string(), "--core".into(), "m4".into(), "--gdb".into(), format!("127.0.0.1:{port}")]);
    assert_eq!(run.code, 8, "{}", run.stderr);
    assert!(run.stderr.contains(&format!("cannot listen for GDB on 127.0.0.1:{port}")), "{}", run.stderr);
    assert!(run.stderr.contains("pick another port, or --gdb 0"), "{}", run.stderr);
    let run = simbench([fixture("micro/dot_m4.elf").display().to_string(), "--core".into(), "m4".into(), "--gdb".into(), "localhost:99999".into()]);
    assert_eq!(run.code, 2, "a port out of range is a usage error: {}", run.stderr);
}
