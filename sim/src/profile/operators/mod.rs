//! Operator profiles: which operator of an inference cost what.
//!
//! Attribution follows control flow, not names. The call profiler
//! (`profile/callstack/`) records the calls that start operators, each with its window:
//! from that call to the next such call from the same caller, or to the caller's return.
//! An operator's cycles are its window: the kernel, the workers and helpers it calls or
//! tail-calls, and the dispatcher's own code up to the next operator. The window's cycles
//! by call path are the operator's kernel breakdown (`OperatorRow::kernels`).
//!
//! Four sources, picked by `--profile` (`auto` takes the first that applies, by what the
//! firmware is):
//! - `tflm`: TensorFlow Lite Micro. The operator loop is `tflite::MicroInterpreter::Invoke()`
//!   (2020), `tflite::MicroGraph::InvokeSubgraph(int)` (2021–2022) or
//!   `tflite::MicroInterpreterGraph::InvokeSubgraph(int)` (2023 on), called or tail-called
//!   from Invoke; each indirect call it makes to a kernel is one operator's dispatch
//!   (`registration->invoke(context, node)`; virtual methods such as the allocator's
//!   `ResetTempAllocations()` and interrupt handlers are not), matched in order to subgraph 0 of the model
//!   (the TFL3 FlatBuffer in the image, or `--model`). A loop re-entered from inside an
//!   operator (CALL_ONCE, IF, WHILE running another subgraph) belongs to that operator. The
//!   inference is Invoke from call to return; before the first dispatch and after the loop
//!   returns is interpreter overhead.
//! - `aot`: an ahead-of-time bundle, one entry function calling `libjit_*` kernels
//!   (`aot.rs`): simbench's own bundles name the operator index
//!   (`libjit_<op>_i8_<index>`); Glow bundles are matched to the model's operators by kind
//!   and order, with elided RESHAPEs as zero-cost aliases and inlined kernels said in notes
//!   (`glow.rs`); `-instrument-ir` bundles take their operator boundaries from the
//!   `glow_instrument_before/after` callbacks.
//! - `markers`: `sb_op_begin(index, name)` / `sb_op_end(index)` from runtime/simbench.h:
//!   the name's bytes on ITM port 5, the index on port 3 (begin) and port 4 (end).
//! - `functions`: no operators, the function profile only.
//!
//! CMSIS-NN (`arm_*`) and TFLM reference kernels are never bundle kernels: they show up in
//! the kernel breakdown of the TFLM operator that called them.

use crate::image::Image;
use crate::machine::MarkerEvent;
use crate::profile::callstack::{FuncRole, Instrument, ParentSpan, PathTime, RecordedCall};
use simbench_profiles::profile::{InstrumentIds, KernelTime, OperatorRow, OperatorSummary, TraceSlice};
use simbench_profiles::tflite::Model;

mod align;
mod aot;
mod glow;
mod markers;
mod model;
mod tflm;

use aot::aot;
pub use aot::parse_kernel_symbol;
pub use glow::kernel_kinds;
use markers::markers;
use model::shapes;
pub use model::{find_model, macs};
use tflm::tflm;

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

/// The TFLM operator loops besides `Invoke()` (2020): `InvokeSubgraph(int)` of
/// `MicroGraph` (2021–2022) and `MicroInterpreterGraph` (2023 on).
pub fn is_tflm_loop(name: &str) -> bool {
    name == TFLM_INVOKE || (name.starts_with("tflite::") && name.ends_with("::InvokeSubgraph(int)"))
}

/// Whether a (raw) symbol name is a kernel an AOT bundle's entry calls per operator:
/// `libjit_*` (Glow's kernel library, simbench's own bundles). CMSIS-NN's `arm_*` are not:
/// TFLM kernels call them.
pub fn is_kernel_symbol(name: &str) -> bool {
    name.starts_with("libjit_") && instrument_of(name).is_none()
}

/// Glow's `-instrument-ir` callbacks: the application's `glow_instrument_before/after`
/// and the kernel library's `libjit_instrument_before/after` thunks that call them.
fn instrument_of(name: &str) -> Option<Instrument> {
    match name {
        "glow_instrument_before" | "libjit_instrument_before" => Some(Instrument::Before),
        "glow_instrument_after" | "libjit_instrument_after" => Some(Instrument::After),
        _ => None,
    }
}

