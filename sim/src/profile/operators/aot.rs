//! AOT bundles: each call from the bundle's entry into a kernel is one operator, named
//! from the symbol `libjit_<op>_i8_<index>`.

use super::{by_caller, span_cycles, Inputs, Raw};

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

pub(super) fn aot(inp: &Inputs, notes: &mut Vec<String>) -> (&'static str, Vec<Raw>, u64, u32) {
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
