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
use crate::profile::callstack::{ParentSpan, RecordedCall};
use simbench_profiles::profile::{OperatorRow, OperatorSummary, TraceSlice};
use simbench_profiles::tflite::Model;

mod aot;
mod markers;
mod model;
mod tflm;

use aot::aot;
pub use aot::parse_kernel_symbol;
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

/// Whether a (raw) symbol name is a kernel an AOT bundle calls per operator.
pub fn is_kernel_symbol(name: &str) -> bool {
    name.starts_with("libjit_") || name.starts_with("arm_")
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
pub(crate) struct Raw {
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
pub(crate) fn by_caller<'a>(calls: impl Iterator<Item = &'a RecordedCall>) -> Vec<Vec<&'a RecordedCall>> {
    let mut groups: Vec<Vec<&RecordedCall>> = Vec::new();
    for c in calls {
        match groups.last_mut() {
            Some(g) if g[0].caller_serial == c.caller_serial => g.push(c),
            _ => groups.push(vec![c]),
        }
    }
    groups
}

pub(crate) fn span_cycles(parents: &[ParentSpan], serial: u64) -> u64 {
    parents.iter().find(|p| p.serial == serial).map_or(0, |p| p.end.saturating_sub(p.start))
}

#[cfg(test)]
mod tests;
