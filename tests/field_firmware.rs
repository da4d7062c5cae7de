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
    out.lines()
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no line '{prefix}' in:\n{out}"))
        .split_whitespace()
        .filter_map(|f| f.split_once('='))
        .collect()
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
    // label on the faulting instruction (store_fault_insn / load_fault_insn). The handler's
    // `MRS IPSR` reads its own exception number: HardFault 3, BusFault 5 (Armv7-M ARM
    // B1.5.2), as on silicon and QEMU.
    for core in ["m4", "m33", "m7"] {
        let r = run(&format!("store_fault_{core}"), &["--core", core]);
        assert_eq!(r.code, 0, "{core}: {}\n{}", r.stdout, r.stderr);
        let cases: Vec<&str> = r.stdout.lines().filter(|l| l.starts_with("store_fault: case=")).collect();
        assert_eq!(cases.len(), 4, "{core}: {}", r.stdout);
        for line in cases {
            let f: std::collections::BTreeMap<&str, &str> = line.split_whitespace().filter_map(|x| x.split_once('=')).collect();
            assert_eq!(f["stacked_pc"], f["expected_pc"], "{core}: {line}");
            assert_eq!(f["bfar"], "0x70000000", "{core}: {line}");
            let ipsr = if f["handler"] == "hardfault" { "3" } else { "5" };
            assert_eq!(f["ipsr"], ipsr, "{core}: {line}");
        }
    }
}

#[test]
fn firmware_parked_for_good_ends_the_run_with_its_own_outcome() {
    // Vendor start-up code (STM32Cube, MCUXpresso) ends in `b .` when main returns; with
    // SysTick off and nothing enabled, nothing can ever leave it: outcome "parked", exit 7,
    // naming the PC and symbol. The same for WFI with nothing to wake the core.
    for (elf, board, symbol) in [
        ("vendor_bdot_m4", "stm32l4r5", "Reset_Handler+0x34"),
        ("vendor_bdot_m33", "lpc55s69", "ResetISR+0x6a"),
        ("vendor_bdot_m7", "mimxrt1011", "ResetISR+0x72"),
        ("vendor_wfi_m4", "stm32l4r5", "main+0x6"),
    ] {
        let r = run(elf, &["--board", board, "--format", "json", "--timeout", "60"]);
        assert_eq!(r.code, 7, "{elf}: {}", r.stderr);
        let v = r.json();
        assert_eq!(v["outcome"]["kind"], "parked", "{elf}");
        assert_eq!(v["outcome"]["symbol"], symbol, "{elf}");
        assert!(r.stderr.contains("parked for good") && r.stderr.contains("SysTick interrupt is off"), "{}", r.stderr);
    }
    // With the SysTick interrupt running, the same `b .` is an idle loop, not parked: it
    // runs to the limit.
    let r = run("vendor_bdot_systick_m4", &["--board", "stm32l4r5", "--max-cycles", "2000000", "--format", "json"]);
    assert_eq!((r.code, r.json()["outcome"]["kind"].clone()), (5, serde_json::json!("limit")), "{}", r.stderr);
}

