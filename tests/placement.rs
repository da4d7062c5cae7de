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
