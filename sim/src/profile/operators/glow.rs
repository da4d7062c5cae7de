//! Glow bundles (`model-compiler -emit-bundle`) and other bundles whose kernel symbols do
//! not name the operator: each call the entry makes is one operator, matched to the
//! model's operators by kind and order (`align.rs`). A RESHAPE without a call is a view
//! (a zero-cost alias row), another operator without a call was inlined into the entry
//! (its row holds the entry's own code after the previous call). `-instrument-ir` bundles
//! bracket each instruction with `glow_instrument_before/after(id, kind, …)`: those are the
//! operator boundaries, and the callbacks' cycles are counted apart.

use super::align::{align, Slot};
use super::{kernel_times, span_cycles, Found, Inputs, Raw};
use crate::profile::callstack::{Instrument, PathTime, RecordedCall};
use simbench_profiles::profile::{InstrumentIds, KernelTime};

/// The operator kinds a `libjit_*` kernel can run (Glow's kernel library and simbench's
/// bundles); empty when the name does not say. Glow lowers CONV_2D and DEPTHWISE_CONV_2D
/// to the same channelwise convolution, so a convolution kernel can run either.
pub fn kernel_kinds(symbol: &str) -> &'static [&'static str] {
    let base = specialized_base(symbol).unwrap_or(symbol);
    let k = base.strip_prefix("libjit_").unwrap_or(base);
    if k.contains("depthwise") {
        &["DEPTHWISE_CONV_2D"]
    } else if k.contains("conv") {
        &["CONV_2D", "DEPTHWISE_CONV_2D"]
    } else if k.starts_with("fc") || k.starts_with("fully_connected") || k.starts_with("matmul") {
        &["FULLY_CONNECTED"]
    } else if k.starts_with("avg_pool") {
        &["AVERAGE_POOL_2D"]
    } else if k.starts_with("max_pool") {
        &["MAX_POOL_2D"]
    } else if k.starts_with("softmax") {
        &["SOFTMAX"]
    } else if k.starts_with("element_add") || k.starts_with("add") {
        &["ADD"]
    } else if k.starts_with("copy") || k.starts_with("reshape") {
        &["RESHAPE"]
    } else {
        &[]
    }
}

/// `libjit_<kernel>_<n>_specialized` → `libjit_<kernel>` (`n` counts specialisations).
fn specialized_base(symbol: &str) -> Option<&str> {
    let rest = symbol.strip_suffix("_specialized")?;
    let (base, n) = rest.rsplit_once('_')?;
    n.parse::<u32>().ok().map(|_| base)
}

/// Operators that need no code: a RESHAPE is a view of its input.
fn elidable(kind: &str) -> bool {
    kind == "RESHAPE"
}

/// One operator-sized piece of an inference: a kernel call of the entry, or an
/// instrumented instruction.
struct Item {
    kernel: Option<String>,
    kinds: &'static [&'static str],
    start: u64,
    /// From the start to the kernel's return (instrumented: to the after callback).
    body: u64,
    body_kernels: Vec<KernelTime>,
    /// The entry's own code after the return, up to the next call.
    after: u64,
    after_kernels: Vec<KernelTime>,
    instrument: Option<InstrumentIds>,
}

impl Item {
    fn all_kernels(&self) -> Vec<KernelTime> {
        let mut v: Vec<KernelTime> = self.body_kernels.iter().chain(&self.after_kernels).cloned().collect();
        v.sort_by(|a, b| b.cycles.cmp(&a.cycles).then_with(|| a.path.cmp(&b.path)));
        v
    }
}

/// A call of the entry: its own code in the call's window (one-element paths) runs after
/// the kernel returned.
fn plain_item(r: &RecordedCall) -> Item {
    let (after, body): (Vec<&PathTime>, Vec<&PathTime>) = r.breakdown.iter().partition(|p| p.path.len() == 1);
    Item {
        kernel: Some(r.callee.clone()),
        kinds: kernel_kinds(&r.callee),
        start: r.start,
        body: r.end.saturating_sub(r.start),
        body_kernels: kernel_times(body),
        after: r.window_end.saturating_sub(r.end),
        after_kernels: kernel_times(after),
        instrument: None,
    }
}

