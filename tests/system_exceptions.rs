//! Unmodified vendor-style firmware on the exception model: `fixtures/system/vendor_rtos.c`
//! relocates its vector table, enables the FPU with lazy stacking, the Cortex-M7 caches
//! (set/way invalidation from CCSIDR) and the MPU, then runs a 1 kHz SysTick, an SVC, and
//! two tasks switching through PendSV on their own process stacks.

mod common;
use common::{fixture, kv, simbench, Run};

fn run_board(elf: &str, board: &str) -> Run {
    simbench([fixture(elf).display().to_string().as_str(), "--board", board, "--format", "json"])
}

/// (fixture, board, clock in Hz)
const BOARDS: [(&str, &str, u64); 3] = [
    ("system/vendor_rtos_mimxrt1011.elf", "mimxrt1011", 500_000_000),
    ("system/vendor_rtos_lpc55s69.elf", "lpc55s69", 150_000_000),
    ("system/vendor_rtos_m4.elf", "generic-m4", 100_000_000),
];

fn run_on(elf: &str, board: &str) -> (serde_json::Value, std::collections::BTreeMap<String, String>) {
    let run = run_board(elf, board);
    assert_eq!(run.code, 0, "{elf} on {board}: {}", run.stderr);
    let r = run.json();
    let out = kv(r["firmware_output"].as_str().unwrap());
    (r, out)
}

fn taken(r: &serde_json::Value, name: &str) -> u64 {
    r["exceptions"]["taken"].as_array().unwrap().iter().find(|e| e["name"] == name).map_or(0, |e| e["taken"].as_u64().unwrap())
}

#[test]
fn systick_svc_and_pendsv_context_switches_run_on_every_core() {
    for (elf, board, clock) in BOARDS {
        let (r, out) = run_on(elf, board);
        // SysTick: RVR = clock/1000 − 1, so it counts to zero every clock/1000 cycles. The
        // firmware reads CYCCNT just before enabling it and just after the 10th tick's
        // handler returned: 10 periods plus one exception entry and exit and the wake-up
        // path (a few dozen cycles), so within 1 % of 10 ms.
        assert_eq!(out["ticks"], "10", "{board}");
        let period = clock / 1000;
        let cycles: u64 = out["tick cycles"].parse().unwrap();
        assert!(cycles >= 10 * period && cycles < 10 * period + period / 100, "{board}: {cycles} cycles for 10 ticks of {period}");
        assert_eq!(taken(&r, "SysTick"), 10, "{board}");
        // SVC #1 returns r0 * r1 + 1 through the stacked r0: 21 * 2 + 1.
        assert_eq!(out["svc"], "43", "{board}");
        // SVC #0 starts the first task.
        assert_eq!(taken(&r, "SVCall"), 2, "{board}");
        // Five yields per task, then one more from the task that finishes first.
        assert_eq!(out["switches"], "11", "{board}");
        assert_eq!(taken(&r, "PendSV"), 11, "{board}");
        // After every switch each task found its r4–r11, s16 and s17 unchanged.
        assert_eq!(out["mismatches"], "0", "{board}");
        // The tasks use the FPU, so PendSV (whose VSTMDB is its first FP instruction) saves
        // the lazily reserved FP context of every task it switches away from.
        assert_eq!(r["exceptions"]["lazy_fp_saves"], 11, "{board}");
        // The vector table the firmware relocated to RAM is the one used.
        assert!(out["vtor"].starts_with("0x2"), "{board}: {}", out["vtor"]);
        // NVIC: IRQ0 (priority 0x20) pends IRQ1 (0x60), which tail-chains when IRQ0
        // returns (log "12"); with BASEPRI = 0x40 a pended IRQ1 waits until BASEPRI is
        // lowered ("122"); with PRIMASK set IRQ0 waits for CPSIE ("12212").
        assert_eq!(out["irq log"], "12", "{board}");
        assert_eq!((out["masked irq1 runs"].as_str(), out["unmasked irq1 runs"].as_str()), ("1", "2"), "{board}");
        assert_eq!((out["primask irq log"].as_str(), out["final irq log"].as_str()), ("122", "12212"), "{board}");
        assert_eq!((taken(&r, "IRQ0"), taken(&r, "IRQ1")), (2, 3), "{board}");
        assert_eq!(r["exceptions"]["tail_chains"], 2, "{board}");
        // The main stack's peak ignores the tasks' process stacks (in .bss, far below it).
        let peak = r["memory"]["stack_peak_bytes"].as_u64().unwrap();
        assert!(peak > 0 && peak < 1024, "{board}: main stack peak {peak}");
        // Every register the start-up code touched is modelled.
        assert_eq!(r["unmodelled_registers"], serde_json::json!([]), "{board}");
    }
}

