//! Operator profiles on the engine-shaped fixtures (fixtures/engines/, issue 15): TFLM
//! interpreters with the call structure of 2020, 2021 (CMSIS-NN and reference kernels,
//! -O3 with the tail call into the operator loop, and -O0) and 2023+ (with a CALL_ONCE
//! subgraph), and Glow bundles (kernels that tail-call template workers; specialised and
//! inlined kernels; -instrument-ir), each for the LPC55S69 (Cortex-M33) and the i.MX RT1011
//! (Cortex-M7).
//!
//! Expectations come from `fixtures/engines/manifest.json` (written by the fixture build
//! from the sources: operator lists, kernel names, call sequences, CMSIS-NN paths,
//! instrumentation ids and kinds) and from what each firmware measures itself: the DWT
//! cycle count around Invoke()/kws() (`invoke_cycles`) and, for -instrument-ir, the
//! callbacks' own count per instruction (`instr=… cycles=…`). Never from simbench.

mod common;

use common::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// The model every engine fixture runs (the Glow ELFs do not embed it).
fn kws_model() -> String {
    root().join("fixtures/models/kws_ref_model.tflite").display().to_string()
}

fn manifest() -> Vec<Value> {
    let text = std::fs::read_to_string(fixture("engines/manifest.json")).expect("fixtures/engines/manifest.json");
    let v: Value = serde_json::from_str(&text).expect("manifest is JSON");
    v["fixtures"].as_array().expect("fixtures").clone()
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v}"))
}

fn u(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not a number: {v}"))
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array().unwrap_or_else(|| panic!("not an array: {v}")).iter().map(|x| s(x).to_string()).collect()
}

/// One fixture's profile: the manifest entry, the JSON report and the firmware's key=value lines.
struct Run {
    entry: Value,
    report: Value,
    fields: BTreeMap<String, String>,
}

impl Run {
    fn name(&self) -> &str {
        s(&self.entry["elf"])
    }
    fn printed(&self, key: &str) -> u64 {
        self.fields.get(key).unwrap_or_else(|| panic!("{}: firmware printed no {key}", self.name())).parse().unwrap()
    }
    fn ops(&self) -> &Vec<Value> {
        self.report["operators"].as_array().unwrap()
    }
    fn notes(&self) -> Vec<&str> {
        self.report["profile"]["notes"].as_array().unwrap().iter().map(s).collect()
    }
    fn glow(&self) -> bool {
        s(&self.entry["engine"]) == "glow"
    }
    fn board(&self) -> &str {
        s(&self.entry["board"])
    }
}

/// `--profile auto`, JSON; Glow bundles get the model with `--model`.
fn profile(elf: &str, board: &str, glow: bool, extra: &[&str]) -> Value {
    let path = fixture(elf).display().to_string();
    let model = kws_model();
    let mut args = vec![path.as_str(), "--board", board, "--format", "json", "--quiet"];
    if glow {
        args.extend(["--model", model.as_str()]);
    }
    args.extend_from_slice(extra);
    let run = simbench(&args);
    assert_eq!(run.code, 0, "{elf}: {}", run.stderr);
    run.json()
}

/// Every engine fixture profiled once (shared by the tests below), two runs at a time.
fn runs() -> &'static Vec<Run> {
    static RUNS: OnceLock<Vec<Run>> = OnceLock::new();
    RUNS.get_or_init(|| {
        let entries = manifest();
        let next = std::sync::atomic::AtomicUsize::new(0);
        let results = std::sync::Mutex::new(Vec::new());
        std::thread::scope(|sc| {
            for _ in 0..2 {
                sc.spawn(|| loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let Some(e) = entries.get(i) else { break };
                    let report = profile(s(&e["elf"]), s(&e["board"]), s(&e["engine"]) == "glow", &[]);
                    let fields = kv(report["firmware_output"].as_str().unwrap());
                    results.lock().unwrap().push((i, Run { entry: e.clone(), report, fields }));
                });
            }
        });
        let mut v = results.into_inner().unwrap();
        v.sort_by_key(|(i, _)| *i);
        v.into_iter().map(|(_, r)| r).collect()
    })
}

