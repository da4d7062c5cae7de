//! Function and operator profiles and memory truth on the inference fixtures.
//!
//! Expected operator lists and shapes come from fixtures/models/README.md; the firmware's
//! own DWT count of Invoke(), its `arena_used_bytes` and `stack_used_bytes` lines are
//! the independent references the profile is checked against.

mod common;

use common::*;
use serde_json::Value;

fn report(elf: &str, board: &str, extra: &[&str]) -> Value {
    let path = fixture(&format!("inference/{elf}.elf"));
    let mut args = vec![path.to_str().unwrap(), "--board", board, "--format", "json", "--quiet"];
    args.extend_from_slice(extra);
    let run = simbench(args);
    assert_eq!(run.code, 0, "{elf}: {}", run.stderr);
    run.json()
}

fn printed(r: &Value, key: &str) -> u64 {
    let out = r["firmware_output"].as_str().unwrap();
    kv(out).get(key).unwrap_or_else(|| panic!("firmware printed no {key}")).parse().unwrap()
}

fn u(v: &Value) -> u64 {
    v.as_u64().unwrap()
}

#[test]
fn tflm_profile_names_every_kws_operator_and_accounts_for_invoke() {
    let r = report("tflm_kws_mimxrt1011_O3", "mimxrt1011", &[]);
    let p = &r["profile"];
    assert_eq!(p["source"], "tflm");
    let ops = r["operators"].as_array().unwrap();
    let names: Vec<&str> = ops.iter().map(|o| o["op"].as_str().unwrap()).collect();
    assert_eq!(names, KWS_OPERATORS);
    assert_eq!(ops.iter().map(|o| u(&o["index"])).collect::<Vec<_>>(), (0..13).collect::<Vec<_>>());
    // Operator cycles + interpreter overhead = Invoke's cycles, exactly.
    let sum: u64 = ops.iter().map(|o| u(&o["cycles"])).sum();
    assert_eq!(sum, u(&p["operator_cycles"]));
    assert_eq!(u(&p["operator_cycles"]) + u(&p["overhead_cycles"]), u(&p["inference_cycles"]));
    // Invoke() from call to return vs the firmware's DWT interval around the call: the
    // interval also holds the call itself and the two DWT reads, a few dozen cycles.
    let dwt = printed(&r, "invoke_cycles");
    let invoke = u(&p["inference_cycles"]);
    assert!(invoke < dwt && dwt - invoke < 1000, "Invoke {invoke} vs DWT {dwt}");
    // MACs from the shapes: layer 0 CONV_2D [1,25,5,64] × 10×4×1 = 320,000; layer 11
    // FULLY_CONNECTED 12 × 64 = 768.
    assert_eq!(u(&ops[0]["macs"]), 320_000);
    assert_eq!(u(&ops[11]["macs"]), 768);
    assert_eq!(ops[0]["outputs"][0], serde_json::json!([1, 25, 5, 64]));
    let share: f64 = ops.iter().map(|o| o["share"].as_f64().unwrap()).sum();
    assert!((share - sum as f64 / invoke as f64).abs() < 1e-9);
    // Kernels are the interpreter's Eval functions (demangled).
    assert_eq!(ops[1]["kernel"], "tflite::ops::micro::depthwise_conv::Eval(TfLiteContext*, TfLiteNode*)");
}

#[test]
fn aot_profile_matches_the_model_order_and_marks_aliased_reshapes() {
    let r = report("aot_kws_mimxrt1011_O3", "mimxrt1011", &[]);
    assert_eq!(r["profile"]["source"], "aot");
    let ops = r["operators"].as_array().unwrap();
    let names: Vec<&str> = ops.iter().map(|o| o["op"].as_str().unwrap()).collect();
    assert_eq!(names, KWS_OPERATORS);
    assert_eq!(ops[0]["kernel"], "libjit_conv2d_i8_0");
    // RESHAPE became a buffer alias: no kernel, no cycles, and a note says so.
    assert_eq!((ops[10]["kernel"].clone(), u(&ops[10]["cycles"])), (Value::Null, 0));
    assert!(r["profile"]["notes"][0].as_str().unwrap().contains("alias"));
    let p = &r["profile"];
    assert_eq!(u(&p["operator_cycles"]) + u(&p["overhead_cycles"]), u(&p["inference_cycles"]));
    let dwt = printed(&r, "invoke_cycles");
    assert!(u(&p["inference_cycles"]) < dwt && dwt - u(&p["inference_cycles"]) < 1000);
}

