//! AOT bundles: one entry function calls a kernel per operator. Each call is one
//! operator; its cycles run to the next call of the entry (or the entry's return), tail
//! calls into workers included. simbench's own bundles (`simbench aot`) name the operator
//! index in the symbol, `libjit_<op>_i8_<index>`; other bundles (Glow) are matched to the
//! model by kind and order (`glow.rs`).

use super::glow::glow;
use super::{by_caller, is_bundle_call, kernel_times, span_cycles, Found, Inputs, Raw};
use crate::profile::callstack::RecordedCall;

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

pub(super) fn aot(inp: &Inputs, notes: &mut Vec<String>) -> Found {
    let groups = by_caller(inp.calls.iter().filter(|c| is_bundle_call(c)));
    if groups.is_empty() {
        notes.push(
            "no calls into libjit_* kernels were seen: not an AOT bundle (CMSIS-NN arm_* functions and TFLM kernels are not bundle kernels), \
             or its kernels were inlined into the entry function"
                .into(),
        );
        return Found::none("aot");
    }
    let mut entries: Vec<&str> = groups.iter().map(|g| g[0].caller.as_str()).collect();
    entries.sort_unstable();
    entries.dedup();
    if entries.len() > 1 {
        notes.push(format!("kernels are called from {} functions ({}): each call of one of them counts as an inference", entries.len(), entries.join(", ")));
    }
    let own = groups.iter().flatten().all(|c| c.callee_role.kernel && parse_kernel_symbol(&c.callee).is_some());
    if own {
        simbench_bundle(inp, &groups, notes)
    } else {
        glow(inp, &groups, notes)
    }
}

/// simbench's own bundles: the operator index is in each kernel's symbol; indices without
/// a call are RESHAPEs the generator turned into aliases (runtime/aot/README.md).
fn simbench_bundle(inp: &Inputs, groups: &[Vec<&RecordedCall>], notes: &mut Vec<String>) -> Found {
    let mut raws = Vec::new();
    let mut inference = 0;
    let mut aliased = 0;
    for (inv, g) in groups.iter().enumerate() {
        inference += span_cycles(inp.parents, g[0].caller_serial);
        let mut expected = 0u32;
        for c in g {
            let (op, index) = parse_kernel_symbol(&c.callee).expect("checked by the caller");
            // Indices skipped between kernel calls: RESHAPEs turned into aliases.
            while expected < index {
                let op = inp.model.and_then(|m| m.operators.get(expected as usize)).map_or("RESHAPE", |o| o.kind.name());
                raws.push(Raw {
                    index: expected,
                    op: op.to_string(),
                    kernel: None,
                    cycles: 0,
                    start: c.start,
                    invocation: inv as u32,
                    kernels: vec![],
                    instrument: None,
                });
                expected += 1;
                aliased += 1;
            }
            if let Some(m) = inp.model.and_then(|m| m.operators.get(index as usize)) {
                if m.kind.name() != op && inv == 0 {
                    notes.push(format!("--model says operator {index} is {}, the bundle's kernel is {op}: wrong model?", m.kind.name()));
                }
            }
            raws.push(Raw {
                index,
                op: op.to_string(),
                kernel: Some(c.callee.clone()),
                cycles: c.window_end.saturating_sub(c.start),
                start: c.start,
                invocation: inv as u32,
                kernels: kernel_times(&c.breakdown),
                instrument: None,
            });
            expected = index + 1;
        }
    }
    if aliased > 0 {
        notes.push(format!("{aliased} operator(s) without a kernel call: reshapes the AOT generator turned into buffer aliases (0 cycles)"));
    }
    Found { source: "aot", raws, inference, inferences: groups.len() as u32, instrumentation: None }
}