/// The operator list a profile must give: the manifest's (`expected.order` when the model
/// differs from KWS, i.e. CALL_ONCE in front).
fn expected_ops(e: &Value) -> Vec<String> {
    match e["expected"].get("order") {
        Some(o) => strings(o),
        None => strings(&e["operators"]),
    }
}

#[test]
fn manifest_lists_eighteen_engine_fixtures_on_both_boards() {
    let m = manifest();
    assert_eq!(m.len(), 18);
    for board in ["lpc55s69", "mimxrt1011"] {
        assert_eq!(m.iter().filter(|e| e["board"] == board).count(), 9, "{board}");
    }
    assert_eq!(runs().len(), 18);
}

#[test]
fn every_engine_fixture_gives_the_model_operators_in_order() {
    for r in runs() {
        let want = expected_ops(&r.entry);
        let p = &r.report["profile"];
        assert_eq!(s(&p["source"]), if r.glow() { "aot" } else { "tflm" }, "{}", r.name());
        let got: Vec<&str> = r.ops().iter().map(|o| s(&o["op"])).collect();
        assert_eq!(got, want, "{}: operators", r.name());
        assert_eq!(r.ops().iter().map(|o| u(&o["index"])).collect::<Vec<_>>(), (0..want.len() as u64).collect::<Vec<_>>(), "{}", r.name());
        assert_eq!(u(&p["inferences"]), 1, "{}", r.name());
        if !r.glow() {
            // The firmware counts the operators of subgraph 0 itself.
            assert_eq!(r.printed("operators"), want.len() as u64, "{}", r.name());
        }
        // Start cycles increase with the model order.
        assert!(r.ops().windows(2).all(|w| u(&w[0]["start_cycle"]) <= u(&w[1]["start_cycle"])), "{}", r.name());
    }
}

#[test]
fn operators_and_overhead_add_up_to_the_dwt_timed_inference() {
    for r in runs() {
        let p = &r.report["profile"];
        let ops: u64 = r.ops().iter().map(|o| u(&o["cycles"])).sum();
        let instrumentation = p.get("instrumentation_cycles").and_then(Value::as_u64).unwrap_or(0);
        let inference = u(&p["inference_cycles"]);
        assert_eq!(ops, u(&p["operator_cycles"]), "{}", r.name());
        assert_eq!(ops + u(&p["overhead_cycles"]) + instrumentation, inference, "{}", r.name());
        assert_eq!(instrumentation > 0, r.entry.get("instrument").is_some(), "{}: instrumentation cycles only with -instrument-ir", r.name());
        // The firmware's DWT interval holds the inference (call to return) plus the rest of
        // sb_measure_begin after its CYCCNT read (the ITM write, its return), the call, and
        // sb_measure_end up to its read: 32–67 cycles on the LPC55S69. On the RT1011 the
        // code runs in place from flash through the I-cache, and the first run of that
        // measurement code misses: about 420 cycles per 32-byte line fill, one to three
        // lines here. Tolerances: 100 and 1,500 cycles.
        let dwt = r.printed("invoke_cycles");
        let tolerance = if r.board() == "lpc55s69" { 100 } else { 1_500 };
        assert!(inference <= dwt && dwt - inference <= tolerance, "{}: inference {inference} vs DWT {dwt}", r.name());
        // The same interval on simbench's clock: ITM markers 1/2 written right after each
        // CYCCNT read (runtime/simbench.h) bracket every operator.
        let mark = |port: u64| r.report["markers"].as_array().unwrap().iter().find(|m| u(&m["port"]) == port && u(&m["value"]) == 1).map(|m| u(&m["cycles"]));
        let (begin, end) = (mark(1).expect("begin marker"), mark(2).expect("end marker"));
        let first = u(&r.ops()[0]["start_cycle"]);
        let last = r.ops().iter().map(|o| u(&o["start_cycle"]) + u(&o["cycles"])).max().unwrap();
        assert!(begin <= first && last <= end, "{}: operators {first}..{last} outside the measured {begin}..{end}", r.name());
        // Coverage: the operators are all but the interpreter's or entry's set-up.
        assert!(ops as f64 >= 0.999 * dwt as f64, "{}: operators {ops} of DWT {dwt}", r.name());
    }
}

