//! Semihosting, the PPB registers firmware reads, board presets, and wait states.

mod common;
use common::*;

#[test]
fn syscalls_fixture_sees_standard_debug_services() {
    for (core, cpuid) in [("m4", "0x410fc241"), ("m33", "0x410fd214"), ("m7", "0x411fc272")] {
        let run = run_json(&fixture(&format!("micro/syscalls_{core}.elf")), core, &[]);
        assert_eq!(run.code, 0, "{core}: {}", run.stderr);
        let r = run.json();
        let out = r["firmware_output"].as_str().unwrap();
        let kv = kv(out);
        for key in ["writec", "write0", "write_fd1", "write_fd2"] {
            assert_eq!(kv[key], "ok", "{core} {key}");
        }
        // Time calls answer in modelled time at the generic boards' 100 MHz.
        assert_eq!(kv["tickfreq"], "100000000");
        let elapsed: u64 = kv["elapsed"].parse().unwrap();
        assert!(elapsed > 0 && elapsed < r["cycles"].as_u64().unwrap());
        // SYS_HEAPINFO reports the linker's heap symbols and the initial SP.
        assert_eq!(kv["heap_base"], kv["ld_heap_start"]);
        assert_eq!(kv["heap_limit"], kv["ld_heap_end"]);
        assert_eq!(kv["stack_base"], kv["ld_stack_top"]);
        // SCB CPUID is the modelled core's (TRM reset values, see cores/src/timing/mod.rs).
        assert_eq!(kv["cpuid"], cpuid, "{core}");
        // SysTick counts down from its reload value on modelled cycles.
        assert_eq!(kv["systick_rvr"], "0x00ffffff");
        let cvr1: u64 = kv["systick_cvr1"].parse().unwrap();
        assert!(cvr1 < 0x00ff_ffff && cvr1 > 0x00ff_0000, "{core}: {cvr1}");
        // ITM port 0 is text; ports 1-31 are markers with cycle stamps, in order.
        assert!(out.contains("itm hello\n"));
        let markers: Vec<(u64, u64, u64)> = r["markers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| (m["port"].as_u64().unwrap(), m["value"].as_u64().unwrap(), m["cycles"].as_u64().unwrap()))
            .collect();
        let ports: Vec<(u64, u64)> = markers.iter().map(|m| (m.0, m.1)).collect();
        assert_eq!(ports, vec![(1, 7), (2, 7), (5, 0xdead_beef), (5, 42)]);
        assert!(markers.windows(2).all(|w| w[0].2 <= w[1].2));
        // SYS_WRITE to fd 2 goes to stderr in text mode.
    }
    let run = simbench([fixture("micro/syscalls_m4.elf").to_str().unwrap(), "--core", "m4"]);
    assert!(run.stderr.contains("write_fd2") || run.stderr.contains("fd2"), "stderr: {}", run.stderr);
    assert!(run.stdout.contains("cycles"));
}

#[test]
fn boards_command_lists_presets() {
    let run = simbench(["boards"]);
    assert_eq!(run.code, 0);
    for name in ["generic-m4", "generic-m33", "generic-m7", "lpc55s69", "mimxrt1011"] {
        assert!(run.stdout.contains(name), "{name} missing");
    }
    let run = simbench(["boards", "--format", "json"]);
    let boards: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let rt = boards.as_array().unwrap().iter().find(|b| b["name"] == "mimxrt1011").unwrap();
    assert_eq!(rt["core"], "m7");
    assert_eq!(rt["clock_mhz"], 500.0);
}

#[test]
fn clock_override_scales_latency_not_cycles() {
    let elf = fixture("micro/dot_m7.elf");
    let a = run_json(&elf, "m7", &[]).json();
    let b = run_json(&elf, "m7", &["--clock-mhz", "200"]).json();
    assert_eq!(a["cycles"], b["cycles"]);
    let (la, lb) = (a["latency_us"].as_f64().unwrap(), b["latency_us"].as_f64().unwrap());
    assert!((la / lb - 2.0).abs() < 1e-9, "{la} vs {lb}");
}

#[test]
fn wait_states_add_exactly_their_cycles() {
    // Same memory map as generic-m4 but code-region reads (fetch lines and literal-pool
    // loads) cost 2 wait states and SRAM writes 1: the total must grow by exactly the
    // wait cycles the report attributes (fetch lines × 2 + code data reads × 2 + SRAM
    // writes × 1). Timing rows are
    // unchanged, so the difference is the hand count, nothing else. Both runs stop at
    // the same instruction (before the firmware prints its cycle count, whose digits
    // would change the instruction stream).
    let board = scratch_dir("system-and-boards").join("ws.toml");
    std::fs::write(
        &board,
        "name='ws'\ncore='m4'\nclock_mhz=100\n\
[[regions]]\nname='code'\nbase=0x0\nsize=0x400000\nkind='code'\nread_wait=2\nfetch_line_bytes=4\n\
[[regions]]\nname='sram'\nbase=0x20000000\nsize=0x400000\nkind='sram'\nwrite_wait=1\n",
    )
    .unwrap();
    let elf = fixture("micro/memcpy_m4.elf");
    let stop = ["--max-instructions", "12000"];
    let base = run_json(&elf, "m4", &stop).json();
    let run = simbench([elf.to_str().unwrap(), "--board", board.to_str().unwrap(), "--format", "json", stop[0], stop[1]]);
    assert_eq!(run.code, 5, "{}", run.stderr);
    let slow = run.json();
    let regions = slow["regions"].as_array().unwrap();
    let code = &regions[0];
    let sram = &regions[1];
    let fetch_wait = code["fetch_wait_cycles"].as_u64().unwrap();
    let writes = sram["data_writes"].as_u64().unwrap();
    assert_eq!(sram["data_wait_cycles"].as_u64().unwrap(), writes);
    assert!(fetch_wait > 0 && writes >= 1024, "memcpy writes 1024 words: {writes}");
    assert_eq!(slow["instructions"], base["instructions"]);
    let code_reads = code["data_reads"].as_u64().unwrap();
    assert_eq!(code["data_wait_cycles"].as_u64().unwrap(), 2 * code_reads);
    assert_eq!(slow["cycles"].as_u64().unwrap() - base["cycles"].as_u64().unwrap(), fetch_wait + 2 * code_reads + writes);
}

#[test]
fn count_accesses_counts_data_reads_and_writes_everywhere() {
    let elf = fixture("micro/memcpy_m4.elf");
    let plain = run_json(&elf, "m4", &[]).json();
    assert!(plain["regions"][1]["data_writes"].is_null());
    let counted = run_json(&elf, "m4", &["--count-accesses"]).json();
    // memcpy copies 1024 words: at least that many SRAM reads and writes.
    assert!(counted["regions"][1]["data_writes"].as_u64().unwrap() >= 1024);
    assert!(counted["regions"][1]["data_reads"].as_u64().unwrap() >= 1024);
    // Counting changes nothing in the timing of zero-wait memory.
    assert_eq!(plain["cycles"], counted["cycles"]);
}

#[test]
fn hooked_loads_inside_an_it_block_do_not_corrupt_the_caller() {
    // fixtures/micro/it_hook.c: a table load inside `itte ls` that a memory hook sees
    // (every region is hooked with --count-accesses; flash is hooked on boards with wait
    // states). unicorn 2.1.5 left the IT state behind and the caller's next store was
    // skipped, printing "" instead of "0x…" for the first value.
    for extra in [&[][..], &["--count-accesses"][..]] {
        let run = common::run_json(&common::fixture("micro/it_hook_m4.elf"), "m4", extra);
        assert_eq!(run.code, 0, "{}", run.stderr);
        let out = run.json()["firmware_output"].as_str().unwrap().to_string();
        let words: Vec<&str> = out.split_whitespace().collect();
        assert_eq!(words.len(), 4, "{extra:?}: {out:?}");
        assert!(words.iter().all(|w| w.len() == 10 && w.starts_with("0x")), "{extra:?}: {out:?}");
        assert_eq!((words[0], words[1]), (words[2], words[3]), "{extra:?}: {out:?}");
        assert_ne!(words[0], words[1]);
    }
}
