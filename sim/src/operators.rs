//! Operator profiles: which operator of an inference cost what.
//!
//! Three sources, picked by `--profile` (`auto` tries them in this order):
//! - `tflm`: unmodified TensorFlow Lite Micro firmware. The model FlatBuffer is found in
//!   the image by its `TFL3` identifier and read with the TFLite reader; every indirect
//!   call that `tflite::MicroInterpreter::Invoke()` makes is one operator's kernel
//!   (`registration->invoke(context, node)`), in model order. Invoke's cycles minus the
//!   operators' is the interpreter overhead.
//! - `aot`: each call from a bundle's entry function into a kernel (`libjit_*`, `arm_*`)
//!   is one operator, named from the symbol `libjit_<op>_i8_<index>`. Indices without a
//!   call are RESHAPEs the generator turned into aliases (runtime/aot/README.md).
//! - `markers`: `sb_op_begin(index, name)` / `sb_op_end(index)` from runtime/simbench.h:
//!   the name's bytes on ITM port 5, the index on port 3 (begin) and port 4 (end).

use crate::image::Image;
use crate::machine::MarkerEvent;
use crate::profiler::{ParentSpan, RecordedCall};
use simbench_profiles::profile::{OperatorRow, OperatorSummary, TraceSlice};
use simbench_profiles::tflite::{self, Model, OpKind, Options};

/// `--profile`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProfileMode {
    Auto,
    Tflm,
    Aot,
    Markers,
    Functions,
    Off,
}

impl ProfileMode {
    pub fn parse(s: &str) -> Option<ProfileMode> {
        Some(match s {
            "auto" => ProfileMode::Auto,
            "tflm" => ProfileMode::Tflm,
            "aot" => ProfileMode::Aot,
            "markers" => ProfileMode::Markers,
            "functions" => ProfileMode::Functions,
            "off" => ProfileMode::Off,
            _ => return None,
        })
    }
}

pub const PORT_OP_BEGIN: u8 = 3;
pub const PORT_OP_END: u8 = 4;
pub const PORT_OP_NAME: u8 = 5;

/// The demangled name of TFLM's interpreter entry.
pub const TFLM_INVOKE: &str = "tflite::MicroInterpreter::Invoke()";

/// Whether a (raw) symbol name is a kernel an AOT bundle calls per operator.
pub fn is_kernel_symbol(name: &str) -> bool {
    name.starts_with("libjit_") || name.starts_with("arm_")
}

/// The first TFLite model embedded in the image's loaded bytes.
pub fn find_model(image: &Image) -> Option<Model> {
    for seg in &image.segments {
        let d = &seg.data;
        let mut i = 0;
        while i + 8 <= d.len() {
            if &d[i + 4..i + 8] == b"TFL3" {
                if let Ok(m) = tflite::parse(&d[i..]) {
                    return Some(m);
                }
            }
            i += 4;
        }
    }
    None
}

/// Multiply-accumulates of one operator from its shapes (pooling: additions, ADD: one
/// per element); None where the notion does not apply.
pub fn macs(model: &Model, op: &tflite::Operator) -> Option<u64> {
    let shape = |t: Option<usize>| t.and_then(|t| model.tensors.get(t)).map(|t| t.shape.clone());
    let out = shape(op.outputs.first().copied())?;
    let out_elems: u64 = out.iter().map(|&d| d.max(0) as u64).product();
    let filter = shape(op.inputs.get(1).copied().flatten());
    match (op.kind, &op.options) {
        (OpKind::Conv2d, _) => filter.filter(|f| f.len() == 4).map(|f| out_elems * (f[1] * f[2] * f[3]).max(0) as u64),
        (OpKind::DepthwiseConv2d, _) => filter.filter(|f| f.len() == 4).map(|f| out_elems * (f[1] * f[2]).max(0) as u64),
        (OpKind::FullyConnected, _) => filter.filter(|f| f.len() == 2).map(|f| out_elems * f[1].max(0) as u64),
        (OpKind::AveragePool2d, Options::Pool2d { filter_w, filter_h, .. }) => Some(out_elems * (filter_w * filter_h).max(0) as u64),
        (OpKind::Add, _) => Some(out_elems),
        _ => None,
    }
}

fn shapes(model: &Model, ids: impl Iterator<Item = usize>) -> Vec<Vec<i32>> {
    ids.filter_map(|t| model.tensors.get(t).map(|t| t.shape.clone())).collect()
}

