//! Issue 19: stalls by symbol (`--stalls`) and what-if placement (`--place`), checked
//! against firmware relinked with the placement for real.
//!
//! The fixture pairs `*_O3.elf` / `*_O3_ramweights.elf` (fixtures/build) are the same
//! firmware linked with the model's weights in flash (or XIP flash) and in RAM. Running
//! the flash build with `--place WEIGHTS=RAM` must predict the saving that relinking
//! measures, within 10 % of it. The comparison is on the inference (`profile.
//! inference_cycles`): the RAM build also copies the weights into RAM at start-up, before
//! the inference, which a what-if that moves no bytes does not (the whole-run figures
//! are printed beside it).

mod common;

use common::{fixture, simbench, without_host};
use serde_json::Value;

fn json(elf: &str, board: &str, extra: &[&str]) -> Value {
    let mut args = vec![fixture(elf).display().to_string(), "--board".into(), board.into(), "--format".into(), "json".into(), "-q".into()];
    args.extend(extra.iter().map(|s| s.to_string()));
    let r = simbench(&args);
    assert_eq!(r.code, 0, "{elf} {extra:?}: {}", r.stderr);
    r.json()
}

fn figures(v: &Value) -> (i64, i64) {
    (v["cycles"].as_i64().unwrap(), v["profile"]["inference_cycles"].as_i64().unwrap())
}

/// Predicted vs measured saving of one relinked pair.
fn check_pair(engine: &str, board: &str, weights: &str, ram: &str) {
    let flash_elf = format!("inference/{engine}_kws_{board}_O3.elf");
    let ram_elf = format!("inference/{engine}_kws_{board}_O3_ramweights.elf");
    let place = format!("{weights}={ram}");
    let (flash_total, flash_inf) = figures(&json(&flash_elf, board, &[]));
    let (ram_total, ram_inf) = figures(&json(&ram_elf, board, &[]));
    let placed = json(&flash_elf, board, &["--place", &place]);
    let (pred_total, pred_inf) = figures(&placed);
    let (predicted, measured) = (flash_inf - pred_inf, flash_inf - ram_inf);
    println!(
        "{engine} {board} --place {place}: inference saving predicted {predicted}, measured {measured} (relinked); whole run predicted {}, measured {}",
        flash_total - pred_total,
        flash_total - ram_total
    );
    assert!(measured > 0, "relinking the weights into RAM must save cycles ({measured})");
    assert!((predicted - measured).abs() * 10 <= measured, "predicted {predicted} vs measured {measured}: more than 10 % apart");
    let p = &placed["placements"][0];
    assert_eq!((p["symbol"].as_str(), p["to"].as_str()), (Some(weights), Some(ram)), "the report states the placement: {p}");
}

#[test]
fn aot_weights_in_sram_lpc55s69() {
    check_pair("aot", "lpc55s69", "kws_constant_weights", "sram");
}

#[test]
fn tflm_model_in_sram_lpc55s69() {
    check_pair("tflm", "lpc55s69", "sb_model_data", "sram");
}

#[test]
fn aot_weights_in_dtcm_mimxrt1011() {
    check_pair("aot", "mimxrt1011", "kws_constant_weights", "dtcm");
}

#[test]
fn tflm_model_in_dtcm_mimxrt1011() {
    check_pair("tflm", "mimxrt1011", "sb_model_data", "dtcm");
}

fn counts(v: &Value) -> [u64; 4] {
    ["fetch_wait_cycles", "read_wait_cycles", "write_wait_cycles", "data_misses"].map(|k| v[k].as_u64().unwrap())
}

