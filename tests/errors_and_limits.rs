//! Bad input, firmware faults and limits: a clear message, the documented exit code,
//! never a panic. Broken ELFs are crafted here from a good fixture.

mod common;
use common::*;
use std::path::PathBuf;

// Exit codes (README): 0 ok, 1 firmware non-zero, 2 usage, 3 bad ELF/board, 4 fault, 5 limit.

fn good_elf() -> Vec<u8> {
    std::fs::read(fixture("micro/dot_m4.elf")).unwrap()
}

fn write_tmp(name: &str, bytes: &[u8]) -> PathBuf {
    let p = scratch_dir("errors-and-limits").join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn assert_bad(name: &str, bytes: &[u8], code: i32, needle: &str) {
    assert_bad_on(name, bytes, &["--core", "m4"], code, needle)
}

fn assert_bad_on(name: &str, bytes: &[u8], board: &[&str], code: i32, needle: &str) {
    let p = write_tmp(name, bytes);
    let mut args = vec![p.to_str().unwrap()];
    args.extend_from_slice(board);
    let run = simbench(args);
    assert_eq!(run.code, code, "{name}: stderr {}", run.stderr);
    assert!(run.stderr.contains(needle), "{name}: expected '{needle}' in: {}", run.stderr);
    assert!(!run.stderr.contains("panicked"), "{name} panicked: {}", run.stderr);
}

/// Offset and size of the first PT_LOAD program header of a 32-bit little-endian ELF.
fn first_load_phdr(elf: &[u8]) -> usize {
    let u32_at = |o: usize| u32::from_le_bytes(elf[o..o + 4].try_into().unwrap()) as usize;
    let u16_at = |o: usize| u16::from_le_bytes(elf[o..o + 2].try_into().unwrap()) as usize;
    let (phoff, phentsize, phnum) = (u32_at(28), u16_at(42), u16_at(44));
    (0..phnum).map(|i| phoff + i * phentsize).find(|&o| u32_at(o) == 1).expect("a PT_LOAD")
}

#[test]
fn malformed_elfs_are_rejected_with_exit_code_3() {
    let good = good_elf();
    assert_bad("text.elf", b"this is not an ELF file at all", 3, "not an ELF file");
    assert_bad("tiny.elf", b"\x7fELF\x01\x01", 3, "truncated ELF");
    let mut elf64 = good.clone();
    elf64[4] = 2;
    assert_bad("elf64.elf", &elf64, 3, "64-bit ELF");
    let mut be = good.clone();
    be[5] = 2;
    assert_bad("be.elf", &be, 3, "big-endian");
    let mut x86 = good.clone();
    x86[18] = 62; // EM_X86_64
    assert_bad("x86.elf", &x86, 3, "not ARM");
    // No program headers at all: nothing to load.
    let mut nophdr = good.clone();
    nophdr[44] = 0;
    nophdr[45] = 0;
    assert_bad("nophdr.elf", &nophdr, 3, "no loadable segment");
    // Truncated in the middle of the first segment's contents.
    let ph = first_load_phdr(&good);
    let off = u32::from_le_bytes(good[ph + 4..ph + 8].try_into().unwrap()) as usize;
    let mut cut = good[..off + 16].to_vec();
    // keep the headers readable: section headers now point past the end
    cut.extend_from_slice(&[0u8; 4]);
    assert_bad("cut.elf", &cut, 3, "ELF");
    // A segment moved outside every memory region of a board preset (`--core` would map
    // memory there instead: tests/field_firmware.rs).
    let mut outside = good.clone();
    outside[ph + 12..ph + 16].copy_from_slice(&0x9000_0000u32.to_le_bytes());
    assert_bad_on("outside.elf", &outside, &["--board", "lpc55s69"], 3, "outside every memory region");
}

#[test]
fn missing_file_and_bad_board_file() {
    let run = simbench(["/nonexistent/fw.elf", "--core", "m4"]);
    assert_eq!(run.code, 3);
    assert!(run.stderr.contains("cannot read firmware"));
    let board = write_tmp("bad.toml", b"name = 'x'\ncore = 'm4'\nclock_mhz = 100\n[[regions]]\nname='a'\nbase=0x0\nsize=0x1000\nkind='sram'\n[[regions]]\nname='b'\nbase=0x800\nsize=0x1000\nkind='sram'\n");
    let run = simbench([fixture("micro/dot_m4.elf").to_str().unwrap(), "--board", board.to_str().unwrap()]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(run.stderr.contains("overlap"));
}

#[test]
fn usage_errors_exit_2() {
    let elf = fixture("micro/dot_m4.elf");
    let e = elf.to_str().unwrap();
    for args in [
        vec![e],
        vec![e, "--core", "m99"],
        vec![e, "--core", "m7", "--board", "lpc55s69"],
        vec![e, "--board", "nope"],
        vec![e, "--core", "m4", "--format", "xml"],
        vec![e, "--core", "m4", "--bogus"],
    ] {
        let run = simbench(&args);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert!(!run.stderr.is_empty());
    }
    let run = simbench(["--help"]);
    assert_eq!(run.code, 0);
    assert!(run.stdout.contains("Exit codes"));
}

#[test]
fn firmware_faults_name_kind_symbol_and_exit_4() {
    let cases = [
        ("unmapped_read", "unmapped-access", "bad_read", "read of unmapped address 0x50000000"),
        ("unmapped_write", "unmapped-access", "bad_write", "write to unmapped address 0x70000000"),
        ("udf", "undefined-instruction", "bad_insn", "udf"),
        ("stack_overflow", "stack-overflow", "recurse", "outside RAM"),
    ];
    for (name, kind, symbol, text) in cases {
        let run = run_json(&fixture(&format!("micro/{name}_m4.elf")), "m4", &[]);
        assert_eq!(run.code, 4, "{name}: {}", run.stderr);
        let r = run.json();
        assert_eq!(r["outcome"]["kind"], "fault", "{name}");
        let msg = r["outcome"]["message"].as_str().unwrap();
        assert!(msg.starts_with(&format!("[{kind}]")), "{name}: {msg}");
        assert!(msg.contains(text), "{name}: {msg}");
        assert!(r["outcome"]["symbol"].as_str().unwrap().starts_with(symbol), "{name}: {}", r["outcome"]["symbol"]);
        assert!(run.stderr.contains("firmware fault"), "{name}: one-paragraph message on stderr");
        // The partial report still counts the work done before the fault.
        assert!(r["cycles"].as_u64().unwrap() > 0);
    }
}

#[test]
fn limits_stop_runaway_firmware_with_exit_5() {
    let elf = fixture("micro/runaway_m4.elf");
    let run = run_json(&elf, "m4", &["--max-cycles", "200000"]);
    assert_eq!(run.code, 5, "{}", run.stderr);
    let r = run.json();
    assert_eq!(r["outcome"]["kind"], "limit");
    assert!(r["outcome"]["symbol"].as_str().unwrap().starts_with("spin_forever"));
    // Stops at the end of the block that crossed the limit: just past it.
    let cycles = r["cycles"].as_u64().unwrap();
    assert!((200_000..200_100).contains(&cycles), "{cycles}");

    let run = run_json(&elf, "m4", &["--max-instructions", "50000"]);
    assert_eq!(run.code, 5);
    let insns = run.json()["instructions"].as_u64().unwrap();
    assert!((50_000..50_100).contains(&insns), "{insns}");

    let run = run_json(&elf, "m4", &["--timeout", "0.3"]);
    assert_eq!(run.code, 5);
    assert!(run.json()["outcome"]["message"].as_str().unwrap().contains("--timeout"));
}

#[test]
fn exit_status_is_reported_and_mapped() {
    let run = run_json(&fixture("micro/exit3_m4.elf"), "m4", &[]);
    assert_eq!(run.code, 1);
    assert_eq!(run.json()["outcome"]["exit_status"], 3);
    let run = run_json(&fixture("micro/exit_plain_m4.elf"), "m4", &[]);
    assert_eq!(run.code, 0);
    assert_eq!(run.json()["outcome"]["exit_status"], 0);
}

#[test]
fn peripheral_ignore_regions_read_zero_and_are_counted() {
    // Map 0x50000000 as ignored peripheral space: the read returns 0 instead of faulting,
    // so unmapped_read continues past it, prints "unexpected" and returns 1.
    let board = write_tmp(
        "periph.toml",
        b"name='periph'\ncore='m4'\nclock_mhz=100\n\
[[regions]]\nname='code'\nbase=0x0\nsize=0x400000\nkind='code'\n\
[[regions]]\nname='sram'\nbase=0x20000000\nsize=0x400000\nkind='sram'\n\
[[regions]]\nname='apb'\nbase=0x50000000\nsize=0x1000\nkind='peripheral-ignore'\n",
    );
    let run = simbench([fixture("micro/unmapped_read_m4.elf").to_str().unwrap(), "--board", board.to_str().unwrap(), "--format", "json"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let r = run.json();
    assert!(r["firmware_output"].as_str().unwrap().contains("unexpected"));
    let apb = r["regions"].as_array().unwrap().iter().find(|g| g["name"] == "apb").unwrap();
    assert_eq!(apb["data_reads"], 1);
}

#[test]
fn faults_and_limits_report_instruction_call_stack_and_recent_blocks() {
    // udf_m4: main calls bad_insn, which executes `udf #0` (fixtures/micro/udf.c).
    let run = run_json(&fixture("micro/udf_m4.elf"), "m4", &["--quiet"]);
    assert_eq!(run.code, 4);
    let e = &run.json()["error"];
    assert_eq!(e["kind"], "undefined-instruction");
    assert_eq!((e["symbol"].as_str(), e["instruction"].as_str()), (Some("bad_insn"), Some("udf #0")));
    let stack: Vec<&str> = e["call_stack"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert!(stack[0].starts_with("bad_insn (returns to ") && stack[1].starts_with("main (returns to ") && stack[2] == "Reset_Handler", "{stack:?}");
    assert!(e["recent_blocks"].as_array().unwrap().last().unwrap().as_str().unwrap().ends_with("bad_insn"));
    assert!(run.stderr.contains("call stack (innermost first):"), "{}", run.stderr);
    // Endless recursion: the repeated frame is folded, not listed thousands of times.
    let run = run_json(&fixture("micro/stack_overflow_m4.elf"), "m4", &["--quiet"]);
    let e = &run.json()["error"];
    let first = e["call_stack"][0].as_str().unwrap();
    assert!(first.starts_with("recurse (returns to ") && first.contains(" × "), "{first}");
    assert!(e["call_stack"].as_array().unwrap().len() < 10);
    // A limit carries the same context; a clean exit has none.
    let run = run_json(&fixture("micro/runaway_m4.elf"), "m4", &["--quiet", "--max-cycles", "100000"]);
    assert_eq!(run.code, 5);
    assert_eq!(run.json()["error"]["kind"], "limit");
    assert_eq!(run_json(&fixture("micro/exit3_m4.elf"), "m4", &["--quiet"]).json()["error"], serde_json::Value::Null);
}
