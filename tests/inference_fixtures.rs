//! Real TinyML inference fixtures (fixtures/inference/, listed in fixtures/manifest.json):
//! TFLM interpreter and AOT bundles of the MLPerf Tiny models on the LPC55S69 and i.MX RT1011
//! presets. Expected outputs in the manifest come from a host (x86-64) build of the same TFLM
//! tree (fixtures/families/tflm.sh, host_ref.cc), never from simbench.

mod common;
use common::*;

use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::sync::OnceLock;

#[derive(Debug, Clone)]
struct Entry {
    elf: String,
    engine: String,
    model: String,
    board: String,
    opt: String,
    weights: String,
    input: String,
    /// Harness built with -DSB_OP_MARKERS=1 (sb_op_begin/sb_op_end around every operator).
    op_markers: bool,
    expected_top: u64,
    expected_output_sha256: String,
    elf_sha256: String,
}

fn manifest() -> Vec<Entry> {
    let text = std::fs::read_to_string(root().join("fixtures/manifest.json")).expect("fixtures/manifest.json exists");
    let v: serde_json::Value = serde_json::from_str(&text).expect("manifest is JSON");
    let s = |e: &serde_json::Value, k: &str| e[k].as_str().unwrap_or_else(|| panic!("manifest entry without '{k}': {e}")).to_string();
    v["fixtures"]
        .as_array()
        .expect("fixtures array")
        .iter()
        .map(|e| Entry {
            elf: s(e, "elf"),
            engine: s(e, "engine"),
            model: s(e, "model"),
            board: s(e, "board"),
            opt: s(e, "opt"),
            weights: s(e, "weights"),
            input: s(e, "input"),
            op_markers: e["op_markers"].as_bool().unwrap_or_else(|| panic!("manifest entry without boolean 'op_markers': {e}")),
            expected_top: e["expected_top"].as_u64().expect("expected_top"),
            expected_output_sha256: s(e, "expected_output_sha256"),
            elf_sha256: s(e, "elf_sha256"),
        })
        .collect()
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    assert!(s.len().is_multiple_of(2) && s.bytes().all(|c| c.is_ascii_hexdigit()), "not hex: {s:?}");
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

/// What one fixture run gave.
#[derive(Debug)]
struct Outcome {
    entry: Entry,
    code: i32,
    stderr: String,
    report: Option<serde_json::Value>,
    fields: BTreeMap<String, String>,
}

impl Outcome {
    fn field(&self, k: &str) -> &str {
        self.fields.get(k).unwrap_or_else(|| panic!("{}: no '{k}=' line; firmware output:\n{:?}\nstderr: {}", self.entry.elf, self.fields, self.stderr))
    }
    fn output_bytes(&self) -> Vec<u8> {
        unhex(self.field("output_hex"))
    }
}

/// Every fixture runs once under its board preset (results shared by the tests below);
/// independent runs go to a few threads.
fn outcomes() -> &'static Vec<Outcome> {
    static RUNS: OnceLock<Vec<Outcome>> = OnceLock::new();
    RUNS.get_or_init(|| {
        let entries = manifest();
        let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2).clamp(2, 4);
        let next = std::sync::atomic::AtomicUsize::new(0);
        let results = std::sync::Mutex::new(Vec::new());
        std::thread::scope(|s| {
            for _ in 0..threads {
                s.spawn(|| loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let Some(e) = entries.get(i) else { break };
                    let elf = root().join(&e.elf);
                    // The -O0 KWS runs take about 1.6 G modelled cycles on the LPC55S69:
                    // generous limits, so only a runaway stops early.
                    let args = [&elf.display().to_string(), "--board", &e.board, "--format", "json", "--max-cycles", "20000000000", "--timeout", "900"]
                        .map(String::from);
                    let run = simbench(args);
                    let report: Option<serde_json::Value> = serde_json::from_str(&run.stdout).ok();
                    let fields = report.as_ref().and_then(|r| r["firmware_output"].as_str()).map(kv).unwrap_or_default();
                    results.lock().unwrap().push((i, Outcome { entry: e.clone(), code: run.code, stderr: run.stderr, report, fields }));
                });
            }
        });
        let mut v = results.into_inner().unwrap();
        v.sort_by_key(|(i, _)| *i);
        v.into_iter().map(|(_, o)| o).collect()
    })
}

