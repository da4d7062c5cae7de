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
