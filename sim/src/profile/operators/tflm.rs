//! TFLite Micro: every indirect call the interpreter's Invoke makes is one operator, in
//! model order.

use super::TFLM_INVOKE;
use super::{by_caller, span_cycles, Inputs, Raw};

pub(super) fn tflm(inp: &Inputs, notes: &mut Vec<String>) -> (&'static str, Vec<Raw>, u64, u32) {
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