#[test]
fn manifest_lists_the_configurations_and_matches_the_committed_elfs() {
    let entries = manifest();
    for e in &entries {
        let bytes = std::fs::read(root().join(&e.elf)).unwrap_or_else(|err| panic!("{}: {err}", e.elf));
        assert_eq!(sha256_hex(&bytes), e.elf_sha256, "{}: file differs from the manifest", e.elf);
        assert!(bytes.starts_with(b"\x7fELF"), "{}", e.elf);
        assert_eq!(e.expected_output_sha256.len(), 64, "{}", e.elf);
        assert!(e.input == "zeros" || e.input == "kws_mlcommons_sample0.bin", "{}: input {}", e.elf, e.input);
    }
    // The published comparison: per board, TFLM -O0 / -O3 / -O3 model in RAM, AOT weights in
    // flash / RAM, all on the KWS sample whose reference class is 5 ("on").
    for board in ["lpc55s69", "mimxrt1011"] {
        for (engine, opt, weights) in [("tflm", "O0", "flash"), ("tflm", "O3", "flash"), ("tflm", "O3", "ram"), ("aot", "O3", "flash"), ("aot", "O3", "ram")] {
            let e = entries
                .iter()
                .find(|e| e.model == "kws" && e.board == board && e.engine == engine && e.opt == opt && e.weights == weights && !e.op_markers)
                .unwrap_or_else(|| panic!("no KWS fixture {engine} {opt} weights={weights} on {board}"));
            assert_eq!(e.input, "kws_mlcommons_sample0.bin");
            assert_eq!(e.expected_top, 5, "{}", e.elf);
        }
    }
    // The operator-marker builds: TFLM KWS -O3 (model in flash) on both boards, and only those.
    for board in ["lpc55s69", "mimxrt1011"] {
        let m: Vec<_> = entries.iter().filter(|e| e.op_markers && e.board == board).collect();
        assert_eq!(m.len(), 1, "{board}: marker fixtures {m:?}");
        let e = m[0];
        assert_eq!(
            (e.engine.as_str(), e.model.as_str(), e.opt.as_str(), e.weights.as_str(), e.input.as_str()),
            ("tflm", "kws", "O3", "flash", "kws_mlcommons_sample0.bin"),
            "{}",
            e.elf
        );
        assert_eq!(e.elf, format!("fixtures/inference/tflm_kws_{board}_O3_markers.elf"));
        assert_eq!(e.expected_top, 5, "{}", e.elf);
    }
    // Every model at least as AOT on both boards and TFLM -O3 where it fits.
    for model in ["kws", "vww", "ic", "ad"] {
        for board in ["lpc55s69", "mimxrt1011"] {
            assert!(entries.iter().any(|e| e.model == model && e.board == board && e.engine == "aot"), "no AOT {model} on {board}");
        }
        assert!(entries.iter().any(|e| e.model == model && e.engine == "tflm" && e.opt == "O3"), "no TFLM -O3 {model}");
    }
}