/// The instrumented instructions of one inference, and the callbacks' cycles.
fn instrumented_items(g: &[&RecordedCall], notes: &mut Vec<String>) -> (Vec<Item>, u64) {
    struct Open<'a> {
        ids: Option<[u32; 2]>,
        start: u64,
        parts: Vec<&'a PathTime>,
        kernel: Option<String>,
    }
    let mut items = Vec::new();
    let mut callbacks = 0;
    let mut open: Option<Open> = None;
    let mut unpaired = 0;
    for r in g {
        match r.callee_role.instrument {
            Some(Instrument::Before) => {
                callbacks += r.end.saturating_sub(r.start);
                unpaired += usize::from(open.is_some());
                // The entry's own code after the callback returned belongs to the instruction.
                open = Some(Open { ids: r.args, start: r.end, parts: r.breakdown.iter().filter(|p| p.path.len() == 1).collect(), kernel: None });
            }
            Some(Instrument::After) => {
                callbacks += r.end.saturating_sub(r.start);
                let Some(o) = open.take() else {
                    unpaired += 1;
                    continue;
                };
                if o.ids.map(|a| a[0]) != r.args.map(|a| a[0]) {
                    unpaired += 1;
                }
                items.push(Item {
                    kinds: o.kernel.as_deref().map_or(&[][..], kernel_kinds),
                    kernel: o.kernel,
                    start: o.start,
                    body: r.start.saturating_sub(o.start),
                    body_kernels: kernel_times(o.parts),
                    after: 0,
                    after_kernels: vec![],
                    instrument: o.ids.map(|[id, kind]| InstrumentIds { id, kind }),
                });
            }
            None => match open.as_mut() {
                Some(o) => {
                    o.parts.extend(&r.breakdown);
                    if o.kernel.is_none() {
                        o.kernel = Some(r.callee.clone());
                    }
                }
                None => items.push(plain_item(r)),
            },
        }
    }
    if unpaired > 0 {
        notes.push(format!("{unpaired} instrumentation callback(s) without a matching before/after of the same id"));
    }
    (items, callbacks)
}

pub(super) fn glow(inp: &Inputs, groups: &[Vec<&RecordedCall>], notes: &mut Vec<String>) -> Found {
    let entry = groups[0][0].caller.clone();
    let mut raws = Vec::new();
    let mut inference = 0;
    let mut instrumentation: Option<u64> = None;
    let mut refused = 0;
    for (inv, g) in groups.iter().enumerate() {
        inference += span_cycles(inp.parents, g[0].caller_serial);
        let first = inv == 0;
        let mut quiet = Vec::new();
        let notes: &mut Vec<String> = if first { &mut *notes } else { &mut quiet };
        let instrumented = g.iter().any(|c| c.callee_role.instrument.is_some());
        let items = if instrumented {
            let (items, callbacks) = instrumented_items(g, notes);
            *instrumentation.get_or_insert(0) += callbacks;
            items
        } else {
            g.iter().map(|r| plain_item(r)).collect()
        };
        let Some(model) = inp.model else {
            for (i, it) in items.iter().enumerate() {
                raws.push(Raw {
                    index: i as u32,
                    op: it.kernel.clone().unwrap_or_else(|| "UNKNOWN".into()),
                    kernel: it.kernel.clone(),
                    cycles: it.body + it.after,
                    start: it.start,
                    invocation: inv as u32,
                    kernels: it.all_kernels(),
                    instrument: it.instrument,
                });
            }
            if first {
                notes.push(format!(
                    "no model to match {entry}'s {} kernel calls against: rows are the calls in order, named by kernel \
                     (--model FILE.tflite names the operators; Glow runs CONV_2D and DEPTHWISE_CONV_2D with one kernel)",
                    items.len()
                ));
            }
            continue;
        };
        let ops: Vec<&str> = model.operators.iter().map(|o| o.kind.name()).collect();
        let kinds: Vec<&[&str]> = items.iter().map(|i| i.kinds).collect();
        let slots = align(&kinds, &ops, elidable).filter(|s| s.iter().filter(|x| **x == Slot::Inlined).count() <= items.len());
        let Some(slots) = slots else {
            refused += 1;
            if first {
                let mut names: Vec<&str> = items.iter().filter_map(|i| i.kernel.as_deref()).collect();
                names.dedup();
                let shown = names.iter().take(4).copied().collect::<Vec<_>>().join(", ");
                notes.push(format!(
                    "the model has {} operators, {} kernel calls seen in {entry}'s first inference ({shown}{}): not an AOT bundle of this model \
                     (wrong --model?), no operator rows",
                    ops.len(),
                    items.len(),
                    if names.len() > 4 { ", …" } else { "" }
                ));
            }
            continue;
        };
        rows_from_slots(&items, &slots, &ops, inv as u32, &entry, instrumented, &mut raws, notes);
    }
    if refused > 1 {
        notes.push(format!("{refused} inferences could not be matched to the model"));
    }
    if let Some(c) = instrumentation {
        notes.push(format!(
            "-instrument-ir bundle: each operator runs from the return of glow_instrument_before(id, kind, …) to the call of glow_instrument_after; \
             the callbacks' own {c} cycles are instrumentation_cycles, in neither operators nor overhead"
        ));
    }
    let inferences = groups.len() as u32;
    Found { source: "aot", raws, inference, inferences, instrumentation }
}