#[test]
fn kernel_breakdowns_cover_each_operator_and_show_the_kernel_path() {
    for r in runs() {
        for o in r.ops() {
            let kernels = o["kernels"].as_array().unwrap();
            let sum: u64 = kernels.iter().map(|k| u(&k["cycles"])).sum();
            assert_eq!(sum, u(&o["cycles"]), "{} op {}: breakdown", r.name(), o["index"]);
            for k in kernels {
                let path = strings(&k["path"]);
                assert_eq!(path.last().map(String::as_str), Some(s(&k["function"])), "{}", r.name());
                if !r.glow() {
                    assert_eq!(path[0], s(&r.entry["operator_loop"]), "{}: paths start at the operator loop", r.name());
                }
            }
        }
        // CMSIS-NN builds: the functions each operator spent time in include its CMSIS-NN path.
        if let Some(paths) = r.entry.get("kernel_paths").and_then(Value::as_object) {
            let offset = usize::from(expected_ops(&r.entry)[0] == "CALL_ONCE");
            for (what, chain) in paths {
                let chain = strings(chain);
                let ops: Vec<usize> = match what.as_str() {
                    w if w.starts_with("CONV_2D (first") => vec![0],
                    w if w.starts_with("CONV_2D (pointwise") => vec![2, 4, 6, 8],
                    "DEPTHWISE_CONV_2D" => vec![1, 3, 5, 7],
                    "AVERAGE_POOL_2D" => vec![9],
                    "RESHAPE" => vec![10],
                    "FULLY_CONNECTED" => vec![11],
                    "SOFTMAX" => vec![12],
                    other => panic!("{}: kernel path {other}", r.name()),
                };
                for i in ops {
                    let o = &r.ops()[i + offset];
                    let fns: Vec<&str> = o["kernels"].as_array().unwrap().iter().map(|k| s(&k["function"])).collect();
                    if what == "RESHAPE" {
                        assert!(!fns.iter().any(|f| f.starts_with("arm_")), "{}: RESHAPE calls no CMSIS-NN", r.name());
                        continue;
                    }
                    for f in chain.iter().filter(|f| f.starts_with("arm_")) {
                        assert!(fns.contains(&f.as_str()), "{} op {i} ({what}): no {f} in {fns:?}", r.name());
                    }
                    // The hottest path runs through the CMSIS-NN path's last function (at -O0
                    // it goes on into helpers the compiler did not inline).
                    let top = strings(&o["kernels"][0]["path"]);
                    assert!(top.contains(chain.last().unwrap()), "{} op {i} ({what}): hottest path {top:?}", r.name());
                }
            }
        }
    }
}

#[test]
fn tflm_kernels_are_the_registrations_invoke_functions() {
    for r in runs().iter().filter(|r| !r.glow()) {
        let functions = r.entry["invoke_functions"].as_object().unwrap();
        for o in r.ops() {
            let op = s(&o["op"]);
            let want = match r.entry.get("subgraph_reentry") {
                Some(re) if op == "CALL_ONCE" => s(&re["invoke_function"]).to_string(),
                _ => s(&functions[op]).to_string(),
            };
            assert_eq!(s(&o["kernel"]), want, "{} op {}", r.name(), o["index"]);
        }
    }
}

#[test]
fn call_once_runs_its_subgraph_inside_operator_zero() {
    for r in runs().iter().filter(|r| r.entry.get("subgraph_reentry").is_some()) {
        let re = &r.entry["subgraph_reentry"];
        let k = u(&re["operator"]) as usize;
        let nested = strings(&re["nested_operators"]);
        let note = r.notes().into_iter().find(|n| n.contains("nested operator loop")).unwrap_or_else(|| panic!("{}: no note", r.name()));
        assert!(note.starts_with(&format!("operator {k} ({})", s(&re["op"]))), "{note}");
        assert!(note.contains(&format!("subgraph {} ({})", u(&re["runs_subgraph"]), nested.join(", "))), "{note}");
        // The nested RESHAPE's dispatch is in operator 0's breakdown (the loop re-entered).
        let paths: Vec<Vec<String>> = r.ops()[k]["kernels"].as_array().unwrap().iter().map(|x| strings(&x["path"])).collect();
        let lp = s(&r.entry["operator_loop"]);
        assert!(paths.iter().any(|p| p.iter().filter(|f| *f == lp).count() == 2), "{}: {paths:?}", r.name());
    }
}