#[test]
fn cache_identification_and_enabling_follow_the_board_and_the_firmware() {
    let (cached, out) = run_on("system/vendor_rtos_mimxrt1011.elf", "mimxrt1011");
    let (uncached, out_nc) = run_on("system/vendor_rtos_nocache_mimxrt1011.elf", "mimxrt1011");
    // CCSIDR as the firmware reads it: the preset's 16 KiB, 4-way, 32-byte-line D-cache.
    assert_eq!((out["dcache sets"].as_str(), out["dcache ways"].as_str()), ("128", "4"));
    // Caches are off until the firmware enables them.
    assert_eq!(uncached["timing"]["icache"], serde_json::json!({"hits": 0, "misses": 0}));
    assert!(cached["timing"]["icache"]["hits"].as_u64().unwrap() > 0);
    // The loop `subs r0, #1; bne 1b` sits in one 4-byte XIP fetch unit. Uncached, each of
    // its 1000 iterations fetches it again: 140 cycles (the mimxrt1011 preset's flexspi
    // read_wait). Cached, only the first iteration misses (one 420-cycle line fill). So
    // the difference is 1000 × 140 − 420 plus the call's own lines, ≈ 140 per iteration.
    let on: f64 = out["loop cycles"].parse().unwrap();
    let off: f64 = out_nc["loop cycles"].parse().unwrap();
    let per_iteration = (off - on) / 1000.0;
    assert!((per_iteration - 140.0).abs() < 2.0, "uncached − cached = {per_iteration} cycles per iteration");
}