#[test]
fn every_fixture_runs_on_its_board_and_reproduces_the_host_reference() {
    let mut failures = Vec::new();
    for o in outcomes() {
        let e = &o.entry;
        let ok = o.code == 0
            && o.report.as_ref().is_some_and(|r| r["outcome"]["kind"] == "exit" && r["outcome"]["exit_status"] == 0)
            && !o.fields.contains_key("error");
        if !ok {
            failures.push(format!(
                "{}: exit code {}, outcome {}, firmware error {:?}\n  stderr: {}",
                e.elf,
                o.code,
                o.report.as_ref().map(|r| r["outcome"].to_string()).unwrap_or_default(),
                o.fields.get("error"),
                o.stderr.lines().last().unwrap_or("")
            ));
            continue;
        }
        assert_eq!(o.field("engine"), e.engine, "{}", e.elf);
        assert_eq!(o.field("model"), e.model, "{}", e.elf);
        assert_eq!(o.field("board"), e.board, "{}", e.elf);
        let out = o.output_bytes();
        // the decimal line and the hex line describe the same int8 vector
        let decimal: Vec<i8> = o.field("output").split_whitespace().map(|t| t.parse().unwrap()).collect();
        assert_eq!(decimal, out.iter().map(|&b| b as i8).collect::<Vec<_>>(), "{}", e.elf);
        // the hash computed here, the firmware's own SHA-256 and the host reference agree
        let hash = sha256_hex(&out);
        if hash != e.expected_output_sha256 {
            failures.push(format!("{}: output {:?} (sha256 {hash}) is not the host reference {}", e.elf, decimal, e.expected_output_sha256));
            continue;
        }
        assert_eq!(o.field("output_sha256"), hash, "{}: firmware SHA-256", e.elf);
        assert_eq!(o.field("top").parse::<u64>().unwrap(), e.expected_top, "{}", e.elf);
        // arena figures are printed and plausible
        let arena: u64 = o.field("arena_bytes").parse().unwrap();
        let used: u64 = o.field("arena_used_bytes").parse().unwrap();
        assert!(used > 0 && used <= arena, "{}: arena {used}/{arena}", e.elf);
    }
    assert!(failures.is_empty(), "{} of {} fixtures failed:\n{}", failures.len(), outcomes().len(), failures.join("\n"));
}

#[test]
fn invoke_cycles_printed_by_the_firmware_equal_the_marker_interval() {
    // The firmware brackets Invoke()/the bundle entry with sb_measure_begin(1)/end(1):
    // identical `isb; ldr CYCCNT; str ITM` sequences, so the DWT difference it prints must
    // equal the difference of simbench's marker stamps (port 1 begin, port 2 end, value 1).
    let mut checked = 0;
    for o in outcomes() {
        let (Some(report), Some(printed)) = (o.report.as_ref(), o.fields.get("invoke_cycles")) else {
            continue;
        };
        let dwt: u64 = printed.parse().unwrap();
        let markers = report["markers"].as_array().expect("markers");
        let stamp = |port: u64| {
            let m: Vec<_> = markers.iter().filter(|m| m["port"] == port && m["value"] == 1).collect();
            assert_eq!(m.len(), 1, "{}: one marker on port {port}", o.entry.elf);
            m[0]["cycles"].as_u64().unwrap()
        };
        assert_eq!(dwt, stamp(2) - stamp(1), "{}", o.entry.elf);
        // one inference is real work: well over a cycle per output byte and per weight byte
        assert!(dwt > 1_000_000, "{}: {dwt} cycles", o.entry.elf);
        checked += 1;
    }
    assert!(checked > 0, "no fixture printed invoke_cycles");
}

#[test]
fn aot_bundles_compute_exactly_what_tflm_computes() {
    // Same model, same board, same input: the AOT bundle's int8 output equals the TFLM
    // interpreter's bit for bit (both follow TFLM 2020 reference-kernel arithmetic).
    let mut by_key: BTreeMap<(String, String, String), Vec<(&Outcome, Vec<u8>)>> = BTreeMap::new();
    for o in outcomes() {
        if o.fields.contains_key("output_hex") && o.code == 0 {
            let e = &o.entry;
            by_key.entry((e.model.clone(), e.board.clone(), e.input.clone())).or_default().push((o, o.output_bytes()));
        }
    }
    let mut pairs = 0;
    for ((model, board, _), runs) in &by_key {
        let tflm: Vec<_> = runs.iter().filter(|(o, _)| o.entry.engine == "tflm").collect();
        let aot: Vec<_> = runs.iter().filter(|(o, _)| o.entry.engine == "aot").collect();
        for (t, tout) in &tflm {
            for (a, aout) in &aot {
                assert_eq!(aout, tout, "{model} on {board}: {} vs {}", a.entry.elf, t.entry.elf);
                pairs += 1;
            }
        }
    }
    // at least KWS on both boards has both engines
    assert!(pairs >= 2, "only {pairs} TFLM/AOT pairs ran to completion");
}