#[test]
fn function_profile_attributes_every_cycle_once() {
    let r = report("tflm_kws_mimxrt1011_O3", "mimxrt1011", &[]);
    let fs = r["functions"].as_array().unwrap();
    // Exclusive cycles of all functions add up to the whole run.
    let excl: u64 = fs.iter().map(|f| u(&f["exclusive_cycles"])).sum();
    assert_eq!(excl, u(&r["cycles"]));
    // So do the folded stacks.
    let folded: u64 = r["stacks"].as_array().unwrap().iter().map(|s| u(&s["exclusive_cycles"])).sum();
    assert_eq!(folded, u(&r["cycles"]));
    let get = |n: &str| fs.iter().find(|f| f["name"] == n).unwrap_or_else(|| panic!("no function {n}"));
    let invoke = get("tflite::MicroInterpreter::Invoke()");
    assert_eq!(u(&invoke["calls"]), 1);
    assert_eq!(u(&invoke["inclusive_cycles"]), u(&r["profile"]["inference_cycles"]));
    // main is called once from the reset handler and includes everything after it.
    let main = get("main");
    assert_eq!(u(&main["calls"]), 1);
    assert!(u(&main["inclusive_cycles"]) > u(&invoke["inclusive_cycles"]));
    // Sorted by exclusive cycles, descending.
    assert!(fs.windows(2).all(|w| u(&w[0]["exclusive_cycles"]) >= u(&w[1]["exclusive_cycles"])));
    // The edge Invoke → conv::Eval was taken 5 times (five CONV_2D layers).
    let edge = r["call_edges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["caller"] == "tflite::MicroInterpreter::Invoke()" && e["callee"] == "tflite::ops::micro::conv::Eval(TfLiteContext*, TfLiteNode*)")
        .expect("Invoke → conv::Eval edge");
    assert_eq!(u(&edge["calls"]), 5);
}

#[test]
fn memory_truth_agrees_with_what_the_firmware_measures() {
    for (elf, board) in [("tflm_kws_mimxrt1011_O3", "mimxrt1011"), ("tflm_ad_lpc55s69_O3", "lpc55s69")] {
        let r = report(elf, board, &[]);
        let m = &r["memory"];
        // The firmware paints its own stack and reports the deepest use: simbench's
        // lowest sampled SP gives the same depth.
        let stack = printed(&r, "stack_used_bytes");
        assert!(u(&m["stack_peak_bytes"]).abs_diff(stack) <= 16, "{elf}: stack {} vs firmware {stack}", m["stack_peak_bytes"]);
        // The arena: TFLM's arena_used_bytes() counts the tensors and persistent data it
        // keeps; the memory planner also writes scratch between them while allocating,
        // which is why the fixtures reserve 1 KiB above arena_used_bytes (fixtures/README.md).
        // Bytes actually written therefore lie between the two.
        let used = printed(&r, "arena_used_bytes");
        let arena = &m["arena"];
        assert_eq!(arena["name"], "tensor_arena");
        assert_eq!(u(&arena["size"]), printed(&r, "arena_bytes"));
        let written = u(&arena["used_bytes"]);
        assert!(written >= used && written <= used + 1024 + 16, "{elf}: written {written}, arena_used_bytes {used}");
        // Flash holds at least the model; RAM at least the arena.
        assert!(u(&m["flash_bytes"]) > 53_000 || elf.contains("ad"));
        assert!(u(&m["ram_bytes"]) >= u(&arena["size"]));
        let sections = m["sections"].as_array().unwrap();
        assert!(sections.iter().any(|s| s["name"] == ".text" && s["kind"] == "flash"));
        assert!(sections.iter().any(|s| s["name"] == ".bss" && s["kind"] == "ram"));
    }
    // An --arena override that names nothing is a usage error, not a panic.
    let path = fixture("inference/aot_kws_mimxrt1011_O3.elf");
    let bad = simbench([path.to_str().unwrap(), "--board", "mimxrt1011", "--arena", "no_such_buffer", "--quiet"]);
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    assert!(bad.stderr.contains("no_such_buffer"));
}

#[test]
fn profile_off_leaves_no_profile_and_profiles_are_deterministic() {
    let off = report("aot_kws_mimxrt1011_O3", "mimxrt1011", &["--profile", "off"]);
    assert_eq!(off["profile"], Value::Null);
    assert!(off["operators"].as_array().unwrap().is_empty() && off["functions"].as_array().unwrap().is_empty());
    let a = without_host(report("aot_kws_mimxrt1011_O3", "mimxrt1011", &[]));
    let b = without_host(report("aot_kws_mimxrt1011_O3", "mimxrt1011", &[]));
    assert_eq!(a, b);
    // Profiling does not change the cycles.
    assert_eq!(a["cycles"], off["cycles"]);
    // Asking for a profile the firmware cannot give explains why.
    let t = report("aot_kws_mimxrt1011_O3", "mimxrt1011", &["--profile", "tflm"]);
    assert!(t["operators"].as_array().unwrap().is_empty());
    assert!(t["profile"]["notes"][0].as_str().unwrap().contains("Invoke"));
}

#[test]
fn unmodified_tflm_profile_and_explicit_markers_agree_per_operator() {
    // The `_markers` fixtures wrap each kernel in sb_op_begin/sb_op_end (runtime/tflm,
    // -DSB_OP_MARKERS=1). Profiled as plain TFLM, an operator runs from its dispatch (the
    // wrapper call from Invoke) to the next dispatch; its kernel breakdown tells the
    // wrapper's call (paths through the dispatched function) from Invoke's own loop code
    // after it returned. Profiled by markers, it is the interval between the two ITM
    // writes. The wrapper call and the marker interval differ only by the wrapper's own
    // work: the call, writing the name's bytes to the ITM port, and on the RT1011 the first
    // I-cache fills of the wrapper's code from XIP (≈ 4 × 420 cycles). Tolerance: 2,000
    // cycles per operator (< 0.1 % of an inference). The loop's code between a kernel's
    // return and the next dispatch is a few dozen instructions: at most 2,000 cycles (the
    // first operator also fetches that code from XIP on the RT1011).
    for board in ["mimxrt1011", "lpc55s69"] {
        let elf = format!("tflm_kws_{board}_O3_markers");
        let t = report(&elf, board, &["--profile", "tflm"]);
        let m = report(&elf, board, &["--profile", "markers"]);
        assert_eq!((t["profile"]["source"].as_str(), m["profile"]["source"].as_str()), (Some("tflm"), Some("markers")));
        let (to, mo) = (t["operators"].as_array().unwrap(), m["operators"].as_array().unwrap());
        assert_eq!(to.len(), 13);
        assert_eq!(mo.len(), 13);
        for (a, b) in to.iter().zip(mo) {
            assert_eq!((&a["index"], &a["op"]), (&b["index"], &b["op"]));
            let (ca, cb) = (u(&a["cycles"]), u(&b["cycles"]));
            let kernels = a["kernels"].as_array().unwrap();
            let sum: u64 = kernels.iter().map(|k| u(&k["cycles"])).sum();
            assert_eq!(sum, ca, "{board} op {}: the breakdown covers the operator", a["index"]);
            let call: u64 = kernels.iter().filter(|k| k["path"].get(1) == Some(&a["kernel"])).map(|k| u(&k["cycles"])).sum();
            assert!(call >= cb && call - cb <= 2_000, "{board} op {}: tflm call {call} vs markers {cb}", a["index"]);
            assert!(ca - call <= 2_000, "{board} op {}: loop code after the kernel {}", a["index"], ca - call);
        }
    }
}

#[test]
fn aot_profile_takes_shapes_from_the_model_file_when_given() {
    let model = root().join("fixtures/models/kws_ref_model.tflite");
    let with = report("aot_kws_mimxrt1011_O3", "mimxrt1011", &["--model", model.to_str().unwrap()]);
    let tflm = report("tflm_kws_mimxrt1011_O3", "mimxrt1011", &[]);
    let (a, t) = (with["operators"].as_array().unwrap(), tflm["operators"].as_array().unwrap());
    // Same model, same MACs per operator, whichever engine ran it.
    for (x, y) in a.iter().zip(t) {
        assert_eq!((&x["op"], &x["macs"], &x["outputs"]), (&y["op"], &y["macs"], &y["outputs"]));
    }
    assert!(with["profile"]["notes"].as_array().unwrap().iter().all(|n| !n.as_str().unwrap().contains("wrong model")));
    // A different model is flagged.
    let other = root().join("fixtures/models/ad01_int8.tflite");
    let wrong = report("aot_kws_mimxrt1011_O3", "mimxrt1011", &["--model", other.to_str().unwrap()]);
    assert!(wrong["profile"]["notes"].as_array().unwrap().iter().any(|n| n.as_str().unwrap().contains("wrong model")));
}

#[test]
fn code_without_symbols_is_profiled_by_address_range() {
    // micro/dot_stripped_m4.elf is dot_m4.elf after `strip --strip-all` (fixtures/build).
    let run = |elf: &str| {
        let r = run_json(&fixture(elf), "m4", &["--quiet"]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        r.json()
    };
    let (plain, stripped) = (run("micro/dot_m4.elf"), run("micro/dot_stripped_m4.elf"));
    assert_eq!(plain["cycles"], stripped["cycles"]);
    let (pf, sf) = (plain["functions"].as_array().unwrap(), stripped["functions"].as_array().unwrap());
    assert_eq!(pf.len(), sf.len());
    for (a, b) in pf.iter().zip(sf) {
        // Same calls and cycles, function by function (both sorted by exclusive cycles).
        assert_eq!((&a["calls"], &a["exclusive_cycles"], &a["address"]), (&b["calls"], &b["exclusive_cycles"], &b["address"]));
        // `0xSTART-0xEND`, starting at the entry the symbol had.
        let name = b["name"].as_str().unwrap();
        let (start, end) = name.split_once('-').unwrap_or_else(|| panic!("{name} is not a range"));
        assert_eq!(start, a["address"].as_str().unwrap());
        assert!(end > start, "{name}");
    }
}