/// The role of a function, from its raw symbol and its demangled name.
pub fn role_of(raw: &str, name: &str) -> FuncRole {
    FuncRole {
        interpreter_invoke: name == TFLM_INVOKE,
        op_loop: is_tflm_loop(name),
        kernel: is_kernel_symbol(raw),
        instrument: instrument_of(raw),
        not_an_operator: (raw.starts_with("_Z") && parameters(name).is_some_and(|p| p != KERNEL_PARAMETERS)) || is_exception_handler(raw),
    }
}

/// CMSIS names of exception and interrupt handlers: an interrupt taken while the operator
/// loop runs enters one of them like an indirect call, but it is not an operator.
fn is_exception_handler(raw: &str) -> bool {
    raw.ends_with("_Handler") || raw.ends_with("IRQHandler")
}

/// What a TFLM kernel's `invoke` takes (`TfLiteRegistration`, `TFLMRegistration`).
const KERNEL_PARAMETERS: &str = "TfLiteContext*, TfLiteNode*";

/// The parameter list of a demangled C++ function name, without its parentheses: the
/// last balanced `(…)` group (a `[clone .constprop.0]` suffix or qualifiers may follow).
fn parameters(name: &str) -> Option<&str> {
    let close = name.rfind(')')?;
    let mut depth = 0u32;
    for (i, c) in name[..=close].char_indices().rev() {
        match c {
            ')' => depth += 1,
            '(' => {
                depth -= 1;
                if depth == 0 {
                    return Some(&name[i + 1..close]);
                }
            }
            _ => {}
        }
    }
    None
}

/// What attribution needs from a finished run.
pub struct Inputs<'a> {
    pub image: &'a Image,
    pub model: Option<&'a Model>,
    pub clock_mhz: f64,
    pub markers: &'a [MarkerEvent],
    pub calls: &'a [RecordedCall],
    /// Call chains that made recorded calls (operator loops, bundle entries).
    pub parents: &'a [ParentSpan],
    /// Spans of TFLM's `MicroInterpreter::Invoke()`.
    pub entries: &'a [ParentSpan],
}

/// One operator before the shares are known.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Raw {
    index: u32,
    op: String,
    kernel: Option<String>,
    cycles: u64,
    start: u64,
    invocation: u32,
    kernels: Vec<KernelTime>,
    instrument: Option<InstrumentIds>,
}

/// What one source found.
pub(crate) struct Found {
    source: &'static str,
    raws: Vec<Raw>,
    /// Cycles of all inferences.
    inference: u64,
    inferences: u32,
    /// Cycles of instrumentation callbacks (not operators, not overhead).
    instrumentation: Option<u64>,
}

impl Found {
    fn none(source: &'static str) -> Found {
        Found { source, raws: Vec::new(), inference: 0, inferences: 0, instrumentation: None }
    }
}

pub struct Attribution {
    pub summary: OperatorSummary,
    pub rows: Vec<OperatorRow>,
    pub slices: Vec<TraceSlice>,
}

/// A TFLM dispatch: an indirect call from an operator loop.
pub(crate) fn is_dispatch(c: &RecordedCall) -> bool {
    c.caller_role.op_loop && c.indirect && !c.callee_role.op_loop
}

/// A call from a bundle entry into a kernel or instrumentation callback.
pub(crate) fn is_bundle_call(c: &RecordedCall) -> bool {
    c.callee_role.is_bundle_call() && !c.caller_role.is_bundle_call()
}

/// The profile `auto` picks for this run: TFLM when an operator loop dispatched, an AOT
/// bundle when an entry called `libjit_*` kernels, markers when the firmware wrote
/// operator markers, else functions.
pub fn auto_mode(inp: &Inputs) -> ProfileMode {
    if inp.calls.iter().any(is_dispatch) {
        ProfileMode::Tflm
    } else if inp.calls.iter().any(is_bundle_call) {
        ProfileMode::Aot
    } else if inp.markers.iter().any(|m| m.port == PORT_OP_BEGIN) {
        ProfileMode::Markers
    } else {
        ProfileMode::Functions
    }
}