#[test]
fn glow_calls_map_to_model_operators_with_aliases_and_inlined_kernels() {
    for r in runs().iter().filter(|r| r.glow()) {
        let e = &r.entry;
        let calls = strings(&e["entry_calls"]);
        let call_ops: Vec<usize> = e["call_operators"].as_array().unwrap().iter().map(|x| u(x) as usize).collect();
        let instrumented = e.get("instrument").is_some();
        // Each kernel call sits at the model operator the manifest gives for it.
        let kernel_calls: Vec<&String> = calls.iter().filter(|c| !c.starts_with("libjit_instrument")).collect();
        assert_eq!(kernel_calls.len(), call_ops.len(), "{}", r.name());
        for (c, &i) in kernel_calls.iter().zip(&call_ops) {
            assert_eq!(r.ops()[i]["kernel"].as_str(), Some(c.as_str()), "{} op {i}", r.name());
            assert!(u(&r.ops()[i]["cycles"]) > 0, "{} op {i}", r.name());
        }
        for &i in e["elided_operators"].as_array().unwrap().iter().map(u).collect::<Vec<_>>().iter() {
            let o = &r.ops()[i as usize];
            assert_eq!((o["kernel"].clone(), u(&o["cycles"])), (Value::Null, 0), "{}: elided operator {i} is a zero-cost alias", r.name());
        }
        for &i in e["inlined_operators"].as_array().unwrap().iter().map(u).collect::<Vec<_>>().iter() {
            let o = &r.ops()[i as usize];
            assert_eq!(o["kernel"], Value::Null, "{}", r.name());
            // Its cycles are kws's own code after the last call: the softmax loop.
            assert!(u(&o["cycles"]) > 500, "{}: inlined operator {i} has {} cycles", r.name(), o["cycles"]);
            assert!(o["kernels"].as_array().unwrap().iter().all(|k| strings(&k["path"]) == [s(&e["entry"])]), "{}", r.name());
            assert!(r.notes().iter().any(|n| n.contains(&format!("operator {i} ({}) has no kernel call: inlined into kws", s(&o["op"])))), "{:?}", r.notes());
        }
        if e.get("specialized").is_some() {
            assert!(r.notes().iter().any(|n| n.contains("_specialized counts specialisations, not operators")), "{:?}", r.notes());
        }
        assert!(r.notes().iter().any(|n| n.contains("zero-cost aliases")), "{:?}", r.notes());
        // Wrappers that tail-call a template worker: the worker and its helpers are in the
        // operator, below the wrapper.
        for (wrapper, worker) in e["tail_calls"].as_object().unwrap() {
            for (c, &i) in kernel_calls.iter().zip(&call_ops).filter(|(c, _)| c.as_str() == wrapper) {
                let ks = r.ops()[i]["kernels"].as_array().unwrap();
                let hot = ks.iter().find(|k| s(&k["function"]) == s(worker)).unwrap_or_else(|| panic!("{} op {i}: no {}", r.name(), s(worker)));
                assert_eq!(strings(&hot["path"]), [s(&e["entry"]), c.as_str(), s(worker)], "{}", r.name());
                let inside: u64 = ks.iter().filter(|k| strings(&k["path"]).get(1) == Some(c)).map(|k| u(&k["cycles"])).sum();
                // The rest is kws's own code up to the next call (argument set-up).
                assert!(inside as f64 > 0.95 * u(&r.ops()[i]["cycles"]) as f64, "{} op {i}: {inside} in the kernel", r.name());
            }
        }
        assert_eq!(instrumented, r.report["profile"].get("instrumentation_cycles").is_some(), "{}", r.name());
    }
}