#[test]
fn stalls_add_up_to_the_region_waits_and_name_the_weights() {
    let v = json("inference/aot_kws_lpc55s69_O3.elf", "lpc55s69", &["--stalls"]);
    let st = &v["stalls"];
    let regions = v["regions"].as_array().unwrap();
    let fetch: u64 = regions.iter().map(|r| r["fetch_wait_cycles"].as_u64().unwrap()).sum();
    let data: u64 = regions.iter().map(|r| r["data_wait_cycles"].as_u64().unwrap()).sum();
    let total = counts(&st["total"]);
    assert_eq!((total[0], total[1] + total[2]), (fetch, data), "every wait is attributed once");
    let symbols = st["symbols"].as_array().unwrap();
    let sum = symbols.iter().map(counts).fold([0; 4], |a, c| [a[0] + c[0], a[1] + c[1], a[2] + c[2], a[3] + c[3]]);
    assert_eq!(sum, total, "the symbols sum to the total");
    // The weights are read from flash through the accelerator's one data line buffer:
    // the reads that miss it wait the 11 flash wait states each.
    let w = symbols.iter().find(|s| s["name"] == "kws_constant_weights").expect("the weights have stalls");
    assert_eq!(
        (w["kind"].as_str(), w["section"].as_str(), w["region"].as_str(), w["size"].as_u64()),
        (Some("object"), Some(".rodata"), Some("flash"), Some(24_384))
    );
    let [_, read, _, misses] = counts(w);
    assert_eq!(read, misses * 11, "each miss waits 11 cycles (FMCCR.FLASHTIM = 11)");
    // Per operator: CONV_2D #2 pays for its kernel's code and its weights, and every
    // operator's stalls fit inside its cycles.
    let ops = st["operators"].as_array().unwrap();
    let rows = v["operators"].as_array().unwrap();
    assert_eq!(ops.len(), rows.len());
    for (o, row) in ops.iter().zip(rows) {
        let c = counts(o);
        assert!(c[0] + c[1] + c[2] <= row["cycles"].as_u64().unwrap(), "operator {} stalls exceed its cycles", o["index"]);
    }
    let conv2 = &ops[2];
    assert_eq!(conv2["op"], "CONV_2D");
    let names: Vec<&str> = conv2["symbols"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(&names[..2], &["libjit_conv2d_i8_2", "kws_constant_weights"], "{names:?}");
}

#[test]
fn stalls_find_the_model_after_the_data_copy() {
    // Reset_Handler reads the load image of .data from flash, where no symbol or section
    // covers it (a "flash" region row), before TFLM reads the model. That lookup must not
    // swallow the model's reads: before the fix, all 5.2 M of them went to "flash".
    let v = json("inference/tflm_kws_lpc55s69_O3.elf", "lpc55s69", &["--stalls", "--no-ranges"]);
    let symbols = v["stalls"]["symbols"].as_array().unwrap();
    let read = |name: &str| symbols.iter().find(|s| s["name"] == name).map_or(0, |s| s["read_wait_cycles"].as_u64().unwrap());
    // Measured: sb_model_data 5,211,459 read-wait cycles, the flash region row 220.
    assert!(read("sb_model_data") > 5_000_000, "{}", read("sb_model_data"));
    assert!(read("flash") < 1_000, "{}", read("flash"));
}

#[test]
fn placed_weights_stop_stalling_and_reports_stay_deterministic() {
    let args = ["--stalls", "--place", "kws_constant_weights=sram"];
    let a = json("inference/aot_kws_lpc55s69_O3.elf", "lpc55s69", &args);
    let b = json("inference/aot_kws_lpc55s69_O3.elf", "lpc55s69", &args);
    assert_eq!(without_host(a.clone()), without_host(b), "same ELF and options, same report");
    let w = a["stalls"]["symbols"].as_array().unwrap().iter().find(|s| s["name"] == "kws_constant_weights");
    assert!(w.is_none(), "zero-wait SRAM timing: the weights no longer stall: {w:?}");
    // Without the options the report has neither section.
    let plain = json("inference/aot_kws_lpc55s69_O3.elf", "lpc55s69", &[]);
    assert!(plain.get("stalls").is_none() && plain.get("placements").is_none());
}

#[test]
fn bad_placements_are_usage_errors() {
    let elf = fixture("inference/tflm_kws_lpc55s69_O3.elf").display().to_string();
    for (place, says) in [
        ("nope=sram", "no symbol or section 'nope'"),
        ("sb_model_data=ocram", "has no memory region 'ocram'"),
        ("sb_model_data=peripherals", "has no memory region 'peripherals'"),
        // 53,936 bytes do not fit the 32 KiB SRAMX.
        ("sb_model_data=sramx", "needs 53936 bytes, 'sramx' has 32768 free"),
        ("sb_model_data=flash", "already lives in 'flash'"),
        ("sb_model_data", "expected SYMBOL=REGION"),
    ] {
        let r = simbench([elf.as_str(), "--board", "lpc55s69", "-q", "--place", place]);
        assert_eq!(r.code, 2, "--place {place}: {}", r.stderr);
        assert!(r.stderr.contains(says), "--place {place}: {}", r.stderr);
    }
}

#[test]
fn compare_and_sweep_take_placements() {
    let flash = fixture("inference/aot_kws_lpc55s69_O3.elf").display().to_string();
    let ram = fixture("inference/aot_kws_lpc55s69_O3_ramweights.elf").display().to_string();
    let measured = figures(&json("inference/aot_kws_lpc55s69_O3_ramweights.elf", "lpc55s69", &[])).1;
    // Sweep the flash build with the weights placed in SRAM: its inference is the
    // relinked build's.
    let r = simbench(["sweep", flash.as_str(), "--board", "lpc55s69", "--format", "json", "--place", "kws_constant_weights=sram", "--jobs", "1"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let row = &r.json()["rows"][0];
    assert_eq!(row["inference_cycles"].as_i64(), Some(measured), "{row}");
    // compare applies the placement to both runs: A (flash build, placed) and B (relinked)
    // take the same inference time.
    let r = simbench(["compare", flash.as_str(), ram.as_str(), "--board", "lpc55s69", "--format", "json", "--place", "kws_constant_weights=sram"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let inference = &r.json()["totals"]["inference_cycles"];
    assert_eq!((inference["a"].as_i64(), inference["b"].as_i64()), (Some(measured), Some(measured)), "{inference}");
}

// ---------------------------------------------------------------------------
// A hot function relinked into fast RAM (fixtures/placement/, fixtures/README.md): the
// FIR kernel in flash vs SRAMX (LPC55S69) and XIP vs ITCM (i.MX RT1011). Compared on the
// ITM marker window (`--profile markers`: the eight kernel calls), which the start-up
// copy of the relinked kernel does not touch.

/// Marker-window cycles of `elf` on `board`.
fn window(elf: &str, board: &str, extra: &[&str]) -> i64 {
    let mut args = vec!["--profile", "markers"];
    args.extend_from_slice(extra);
    figures(&json(elf, board, &args)).1
}

/// `--place fir_kernel=REGION` on the flash build against the relinked build.
fn check_hot_pair(board: &str, region: &str, relinked: &str) -> (i64, i64) {
    let flash_elf = format!("placement/hotfunc_{board}_flash.elf");
    let flash = window(&flash_elf, board, &[]);
    let ram = window(&format!("placement/hotfunc_{board}_{relinked}.elf"), board, &[]);
    let predicted = window(&flash_elf, board, &["--place", &format!("fir_kernel={region}")]);
    let (saving, measured) = (flash - predicted, flash - ram);
    println!("{board}: flash {flash}, relinked {ram}, predicted {predicted}: saving predicted {saving}, measured {measured}");
    assert!(measured > 0, "relinking the kernel into {region} must save cycles ({measured})");
    assert!((saving - measured).abs() * 10 <= measured, "predicted {saving} vs measured {measured}: more than 10 % apart");
    (saving, measured)
}

#[test]
fn hot_function_in_sramx_lpc55s69() {
    // Measured (simbench 2026-12, detailed): flash 1,028,885 cycles, SRAMX build
    // 350,843, flash build with --place fir_kernel=sramx 350,843: both save 678,042 (the
    // kernel's 12-clock flash line reads through the one-line buffer, 66 % of the window).
    let (predicted, measured) = check_hot_pair("lpc55s69", "sramx", "sramx");
    assert!(measured > 600_000, "the kernel's flash fetches are most of the window: {measured}");
    assert_eq!(predicted, measured, "same code addresses apart from the kernel: the prediction is exact");
}

#[test]
fn hot_function_in_itcm_mimxrt1011() {
    // Measured: XIP build 268,238 cycles, ITCM build 265,670, XIP build with --place
    // fir_kernel=itcm 265,670: both save 2,568 (1 %). The I-cache is on, so only the
    // kernel's first-call line fills from FlexSPI are saved.
    let (predicted, measured) = check_hot_pair("mimxrt1011", "itcm", "itcm");
    assert_eq!(predicted, measured);
}

// ---------------------------------------------------------------------------
// The advisor (`simbench place`).

fn place(args: &[&str]) -> common::Run {
    let mut all = vec!["place"];
    all.extend_from_slice(args);
    simbench(all)
}

fn advise_json(elf: &str, board: &str, extra: &[&str]) -> (Value, String) {
    let path = fixture(elf).display().to_string();
    let mut args = vec![path.as_str(), "--board", board, "--format", "json"];
    args.extend_from_slice(extra);
    if !extra.contains(&"--jobs") {
        args.extend(["--jobs", "2"]);
    }
    let r = place(&args);
    assert_eq!(r.code, 0, "place {elf}: {}", r.stderr);
    (r.json(), r.stdout)
}

#[test]
fn advisor_moves_the_hot_kernel_to_sramx_as_the_relink_measures() {
    let (a, text) = advise_json("placement/hotfunc_lpc55s69_flash.elf", "lpc55s69", &["--profile", "markers"]);
    assert_eq!(a["schema"], "simbench.place/1");
    assert_eq!((a["metric"].as_str(), a["baseline_cycles"].as_i64()), (Some("inference_cycles"), Some(1_028_885)));
    // The best move per byte is the kernel (288 B) into SRAMX, and its saving is the
    // what-if run's: 1,028,885 - 350,843 (hot_function_in_sramx_lpc55s69), which the
    // relinked build measures too.
    let first = &a["moves"][0];
    assert_eq!((first["symbol"].as_str(), first["to"].as_str(), first["size"].as_u64()), (Some("fir_kernel"), Some("sramx"), Some(288)), "{first}");
    let whatif = window("placement/hotfunc_lpc55s69_flash.elf", "lpc55s69", &["--place", "fir_kernel=sramx"]);
    assert_eq!(first["saving_cycles"].as_i64(), Some(1_028_885 - whatif));
    let relinked = window("placement/hotfunc_lpc55s69_sramx.elf", "lpc55s69", &[]);
    assert_eq!(first["saving_cycles"].as_i64(), Some(1_028_885 - relinked));
    // The JSON says what the firmware must change: the section attribute and the line of
    // runtime/boards/lpc55s69.ld that takes it into SRAMX.
    let change = &first["change"];
    assert_eq!(change["attribute"], "__attribute__((section(\".ramfunc.fir_kernel\")))");
    assert!(
        change["linker_script"].as_str().unwrap().contains("*(.ramfunc .ramfunc.*)") && change["linker_script"].as_str().unwrap().contains("> SRAMX AT> FLASH"),
        "{change}"
    );
    // The total is verified by one what-if run with every chosen move.
    let mut places: Vec<String> = Vec::new();
    for m in a["moves"].as_array().unwrap() {
        places.push("--place".into());
        places.push(format!("{}={}", m["symbol"].as_str().unwrap(), m["to"].as_str().unwrap()));
    }
    let places: Vec<&str> = places.iter().map(String::as_str).collect();
    let all = window("placement/hotfunc_lpc55s69_flash.elf", "lpc55s69", &places);
    assert_eq!(a["total"]["verified_cycles"].as_i64(), Some(all));
    assert_eq!(a["total"]["verified_saving_cycles"].as_i64(), Some(1_028_885 - all));
    // Room: SRAMX is empty (32 KiB); SRAM holds .data/.bss and keeps the linker script's
    // 16 KiB stack reservation (0x4000 in lpc55s69.ld) free.
    let sram = a["regions"].as_array().unwrap().iter().find(|r| r["name"] == "sram").unwrap();
    assert_eq!((sram["stack_bytes"].as_u64(), sram["limit_bytes"].as_u64()), (Some(16_384), Some(0x44000)));
    // Deterministic: the same advice byte for byte, whatever --jobs.
    let (_, again) = advise_json("placement/hotfunc_lpc55s69_flash.elf", "lpc55s69", &["--profile", "markers", "--jobs", "1"]);
    assert_eq!(text, again);
}

#[test]
fn advisor_on_aot_kws_lpc55s69_moves_kernels_and_weights() {
    let (a, _) = advise_json("inference/aot_kws_lpc55s69_O3.elf", "lpc55s69", &[]);
    let moves = a["moves"].as_array().unwrap();
    // The weights move to SRAM with the saving the relinked pair measures (README table:
    // 98,044,434 - 94,833,234 = 3,211,200).
    let w = moves.iter().find(|m| m["symbol"] == "kws_constant_weights").expect("the weights move");
    assert_eq!((w["to"].as_str(), w["saving_cycles"].as_i64()), (Some("sram"), Some(3_211_200)), "{w}");
    assert_eq!(w["change"]["attribute"], "__attribute__((section(\".data.kws_constant_weights\")))");
    // The 1x1 convolution kernels (280 B each, ~14 M fetch-wait cycles) come first: far
    // more cycles per byte than the 24,384 B of weights.
    assert_eq!(moves[0]["to"], "sramx");
    assert!(moves[0]["symbol"].as_str().unwrap().starts_with("libjit_conv2d_i8_"), "{}", moves[0]);
    let sramx: u64 = moves.iter().filter(|m| m["to"] == "sramx").map(|m| m["size"].as_u64().unwrap()).sum();
    assert!(sramx <= 32_768, "the SRAMX moves fit its 32 KiB: {sramx}");
}

#[test]
fn advisor_budget_limits_a_region() {
    // 300 bytes of SRAMX: the 288-byte kernel fits, `main` (408 B) does not.
    let (a, _) = advise_json("placement/hotfunc_lpc55s69_flash.elf", "lpc55s69", &["--profile", "markers", "--budget", "sramx=300"]);
    let sramx: Vec<&str> = a["moves"].as_array().unwrap().iter().filter(|m| m["to"] == "sramx").map(|m| m["symbol"].as_str().unwrap()).collect();
    assert_eq!(sramx, ["fir_kernel"]);
    let room = a["regions"].as_array().unwrap().iter().find(|r| r["name"] == "sramx").unwrap();
    assert_eq!((room["budget_bytes"].as_u64(), room["free_bytes"].as_u64()), (Some(300), Some(300)));
}

#[test]
fn advisor_on_mimxrt1011_counts_flexram_banks() {
    let (a, _) = advise_json("inference/tflm_kws_mimxrt1011_O3.elf", "mimxrt1011", &["--candidates", "4"]);
    let rooms = a["regions"].as_array().unwrap();
    let dtcm = rooms.iter().find(|r| r["name"] == "dtcm").unwrap();
    // The image reaches 96 KiB of DTCM (its stack top, __stack_top = 0x20018000): three
    // 32 KiB banks; free = 98,304 - 36,140 (.data + .bss) - 8,192 (stack) = 53,972; the
    // fourth bank is unassigned.
    assert_eq!(
        (dtcm["limit_bytes"].as_u64(), dtcm["free_bytes"].as_u64(), dtcm["shared_bytes"].as_u64()),
        (Some(98_304), Some(53_972), Some(32_768)),
        "{dtcm}"
    );
    // The model (53,936 B) fits the DTCM's own room and saves what the relinked pair
    // measures (README table: 34,091,139 - 33,815,355 = 275,784).
    let m = a["moves"].as_array().unwrap().iter().find(|m| m["symbol"] == "sb_model_data").expect("the model moves");
    assert_eq!((m["to"].as_str(), m["saving_cycles"].as_i64()), (Some("dtcm"), Some(275_784)), "{m}");
    // Code never goes to DTCM (no instruction path on the Cortex-M7).
    assert!(a["candidates"].as_array().unwrap().iter().all(|c| !(c["kind"] == "function" && c["to"] == "dtcm")));
}

#[test]
fn advisor_recipes_are_the_linker_scripts_lines() {
    for (board, kind, region) in [
        ("lpc55s69", "function", "sramx"),
        ("lpc55s69", "object", "sramx"),
        ("lpc55s69", "object", "sram"),
        ("mimxrt1011", "function", "itcm"),
        ("mimxrt1011", "object", "dtcm"),
        ("mimxrt1011", "object", "ocram"),
    ] {
        let (section, line, _) = simbench_sim::advisor::recipe(board, kind, region).unwrap();
        let script = std::fs::read_to_string(common::root().join(format!("runtime/boards/{board}.ld"))).unwrap();
        // Each piece of the quoted line (split at the elisions) is in the script, and the
        // input section pattern takes the attribute's section.
        for piece in line.split('…').map(str::trim).filter(|p| !p.is_empty() && *p != "{" && *p != "}") {
            for part in piece.split(['{', '}']).map(str::trim).filter(|p| !p.is_empty()) {
                assert!(script.contains(part), "{board}.ld has no `{part}` ({line})");
            }
        }
        assert!(script.contains(&format!("*({section} {section}.*)")) || script.contains(&format!("{section} {section}.*")), "{board}.ld takes {section}.*");
    }
}

#[test]
fn advisor_bad_input_is_a_clear_error() {
    let elf = fixture("placement/hotfunc_lpc55s69_flash.elf").display().to_string();
    let not_elf = fixture("README.md").display().to_string();
    for (args, code, says) in [
        (vec!["/nonexistent.elf", "--board", "lpc55s69"], 3, "cannot read firmware"),
        (vec![not_elf.as_str(), "--board", "lpc55s69"], 3, "not an ELF"),
        (vec![elf.as_str(), "--board", "nope"], 2, "unknown board 'nope'"),
        (vec![elf.as_str()], 2, "choose what to simulate"),
        (vec![elf.as_str(), "--board", "lpc55s69", "--budget", "ocram=4K"], 2, "no RAM region 'ocram'"),
        (vec![elf.as_str(), "--board", "lpc55s69", "--budget", "sram"], 2, "expected REGION=BYTES"),
        (vec![elf.as_str(), "--board", "lpc55s69", "--format", "xml"], 2, "text or json"),
        (vec![elf.as_str(), "--board", "lpc55s69", "--candidates", "0"], 2, "--candidates 0"),
        (vec![elf.as_str(), "--board", "lpc55s69", "--jobs", "0"], 2, "--jobs 0"),
    ] {
        let r = place(&args);
        assert_eq!(r.code, code, "{args:?}: {}", r.stderr);
        assert!(r.stderr.contains(says), "{args:?}: {}", r.stderr);
        assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
    }
    // A firmware that faults cannot be advised on: exit 4, as the run would.
    let udf = fixture("micro/udf_m4.elf").display().to_string();
    let r = place(&[udf.as_str(), "--core", "m4"]);
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert!(r.stderr.contains("must run to exit(0)"), "{}", r.stderr);
}
