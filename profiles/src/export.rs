//! Machine-readable renderers: CSV, folded stacks, flame graph SVG, Chrome trace JSON.
//!
//! Every renderer is a pure function of the report: same report, byte-identical output
//! (no random colours, no wall-clock, stable ordering). The text table and the JSON report
//! live in `render.rs`; `render::render` dispatches here for the other formats.

use crate::profile::{OperatorRow, TraceSlice};
use crate::report::Report;
use serde_json::{json, Value};
use std::fmt::Write;

// ---------------------------------------------------------------- CSV

/// One CSV field, quoted when it has to be (RFC 4180: comma, quote, CR or LF inside, or
/// leading/trailing blanks that a reader could trim); quotes inside are doubled.
pub fn csv_field(s: &str) -> String {
    let needs = s.contains([',', '"', '\n', '\r']) || s.starts_with([' ', '\t']) || s.ends_with([' ', '\t']);
    if needs {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn csv_row(out: &mut String, fields: &[String]) {
    let row: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
    out.push_str(&row.join(","));
    out.push('\n');
}

/// Tensor shapes, compactly: dimensions joined by `x`, tensors by `;` (`1x49x10x1;64x10x4x1`).
/// A scalar (no dimensions) is `scalar`.
pub fn shapes(list: &[Vec<i32>]) -> String {
    list.iter().map(|d| shape(d)).collect::<Vec<_>>().join(";")
}

pub(crate) fn shape(dims: &[i32]) -> String {
    if dims.is_empty() {
        "scalar".into()
    } else {
        dims.iter().map(|d| d.to_string()).collect::<Vec<_>>().join("x")
    }
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

pub const CSV_OPERATOR_HEADER: &str = "index,op,kernel,cycles,share,macs,cycles_per_mac,latency_us,start_cycle,invocation,inputs,outputs";
pub const CSV_FUNCTION_HEADER: &str = "name,address,calls,inclusive_cycles,exclusive_cycles,instructions";

/// One row per operator; when the report has no operators, one row per function.
/// Floats are printed with Rust's shortest round-trip form; an unknown value is empty.
pub fn csv(r: &Report) -> String {
    let mut s = String::new();
    if !r.operators.is_empty() {
        s.push_str(CSV_OPERATOR_HEADER);
        s.push('\n');
        for o in &r.operators {
            csv_row(&mut s, &operator_fields(o));
        }
    } else {
        s.push_str(CSV_FUNCTION_HEADER);
        s.push('\n');
        for f in &r.functions {
            csv_row(
                &mut s,
                &[
                    f.name.clone(),
                    f.address.clone(),
                    f.calls.to_string(),
                    f.inclusive_cycles.to_string(),
                    f.exclusive_cycles.to_string(),
                    f.instructions.to_string(),
                ],
            );
        }
    }
    s
}

fn operator_fields(o: &OperatorRow) -> Vec<String> {
    vec![
        o.index.to_string(),
        o.op.clone(),
        o.kernel.clone().unwrap_or_default(),
        o.cycles.to_string(),
        o.share.to_string(),
        opt(o.macs),
        opt(o.cycles_per_mac),
        o.latency_us.to_string(),
        o.start_cycle.to_string(),
        o.invocation.to_string(),
        shapes(&o.inputs),
        shapes(&o.outputs),
    ]
}

// ---------------------------------------------------------------- folded stacks

/// A frame name safe for the folded format: `;` (the frame separator) becomes `:`, line
/// breaks and other control characters become spaces, an empty name is `[unknown]`.
pub fn folded_frame(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c == ';' {
                ':'
            } else if c.is_control() {
                ' '
            } else {
                c
            }
        })
        .collect();
    let t = s.trim();
    if t.is_empty() {
        "[unknown]".into()
    } else {
        t.to_string()
    }
}

/// `root;child;leaf <exclusive_cycles>`, one per call-tree node with cycles, in report order.
pub fn folded_lines(r: &Report) -> Vec<String> {
    r.stacks
        .iter()
        .filter(|s| s.exclusive_cycles > 0 && !s.stack.is_empty())
        .map(|s| {
            let frames: Vec<String> = s.stack.iter().map(|f| folded_frame(f)).collect();
            format!("{} {}", frames.join(";"), s.exclusive_cycles)
        })
        .collect()
}

/// Brendan Gregg's folded stacks (read by flamegraph.pl, speedscope and other flame-graph tools).
pub fn folded(r: &Report) -> String {
    let mut s = String::new();
    for line in folded_lines(r) {
        s.push_str(&line);
        s.push('\n');
    }
    s
}

// ---------------------------------------------------------------- flame graph

/// A flame graph of the call tree (`flamegraph.rs`): frame widths are inclusive modelled
/// cycles, colours from a hash of the name, byte-identical for the same report. Names are
/// cleaned as for the folded format. A report without a call tree (profiling off, or a
/// JSON report read back) still gives a valid SVG: one frame for the whole run, with a
/// subtitle saying so.
pub fn svg(r: &Report) -> String {
    use crate::flamegraph::{self, Options};
    use crate::profile::StackSample;
    let mut stacks: Vec<StackSample> = r
        .stacks
        .iter()
        .filter(|s| s.exclusive_cycles > 0 && !s.stack.is_empty())
        .map(|s| StackSample { stack: s.stack.iter().map(|f| folded_frame(f)).collect(), exclusive_cycles: s.exclusive_cycles })
        .collect();
    let mut opts = Options {
        title: format!("simbench: {} on {} ({} cycles)", r.firmware.file, r.board.name, r.cycles),
        subtitle: Some(format!(
            "Cortex-{} at {} MHz, {} timing; frame width = inclusive modelled cycles",
            r.board.core.to_uppercase(),
            r.board.clock_mhz,
            r.timing.mode
        )),
        root: "all".into(),
        count_name: "cycles".into(),
    };
    if stacks.is_empty() {
        // The root alone, named after the firmware: a sample with an empty stack.
        opts.subtitle = Some("no call-tree profile in this report: one frame for the whole run".into());
        opts.root = folded_frame(&r.firmware.file);
        stacks.push(StackSample { stack: vec![], exclusive_cycles: r.cycles.max(1) });
    }
    flamegraph::write(&opts, &stacks)
}

// ---------------------------------------------------------------- Chrome trace

/// Thread of a slice category in the trace: operators on 1, functions (and anything
/// else) on 2.
pub fn trace_tid(category: &str) -> u32 {
    if category == "operator" {
        1
    } else {
        2
    }
}

/// Chrome Trace Event JSON (Perfetto, chrome://tracing): one complete event per trace
/// slice on the modelled time axis (µs = cycles / clock MHz). When the report carries no
/// slices (e.g. a JSON report read back: `trace` is not serialised), operator rows are
/// used instead.
pub fn chrome_trace(r: &Report) -> String {
    let mhz = if r.board.clock_mhz > 0.0 { r.board.clock_mhz } else { 1.0 };
    let fallback: Vec<TraceSlice>;
    let slices: &[TraceSlice] = if r.trace.is_empty() {
        fallback = r
            .operators
            .iter()
            .map(|o| TraceSlice { name: o.op.clone(), category: "operator".into(), start_cycle: o.start_cycle, cycles: o.cycles, depth: 0 })
            .collect();
        &fallback
    } else {
        &r.trace
    };
    let mut order: Vec<&TraceSlice> = slices.iter().collect();
    // Per thread by start; an enclosing slice before the slices it contains.
    order.sort_by(|a, b| {
        trace_tid(&a.category).cmp(&trace_tid(&b.category)).then(a.start_cycle.cmp(&b.start_cycle)).then(a.depth.cmp(&b.depth)).then(b.cycles.cmp(&a.cycles))
    });
    let mut events: Vec<Value> = vec![
        json!({"name": "process_name", "ph": "M", "pid": 1, "tid": 0, "args": {"name": format!("{} on {}", r.firmware.file, r.board.name)}}),
        json!({"name": "thread_name", "ph": "M", "pid": 1, "tid": 1, "args": {"name": "operators"}}),
        json!({"name": "thread_name", "ph": "M", "pid": 1, "tid": 2, "args": {"name": "functions"}}),
        json!({"name": "thread_sort_index", "ph": "M", "pid": 1, "tid": 1, "args": {"sort_index": 1}}),
        json!({"name": "thread_sort_index", "ph": "M", "pid": 1, "tid": 2, "args": {"sort_index": 2}}),
    ];
    for s in order {
        events.push(json!({
            "name": s.name,
            "cat": s.category,
            "ph": "X",
            "ts": s.start_cycle as f64 / mhz,
            "dur": s.cycles as f64 / mhz,
            "pid": 1,
            "tid": trace_tid(&s.category),
            "args": {"start_cycle": s.start_cycle, "cycles": s.cycles, "depth": s.depth},
        }));
    }
    let doc = json!({
        "traceEvents": events,
        "displayTimeUnit": "ns",
        "otherData": {
            "firmware": r.firmware.file,
            "board": r.board.name,
            "clock_mhz": r.board.clock_mhz,
            "cycles": r.cycles,
            "time_axis": "modelled: microseconds = cycles / clock_mhz",
        },
    });
    // One event per line: diffable and still one JSON document.
    let mut s = String::from("{\"traceEvents\":[\n");
    let evs = doc["traceEvents"].as_array().expect("array");
    for (i, e) in evs.iter().enumerate() {
        s.push_str(&e.to_string());
        s.push_str(if i + 1 < evs.len() { ",\n" } else { "\n" });
    }
    let _ = write!(s, "],\n\"displayTimeUnit\":\"ns\",\n\"otherData\":{}\n}}\n", doc["otherData"]);
    s
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::profile::{BufferUse, CallEdge, FunctionStat, MemoryUse, OperatorSummary, SectionUse, StackSample};
    use crate::report::{self, BoardInfo, FirmwareInfo, HostInfo, Outcome, RegionStats, TimingInfo};
    use std::collections::BTreeMap;

    /// A report with every required field filled, as `sim/src/report.rs` builds it, and no
    /// profile data.
    pub(crate) fn bare_report() -> Report {
        Report {
            schema: report::SCHEMA.into(),
            simbench_version: "0.1.0".into(),
            firmware: FirmwareInfo {
                file: "kws.elf".into(),
                bytes: 1234,
                sha256: "00".repeat(32),
                entry: "0x00000101".into(),
                initial_sp: "0x20010000".into(),
            },
            board: BoardInfo { name: "mimxrt1011".into(), core: "m7".into(), clock_mhz: 500.0, mapped_for_image: Vec::new() },
            timing: TimingInfo {
                model: "m7-block-v2".into(),
                mode: "detailed".into(),
                description: "test".into(),
                icache: None,
                dcache: None,
                branch_predictor: None,
                divides_timed: 0,
                fast_ignores: Vec::new(),
            },
            outcome: Outcome { kind: "exit".into(), exit_status: Some(0), message: None, pc: None, symbol: None },
            instructions: 8000,
            cycles: 10_000,
            cpi: 1.25,
            latency_us: 20.0,
            regions: vec![RegionStats {
                name: "itcm".into(),
                kind: "tcm".into(),
                base: "0x00000000".into(),
                size: 65536,
                instructions_fetched: 8000,
                fetch_wait_cycles: 0,
                data_reads: None,
                data_writes: None,
                data_wait_cycles: 0,
            }],
            instruction_mix: BTreeMap::from([("alu".to_string(), 5000), ("load".to_string(), 3000)]),
            markers: vec![],
            markers_dropped: 0,
            unmodelled_registers: vec![],
            exceptions: None,
            configuration: vec![],
            firmware_output: String::new(),
            firmware_output_truncated: false,
            semihosting_notes: Vec::new(),
            profile: None,
            operators: vec![],
            functions: vec![],
            call_edges: vec![],
            stacks: vec![],
            memory: None,
            error: None,
            range: None,
            trace: vec![],
            placements: Vec::new(),
            stalls: None,
            host: HostInfo {
                wall_seconds: 0.5,
                simulated_mips: 10.0,
                blocks_decoded: 42,
                block_entries_replayed: 0,
                data_accesses_logged: 0,
                data_accesses_folded: 0,
            },
        }
    }

    fn func(name: &str, addr: u32, calls: u64, incl: u64, excl: u64, insns: u64) -> FunctionStat {
        FunctionStat { name: name.into(), address: report::hex32(addr), calls, inclusive_cycles: incl, exclusive_cycles: excl, instructions: insns }
    }

    fn slice(name: &str, category: &str, start: u64, cycles: u64, depth: u32) -> TraceSlice {
        TraceSlice { name: name.into(), category: category.into(), start_cycle: start, cycles, depth }
    }

    /// A small TFLM-like inference: two operators, a call tree, memory, trace slices.
    pub(crate) fn sample_report() -> Report {
        let mut r = bare_report();
        r.profile = Some(OperatorSummary {
            source: "tflm".into(),
            inference_cycles: 9_000,
            operator_cycles: 8_000,
            overhead_cycles: 1_000,
            inferences: 1,
            instrumentation_cycles: None,
            notes: vec!["1 kernel inlined".into()],
        });
        r.operators = vec![
            OperatorRow {
                index: 0,
                op: "CONV_2D".into(),
                kernel: Some("tflite::Eval(TfLiteContext*, TfLiteNode*)".into()),
                cycles: 6_000,
                share: 6_000.0 / 9_000.0,
                macs: Some(2_000),
                cycles_per_mac: Some(3.0),
                latency_us: 12.0,
                start_cycle: 1_500,
                inputs: vec![vec![1, 49, 10, 1], vec![64, 10, 4, 1], vec![64]],
                outputs: vec![vec![1, 25, 5, 64]],
                invocation: 0,
                kernels: vec![],
                instrument: None,
            },
            OperatorRow {
                index: 1,
                op: "FULLY_CONNECTED".into(),
                kernel: None,
                cycles: 2_000,
                share: 2_000.0 / 9_000.0,
                macs: None,
                cycles_per_mac: None,
                latency_us: 4.0,
                start_cycle: 7_600,
                inputs: vec![vec![1, 64], vec![]],
                outputs: vec![vec![1, 12]],
                invocation: 0,
                kernels: vec![],
                instrument: None,
            },
        ];
        r.functions = vec![
            func("arm_convolve_s8", 0x1000, 1, 5_500, 5_500, 4_000),
            func("main", 0x200, 1, 10_000, 1_200, 1_000),
            func("fc, \"quoted\" kernel", 0x1800, 1, 2_000, 2_000, 1_500),
            func("Invoke", 0x400, 1, 8_800, 800, 700),
            func("tflite::Eval(TfLiteContext*, TfLiteNode*)", 0x800, 1, 6_000, 500, 400),
        ];
        r.call_edges = vec![CallEdge { caller: "main".into(), callee: "Invoke".into(), calls: 1, cycles: 8_800 }];
        r.stacks = vec![
            StackSample { stack: vec!["main".into()], exclusive_cycles: 1_200 },
            StackSample { stack: vec!["main".into(), "Invoke".into()], exclusive_cycles: 800 },
            StackSample { stack: vec!["main".into(), "Invoke".into(), "tflite::Eval(TfLiteContext*, TfLiteNode*)".into()], exclusive_cycles: 500 },
            StackSample {
                stack: vec!["main".into(), "Invoke".into(), "tflite::Eval(TfLiteContext*, TfLiteNode*)".into(), "arm_convolve_s8".into()],
                exclusive_cycles: 5_500,
            },
            StackSample { stack: vec!["main".into(), "Invoke".into(), "fc;odd\nname".into()], exclusive_cycles: 2_000 },
            StackSample { stack: vec!["main".into(), "idle".into()], exclusive_cycles: 0 },
        ];
        r.memory = Some(MemoryUse {
            sections: vec![
                SectionUse { name: ".text".into(), address: "0x00000000".into(), bytes: 40_000, region: "itcm".into(), kind: "flash".into() },
                SectionUse { name: ".bss".into(), address: "0x20000000".into(), bytes: 30_000, region: "dtcm".into(), kind: "ram".into() },
            ],
            flash_bytes: 40_000,
            ram_bytes: 30_000,
            stack_peak_bytes: Some(1_536),
            heap_used_bytes: None,
            arena: Some(BufferUse { name: "tensor_arena".into(), address: "0x20001000".into(), size: 20_000, used_bytes: 15_000 }),
        });
        r.trace = vec![
            slice("main", "function", 0, 10_000, 0),
            slice("Invoke", "function", 1_000, 8_800, 1),
            slice("CONV_2D", "operator", 1_500, 6_000, 0),
            slice("FULLY_CONNECTED", "operator", 7_600, 2_000, 0),
            slice("arm_convolve_s8", "function", 1_700, 5_500, 2),
        ];
        r
    }

    /// Minimal RFC 4180 reader, to check the writer's quoting independently.
    fn parse_csv(text: &str) -> Vec<Vec<String>> {
        let mut rows = Vec::new();
        let mut row = Vec::new();
        let mut field = String::new();
        let mut quoted = false;
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            if quoted {
                match c {
                    '"' if chars.peek() == Some(&'"') => {
                        chars.next();
                        field.push('"');
                    }
                    '"' => quoted = false,
                    c => field.push(c),
                }
            } else {
                match c {
                    '"' => quoted = true,
                    ',' => row.push(std::mem::take(&mut field)),
                    '\n' => {
                        row.push(std::mem::take(&mut field));
                        rows.push(std::mem::take(&mut row));
                    }
                    c => field.push(c),
                }
            }
        }
        assert!(!quoted, "unterminated quoted field");
        assert!(field.is_empty() && row.is_empty(), "last row must end with a newline");
        rows
    }

    #[test]
    fn csv_operator_header_and_rows() {
        let r = sample_report();
        let text = csv(&r);
        let rows = parse_csv(&text);
        assert_eq!(text.lines().next().unwrap(), CSV_OPERATOR_HEADER);
        assert_eq!(rows.len(), 1 + r.operators.len());
        assert!(rows.iter().all(|row| row.len() == 12), "{rows:?}");
        // The kernel name has a comma: quoted, and read back whole.
        assert!(text.contains("\"tflite::Eval(TfLiteContext*, TfLiteNode*)\""), "{text}");
        assert_eq!(rows[1][2], "tflite::Eval(TfLiteContext*, TfLiteNode*)");
        assert_eq!(rows[1][..4], ["0", "CONV_2D", "tflite::Eval(TfLiteContext*, TfLiteNode*)", "6000"]);
        assert_eq!(rows[1][5..], ["2000", "3", "12", "1500", "0", "1x49x10x1;64x10x4x1;64", "1x25x5x64"]);
        assert_eq!(rows[1][4].parse::<f64>().unwrap(), 6_000.0 / 9_000.0);
        // Unknown values are empty fields; a scalar shape is spelled out.
        assert_eq!(rows[2][5], "");
        assert_eq!(rows[2][6], "");
        assert_eq!(rows[2][10], "1x64;scalar");
    }

    #[test]
    fn csv_functions_when_no_operators() {
        let mut r = sample_report();
        r.operators.clear();
        let text = csv(&r);
        assert_eq!(text.lines().next().unwrap(), CSV_FUNCTION_HEADER);
        let rows = parse_csv(&text);
        assert_eq!(rows.len(), 1 + r.functions.len());
        assert!(rows.iter().all(|row| row.len() == 6));
        // Name with a comma and quotes: quoted, quotes doubled, read back unchanged.
        assert!(text.contains("\"fc, \"\"quoted\"\" kernel\",0x00001800,1,2000,2000,1500\n"), "{text}");
        assert_eq!(rows[3], ["fc, \"quoted\" kernel", "0x00001800", "1", "2000", "2000", "1500"]);
        assert_eq!(rows[1], ["arm_convolve_s8", "0x00001000", "1", "5500", "5500", "4000"]);
    }

    #[test]
    fn csv_field_quoting() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("two\nlines"), "\"two\nlines\"");
        assert_eq!(csv_field(" padded"), "\" padded\"");
        assert_eq!(csv_field(""), "");
    }

    #[test]
    fn folded_lines_sum_to_stack_cycles() {
        let r = sample_report();
        let text = folded(&r);
        let total: u64 = r.stacks.iter().map(|s| s.exclusive_cycles).sum();
        let mut sum = 0;
        for line in text.lines() {
            let (stack, n) = line.rsplit_once(' ').expect("stack and count");
            sum += n.parse::<u64>().expect("count");
            assert!(!stack.is_empty());
        }
        assert_eq!(sum, total);
        // One line per node with cycles (the zero-cycle node is left out).
        assert_eq!(text.lines().count(), r.stacks.iter().filter(|s| s.exclusive_cycles > 0).count());
        assert!(text.starts_with("main 1200\nmain;Invoke 800\n"), "{text}");
        assert!(text.contains("main;Invoke;tflite::Eval(TfLiteContext*, TfLiteNode*);arm_convolve_s8 5500\n"), "{text}");
        // `;` and newline inside a name cannot split frames or lines.
        assert!(text.contains("main;Invoke;fc:odd name 2000\n"), "{text}");
        assert!(!text.contains("idle"));
    }

    #[test]
    fn folded_frame_sanitises() {
        assert_eq!(folded_frame("a;b\nc\r\td"), "a:b c  d");
        assert_eq!(folded_frame(" \n"), "[unknown]");
    }

    fn check_xml(text: &str) -> Vec<String> {
        use quick_xml::events::Event;
        let mut reader = quick_xml::Reader::from_str(text);
        let mut depth = 0i32;
        let mut texts = Vec::new();
        let mut roots = 0;
        loop {
            match reader.read_event().unwrap_or_else(|e| panic!("malformed XML at {}: {e}", reader.buffer_position())) {
                Event::Start(e) => {
                    if depth == 0 {
                        roots += 1;
                        assert_eq!(e.name().as_ref(), b"svg");
                    }
                    depth += 1;
                }
                Event::End(_) => depth -= 1,
                Event::Text(t) => texts.push(String::from_utf8_lossy(t.as_ref()).into_owned()),
                Event::Eof => break,
                _ => {}
            }
            assert!(depth >= 0);
        }
        assert_eq!(depth, 0, "unclosed elements");
        assert_eq!(roots, 1);
        texts
    }

    #[test]
    #[should_panic(expected = "malformed XML")]
    fn xml_check_rejects_mismatched_tags() {
        check_xml("<svg><g></svg>");
    }

    #[test]
    fn svg_is_well_formed_and_names_functions() {
        let r = sample_report();
        let text = svg(&r);
        check_xml(&text);
        for name in ["main", "Invoke", "arm_convolve_s8", "fc:odd name"] {
            assert!(text.contains(&format!("<title>{name} (")), "frame {name} missing");
        }
        assert!(text.contains("simbench: kws.elf on mimxrt1011 (10000 cycles)"));
        assert!(text.contains(" cycles, "), "count name is cycles");
        // Deterministic: same report, same bytes.
        assert_eq!(text, svg(&r));
    }

    #[test]
    fn svg_without_stacks_is_one_frame() {
        let r = bare_report();
        let text = svg(&r);
        check_xml(&text);
        assert!(text.contains("<title>kws.elf (10,000 cycles, 100.00%)</title>"), "{text}");
        assert_eq!(text.matches("<g>").count(), 1, "{text}");
        assert!(text.contains("no call-tree profile"));
    }

    /// Width of the `<rect>` of the frame titled `name (…`.
    fn frame_width(text: &str, name: &str) -> f64 {
        let at = text.find(&format!("<title>{name} (")).unwrap_or_else(|| panic!("no frame {name}"));
        let rest = &text[at..];
        let w = &rest[rest.find(" width=\"").expect("rect width") + 8..];
        w[..w.find('"').unwrap()].parse().expect("width is a number")
    }

    #[test]
    fn svg_widths_proportional_to_inclusive_cycles() {
        let mut r = bare_report();
        r.stacks = vec![
            StackSample { stack: vec!["main".into()], exclusive_cycles: 400 },
            StackSample { stack: vec!["main".into(), "half".into()], exclusive_cycles: 250 },
            StackSample { stack: vec!["main".into(), "half".into(), "quarter".into()], exclusive_cycles: 250 },
            StackSample { stack: vec!["main".into(), "other".into()], exclusive_cycles: 100 },
        ];
        let text = svg(&r);
        check_xml(&text);
        let all = frame_width(&text, "all");
        let main = frame_width(&text, "main");
        let half = frame_width(&text, "half");
        let quarter = frame_width(&text, "quarter");
        let other = frame_width(&text, "other");
        assert!((all - 1180.0).abs() < 0.5, "root spans the image less margins: {all}");
        assert!((main - all).abs() < 0.5, "{main} vs {all}");
        assert!((half - main / 2.0).abs() < 0.5, "{half} vs {main}");
        assert!((quarter - main / 4.0).abs() < 0.5, "{quarter} vs {main}");
        assert!((other - main / 10.0).abs() < 0.5, "{other} vs {main}");
        assert!(text.contains("<title>half (500 cycles, 50.00%)</title>"), "{text}");
        // Root at the bottom: its row is lower (larger y) than main's.
        let y = |name: &str| {
            let rest = &text[text.find(&format!("<title>{name} (")).unwrap()..];
            let v = &rest[rest.find(" y=\"").unwrap() + 4..];
            v[..v.find('"').unwrap()].parse::<f64>().unwrap()
        };
        assert!(y("all") > y("main") && y("main") > y("half") && y("half") > y("quarter"));
        assert_eq!(y("half"), y("other"));
    }

    #[test]
    fn svg_escapes_names() {
        let mut r = bare_report();
        r.firmware.file = "a&b.elf".into();
        r.stacks = vec![
            StackSample { stack: vec!["main".into()], exclusive_cycles: 10 },
            StackSample { stack: vec!["main".into(), "operator<&>\"'()".into()], exclusive_cycles: 90 },
        ];
        let text = svg(&r);
        check_xml(&text);
        assert!(text.contains("<title>operator&lt;&amp;&gt;&quot;&apos;() (90 cycles, 90.00%)</title>"), "{text}");
        assert!(text.contains("simbench: a&amp;b.elf on mimxrt1011"), "{text}");
        assert!(!text.contains("<&>"));
    }

    #[test]
    fn svg_is_deterministic_and_orders_children_by_name() {
        let mut r = sample_report();
        let text = svg(&r);
        assert_eq!(text, svg(&r));
        // Report order does not matter: the tree is the same, so is the file.
        r.stacks.reverse();
        assert_eq!(text, svg(&r));
        // Children left to right by name: `fc:odd name` before `tflite::Eval…` under Invoke.
        let fc = text.find("<title>fc:odd name (").unwrap();
        let eval = text.find("<title>tflite::Eval(").unwrap();
        assert!(fc < eval);
    }

    #[test]
    fn trace_events_on_modelled_time_axis() {
        let r = sample_report();
        let text = chrome_trace(&r);
        let doc: Value = serde_json::from_str(&text).expect("trace is JSON");
        assert_eq!(doc["displayTimeUnit"], "ns");
        let events = doc["traceEvents"].as_array().unwrap();
        let xs: Vec<&Value> = events.iter().filter(|e| e["ph"] == "X").collect();
        assert_eq!(xs.len(), r.trace.len());
        for s in &r.trace {
            let e = xs.iter().find(|e| e["name"] == s.name.as_str()).unwrap_or_else(|| panic!("no event for {}", s.name));
            assert_eq!(e["ts"].as_f64().unwrap(), s.start_cycle as f64 / 500.0, "{}", s.name);
            assert_eq!(e["dur"].as_f64().unwrap(), s.cycles as f64 / 500.0, "{}", s.name);
            assert_eq!(e["cat"], s.category.as_str());
            assert_eq!(e["pid"], 1);
            assert_eq!(e["tid"], if s.category == "operator" { 1 } else { 2 }, "{}", s.name);
            assert_eq!(e["args"]["cycles"], s.cycles);
        }
        let meta = |name: &str, tid: u64| events.iter().find(|e| e["ph"] == "M" && e["name"] == name && e["tid"] == tid).map(|e| e["args"]["name"].clone());
        assert_eq!(meta("process_name", 0).unwrap(), "kws.elf on mimxrt1011");
        assert_eq!(meta("thread_name", 1).unwrap(), "operators");
        assert_eq!(meta("thread_name", 2).unwrap(), "functions");
        // Parents before children on a thread (same order as their start), deterministic.
        let fns: Vec<&str> = xs.iter().filter(|e| e["tid"] == 2).map(|e| e["name"].as_str().unwrap()).collect();
        assert_eq!(fns, ["main", "Invoke", "arm_convolve_s8"]);
        assert_eq!(text, chrome_trace(&r));
    }

    #[test]
    fn trace_falls_back_to_operator_rows() {
        let mut r = sample_report();
        r.trace.clear();
        let doc: Value = serde_json::from_str(&chrome_trace(&r)).unwrap();
        let xs: Vec<&Value> = doc["traceEvents"].as_array().unwrap().iter().filter(|e| e["ph"] == "X").collect();
        assert_eq!(xs.len(), 2);
        assert_eq!(xs[1]["name"], "FULLY_CONNECTED");
        assert_eq!(xs[1]["ts"].as_f64().unwrap(), 7_600.0 / 500.0);
        assert_eq!(xs[1]["tid"], 1);
    }
}