#[test]
fn instrument_ir_ids_and_kinds_come_from_the_callbacks() {
    for r in runs().iter().filter(|r| r.entry.get("instrument").is_some()) {
        let ins = &r.entry["instrument"];
        let ids: Vec<u64> = ins["ids"].as_array().unwrap().iter().map(u).collect();
        let kinds: Vec<u64> = ins["kinds"].as_array().unwrap().iter().map(u).collect();
        let id_ops: Vec<u64> = ins["id_operators"].as_array().unwrap().iter().map(u).collect();
        // The callbacks time each instruction themselves (CYCCNT as the last action of
        // glow_instrument_before and the first of glow_instrument_after).
        let fw: BTreeMap<u64, u64> = r.report["firmware_output"]
            .as_str()
            .unwrap()
            .lines()
            .filter_map(|l| {
                let f = kv(&l.replace(' ', "\n"));
                Some((f.get("instr")?.parse().ok()?, f.get("cycles")?.parse().ok()?))
            })
            .collect();
        assert_eq!(fw.len(), ids.len(), "{}", r.name());
        for ((id, kind), op) in ids.iter().zip(&kinds).zip(&id_ops) {
            let o = &r.ops()[*op as usize];
            assert_eq!((u(&o["instrument"]["id"]), u(&o["instrument"]["kind"])), (*id, *kind), "{} op {op}", r.name());
            // An operator runs from the before callback's return to the after callback's
            // call; the firmware's count adds the callbacks' code around its reads: 75
            // cycles on the M33, 21 on the M7, where the first instruction also fetches the
            // after-path code from XIP flash (two I-cache line fills, ≈ 850 cycles).
            // Tolerance: 1,000 cycles.
            let (mine, theirs) = (u(&o["cycles"]), fw[id]);
            assert!(mine <= theirs && theirs - mine <= 1_000, "{} id {id}: {mine} vs the callbacks' {theirs}", r.name());
        }
        let instr = u(&r.report["profile"]["instrumentation_cycles"]);
        assert!(instr > 24 * 20, "{}: 24 callbacks in {instr} cycles", r.name());
        assert!(r.notes().iter().any(|n| n.contains("-instrument-ir")), "{:?}", r.notes());
    }
}

#[test]
fn auto_profile_decides_by_what_the_firmware_is() {
    // CMSIS-NN symbols do not make firmware an AOT bundle (all TFLM runs above are `tflm`);
    // a forced AOT profile of TFLM firmware says why it has no rows.
    let t = profile("engines/tflm2021_cmsis_kws_lpc55s69_O3.elf", "lpc55s69", false, &["--profile", "aot"]);
    assert!(t["operators"].as_array().unwrap().is_empty());
    assert!(s(&t["profile"]["notes"][0]).contains("not an AOT bundle"), "{}", t["profile"]);
    // Reference kernels: TFLM as well, with the 2021 loop reached by a tail call.
    assert!(runs().iter().filter(|r| s(&r.entry["name"]) == "tflm2021_ref").all(|r| r.report["profile"]["source"] == "tflm"));
    // Firmware with neither an operator loop nor bundle kernels: functions.
    let f = run_json(&fixture("micro/dot_m4.elf"), "m4", &["--quiet"]).json();
    assert_eq!(f["profile"]["source"], "functions");
    // A Glow bundle without its model: the calls in order, named by kernel, and a note.
    let g = profile("engines/glow_kws_mimxrt1011.elf", "mimxrt1011", false, &[]);
    let ops = g["operators"].as_array().unwrap();
    assert_eq!(g["profile"]["source"], "aot");
    assert_eq!(
        ops.iter().map(|o| s(&o["op"]).to_string()).collect::<Vec<_>>(),
        strings(&manifest().iter().find(|e| e["elf"] == "engines/glow_kws_mimxrt1011.elf").unwrap()["entry_calls"])
    );
    assert!(s(&g["profile"]["notes"][0]).contains("--model"), "{}", g["profile"]);
}

