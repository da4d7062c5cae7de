//! `simbench compare` and `simbench check` on the real inference fixtures.
//!
//! These need the operator profiler (`--profile auto`): without it the reports have no
//! operator rows and every test here fails on its row count, on purpose.

mod common;

use common::{fixture, simbench};
use serde_json::Value;
use std::path::{Path, PathBuf};

const TFLM_KWS_RT: &str = "inference/tflm_kws_mimxrt1011_O3.elf";
const AOT_KWS_RT: &str = "inference/aot_kws_mimxrt1011_O3.elf";
const AOT_KWS_LPC: &str = "inference/aot_kws_lpc55s69_O3.elf";
/// Operators of the MLPerf Tiny KWS model (DS-CNN).
const KWS_OPERATOR_COUNT: usize = common::KWS_OPERATORS.len();

fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("compare_check-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn u(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not an unsigned integer: {v}"))
}

/// Every per-side invariant of a comparison by operators.
fn assert_consistent(c: &Value, rows: usize) {
    assert_eq!(c["schema"], "simbench.compare/1");
    assert_eq!(c["basis"], "operators", "{c:#}");
    let ops = c["operators"].as_array().unwrap();
    assert_eq!(ops.len(), rows, "{c:#}");
    assert_eq!(c["a"]["operators"], rows as u64);
    assert_eq!(c["b"]["operators"], rows as u64);
    let t = &c["totals"];
    for side in ["a", "b"] {
        let sum: u64 = ops.iter().map(|o| u(&o["cycles"][side])).sum();
        assert_eq!(u(&t["operator_cycles"][side]), sum, "{side}: operator total is the sum of the rows");
        assert_eq!(sum + u(&t["overhead_cycles"][side]), u(&t["inference_cycles"][side]), "{side}: rows + overhead = inference");
        assert!(u(&t["inference_cycles"][side]) <= u(&t["run_cycles"][side]));
        let clock = c[side]["clock_mhz"].as_f64().unwrap();
        let lat = t["latency_ms"][side].as_f64().unwrap();
        assert!((lat - u(&t["inference_cycles"][side]) as f64 / clock / 1000.0).abs() < 1e-9, "{side}: latency at the board clock");
        assert!((t["inferences_per_second"][side].as_f64().unwrap() * lat - 1000.0).abs() < 1e-6);
    }
    for (i, o) in ops.iter().enumerate() {
        assert_eq!(u(&o["index"]), i as u64);
        assert_eq!(o["match"], "same", "row {i}: {o}");
        assert_eq!(o["op_a"], o["op_b"]);
        let (a, b) = (u(&o["cycles"]["a"]), u(&o["cycles"]["b"]));
        match o["cycles"]["ratio"].as_f64() {
            Some(r) => assert!((r - b as f64 / a as f64).abs() < 1e-12, "row {i}: ratio {r} vs {b}/{a}"),
            None => assert_eq!(a, 0, "row {i}: a ratio is missing only when A is 0"),
        }
    }
    for key in ["inference_cycles", "operator_cycles", "overhead_cycles", "run_cycles"] {
        let (a, b) = (u(&t[key]["a"]), u(&t[key]["b"]));
        let r = t[key]["ratio"].as_f64().unwrap();
        assert!((r - b as f64 / a as f64).abs() < 1e-12, "{key}: ratio {r} vs {b}/{a}");
    }
}

