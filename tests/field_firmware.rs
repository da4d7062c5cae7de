//! Firmware built the way embedded developers build it (`fixtures/field/`, issue 16): each
//! test states what the part does on silicon (from the fixture README, checked on QEMU
//! where it says so) and checks simbench does the same.

mod common;

use common::{fixture, simbench};

fn run(elf: &str, args: &[&str]) -> common::Run {
    let mut all = vec![fixture(&format!("field/{elf}.elf")).display().to_string()];
    all.extend(args.iter().map(|s| s.to_string()));
    simbench(all)
}

/// The double-precision results `fpu_double.c` checks (fixtures/field/expected.py).
const FPU_DOUBLE_OK: &str = "fpu_double: sum=0x3ffa28e4e0cc7d81 pi=0x40090e7e24058381 hyp=0x4005a22073490377 widened=0x3fd3333338000000 neg=0xbfe8000000000000";

#[test]
fn double_precision_runs_on_m7_parts_with_the_double_precision_fpu() {
    for args in [&["--core", "m7"][..], &["--board", "stm32h743"][..]] {
        let elf = if args[0] == "--core" { "fpu_double_m7" } else { "fpu_double_stm32h743" };
        let r = run(elf, args);
        assert_eq!(r.code, 0, "{elf} {args:?}: {}\n{}", r.stdout, r.stderr);
        assert!(r.stdout.contains(FPU_DOUBLE_OK) && r.stdout.contains("fpu_double: ok=1"), "{}", r.stdout);
    }
}

#[test]
fn double_precision_is_undefined_on_single_precision_fpus() {
    // On an FPv5-SP (RT1011) or FPv4-SP (M4) or M33 FPU the first vmov.f64 is UNDEFINED:
    // UsageFault UNDEFINSTR escalated to HardFault (HFSR.FORCED, CFSR 0x00010000), and the
    // firmware's handler prints the stacked PC: the vmov.f64 at main+0x22.
    for (elf, args, pc) in [
        ("fpu_double_mimxrt1011", &["--board", "mimxrt1011"][..], "0x60002242"),
        ("fpu_double_m7", &["--core", "m4"][..], "0x0000039a"),
        ("fpu_double_m7", &["--core", "m33"][..], "0x0000039a"),
    ] {
        let r = run(elf, args);
        let line = format!("fpu_double: fault hfsr=0x40000000 cfsr=0x00010000 pc={pc}");
        assert!(r.stdout.contains(&line), "{elf} {args:?}: want '{line}':\n{}\n{}", r.stdout, r.stderr);
        assert!(!r.stdout.contains("ok=1"));
        assert_eq!(r.code, 4, "a delivered fault the firmware then exits non-zero from is reported as the fault");
        assert!(r.stderr.contains("undefined"), "{}", r.stderr);
    }
}

/// `key=value` fields of the fixture's line that starts with `prefix`.
fn fields<'a>(out: &'a str, prefix: &str) -> std::collections::BTreeMap<&'a str, &'a str> {
    out.lines().find(|l| l.starts_with(prefix)).unwrap_or_else(|| panic!("no line '{prefix}' in:\n{out}")).split_whitespace().filter_map(|f| f.split_once('=')).collect()
}

#[test]
fn timer_reads_in_straight_line_code_see_their_own_cycle() {
    // 100 independent adds between two reads of DWT CYCCNT (and of SysTick VAL), with no
    // branch between the reads, or with `b 1f; 1:` before the second read. Body = adds100
    // minus the empty measurement of the same shape.
    // M4, M33: one add per cycle, 100 either way (hand count, fixtures/field/dwt_bodies.S).
    // M7 (two ALUs, in-order pairs [TR §3]): straight, (ldr t0, add1) (add2, add3) …
    // (add98, add99) (add100, ldr t1): the second read issues 50 cycles after the first,
    // and two reads back to back 1 cycle apart, so 49. With the branch, (add100, b) pair
    // and the read starts the next block a cycle later, so 50.
    for (core, straight, branch) in [("m4", 100, 100), ("m33", 100, 100), ("m7", 49, 50)] {
        let r = run(&format!("dwt_straight_{core}"), &["--core", core]);
        for timer in ["dwt", "systick"] {
            let f = fields(&r.stdout, &format!("dwt_straight: {timer} "));
            assert_eq!(f["body_straight"], straight.to_string(), "{core} {timer}: {}", r.stdout);
            assert_eq!(f["body_branch"], branch.to_string(), "{core} {timer}: {}", r.stdout);
        }
    }
}

#[test]
fn a_faulting_store_stacks_its_own_pc() {
    // Store and load to an unmapped address in the middle of a straight-line block, taken
    // by HardFault and by BusFault: the handler compares the stacked PC with the global
    // label on the faulting instruction (store_fault_insn / load_fault_insn).
    for core in ["m4", "m33", "m7"] {
        let r = run(&format!("store_fault_{core}"), &["--core", core]);
        assert_eq!(r.code, 0, "{core}: {}\n{}", r.stdout, r.stderr);
        let cases: Vec<&str> = r.stdout.lines().filter(|l| l.starts_with("store_fault: case=")).collect();
        assert_eq!(cases.len(), 4, "{core}: {}", r.stdout);
        for line in cases {
            let f: std::collections::BTreeMap<&str, &str> = line.split_whitespace().filter_map(|x| x.split_once('=')).collect();
            assert_eq!(f["stacked_pc"], f["expected_pc"], "{core}: {line}");
            assert_eq!(f["bfar"], "0x70000000", "{core}: {line}");
        }
    }
}
