//! Ranges where latency is read (issue 17 item 4): every estimate on a board with ranged
//! assumptions carries the low and high the re-timing runs give, the range contains the
//! estimate, it widens when an assumption widens, bad ranges are board errors, and
//! boards without assumptions do no extra runs.

mod common;

use common::{fixture, simbench};
use serde_json::Value;
use std::path::PathBuf;

fn run_json(elf: &str, board: &str, extra: &[&str]) -> Value {
    let mut args = vec![fixture(elf).display().to_string(), "--board".into(), board.into(), "--format".into(), "json".into(), "-q".into()];
    args.extend(extra.iter().map(|s| s.to_string()));
    let r = simbench(&args);
    assert!(r.code == 0, "{elf} on {board} exits 0: {}", r.stderr);
    r.json()
}

fn bounds(v: &Value) -> (u64, u64) {
    (v["low"].as_u64().expect("low"), v["high"].as_u64().expect("high"))
}

/// A copy of the `lpc55s69` preset whose only range is `read_wait` = `range`.
fn lpc55_with_flash_range(tag: &str, range: &str) -> PathBuf {
    let preset = std::fs::read_to_string(common::root().join("cores/boards/lpc55s69.toml")).unwrap();
    let body = &preset[..preset.find("[ranges]").expect("the preset has ranges")];
    let path = std::env::temp_dir().join(format!("simbench-ranges-{tag}-{}.toml", std::process::id()));
    std::fs::write(&path, format!("{body}[ranges]\n\"regions.flash.read_wait\" = {range}\n")).unwrap();
    path
}

#[test]
fn the_range_contains_the_estimate_on_both_kws_boards() {
    for (elf, board) in [("inference/tflm_kws_lpc55s69_O3.elf", "lpc55s69"), ("inference/tflm_kws_mimxrt1011_O3.elf", "mimxrt1011")] {
        let v = run_json(elf, board, &[]);
        let g = &v["range"];
        let cycles = v["cycles"].as_u64().unwrap();
        let (low, high) = bounds(&g["cycles"]);
        assert!(low <= cycles && cycles <= high && low < high, "{board}: {low} ≤ {cycles} ≤ {high}, a real range");
        assert_eq!(g["contains_estimate"], true);
        let inference = v["profile"]["inference_cycles"].as_u64().unwrap();
        let (il, ih) = bounds(&g["inference_cycles"]);
        assert!(il <= inference && inference <= ih && il < ih, "{board} inference: {il} ≤ {inference} ≤ {ih}");
        let latency = v["latency_us"].as_f64().unwrap();
        assert!(g["latency_us"]["low"].as_f64().unwrap() <= latency && latency <= g["latency_us"]["high"].as_f64().unwrap());
        // One range per operator row. A single row need not lie between its corners (the
        // cache state an operator inherits differs), but the rows together do, and most
        // rows on their own.
        let ops = v["operators"].as_array().unwrap();
        let op_ranges = g["operators"].as_array().unwrap();
        assert_eq!(ops.len(), op_ranges.len(), "{board}: a range per operator");
        let (mut sum_l, mut sum_c, mut sum_h, mut inside) = (0, 0, 0, 0);
        for (o, b) in ops.iter().zip(op_ranges) {
            let (l, h) = bounds(b);
            let c = o["cycles"].as_u64().unwrap();
            (sum_l, sum_c, sum_h) = (sum_l + l, sum_c + c, sum_h + h);
            inside += usize::from(l <= c && c <= h);
        }
        assert!(sum_l <= sum_c && sum_c <= sum_h && sum_l < sum_h, "{board} operators: {sum_l} ≤ {sum_c} ≤ {sum_h}");
        assert!(inside * 2 > ops.len(), "{board}: {inside} of {} operator rows inside their range", ops.len());
        // Every ranged value of the preset is listed with its value inside its range.
        let assumptions = g["assumptions"].as_array().unwrap();
        assert!(!assumptions.is_empty());
        for a in assumptions {
            assert!(a["low"].as_u64() <= a["value"].as_u64() && a["value"].as_u64() <= a["high"].as_u64(), "{a}");
        }
    }
}

