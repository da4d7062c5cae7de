//! TensorFlow Lite Micro: every dispatch of the operator loop (an indirect call from
//! `Invoke()` of 2020 or from `InvokeSubgraph(int)` since 2021) is one operator, in model
//! order; its cycles run to the next dispatch of the same loop, or to the loop's return.
//! Dispatches of a loop re-entered inside an operator (CALL_ONCE, IF, WHILE) belong to
//! that operator.

use super::{by_caller, is_dispatch, kernel_times, model_op_name, span_of, Found, Inputs, Raw};
use crate::profile::callstack::RecordedCall;

pub(super) fn tflm(inp: &Inputs, notes: &mut Vec<String>) -> Found {
    let groups = by_caller(inp.calls.iter().filter(|c| is_dispatch(c)));
    if groups.is_empty() {
        notes.push(
            "no operator dispatches were seen (indirect calls from TFLM's operator loop: tflite::MicroInterpreter::Invoke(), \
             tflite::MicroGraph::InvokeSubgraph(int) or tflite::MicroInterpreterGraph::InvokeSubgraph(int)): not TFLM firmware, or Invoke never ran"
                .into(),
        );
    }
    if inp.model.is_none() {
        notes.push("no TFLite model (TFL3) found in the image: operators are unnamed (--model FILE.tflite names them)".into());
    }
    // Loops that run inside another loop's operator: a subgraph run by that operator.
    let mut top: Vec<Vec<&RecordedCall>> = Vec::new();
    let mut nested: Vec<(usize, usize, Vec<&RecordedCall>)> = Vec::new();
    for g in groups {
        let first = g[0].start;
        let host = top.iter().enumerate().find_map(|(t, tg)| tg.iter().position(|d| d.start <= first && first < d.end).map(|k| (t, k)));
        match host {
            Some((t, k)) => nested.push((t, k, g)),
            None => top.push(g),
        }
    }
    let mut raws = Vec::new();
    let mut inference = 0;
    for (inv, g) in top.iter().enumerate() {
        // The inference: the Invoke() around the loop (the loop itself when none is seen,
        // e.g. a stripped or renamed entry).
        let loop_span = span_of(inp.parents, g[0].caller_serial);
        let invoke = inp.entries.iter().find(|e| e.start <= g[0].start && g[0].start < e.end);
        inference += invoke.or(loop_span).map_or(0, |s| s.end.saturating_sub(s.start));
        for (k, d) in g.iter().enumerate() {
            raws.push(Raw {
                index: k as u32,
                op: model_op_name(inp.model, k),
                kernel: Some(d.callee.clone()),
                cycles: d.window_end.saturating_sub(d.start),
                start: d.start,
                invocation: inv as u32,
                kernels: kernel_times(&d.breakdown),
                instrument: None,
            });
        }
    }
    for (_, k, g) in nested.iter().filter(|(t, ..)| *t == 0) {
        let host = inp.model.and_then(|m| m.operators.get(*k).map(|o| (m, o)));
        let what = match host {
            Some((m, o)) => {
                // The subgraph it runs: the one whose operator count fits.
                let subs = o.options.subgraphs();
                let sub = subs.iter().copied().find(|&s| m.subgraph_operators(s).is_some_and(|ops| ops.len() == g.len())).or(subs.first().copied());
                let names = sub
                    .and_then(|s| m.subgraph_operators(s))
                    .filter(|ops| ops.len() == g.len())
                    .map(|ops| ops.iter().map(|o| o.kind.name()).collect::<Vec<_>>().join(", "));
                match (sub, names) {
                    (Some(s), Some(n)) => format!("{} operator(s) of subgraph {s} ({n})", g.len()),
                    (Some(s), None) => format!("{} operator(s) of subgraph {s}", g.len()),
                    _ => format!("{} operator(s) of another subgraph", g.len()),
                }
            }
            None => format!("{} operator(s) of another subgraph", g.len()),
        };
        notes.push(format!("operator {k} ({}) ran {what} through a nested operator loop: their cycles are part of operator {k}", model_op_name(inp.model, *k)));
    }
    let later = nested.iter().filter(|(t, ..)| *t > 0).count();
    if later > 0 {
        notes.push(format!("{later} nested subgraph run(s) in later inferences, counted in the operators that ran them"));
    }
    let inferences = top.len() as u32;
    Found { source: "tflm", raws, inference, inferences, instrumentation: None }
}