#[test]
fn operator_markers_bracket_every_kws_operator_inside_invoke() {
    // runtime/simbench.h protocol: sb_op_begin(k, name) = the name's bytes on port 5 (8-bit
    // writes, no NUL), then k on port 3; sb_op_end(k) = k on port 4. Operator k's name is the
    // bytes written to port 5 since the previous port-3 write.
    let mut checked = 0;
    for o in outcomes().iter().filter(|o| o.entry.op_markers) {
        let elf = &o.entry.elf;
        assert_eq!(o.code, 0, "{elf}: {}", o.stderr);
        let report = o.report.as_ref().unwrap_or_else(|| panic!("{elf}: no JSON report"));
        assert_eq!(report["markers_dropped"], 0, "{elf}");
        let markers: Vec<(u64, u64, u64)> = report["markers"]
            .as_array()
            .expect("markers")
            .iter()
            .map(|m| (m["port"].as_u64().unwrap(), m["value"].as_u64().unwrap(), m["cycles"].as_u64().unwrap()))
            .collect();
        let at = |port: u64, value: u64| {
            let m: Vec<_> = markers.iter().filter(|m| m.0 == port && m.1 == value).collect();
            assert_eq!(m.len(), 1, "{elf}: one marker on port {port} with value {value}");
            m[0].2
        };
        let (invoke_begin, invoke_end) = (at(1, 1), at(2, 1));
        assert!(
            markers.iter().all(|m| matches!(m.0, 1..=5)),
            "{elf}: markers on unexpected ports: {:?}",
            markers.iter().filter(|m| !matches!(m.0, 1..=5)).collect::<Vec<_>>()
        );

        // Walk the markers in order: name bytes, begin k, end k, strictly nested, k = 0, 1, ...
        let mut ops: Vec<(u64, String, u64, u64)> = Vec::new(); // (index, name, begin, end)
        let mut name = Vec::new();
        let mut open: Option<(u64, String, u64)> = None;
        for &(port, value, cycles) in &markers {
            match port {
                5 => {
                    assert!(value <= 0xFF && value != 0, "{elf}: port-5 value {value:#x} is not a name byte");
                    name.push(value as u8);
                }
                3 => {
                    assert!(open.is_none(), "{elf}: begin {value} while operator {open:?} is open");
                    assert_eq!(value, ops.len() as u64, "{elf}: begin markers out of order");
                    let n = String::from_utf8(std::mem::take(&mut name)).expect("name is ASCII");
                    open = Some((value, n, cycles));
                }
                4 => {
                    let (k, n, begin) = open.take().unwrap_or_else(|| panic!("{elf}: end {value} without a begin"));
                    assert_eq!(value, k, "{elf}: end marker does not match the open begin");
                    assert!(cycles > begin, "{elf}: operator {k} ends at {cycles}, begins at {begin}");
                    ops.push((k, n, begin, cycles));
                }
                _ => {}
            }
        }
        assert!(open.is_none() && name.is_empty(), "{elf}: unterminated operator at the end");
        assert_eq!(ops.len(), 13, "{elf}: {} operators", ops.len());
        assert_eq!(markers.iter().filter(|m| m.0 == 3).count(), 13, "{elf}");
        assert_eq!(markers.iter().filter(|m| m.0 == 4).count(), 13, "{elf}");
        let names: Vec<&str> = ops.iter().map(|op| op.1.as_str()).collect();
        assert_eq!(names, KWS_OPERATORS, "{elf}");
        // All inside the Invoke interval, in time order.
        let mut last = invoke_begin;
        for (k, n, begin, end) in &ops {
            assert!(*begin > last && *end < invoke_end, "{elf}: operator {k} {n} [{begin}, {end}] outside Invoke [{invoke_begin}, {invoke_end}]");
            last = *end;
        }
        // The firmware counted the same number of wrapped calls.
        assert_eq!(o.field("op_markers"), "13", "{elf}");
        // The operators are nearly all of Invoke: what is left is the interpreter loop and the
        // markers themselves (well under 1 %).
        let inside: u64 = ops.iter().map(|op| op.3 - op.2).sum();
        let invoke = invoke_end - invoke_begin;
        assert!(inside < invoke && (invoke - inside) * 100 < invoke, "{elf}: operators {inside} of Invoke {invoke}");
        checked += 1;
    }
    assert_eq!(checked, 2, "expected one marker fixture per board");
}