#[test]
fn a_model_the_bundle_does_not_run_gives_a_note_not_a_table() {
    // ad01 is ten FULLY_CONNECTED layers: the KWS bundle's convolutions fit none of them.
    let other = root().join("fixtures/models/ad01_int8.tflite").display().to_string();
    let r = profile("engines/glow_kws_lpc55s69.elf", "lpc55s69", false, &["--model", &other]);
    assert!(r["operators"].as_array().unwrap().is_empty());
    let note = s(&r["profile"]["notes"][0]);
    assert!(note.starts_with("the model has 10 operators, 12 kernel calls seen in kws's first inference"), "{note}");
    assert!(note.contains("not an AOT bundle of this model"), "{note}");
    // The inference is still measured.
    assert!(u(&r["profile"]["inference_cycles"]) > 0);
}

#[test]
fn template_workers_read_fully_in_the_text_report() {
    let path = fixture("engines/glow_kws_lpc55s69.elf").display().to_string();
    let model = kws_model();
    let run = simbench([path.as_str(), "--board", "lpc55s69", "--quiet", "--model", model.as_str()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let t = &run.stdout;
    assert!(!t.contains("void (…)"), "{t}");
    assert!(t.contains("libjit_channelwise_quantized_conv2d_generic<signed char, int>(…)"), "{t}");
    assert!(t.contains("libjit_fc_generic<signed char, int>(…)"), "{t}");
    // The kernel breakdown: the wrapper, then the worker it tail-calls.
    assert!(t.contains("kernels by operator"), "{t}");
    assert!(
        t.contains("libjit_channelwise_quantized_conv2d_i8_i32 → libjit_channelwise_quantized_conv2d_generic<signed char, int>(…)")
            || t.contains("libjit_channelwise_quantized_conv2d_i8_i32 →\n"),
        "{t}"
    );
    for l in t.lines() {
        assert!(l.chars().count() <= 120, "{} columns: {l}", l.chars().count());
    }
}

#[test]
fn compare_lines_tflm_up_with_glow_operator_by_operator() {
    let model = kws_model();
    for (tflm, board) in [("engines/tflm2021_cmsis_kws_lpc55s69_O3.elf", "lpc55s69"), ("engines/tflm2023_cmsis_kws_mimxrt1011_O3.elf", "mimxrt1011")] {
        let glow = format!("engines/glow_kws_{board}.elf");
        let (a, b) = (fixture(tflm).display().to_string(), fixture(&glow).display().to_string());
        // --model-b for the bundle only; the interpreter has its model in the image.
        let run = simbench(["compare", a.as_str(), b.as_str(), "--board", board, "--format", "json", "--model-b", model.as_str()]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        let c = run.json();
        assert_eq!(c["basis"], "operators");
        let pairs = c["operators"].as_array().unwrap();
        assert_eq!(pairs.len(), 13);
        for (p, op) in pairs.iter().zip(KWS_OPERATORS) {
            assert_eq!((s(&p["match"]), s(&p["op_a"]), s(&p["op_b"])), ("same", op, op), "{p}");
        }
        assert!(c["notes"].as_array().unwrap().iter().all(|n| !s(n).contains("do not match")), "{}", c["notes"]);
        // The text table flags nothing.
        let t = simbench(["compare", a.as_str(), b.as_str(), "--board", board, "--model", model.as_str()]);
        assert_eq!(t.code, 0, "{}", t.stderr);
        assert!(!t.stdout.contains("op differs") && t.stdout.contains("FULLY_CONNECTED"), "{}", t.stdout);
    }
    // Without the model the bundle's rows are its calls: flagged, not silently paired.
    let (a, b) = (fixture("engines/tflm2021_cmsis_kws_lpc55s69_O3.elf").display().to_string(), fixture("engines/glow_kws_lpc55s69.elf").display().to_string());
    let c = simbench(["compare", a.as_str(), b.as_str(), "--board", "lpc55s69", "--format", "json"]).json();
    assert!(c["operators"].as_array().unwrap().iter().any(|p| p["match"] != "same"));
    // --model at most twice.
    let m = model.as_str();
    let bad = simbench(["compare", a.as_str(), b.as_str(), "--board", "lpc55s69", "--model", m, "--model", m, "--model", m]);
    assert_eq!(bad.code, 2, "{}", bad.stderr);
}