pub fn attribute(mode: ProfileMode, inp: &Inputs) -> Option<Attribution> {
    let mode = match mode {
        ProfileMode::Off => return None,
        ProfileMode::Auto => auto_mode(inp),
        m => m,
    };
    let mut notes = Vec::new();
    let found = match mode {
        ProfileMode::Tflm => tflm(inp, &mut notes),
        ProfileMode::Aot => aot(inp, &mut notes),
        ProfileMode::Markers => markers(inp, &mut notes),
        _ => Found::none("functions"),
    };
    let Found { source, raws, inference, inferences, instrumentation } = found;
    let operator_cycles: u64 = raws.iter().map(|r| r.cycles).sum();
    let total = inference.max(operator_cycles);
    let model_ops = inp.model.map(|m| m.operators.len());
    let rows: Vec<OperatorRow> = raws
        .into_iter()
        .map(|r| {
            // The model's operator at this index, with the model it belongs to.
            let op = inp.model.and_then(|m| m.operators.get(r.index as usize).map(|o| (m, o)));
            let mac = op.and_then(|(m, o)| macs(m, o));
            OperatorRow {
                index: r.index,
                op: r.op,
                kernel: r.kernel,
                cycles: r.cycles,
                share: if total > 0 { r.cycles as f64 / total as f64 } else { 0.0 },
                macs: mac,
                cycles_per_mac: mac.filter(|&m| m > 0).map(|m| r.cycles as f64 / m as f64),
                latency_us: r.cycles as f64 / inp.clock_mhz,
                start_cycle: r.start,
                inputs: op.map(|(m, o)| shapes(m, o.inputs.iter().flatten().copied())).unwrap_or_default(),
                outputs: op.map(|(m, o)| shapes(m, o.outputs.iter().copied())).unwrap_or_default(),
                invocation: r.invocation,
                kernels: r.kernels,
                instrument: r.instrument,
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
            overhead_cycles: inference.saturating_sub(operator_cycles).saturating_sub(instrumentation.unwrap_or(0)),
            inferences,
            instrumentation_cycles: instrumentation,
            notes,
        },
        rows,
        slices,
    })
}

/// Calls grouped by the caller chain that made them (one invocation of an operator loop
/// or bundle entry), in order of each chain's first call.
pub(crate) fn by_caller<'a>(calls: impl Iterator<Item = &'a RecordedCall>) -> Vec<Vec<&'a RecordedCall>> {
    let mut groups: Vec<Vec<&RecordedCall>> = Vec::new();
    let mut index: rustc_hash::FxHashMap<u64, usize> = Default::default();
    for c in calls {
        match index.get(&c.caller_serial) {
            Some(&g) => groups[g].push(c),
            None => {
                index.insert(c.caller_serial, groups.len());
                groups.push(vec![c]);
            }
        }
    }
    groups
}

/// The span of call chain `serial` (a loop or entry that made recorded calls).
pub(crate) fn span_of(parents: &[ParentSpan], serial: u64) -> Option<&ParentSpan> {
    parents.iter().find(|p| p.serial == serial)
}

pub(crate) fn span_cycles(parents: &[ParentSpan], serial: u64) -> u64 {
    span_of(parents, serial).map_or(0, |p| p.end.saturating_sub(p.start))
}

/// The kernel breakdown of a window (or several merged): call paths by cycles, most
/// first; paths without cycles are left out.
pub(crate) fn kernel_times<'a>(parts: impl IntoIterator<Item = &'a PathTime>) -> Vec<KernelTime> {
    let mut merged: Vec<KernelTime> = Vec::new();
    let mut at: rustc_hash::FxHashMap<&'a [String], usize> = Default::default();
    for p in parts {
        if p.cycles == 0 {
            continue;
        }
        match at.get(p.path.as_slice()) {
            Some(&i) => {
                merged[i].cycles += p.cycles;
                merged[i].calls += p.calls;
            }
            None => {
                at.insert(p.path.as_slice(), merged.len());
                merged.push(KernelTime { function: p.path.last().cloned().unwrap_or_default(), path: p.path.clone(), cycles: p.cycles, calls: p.calls });
            }
        }
    }
    merged.sort_by(|a, b| b.cycles.cmp(&a.cycles).then_with(|| a.path.cmp(&b.path)));
    merged
}

/// The name of the model's operator `index` (subgraph 0), or `UNKNOWN`.
pub(crate) fn model_op_name(model: Option<&Model>, index: usize) -> String {
    model.and_then(|m| m.operators.get(index)).map_or_else(|| "UNKNOWN".to_string(), |o| o.kind.name().to_string())
}

#[cfg(test)]
mod tests;