#[test]
fn sigint_stops_the_run_with_a_partial_report() {
    use std::io::Read;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_simbench"))
        .args([fixture("micro/runaway_m4.elf").display().to_string(), "--core".into(), "m4".into(), "--format".into(), "json".into()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let killed = std::process::Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    let (mut out, mut err) = (String::new(), String::new());
    child.stdout.take().unwrap().read_to_string(&mut out).unwrap();
    child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    assert_eq!(status.code(), Some(130), "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(v["outcome"]["kind"], "interrupted");
    assert!(v["cycles"].as_u64().unwrap() > 0 && v["error"]["pc"].is_string(), "{out}");
    assert!(err.contains("stopped by SIGINT"), "{err}");
}

#[test]
fn core_runs_images_linked_for_any_memory_map() {
    // STM32 images at 0x08000000 and i.MX RT images at 0x60002000 (with the FlexSPI boot
    // header at 0x60000000) run with --core, which maps zero-wait memory where they load
    // and says so. Each firmware checks its own vector table, .data, .bss, .rodata and SP.
    for (elf, core, base) in [("stm32_linked_m7", "m7", "0x08000000"), ("imxrt_linked_m7", "m7", "0x60000000"), ("itm_swo_m4", "m4", "0x08000000")] {
        let r = run(elf, &["--core", core, "--format", "json"]);
        assert_eq!(r.code, 0, "{elf}: {}", r.stderr);
        let v = r.json();
        let mapped = v["board"]["mapped_for_image"].as_array().unwrap_or_else(|| panic!("{elf}: nothing mapped"));
        assert!(mapped.iter().any(|m| m.as_str().unwrap().starts_with(&format!("image {base}"))), "{elf}: {mapped:?}");
        let out = v["firmware_output"].as_str().unwrap();
        if elf != "itm_swo_m4" {
            assert!(out.contains("vtor_ok=1 data_ok=1 bss_ok=1 rodata_ok=1 sp_ok=1"), "{elf}: {out}");
        }
    }
    // A board preset keeps its own map: the same STM32 image does not fit the LPC55S69.
    let r = run("stm32_linked_m7", &["--board", "mimxrt1011"]);
    assert_eq!(r.code, 3, "{}", r.stderr);
}

#[test]
fn itm_is_enabled_as_a_debugger_set_up_for_swo_leaves_it() {
    // CMSIS ITM_SendChar sends only with TCR.ITMENA and TER bit 0 set.
    let r = run("itm_swo_m4", &["--board", "stm32l4r5"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("itm_swo: hello over SWO") && r.stdout.contains("itm_swo: itmena=1 ter0=1 sent=68"), "{}", r.stdout);
    let r = run("itm_swo_m4", &["--board", "stm32l4r5", "--no-swo"]);
    assert!(r.stdout.contains("itm_swo: itmena=0 ter0=0 sent=0") && !r.stdout.contains("hello over SWO"), "{}", r.stdout);
}

#[test]
fn reset_state_and_output_without_a_final_newline() {
    // LR is 0xFFFFFFFF out of reset (Armv7-M ARM B1.4.7); the last line the firmware
    // prints has no newline, and the report starts on a line of its own.
    // CCR.DIV_0_TRP: a divide by zero is a UsageFault DIVBYZERO (CFSR bit 25) that the
    // handler sees, in both timing modes; with the bit clear it gives 0.
    // CCR.UNALIGN_TRP: an unaligned LDR is a UsageFault UNALIGNED (CFSR bit 24) that stacks
    // the LDR's own address; an aligned LDR, a register offset `LSL #1` that lands aligned
    // and an unaligned LDR whose IT condition fails do not trap; an unaligned STRH does.
    // Expected lines as QEMU mps2-an386 prints them (fixtures/field/README.md).
    for timing in ["detailed", "fast"] {
        let r = run("silicon_details_m4", &["--core", "m4", "--timing", timing]);
        assert_eq!(r.code, 0, "{timing}: {}{}", r.stdout, r.stderr);
        for line in [
            "silicon_details: div0 trap=1 faulted=1 cfsr=0x02000000\n",
            "silicon_details: div0 trap=0 faulted=0 result=0\n",
            "silicon_details: unaligned trap=1 faulted=1 cfsr=0x01000000 pc_ok=1\n",
            "silicon_details: unaligned trap=1 aligned=0 shifted=0 skipped=0 strh=1\n",
            "silicon_details: unaligned trap=0 faulted=0 value=0x05040302\n",
        ] {
            assert!(r.stdout.contains(line), "{timing}: {line} missing in {}", r.stdout);
        }
    }
    let r = run("silicon_details_m4", &["--core", "m4"]);
    assert!(r.stdout.contains("silicon_details: reset_lr=0xffffffff"), "{}", r.stdout);
    assert!(r.stdout.contains("(this line has no newline)\nsimbench "), "{}", r.stdout);
}

#[test]
fn an_initial_sp_outside_ram_does_not_fit_the_board() {
    // The vector table's SP is 0x30000000; this board has RAM only at 0x20000000.
    let dir = std::env::temp_dir().join(format!("simbench-sp-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let board = dir.join("plain-m4.toml");
    std::fs::write(
        &board,
        "name = \"plain-m4\"\ncore = \"m4\"\nclock_mhz = 100.0\n[[regions]]\nname = \"code\"\nbase = 0\nsize = 0x100000\nkind = \"code\"\n[[regions]]\nname = \"sram\"\nbase = 0x20000000\nsize = 0x40000\nkind = \"sram\"\n",
    )
    .unwrap();
    let r = run("bad_initial_sp_m4", &["--board", board.to_str().unwrap()]);
    assert_eq!(r.code, 3, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("initial SP to 0x30000000, outside the RAM of board 'plain-m4'"), "{}", r.stderr);
    // In a sweep the row reads "does not fit", not "fault".
    let out = simbench([
        "sweep".to_string(),
        fixture("field/bad_initial_sp_m4.elf").display().to_string(),
        "--board".into(),
        board.display().to_string(),
        "--format".into(),
        "json".into(),
    ]);
    let v = out.json();
    assert_eq!(v["rows"][0]["outcome"], "does not fit", "{}", out.stdout);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_text_report_fits_a_narrow_terminal() {
    // Under a pseudo-terminal 80 columns wide (util-linux `script`), no report line is
    // wider than the terminal; written to a pipe the report keeps its 120 columns.
    let elf = fixture("inference/tflm_kws_lpc55s69_O3.elf");
    let cmd = format!("stty rows 40 cols 80; {} {} --board lpc55s69 --timing fast -q", env!("CARGO_BIN_EXE_simbench"), elf.display());
    let out = std::process::Command::new("script").args(["-qec", &cmd, "/dev/null"]).output().expect("script runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("CONV_2D"), "{text}");
    let widest = text.lines().map(|l| l.trim_end_matches('\r').chars().count()).max().unwrap();
    assert!(widest <= 80, "a {widest}-column line on an 80-column terminal:\n{text}");
    let piped = run("../inference/tflm_kws_lpc55s69_O3", &["--board", "lpc55s69", "--timing", "fast", "-q"]);
    assert!(piped.stdout.lines().any(|l| l.chars().count() > 80), "the piped report is cut too");
}