#[test]
fn a_fault_reaches_the_firmware_handler_and_the_report_decodes_cfsr() {
    let run = run_board("system/vendor_fault_mimxrt1011.elf", "mimxrt1011");
    // The BusFault handler (enabled in SHCSR) prints what it sees and exits 3; simbench
    // reports the fault itself, exit code 4.
    assert_eq!(run.code, 4, "{}", run.stderr);
    let r = run.json();
    let out = kv(r["firmware_output"].as_str().unwrap());
    // PRECISERR (bit 9) | BFARVALID (bit 15), Armv7-M ARM B3.2.15.
    assert_eq!(out["BusFault CFSR"], "0x00008200");
    assert_eq!(out["BusFault BFAR"], "0x70000000");
    let e = &r["error"];
    assert_eq!(e["kind"], "unmapped-access");
    assert!(e["symbol"].as_str().unwrap().starts_with("main"), "{}", e["symbol"]);
    let status: Vec<&str> = e["fault_status"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert_eq!(status[0], "CFSR=0x00008200 HFSR=0x00000000 MMFAR=0x00000000 BFAR=0x70000000");
    assert!(status.iter().any(|s| s.starts_with("BFSR.PRECISERR")), "{status:?}");
    assert!(status.iter().any(|s| s.starts_with("BFSR.BFARVALID")), "{status:?}");
    let msg = r["outcome"]["message"].as_str().unwrap();
    assert!(msg.contains("delivered to the firmware's fault handler") && msg.contains("exit status 3"), "{msg}");
    assert_eq!(taken(&r, "BusFault"), 1);
}

#[test]
fn an_mpu_violation_is_a_memmanage_fault_with_mmfar() {
    for (elf, board) in [("system/vendor_mpu_fault_mimxrt1011.elf", "mimxrt1011"), ("system/vendor_mpu_fault_lpc55s69.elf", "lpc55s69")] {
        let run = run_board(elf, board);
        assert_eq!(run.code, 4, "{board}: {}", run.stderr);
        let r = run.json();
        let out = kv(r["firmware_output"].as_str().unwrap());
        // The firmware made the 1 KiB page at `guard` read-only (PMSAv7 AP = 0b110, or
        // PMSAv8 AP = 0b10) and wrote word 3 of it.
        let guard = u32::from_str_radix(out["guard"].trim_start_matches("0x"), 16).unwrap();
        let target = format!("{:#010x}", guard + 12);
        // DACCVIOL (bit 1) | MMARVALID (bit 7), Armv7-M ARM B3.2.15.
        assert_eq!(out["MemManage CFSR"], "0x00000082", "{board}");
        assert_eq!(out["MemManage MMFAR"], target, "{board}");
        let e = &r["error"];
        assert_eq!(e["kind"], "mpu-violation", "{board}");
        let status = e["fault_status"].as_array().unwrap();
        assert_eq!(status[0], format!("CFSR=0x00000082 HFSR=0x00000000 MMFAR={target} BFAR=0x00000000"), "{board}");
        assert!(status.iter().any(|s| s.as_str().unwrap().starts_with("MMFSR.DACCVIOL")), "{board}");
        assert_eq!(taken(&r, "MemManage"), 1, "{board}");
    }
}

#[test]
fn vendor_clock_and_memory_registers_change_the_model_and_are_reported() {
    let (cached, out) = run_on("system/vendor_rtos_mimxrt1011.elf", "mimxrt1011");
    let (uncached, out_nc) = run_on("system/vendor_rtos_nocache_mimxrt1011.elf", "mimxrt1011");
    // The firmware waited for PLL_SYS lock, FlexSPI idle and the CCM handshake (status
    // bits the preset models as ready), then set CSCMR1.FLEXSPI_PODF = 1: the FlexSPI
    // clock halves, so an uncached 4-byte fetch takes 2 × 140 = 280 cycles instead of 140.
    let before: f64 = out_nc["loop cycles"].parse().unwrap();
    let after: f64 = out_nc["slow xip loop cycles"].parse().unwrap();
    let extra = (after - before) / 1000.0;
    assert!((extra - 140.0).abs() < 2.0, "halving the FlexSPI clock added {extra} cycles per uncached iteration");
    // With the I-cache on the loop hits, whatever the FlexSPI clock.
    let cached_after: f64 = out["slow xip loop cycles"].parse().unwrap();
    assert!(cached_after < 1100.0, "{cached_after}");
    for r in [&cached, &uncached] {
        let settings: Vec<(&str, &str)> =
            r["configuration"].as_array().unwrap().iter().map(|c| (c["register"].as_str().unwrap(), c["setting"].as_str().unwrap())).collect();
        assert_eq!(
            settings,
            [
                ("CCM_CSCMR1", "flexspi serial clock divider 2 (preset 1): uncached read 280 cycles"),
                ("IOMUXC_GPR_GPR17", "FlexRAM ITCM 32 KiB, DTCM 96 KiB, OCRAM 0 KiB")
            ]
        );
    }
    // LPC55S69: AHBCLKDIV = 1 halves the core clock for the rest of the run, so the
    // latency is the cycles up to the write at 150 MHz plus the rest at 75 MHz.
    let (r, _) = run_on("system/vendor_rtos_lpc55s69.elf", "lpc55s69");
    let c = &r["configuration"][0];
    assert_eq!(c["setting"], "core clock divider 2 (preset 1): 75 MHz");
    let (at, total) = (c["cycle"].as_f64().unwrap(), r["cycles"].as_f64().unwrap());
    let expected = at / 150.0 + (total - at) / 75.0;
    assert!((r["latency_us"].as_f64().unwrap() - expected).abs() < 1e-6, "{} vs {expected}", r["latency_us"]);
}

#[test]
fn peripheral_registers_outside_the_preset_are_storage_and_listed() {
    // The lpc55s69 preset without its secure FMCCR entry: the firmware's read-modify-write
    // of that register then hits plain storage, which the report lists with its counts.
    let preset = std::fs::read_to_string(common::root().join("cores/boards/lpc55s69.toml")).unwrap();
    let mut blocks = preset.split("[[registers]]");
    let mut text = blocks.next().unwrap().to_string();
    for b in blocks.filter(|b| !b.contains("SYSCON_FMCCR (secure)")) {
        text.push_str("[[registers]]");
        text.push_str(b);
    }
    let dir = std::env::temp_dir().join(format!("simbench-periph-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let board = dir.join("lpc55s69-no-fmccr.toml");
    std::fs::write(&board, text.replace("name = \"lpc55s69\"", "name = \"lpc55s69-no-fmccr\"")).unwrap();
    let run = run_board("system/vendor_rtos_lpc55s69.elf", board.to_str().unwrap());
    assert_eq!(run.code, 0, "{}", run.stderr);
    let r = run.json();
    assert_eq!(r["unmodelled_registers"], serde_json::json!([{"address": "0x50000400", "reads": 1, "writes": 1}]));
    // With the preset itself every register the firmware touched is modelled.
    let (full, _) = run_on("system/vendor_rtos_lpc55s69.elf", "lpc55s69");
    assert_eq!(full["unmodelled_registers"], serde_json::json!([]));
    assert_eq!(full["regions"].as_array().unwrap().iter().filter(|g| g["kind"] == "peripheral").count(), 2);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn reruns_are_byte_identical_in_both_timing_modes() {
    // Exceptions, WFI sleep, MPU protections and vendor registers included: the same ELF
    // and options give the same JSON outside `host`, in `fast` and in `detailed` timing.
    for timing in ["fast", "detailed"] {
        let run = || {
            let r = simbench([
                fixture("system/vendor_rtos_mimxrt1011.elf").display().to_string().as_str(),
                "--board",
                "mimxrt1011",
                "--timing",
                timing,
                "--format",
                "json",
            ]);
            assert_eq!(r.code, 0, "{timing}: {}", r.stderr);
            serde_json::to_string(&common::without_host(r.json())).unwrap()
        };
        let (a, b) = (run(), run());
        assert_eq!(a, b, "{timing}");
        assert!(a.contains("\"SysTick\""), "{timing}");
    }
}

#[test]
fn flexram_left_unassigned_by_the_firmware_is_a_bus_error() {
    // The firmware assigns one 32 KiB bank to ITCM (GPR17 = 0xAB) and reads at 32 KiB.
    let run = run_board("system/vendor_flexram_fault_mimxrt1011.elf", "mimxrt1011");
    assert_eq!(run.code, 4, "{}", run.stderr);
    let r = run.json();
    let out = kv(r["firmware_output"].as_str().unwrap());
    assert_eq!((out["BusFault CFSR"].as_str(), out["BusFault BFAR"].as_str()), ("0x00008200", "0x00008000"));
    assert_eq!(r["error"]["kind"], "unassigned-memory");
    assert!(r["outcome"]["message"].as_str().unwrap().contains("beyond the 32 KiB the firmware assigned to region 'itcm'"), "{}", r["outcome"]["message"]);
}