/// The builtin name of an AOT kernel symbol `libjit_<op>_i8_<index>`, and the index.
pub fn parse_kernel_symbol(name: &str) -> Option<(&'static str, u32)> {
    let rest = name.strip_prefix("libjit_")?;
    let (op, idx) = rest.rsplit_once("_i8_")?;
    let index = idx.parse().ok()?;
    let builtin = match op {
        "conv2d" => "CONV_2D",
        "depthwise_conv2d" => "DEPTHWISE_CONV_2D",
        "fully_connected" => "FULLY_CONNECTED",
        "avg_pool" => "AVERAGE_POOL_2D",
        "add" => "ADD",
        "softmax" => "SOFTMAX",
        "reshape" => "RESHAPE",
        _ => return None,
    };
    Some((builtin, index))
}

/// What attribution needs from a finished run.
pub struct Inputs<'a> {
    pub image: &'a Image,
    pub model: Option<&'a Model>,
    pub clock_mhz: f64,
    pub markers: &'a [MarkerEvent],
    pub calls: &'a [RecordedCall],
    pub parents: &'a [ParentSpan],
}

/// One operator before the shares are known.
struct Raw {
    index: u32,
    op: String,
    kernel: Option<String>,
    cycles: u64,
    start: u64,
    invocation: u32,
}

pub struct Attribution {
    pub summary: OperatorSummary,
    pub rows: Vec<OperatorRow>,
    pub slices: Vec<TraceSlice>,
}

pub fn attribute(mode: ProfileMode, inp: &Inputs) -> Option<Attribution> {
    let has_tflm = inp.calls.iter().any(|c| c.caller_role.interpreter_invoke && c.indirect);
    let has_aot = inp.calls.iter().any(|c| c.callee_role.kernel && !c.caller_role.kernel);
    let has_markers = inp.markers.iter().any(|m| m.port == PORT_OP_BEGIN);
    let mode = match mode {
        ProfileMode::Off => return None,
        ProfileMode::Auto if has_tflm => ProfileMode::Tflm,
        ProfileMode::Auto if has_aot => ProfileMode::Aot,
        ProfileMode::Auto if has_markers => ProfileMode::Markers,
        ProfileMode::Auto => ProfileMode::Functions,
        m => m,
    };
    let mut notes = Vec::new();
    let (source, raws, inference, inferences) = match mode {
        ProfileMode::Tflm => tflm(inp, &mut notes),
        ProfileMode::Aot => aot(inp, &mut notes),
        ProfileMode::Markers => markers(inp, &mut notes),
        _ => ("functions", Vec::new(), 0, 0),
    };
    let operator_cycles: u64 = raws.iter().map(|r| r.cycles).sum();
    let total = inference.max(operator_cycles);
    let model_ops = inp.model.map(|m| m.operators.len());
    let rows: Vec<OperatorRow> = raws
        .iter()
        .map(|r| {
            // The model's operator at this index, with the model it belongs to.
            let op = inp.model.and_then(|m| m.operators.get(r.index as usize).map(|o| (m, o)));
            let mac = op.and_then(|(m, o)| macs(m, o));
            OperatorRow {
                index: r.index,
                op: r.op.clone(),
                kernel: r.kernel.clone(),
                cycles: r.cycles,
                share: if total > 0 { r.cycles as f64 / total as f64 } else { 0.0 },
                macs: mac,
                cycles_per_mac: mac.filter(|&m| m > 0).map(|m| r.cycles as f64 / m as f64),
                latency_us: r.cycles as f64 / inp.clock_mhz,
                start_cycle: r.start,
                inputs: op.map(|(m, o)| shapes(m, o.inputs.iter().flatten().copied())).unwrap_or_default(),
                outputs: op.map(|(m, o)| shapes(m, o.outputs.iter().copied())).unwrap_or_default(),
                invocation: r.invocation,
            }
        })
        .collect();
    if let (Some(n), true) = (model_ops, inferences > 0) {
        let per = rows.iter().filter(|r| r.invocation == 0).count();
        if source != "aot" && per != n {
            notes.push(format!("{per} operators attributed in the first inference, the model has {n}"));
        }
    }
    let slices = rows
        .iter()
        .map(|r| TraceSlice { name: format!("{} {}", r.index, r.op), category: "operator".into(), start_cycle: r.start_cycle, cycles: r.cycles, depth: 0 })
        .collect();
    Some(Attribution {
        summary: OperatorSummary {
            source: source.into(),
            inference_cycles: inference,
            operator_cycles,
            overhead_cycles: inference.saturating_sub(operator_cycles),
            inferences,
            notes,
        },
        rows,
        slices,
    })
}

/// Calls grouped by the caller invocation that made them, in order.
fn by_caller<'a>(calls: impl Iterator<Item = &'a RecordedCall>) -> Vec<Vec<&'a RecordedCall>> {
    let mut groups: Vec<Vec<&RecordedCall>> = Vec::new();
    for c in calls {
        match groups.last_mut() {
            Some(g) if g[0].caller_serial == c.caller_serial => g.push(c),
            _ => groups.push(vec![c]),
        }
    }
    groups
}