#[test]
fn compare_tflm_with_aot_on_one_board() {
    let (a, b) = (fixture(TFLM_KWS_RT), fixture(AOT_KWS_RT));
    let run = simbench(["compare".as_ref(), a.as_os_str(), b.as_os_str(), "--board".as_ref(), "mimxrt1011".as_ref(), "--format".as_ref(), "json".as_ref()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let c = run.json();
    assert_consistent(&c, KWS_OPERATOR_COUNT);
    assert_eq!(c["a"]["profile_source"], "tflm");
    assert_eq!(c["b"]["profile_source"], "aot");
    let ops = c["operators"].as_array().unwrap();
    assert_eq!(ops[0]["op_a"], "CONV_2D");
    assert_eq!(ops[KWS_OPERATOR_COUNT - 1]["op_a"], "SOFTMAX");
    assert!(ops[0]["kernel_b"].as_str().unwrap().starts_with("libjit_"), "{}", ops[0]);
    // The AOT bundle is the faster engine on the M7.
    assert!(c["totals"]["inference_cycles"]["ratio"].as_f64().unwrap() < 1.0);

    // Text: deterministic, one line per operator plus the totals.
    let text = simbench(["compare".as_ref(), a.as_os_str(), b.as_os_str(), "--board".as_ref(), "mimxrt1011".as_ref()]);
    assert_eq!(text.code, 0, "{}", text.stderr);
    let again = simbench(["compare".as_ref(), a.as_os_str(), b.as_os_str(), "--board".as_ref(), "mimxrt1011".as_ref()]);
    assert_eq!(text.stdout, again.stdout, "compare output is deterministic");
    assert_eq!(text.stdout.lines().filter(|l| l.contains("CONV_2D")).count(), 9, "{}", text.stdout);
    for needle in [
        "operators (sum of rows)",
        "overhead",
        "inference cycles",
        "latency per inference",
        "inferences per second",
        "tflm_kws_mimxrt1011_O3.elf",
        "aot_kws_mimxrt1011_O3.elf",
    ] {
        assert!(text.stdout.contains(needle), "missing {needle}:\n{}", text.stdout);
    }

    // CSV: a header, one row per operator, then the totals.
    let csv = simbench(["compare".as_ref(), a.as_os_str(), b.as_os_str(), "--board".as_ref(), "mimxrt1011".as_ref(), "--format".as_ref(), "csv".as_ref()]);
    assert_eq!(csv.code, 0, "{}", csv.stderr);
    let lines: Vec<&str> = csv.stdout.lines().collect();
    assert_eq!(lines[0], "section,invocation,index,name_a,name_b,kernel_a,kernel_b,a,b,ratio_b_a,match");
    assert_eq!(lines.iter().filter(|l| l.starts_with("operator,")).count(), KWS_OPERATOR_COUNT);
    assert!(
        lines.iter().any(|l| l.starts_with(&format!(
            "total,,,inference_cycles,inference_cycles,,,{},{},",
            c["totals"]["inference_cycles"]["a"], c["totals"]["inference_cycles"]["b"]
        ))),
        "{}",
        csv.stdout
    );
}

#[test]
fn compare_one_model_on_two_boards() {
    let (a, b) = (fixture(AOT_KWS_LPC), fixture(AOT_KWS_RT));
    let run = simbench([
        "compare".as_ref(),
        a.as_os_str(),
        b.as_os_str(),
        "--board-a".as_ref(),
        "lpc55s69".as_ref(),
        "--board-b".as_ref(),
        "mimxrt1011".as_ref(),
        "--format".as_ref(),
        "json".as_ref(),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let c = run.json();
    assert_consistent(&c, KWS_OPERATOR_COUNT);
    assert_eq!(c["a"]["board"], "lpc55s69");
    assert_eq!(c["a"]["clock_mhz"], 150.0);
    assert_eq!(c["b"]["board"], "mimxrt1011");
    assert_eq!(c["b"]["clock_mhz"], 500.0);
    // Latency ratio = cycle ratio × clock ratio.
    let t = &c["totals"];
    let cyc = t["inference_cycles"]["ratio"].as_f64().unwrap();
    let lat = t["latency_ms"]["ratio"].as_f64().unwrap();
    assert!((lat - cyc * 150.0 / 500.0).abs() < 1e-9, "{lat} vs {cyc}");
    assert!(c["notes"].as_array().unwrap().iter().any(|n| n.as_str().unwrap().contains("different boards")));
}

#[test]
fn compare_needs_a_board_for_each_side() {
    let (a, b) = (fixture(AOT_KWS_LPC), fixture(AOT_KWS_RT));
    let run = simbench(["compare".as_ref(), a.as_os_str(), b.as_os_str(), "--board-a".as_ref(), "lpc55s69".as_ref()]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("no board for B"), "{}", run.stderr);
    // The same ELF cannot run on a board it was not linked for: a clear error (exit 3).
    let run = simbench(["compare".as_ref(), a.as_os_str(), b.as_os_str(), "--board".as_ref(), "lpc55s69".as_ref()]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(run.stderr.contains("B (") && run.stderr.contains("outside every memory region"), "{}", run.stderr);
    let run = simbench(["compare".as_ref(), a.as_os_str(), b.as_os_str(), "--board".as_ref(), "lpc55s69".as_ref(), "--format".as_ref(), "xml".as_ref()]);
    assert_eq!(run.code, 2, "{}", run.stderr);
}

fn check_args(fw: &Path, baseline: &Path, extra: &[&str]) -> Vec<String> {
    let mut v = vec!["check".to_string(), fw.display().to_string(), "--baseline".into(), baseline.display().to_string()];
    v.extend(extra.iter().map(|s| s.to_string()));
    v
}

fn sim(args: Vec<String>) -> common::Run {
    simbench(args)
}

#[test]
fn check_against_budgets() {
    let dir = scratch("budgets");
    let fw = fixture(AOT_KWS_RT);
    let base = dir.join("budgets").join("kws.json");

    // Write the baseline (the directory is created).
    let w = sim(check_args(&fw, &base, &["--write-baseline", "--board", "mimxrt1011"]));
    assert_eq!(w.code, 0, "{}{}", w.stdout, w.stderr);
    assert!(w.stdout.contains("13 operator budget(s), 20 function budget(s)"), "{}", w.stdout);
    let b: Value = serde_json::from_str(&std::fs::read_to_string(&base).unwrap()).unwrap();
    assert_eq!(b["schema"], "simbench.budgets/1");
    assert_eq!(b["firmware"], "aot_kws_mimxrt1011_O3.elf");
    assert_eq!(b["board"], "mimxrt1011");
    assert_eq!(b["timing"], "detailed");
    assert_eq!(b["operators"].as_array().unwrap().len(), KWS_OPERATOR_COUNT);
    assert_eq!(b["functions"].as_object().unwrap().len(), 20);
    // The baseline's total is the report's.
    let report = common::simbench([fw.as_os_str(), "--board".as_ref(), "mimxrt1011".as_ref(), "--format".as_ref(), "json".as_ref(), "-q".as_ref()]).json();
    assert_eq!(b["total_cycles"], report["cycles"]);
    assert_eq!(b["inference_cycles"], report["profile"]["inference_cycles"]);

    // It passes against itself (board and timing come from the baseline), with JUnit and summary.
    let (junit, summary) = (dir.join("junit.xml"), dir.join("summary.md"));
    let ok = sim(check_args(&fw, &base, &["--junit", &junit.display().to_string(), "--summary", &summary.display().to_string()]));
    assert_eq!(ok.code, 0, "{}{}", ok.stdout, ok.stderr);
    assert!(ok.stdout.contains("PASSED: 35 budget items"), "{}", ok.stdout);
    let x = std::fs::read_to_string(&junit).unwrap();
    assert!(x.contains("tests=\"35\" failures=\"0\""), "{x}");
    assert_eq!(x.matches("<testcase ").count(), 35);
    assert!(!x.contains("<failure"));
    let md = std::fs::read_to_string(&summary).unwrap();
    assert!(md.starts_with("### simbench check: ✅ passed"), "{md}");

    // One operator's budget lowered by 10 %: exit 1, named in the output, JUnit and summary.
    let mut low = b.clone();
    let op3 = u(&low["operators"][3]["cycles"]);
    assert_eq!(low["operators"][3]["op"], "DEPTHWISE_CONV_2D");
    low["operators"][3]["cycles"] = Value::from(op3 * 9 / 10);
    let low_path = dir.join("low.json");
    std::fs::write(&low_path, serde_json::to_string_pretty(&low).unwrap()).unwrap();
    let fail = sim(check_args(&fw, &low_path, &["--tolerance", "2%", "--junit", &junit.display().to_string(), "--summary", &summary.display().to_string()]));
    assert_eq!(fail.code, 1, "{}{}", fail.stdout, fail.stderr);
    assert!(fail.stdout.contains("FAILED: 1 of 35 budget items: operator #3 DEPTHWISE_CONV_2D"), "{}", fail.stdout);
    assert!(fail.stdout.contains("operator #3 DEPTHWISE_CONV_2D: ") && fail.stdout.contains("exceed the budget"), "{}", fail.stdout);
    let x = std::fs::read_to_string(&junit).unwrap();
    assert!(x.contains("tests=\"35\" failures=\"1\""), "{x}");
    assert_eq!(x.matches("<failure ").count(), 1, "{x}");
    // The failure element sits inside the operator's test case.
    let case = x.find("<testcase classname=\"simbench.operator\" name=\"operator #3 DEPTHWISE_CONV_2D\">").expect("the operator's test case");
    let failure = x.find("<failure type=\"budget-exceeded\"").unwrap();
    assert!(failure > case && failure < case + x[case..].find("</testcase>").unwrap(), "{x}");
    // The summary is appended (two checks, two headings).
    let md = std::fs::read_to_string(&summary).unwrap();
    assert_eq!(md.matches("### simbench check").count(), 2);
    assert!(md.contains("### simbench check: ❌ 1 budget item(s) failed"), "{md}");
    assert!(md.contains("| ❌ exceeded | operator #3 DEPTHWISE_CONV_2D |"), "{md}");

    // A 1 % overrun passes at 2 % tolerance (either spelling), fails without tolerance.
    let mut tight = b.clone();
    let op0 = u(&tight["operators"][0]["cycles"]);
    tight["operators"][0]["cycles"] = Value::from((op0 as f64 / 1.01).round() as u64);
    let tight_path = dir.join("tight.json");
    std::fs::write(&tight_path, serde_json::to_string_pretty(&tight).unwrap()).unwrap();
    for tol in ["2%", "0.02"] {
        let r = sim(check_args(&fw, &tight_path, &["--tolerance", tol]));
        assert_eq!(r.code, 0, "--tolerance {tol}: {}{}", r.stdout, r.stderr);
    }
    let r = sim(check_args(&fw, &tight_path, &["--tolerance", "0.5%", "--format", "json"]));
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    let res = r.json();
    assert_eq!(res["passed"], false);
    assert_eq!(res["failures"], 1);
    let item = res["items"].as_array().unwrap().iter().find(|i| i["status"] == "exceeded").unwrap();
    assert_eq!(item["name"], "operator #0 CONV_2D");

    // An improvement beyond tolerance is a note, not a failure.
    let mut loose = b.clone();
    loose["operators"][0]["cycles"] = Value::from(op0 * 2);
    let loose_path = dir.join("loose.json");
    std::fs::write(&loose_path, serde_json::to_string_pretty(&loose).unwrap()).unwrap();
    let r = sim(check_args(&fw, &loose_path, &["--tolerance", "2%"]));
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("note: operator #0 CONV_2D:") && r.stdout.contains("-50.00 %"), "{}", r.stdout);

    // A baseline for another board is a usage error, not a silent comparison.
    let r = sim(check_args(&fixture(AOT_KWS_LPC), &base, &["--board", "lpc55s69"]));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("budgets are per board"), "{}", r.stderr);
}

#[test]
fn check_reports_missing_and_corrupt_baselines_clearly() {
    let dir = scratch("bad");
    let fw = fixture(AOT_KWS_RT);
    let missing = dir.join("nope.json");
    let r = sim(check_args(&fw, &missing, &["--board", "mimxrt1011"]));
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(r.stderr.contains("cannot read baseline") && r.stderr.contains("--write-baseline"), "{}", r.stderr);
    assert!(!r.stderr.contains("panicked"));

    for (name, text, want) in [
        ("corrupt.json", "{\"schema\": \"simbench.budgets/1\", \"total_cycles\": ", "not valid JSON"),
        ("other.json", "{\"schema\": \"simbench.report/2\"}", "has schema 'simbench.report/2'"),
        (
            "fields.json",
            "{\"schema\": \"simbench.budgets/1\", \"firmware\": \"x\", \"board\": \"mimxrt1011\", \"timing\": \"detailed\", \"total_cycles\": -5}",
            "not a valid simbench.budgets/1 file",
        ),
    ] {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        let r = sim(check_args(&fw, &p, &[]));
        assert_eq!(r.code, 3, "{name}: {}", r.stderr);
        assert!(r.stderr.contains(want), "{name}: {}", r.stderr);
        assert!(!r.stderr.contains("panicked"));
    }
    let r = sim(check_args(&fw, &missing, &["--board", "mimxrt1011", "--tolerance", "2"]));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("2%"), "{}", r.stderr);
}
