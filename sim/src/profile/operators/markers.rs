//! Explicit markers: `sb_op_begin(index, name)` / `sb_op_end(index)` on ITM ports
//! (runtime/simbench.h).

use super::{Found, Inputs, Raw, PORT_OP_BEGIN, PORT_OP_END, PORT_OP_NAME};

pub(super) fn markers(inp: &Inputs, notes: &mut Vec<String>) -> Found {
    let mut raws = Vec::new();
    let mut name = Vec::new();
    let mut open: Vec<(u32, String, u64)> = Vec::new();
    let mut invocation = 0u32;
    let mut last_index: Option<u32> = None;
    for m in inp.markers {
        match m.port {
            PORT_OP_NAME if m.value != 0 => {
                name.push(m.value as u8);
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
                    let op = if op.is_empty() {
                        inp.model.and_then(|md| md.operators.get(index as usize)).map_or("UNKNOWN".into(), |o| o.kind.name().into())
                    } else {
                        op
                    };
                    raws.push(Raw { index, op, kernel: None, cycles: m.cycles - start, start, invocation, kernels: vec![], instrument: None });
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
    let measured = inp
        .markers
        .iter()
        .find(|m| m.port == 1 && m.value == 1)
        .and_then(|b| inp.markers.iter().find(|m| m.port == 2 && m.value == 1 && m.cycles >= b.cycles).map(|e| e.cycles - b.cycles));
    let span = match (raws.iter().map(|r| r.start).min(), raws.iter().map(|r| r.start + r.cycles).max()) {
        (Some(a), Some(b)) => b - a,
        _ => 0,
    };
    let inferences = if raws.is_empty() { 0 } else { invocation + 1 };
    Found { source: "markers", raws, inference: measured.unwrap_or(span), inferences, instrumentation: None }
}