fn span_cycles(parents: &[ParentSpan], serial: u64) -> u64 {
    parents.iter().find(|p| p.serial == serial).map_or(0, |p| p.end.saturating_sub(p.start))
}

fn tflm(inp: &Inputs, notes: &mut Vec<String>) -> (&'static str, Vec<Raw>, u64, u32) {
    let groups = by_caller(inp.calls.iter().filter(|c| c.caller_role.interpreter_invoke && c.indirect));
    if groups.is_empty() {
        notes.push(format!("no indirect calls from {TFLM_INVOKE} were seen: not TFLM firmware, or Invoke never ran"));
    }
    if inp.model.is_none() {
        notes.push("no TFLite model (TFL3) found in the image: operators are unnamed".into());
    }
    let mut raws = Vec::new();
    let mut inference = 0;
    for (inv, g) in groups.iter().enumerate() {
        inference += span_cycles(inp.parents, g[0].caller_serial);
        for (k, c) in g.iter().enumerate() {
            let op = inp.model.and_then(|m| m.operators.get(k)).map_or_else(|| "UNKNOWN".to_string(), |o| o.kind.name().to_string());
            raws.push(Raw { index: k as u32, op, kernel: Some(c.callee.clone()), cycles: c.end - c.start, start: c.start, invocation: inv as u32 });
        }
    }
    ("tflm", raws, inference, groups.len() as u32)
}

fn aot(inp: &Inputs, notes: &mut Vec<String>) -> (&'static str, Vec<Raw>, u64, u32) {
    let groups = by_caller(inp.calls.iter().filter(|c| c.callee_role.kernel && !c.caller_role.kernel));
    if groups.is_empty() {
        notes.push("no calls into libjit_*/arm_* kernels were seen: not an AOT bundle, or its kernels were inlined into the entry function".into());
    }
    let mut raws = Vec::new();
    let mut inference = 0;
    let mut aliased = 0;
    let mut unnamed = 0;
    for (inv, g) in groups.iter().enumerate() {
        inference += span_cycles(inp.parents, g[0].caller_serial);
        let mut expected = 0u32;
        for (k, c) in g.iter().enumerate() {
            let (op, index) = match parse_kernel_symbol(&c.callee) {
                Some((op, i)) => (op.to_string(), i),
                None => {
                    unnamed += 1;
                    (c.callee.clone(), k as u32)
                }
            };
            // Indices skipped between kernel calls: RESHAPEs turned into aliases.
            while expected < index {
                let op = inp.model.and_then(|m| m.operators.get(expected as usize)).map_or("RESHAPE", |o| o.kind.name());
                raws.push(Raw { index: expected, op: op.to_string(), kernel: None, cycles: 0, start: c.start, invocation: inv as u32 });
                expected += 1;
                aliased += 1;
            }
            if let Some(m) = inp.model.and_then(|m| m.operators.get(index as usize)) {
                if m.kind.name() != op && inv == 0 {
                    notes.push(format!("--model says operator {index} is {}, the bundle's kernel is {op}: wrong model?", m.kind.name()));
                }
            }
            raws.push(Raw { index, op, kernel: Some(c.callee.clone()), cycles: c.end - c.start, start: c.start, invocation: inv as u32 });
            expected = index + 1;
        }
    }
    if aliased > 0 {
        notes.push(format!("{aliased} operator(s) without a kernel call: reshapes the AOT generator turned into buffer aliases (0 cycles)"));
    }
    if unnamed > 0 {
        notes.push(format!("{unnamed} kernel call(s) not named libjit_<op>_i8_<index>: listed under their symbol, in call order"));
    }
    ("aot", raws, inference, groups.len() as u32)
}