/// The rows of one inference in model order, from the alignment of its items.
#[allow(clippy::too_many_arguments)]
fn rows_from_slots(items: &[Item], slots: &[Slot], ops: &[&str], inv: u32, entry: &str, instrumented: bool, raws: &mut Vec<Raw>, notes: &mut Vec<String>) {
    let mut elided = Vec::new();
    let mut previous: Option<usize> = None;
    // The entry's own code after call i goes to an inlined operator before the next call.
    let mut after_taken = vec![false; items.len()];
    for (j, slot) in slots.iter().enumerate() {
        let row = |op: &str, kernel: Option<String>, cycles: u64, start: u64, kernels: Vec<KernelTime>, instrument| Raw {
            index: j as u32,
            op: op.to_string(),
            kernel,
            cycles,
            start,
            invocation: inv,
            kernels,
            instrument,
        };
        match *slot {
            Slot::Call(i) => {
                let it = &items[i];
                let inlined_next = slots[j + 1..].iter().take_while(|s| !matches!(s, Slot::Call(_))).any(|s| *s == Slot::Inlined);
                let (cycles, kernels) = if inlined_next { (it.body, it.body_kernels.clone()) } else { (it.body + it.after, it.all_kernels()) };
                after_taken[i] = inlined_next;
                raws.push(row(ops[j], it.kernel.clone(), cycles, it.start, kernels, it.instrument));
                previous = Some(i);
            }
            Slot::Elided => {
                let start = slots[j..].iter().find_map(|s| if let Slot::Call(i) = s { Some(items[*i].start) } else { None });
                let start = start.or(previous.map(|i| items[i].start + items[i].body + items[i].after)).unwrap_or(0);
                elided.push(format!("{j} {}", ops[j]));
                raws.push(row(ops[j], None, 0, start, vec![], None));
            }
            Slot::Inlined => {
                let it = previous.filter(|&i| after_taken[i]).map(|i| &items[i]);
                let what = match (instrumented, it) {
                    (true, _) => format!("operator {j} ({}) has no instrumented instruction: inlined or fused by the compiler, 0 cycles", ops[j]),
                    (false, Some(_)) => format!(
                        "operator {j} ({}) has no kernel call: inlined into {entry}; its cycles are {entry}'s own code after the previous kernel returned",
                        ops[j]
                    ),
                    (false, None) => format!("operator {j} ({}) has no kernel call: inlined into {entry} (its cycles are in the overhead)", ops[j]),
                };
                notes.push(what);
                match it {
                    Some(it) => {
                        raws.push(row(ops[j], None, it.after, it.start + it.body, it.after_kernels.clone(), None));
                        after_taken[previous.unwrap()] = false;
                    }
                    None => raws.push(row(ops[j], None, 0, previous.map_or(0, |i| items[i].start + items[i].body), vec![], None)),
                }
            }
        }
    }
    if !elided.is_empty() {
        notes.push(format!("operator(s) {} without a kernel call: tensor views the bundle elided, shown as zero-cost aliases", elided.join(", ")));
    }
    let mut special: Vec<&str> = items.iter().filter_map(|i| i.kernel.as_deref()).filter(|k| specialized_base(k).is_some()).collect();
    if !special.is_empty() {
        let calls = special.len();
        special.sort_unstable();
        special.dedup();
        notes.push(format!(
            "{calls} call(s) to specialised kernels ({}): the number in _<n>_specialized counts specialisations, not operators; matched to the model by kind and order",
            special.join(", ")
        ));
    }
    let shared: Vec<usize> = (0..items.len()).filter(|&i| items[i].kinds.len() > 1).collect();
    if !shared.is_empty() && !instrumented {
        let mut ks: Vec<&str> = shared.iter().map(|&i| ops[slots.iter().position(|s| *s == Slot::Call(i)).unwrap_or(0)]).collect();
        ks.sort_unstable();
        ks.dedup();
        if ks.len() > 1 {
            notes.push(format!(
                "{} calls of a kernel that runs several operator kinds ({}): each is the model operator at its position",
                shared.len(),
                ks.join(", ")
            ));
        }
    }
}