#[test]
fn widening_an_assumption_widens_the_range() {
    let elf = "inference/aot_kws_lpc55s69_O3.elf";
    let narrow = lpc55_with_flash_range("narrow", "[10, 12]");
    let wide = lpc55_with_flash_range("wide", "[8, 14]");
    let n = run_json(elf, narrow.to_str().unwrap(), &[]);
    let w = run_json(elf, wide.to_str().unwrap(), &[]);
    let _ = (std::fs::remove_file(&narrow), std::fs::remove_file(&wide));
    assert_eq!(n["cycles"], w["cycles"], "the point estimate does not depend on the range");
    let ((nl, nh), (wl, wh)) = (bounds(&n["range"]["cycles"]), bounds(&w["range"]["cycles"]));
    assert!(wl < nl && nh < wh, "[8, 14] gives a wider range ({wl}–{wh}) than [10, 12] ({nl}–{nh})");
    let cycles = n["cycles"].as_u64().unwrap();
    assert!(nl < cycles && cycles < nh, "read_wait 11 lies strictly inside [10, 12]: {nl} < {cycles} < {nh}");
}

#[test]
fn invalid_ranges_are_board_errors() {
    for (range, message) in [("[12, 14]", "does not contain the board's value 11"), ("[14, 8]", "low is above high"), ("[8, 2000]", "above 1000")] {
        let board = lpc55_with_flash_range("bad", range);
        let r = simbench([fixture("micro/dot_m7.elf").display().to_string(), "--board".into(), board.display().to_string()]);
        let _ = std::fs::remove_file(&board);
        assert_eq!(r.code, 3, "range {range}: exit 3 (invalid board TOML): {}", r.stderr);
        assert!(r.stderr.contains(message), "range {range}: {}", r.stderr);
        assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
    }
}

#[test]
fn boards_without_assumptions_and_no_ranges_report_no_range() {
    let generic = run_json("micro/dot_m7.elf", "generic-m7", &[]);
    assert!(generic.get("range").is_none(), "generic-m7 has no assumptions: no range");
    let off = run_json("inference/aot_kws_lpc55s69_O3.elf", "lpc55s69", &["--no-ranges", "--timing", "fast"]);
    assert!(off.get("range").is_none(), "--no-ranges: no range");
    let on = run_json("inference/aot_kws_lpc55s69_O3.elf", "lpc55s69", &["--timing", "fast"]);
    assert!(on.get("range").is_some());
    assert_eq!(off["cycles"], on["cycles"], "the range does not move the estimate");
}

#[test]
fn corners_on_another_program_path_are_not_paired() {
    // The memory benchmark prints DWT cycle counts: with the flash wait states ranged it
    // formats other digits on a corner, 15 instructions on a program of 3,900, more than
    // the 0.1 % that is paired.
    let board = lpc55_with_flash_range("path", "[8, 14]");
    let v = run_json("calib/memory_lpc55s69.elf", board.to_str().unwrap(), &[]);
    let _ = std::fs::remove_file(&board);
    let g = &v["range"];
    assert!(g.get("cycles").is_none(), "no cycles range for unpaired runs: {g}");
    assert!(g["note"].as_str().unwrap().contains("cannot be paired"), "{g}");
}