fn markers(inp: &Inputs, notes: &mut Vec<String>) -> (&'static str, Vec<Raw>, u64, u32) {
    let mut raws = Vec::new();
    let mut name = Vec::new();
    let mut open: Vec<(u32, String, u64)> = Vec::new();
    let mut invocation = 0u32;
    let mut last_index: Option<u32> = None;
    for m in inp.markers {
        match m.port {
            PORT_OP_NAME => {
                if m.value != 0 {
                    name.push(m.value as u8);
                }
            }
            PORT_OP_BEGIN => {
                if last_index.is_some_and(|l| m.value <= l) {
                    invocation += 1;
                }
                last_index = Some(m.value);
                open.push((m.value, String::from_utf8_lossy(&name).into_owned(), m.cycles));
                name.clear();
            }
            PORT_OP_END => {
                if let Some(pos) = open.iter().rposition(|(i, _, _)| *i == m.value) {
                    let (index, op, start) = open.remove(pos);
                    let op = if op.is_empty() { inp.model.and_then(|md| md.operators.get(index as usize)).map_or("UNKNOWN".into(), |o| o.kind.name().into()) } else { op };
                    raws.push(Raw { index, op, kernel: None, cycles: m.cycles - start, start, invocation });
                } else {
                    notes.push(format!("operator end marker {} without a begin", m.value));
                }
            }
            _ => {}
        }
    }
    if !open.is_empty() {
        notes.push(format!("{} operator begin marker(s) without an end", open.len()));
    }
    raws.sort_by_key(|r| (r.start, r.index));
    // The inference: the measured region (ports 1/2, id 1) when present, else the span of
    // the operators.
    let measured = inp.markers.iter().find(|m| m.port == 1 && m.value == 1).and_then(|b| {
        inp.markers.iter().find(|m| m.port == 2 && m.value == 1 && m.cycles >= b.cycles).map(|e| e.cycles - b.cycles)
    });
    let span = match (raws.iter().map(|r| r.start).min(), raws.iter().map(|r| r.start + r.cycles).max()) {
        (Some(a), Some(b)) => b - a,
        _ => 0,
    };
    let inferences = if raws.is_empty() { 0 } else { invocation + 1 };
    ("markers", raws, measured.unwrap_or(span), inferences)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_symbols_name_operators() {
        assert_eq!(parse_kernel_symbol("libjit_conv2d_i8_0"), Some(("CONV_2D", 0)));
        assert_eq!(parse_kernel_symbol("libjit_depthwise_conv2d_i8_11"), Some(("DEPTHWISE_CONV_2D", 11)));
        assert_eq!(parse_kernel_symbol("libjit_avg_pool_i8_9"), Some(("AVERAGE_POOL_2D", 9)));
        assert_eq!(parse_kernel_symbol("libjit_conv2d_i8_x"), None);
        assert_eq!(parse_kernel_symbol("arm_convolve_s8"), None);
        assert!(is_kernel_symbol("arm_convolve_s8") && is_kernel_symbol("libjit_add_i8_3") && !is_kernel_symbol("main"));
    }

    #[test]
    fn kws_macs_from_shapes() {
        // KWS layer 0: CONV_2D out [1,25,5,64], filter [64,10,4,1]: 8000 × 40 = 320,000.
        // Layer 1: DEPTHWISE 3×3 over [1,25,5,64]: 8000 × 9 = 72,000.
        // Layer 11: FULLY_CONNECTED [12,64]: 12 × 64 = 768 (../shared/models/README.md shapes).
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/models/kws_ref_model.tflite");
        let m = tflite::parse(&std::fs::read(path).unwrap()).unwrap();
        assert_eq!(macs(&m, &m.operators[0]), Some(320_000));
        assert_eq!(macs(&m, &m.operators[1]), Some(72_000));
        assert_eq!(macs(&m, &m.operators[11]), Some(768));
        assert_eq!(macs(&m, &m.operators[10]), None); // RESHAPE
    }

    #[test]
    fn marker_protocol_pairs_begin_and_end_with_names() {
        let mk = |port, value, cycles| MarkerEvent { port, value, cycles, pc: 0 };
        let mut ms = vec![mk(1, 1, 0)];
        for (i, b) in b"CONV_2D".iter().enumerate() {
            ms.push(mk(PORT_OP_NAME, *b as u32, i as u64));
        }
        ms.push(mk(PORT_OP_BEGIN, 0, 10));
        ms.push(mk(PORT_OP_END, 0, 110));
        ms.push(mk(PORT_OP_BEGIN, 1, 120));
        ms.push(mk(PORT_OP_END, 1, 150));
        ms.push(mk(2, 1, 200));
        let image = Image { entry: 0, segments: vec![], sections: vec![], symbols: vec![] };
        let inp = Inputs { image: &image, model: None, clock_mhz: 100.0, markers: &ms, calls: &[], parents: &[] };
        let a = attribute(ProfileMode::Auto, &inp).unwrap();
        assert_eq!(a.summary.source, "markers");
        assert_eq!(a.rows.len(), 2);
        assert_eq!((a.rows[0].op.as_str(), a.rows[0].cycles, a.rows[1].cycles), ("CONV_2D", 100, 30));
        assert_eq!((a.summary.inference_cycles, a.summary.overhead_cycles), (200, 70));
        assert!((a.rows[0].share - 0.5).abs() < 1e-9);
        assert!((a.rows[0].latency_us - 1.0).abs() < 1e-9);
    }
}