#[test]
fn the_text_report_shows_the_range_where_latency_is_read() {
    let r = simbench([
        fixture("inference/tflm_kws_mimxrt1011_O3.elf").display().to_string(),
        "--board".into(),
        "mimxrt1011".into(),
        "-q".into(),
        "--timing".into(),
        "fast".into(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = run_json("inference/tflm_kws_mimxrt1011_O3.elf", "mimxrt1011", &["--timing", "fast"]);
    let (low, high) = bounds(&v["range"]["cycles"]);
    let group = |n: u64| {
        let d = n.to_string();
        d.chars().enumerate().fold(String::new(), |mut s, (i, c)| {
            if i > 0 && (d.len() - i).is_multiple_of(3) {
                s.push(',');
            }
            s.push(c);
            s
        })
    };
    let line = format!("  cycles        {} ({}–{})", group(v["cycles"].as_u64().unwrap()), group(low), group(high));
    assert!(r.stdout.contains(&line), "expected '{line}' in:\n{}", r.stdout);
    assert!(r.stdout.lines().any(|l| l.starts_with("  latency       ") && l.contains(" ms (") && l.contains("–")), "{}", r.stdout);
    assert!(r.stdout.contains("regions.flexspi.read_wait 140 [105–280]"), "{}", r.stdout);
    assert!(r.stdout.contains("range low/high"), "the operator table has the range column:\n{}", r.stdout);
}

#[test]
fn compare_shows_both_sides_ranges_and_whether_the_difference_exceeds_them() {
    let (a, b) = (fixture("inference/tflm_kws_mimxrt1011_O3.elf"), fixture("inference/aot_kws_mimxrt1011_O3.elf"));
    let args = |format: &str| vec![a.display().to_string(), b.display().to_string(), "--board".into(), "mimxrt1011".into(), "--format".into(), format.into()];
    let mut json_args = vec!["compare".to_string()];
    json_args.extend(args("json"));
    let r = simbench(&json_args);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let c = r.json();
    let g = &c["ranges"];
    for side in ["a", "b"] {
        let (l, h) = bounds(&g[format!("inference_cycles_{side}")]);
        let point = c["totals"]["inference_cycles"][side].as_u64().unwrap();
        assert!(l <= point && point <= h && l < h, "{side}: {l} ≤ {point} ≤ {h}");
    }
    assert_eq!(g["ratio_basis"], "paired", "one board: the corners pair up");
    let (rl, rh) = (g["ratio"]["low"].as_f64().unwrap(), g["ratio"]["high"].as_f64().unwrap());
    assert!(rl <= rh && rh < 1.0, "the AOT bundle is faster at both ends: {rl}–{rh}");
    assert_eq!(g["difference_exceeds_ranges"], true);
    let mut text_args = vec!["compare".to_string()];
    text_args.extend(args("text"));
    let t = simbench(&text_args);
    assert!(t.stdout.contains("ranges (each board's assumptions at their low and high ends):"), "{}", t.stdout);
    assert!(t.stdout.contains("the difference exceeds the ranges"), "{}", t.stdout);
    let mut off = vec!["compare".to_string()];
    off.extend(args("json"));
    off.push("--no-ranges".into());
    assert!(simbench(&off).json().get("ranges").is_none(), "--no-ranges: no ranges in compare");
}

#[test]
fn sweep_rows_carry_the_range() {
    let fw = fixture("inference/aot_kws_lpc55s69_O3.elf").display().to_string();
    let r = simbench([
        "sweep".to_string(),
        fw.clone(),
        "--board".into(),
        "lpc55s69,generic-m33".into(),
        "--format".into(),
        "json".into(),
        "--jobs".into(),
        "2".into(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = r.json();
    let rows = v["rows"].as_array().unwrap();
    let lpc = rows.iter().find(|r| r["board"] == "lpc55s69").unwrap();
    let (l, h) = bounds(&lpc["cycles_range"]);
    let c = lpc["cycles"].as_u64().unwrap();
    assert!(l <= c && c <= h && l < h, "sweep row: {l} ≤ {c} ≤ {h}");
    assert!(lpc["latency_us_range"]["low"].as_f64().unwrap() < lpc["latency_us_range"]["high"].as_f64().unwrap());
    let generic = rows.iter().find(|r| r["board"] == "generic-m33").unwrap();
    assert!(generic.get("cycles_range").is_none(), "generic-m33 has no assumptions");
    let csv = simbench(["sweep".to_string(), fw.clone(), "--board".into(), "lpc55s69".into(), "--format".into(), "csv".into()]);
    let header = csv.stdout.lines().next().unwrap();
    assert!(header.ends_with(",cycles_low,cycles_high,latency_us_low,latency_us_high,inference_cycles_low,inference_cycles_high"), "{header}");
    let row = csv.stdout.lines().nth(1).unwrap();
    assert!(row.contains(&format!(",{l},{h},")), "{row}");
    let text = simbench(["sweep".to_string(), fw, "--board".into(), "lpc55s69".into()]);
    assert!(text.stdout.contains("latency range ms"), "{}", text.stdout);
}
