//! Static memory planning: where every tensor lives in the bundle's three areas.
//!
//! * **constant weights**: each constant tensor a kernel reads (int8 weights, int32 biases),
//!   packed in operator order, 64-byte aligned;
//! * **mutable weights**: the model's inputs then outputs, 64-byte aligned (the
//!   application writes inputs and reads outputs there);
//! * **activations**: every other tensor. Tensors are placed greedily by lifetime
//!   (first..last operator index using them): largest first, each at the lowest 16-byte
//!   aligned offset that overlaps no already-placed tensor whose lifetime intersects.
//!
//! A RESHAPE output shares its input's storage (no copy) unless that would merge two
//! placeholders (model input and output) or the input is a constant; then it is a copy.

use crate::lower::Step;
use crate::AotError;
use simbench_profiles::tflite::Model;

pub const CONSTANT_ALIGN: usize = 64;
pub const MUTABLE_ALIGN: usize = 64;
pub const ACTIVATION_ALIGN: usize = 16;
/// Each area's total size is rounded up to this (the header's `MEM_ALIGN`).
pub const MEM_ALIGN: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Area {
    Constant,
    Mutable,
    Activations,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Loc {
    pub area: Area,
    pub offset: usize,
}

/// A model input or output in the mutable area.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placeholder {
    pub tensor: usize,
    pub offset: usize,
    pub size: usize,
    pub is_input: bool,
}

/// One activation buffer: the tensors sharing it (a tensor and its reshape aliases),
/// its size, lifetime and place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Buffer {
    pub tensors: Vec<usize>,
    pub size: usize,
    pub first: usize,
    pub last: usize,
    pub offset: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Location of each tensor of the model (`None`: not used by any kernel).
    pub loc: Vec<Option<Loc>>,
    /// Whether step `i` is elided (a RESHAPE whose output aliases its input).
    pub elided: Vec<bool>,
    pub constant_size: usize,
    pub mutable_size: usize,
    pub activations_size: usize,
    /// The constant area's bytes (zero padding between tensors).
    pub constants: Vec<u8>,
    pub placeholders: Vec<Placeholder>,
    pub buffers: Vec<Buffer>,
}

pub fn align_up(x: usize, a: usize) -> usize {
    x.div_ceil(a) * a
}

/// Places intervals `(size, first, last)` greedily (largest first, then earliest, then
/// input order), each at the lowest `align`-aligned offset where it overlaps no placed
/// interval alive at the same time. Returns the offsets and the end of the highest one.
pub fn place(items: &[(usize, usize, usize)], align: usize) -> (Vec<usize>, usize) {
    let mut order: Vec<usize> = (0..items.len()).collect();
    order.sort_by(|&a, &b| items[b].0.cmp(&items[a].0).then(items[a].1.cmp(&items[b].1)).then(a.cmp(&b)));
    let mut offsets = vec![0usize; items.len()];
    let mut placed: Vec<usize> = Vec::new();
    let mut total = 0;
    for i in order {
        let (size, first, last) = items[i];
        // Ranges of memory taken by placed intervals alive at the same time, by offset.
        let mut busy: Vec<(usize, usize)> =
            placed.iter().filter(|&&j| items[j].1 <= last && first <= items[j].2).map(|&j| (offsets[j], offsets[j] + items[j].0)).collect();
        busy.sort();
        let mut at = 0;
        for (start, end) in busy {
            if at + size <= start {
                break;
            }
            at = at.max(align_up(end, align));
        }
        offsets[i] = at;
        total = total.max(at + size);
        placed.push(i);
    }
    (offsets, total)
}

/// Union-find over tensor indices, for reshape aliases.
fn find(parent: &mut [usize], mut x: usize) -> usize {
    while parent[x] != x {
        parent[x] = parent[parent[x]];
        x = parent[x];
    }
    x
}

pub fn plan(model: &Model, steps: &[Step]) -> Result<Plan, AotError> {
    let n = model.tensors.len();
    let bytes =
        |t: usize| model.tensors[t].bytes().ok_or_else(|| AotError::Unsupported(format!("tensor '{}' has no fixed element size", model.tensors[t].name)));
    let is_const = |t: usize| model.tensor_data(t).is_some();
    let is_placeholder = |t: usize| model.inputs.contains(&t) || model.outputs.contains(&t);
    let mut loc: Vec<Option<Loc>> = vec![None; n];

    // Mutable area: inputs, then outputs.
    let mut placeholders = Vec::new();
    let mut mutable = 0;
    for (&t, is_input) in model.inputs.iter().map(|t| (t, true)).chain(model.outputs.iter().map(|t| (t, false))) {
        if loc[t].is_some() {
            continue; // a tensor both input and output
        }
        if is_const(t) {
            return Err(AotError::Unsupported(format!("model {} '{}' is a constant", if is_input { "input" } else { "output" }, model.tensors[t].name)));
        }
        mutable = align_up(mutable, MUTABLE_ALIGN);
        let size = bytes(t)?;
        loc[t] = Some(Loc { area: Area::Mutable, offset: mutable });
        placeholders.push(Placeholder { tensor: t, offset: mutable, size, is_input });
        mutable += size;
    }

    // Constant area: in operator order, each tensor once.
    let mut constants: Vec<u8> = Vec::new();
    for s in steps {
        for t in s.tensors() {
            if loc[t].is_none() {
                if let Some(data) = model.tensor_data(t) {
                    constants.resize(align_up(constants.len(), CONSTANT_ALIGN), 0);
                    loc[t] = Some(Loc { area: Area::Constant, offset: constants.len() });
                    constants.extend_from_slice(data);
                }
            }
        }
    }

    // Reshape aliases: merge groups unless that joins two placeholders or a constant.
    let mut parent: Vec<usize> = (0..n).collect();
    let mut elided = vec![false; steps.len()];
    let placeholder_of = |parent: &mut Vec<usize>, root: usize| (0..n).filter(|&t| is_placeholder(t) && find(parent, t) == root).count();
    for (i, s) in steps.iter().enumerate() {
        if let Some((a, b)) = s.reshape {
            if is_const(a) || is_const(b) {
                continue;
            }
            let (ra, rb) = (find(&mut parent, a), find(&mut parent, b));
            if ra == rb {
                elided[i] = true;
                continue;
            }
            if placeholder_of(&mut parent, ra) + placeholder_of(&mut parent, rb) > 1 {
                continue;
            }
            parent[rb] = ra;
            elided[i] = true;
        }
    }

    // Activation buffers: one per alias group without a placeholder.
    let mut group_of: Vec<Option<usize>> = vec![None; n];
    let mut buffers: Vec<Buffer> = Vec::new();
    for (i, s) in steps.iter().enumerate() {
        for t in s.tensors().chain(s.reshape.iter().flat_map(|&(a, b)| [a, b])) {
            if is_const(t) {
                continue;
            }
            let root = find(&mut parent, t);
            let g = match group_of[root] {
                Some(g) => g,
                None => {
                    buffers.push(Buffer { tensors: Vec::new(), size: 0, first: i, last: i, offset: 0 });
                    group_of[root] = Some(buffers.len() - 1);
                    buffers.len() - 1
                }
            };
            let b = &mut buffers[g];
            if !b.tensors.contains(&t) {
                b.tensors.push(t);
                b.size = b.size.max(bytes(t)?);
            }
            b.first = b.first.min(i);
            b.last = b.last.max(i);
        }
    }
    // Groups holding a placeholder live in the mutable area at the placeholder's offset.
    let mut activation_groups = Vec::new();
    for (g, b) in buffers.iter().enumerate() {
        match b.tensors.iter().find(|&&t| is_placeholder(t)) {
            Some(&p) => {
                let at = loc[p].expect("placeholders are placed first");
                for &t in &b.tensors {
                    loc[t] = Some(at);
                }
            }
            None => activation_groups.push(g),
        }
    }
    let items: Vec<(usize, usize, usize)> = activation_groups.iter().map(|&g| (buffers[g].size, buffers[g].first, buffers[g].last)).collect();
    let (offsets, total) = place(&items, ACTIVATION_ALIGN);
    let mut act_buffers = Vec::new();
    for (&g, &off) in activation_groups.iter().zip(&offsets) {
        let mut b = buffers[g].clone();
        b.offset = off;
        for &t in &b.tensors {
            loc[t] = Some(Loc { area: Area::Activations, offset: off });
        }
        act_buffers.push(b);
    }

    let constant_size = align_up(constants.len(), MEM_ALIGN);
    constants.resize(constant_size, 0);
    Ok(Plan {
        loc,
        elided,
        constant_size,
        mutable_size: align_up(mutable, MEM_ALIGN),
        activations_size: align_up(total, MEM_ALIGN),
        constants,
        placeholders,
        buffers: act_buffers,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn overlap_free(items: &[(usize, usize, usize)], offsets: &[usize]) -> bool {
        for i in 0..items.len() {
            for j in 0..i {
                let alive = items[i].1 <= items[j].2 && items[j].1 <= items[i].2;
                let mem = offsets[i] < offsets[j] + items[j].0 && offsets[j] < offsets[i] + items[i].0;
                if alive && mem && items[i].0 > 0 && items[j].0 > 0 {
                    return false;
                }
            }
        }
        true
    }

    #[test]
    fn a_chain_reuses_memory() {
        // A -> B -> C: A and C never live together, so C reuses A's place.
        let items = [(100, 0, 1), (50, 1, 2), (100, 2, 3)];
        let (off, total) = place(&items, 16);
        assert!(overlap_free(&items, &off));
        assert_eq!(off[0], off[2]);
        assert_eq!(total, 112 + 50); // 100 rounded to 112, then 50
    }

    #[test]
    fn random_lifetimes_never_overlap_and_stay_aligned() {
        // A small deterministic LCG: no external crates needed.
        let mut seed: u64 = 0x1234_5678;
        let mut next = |m: u64| {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (seed >> 33) % m
        };
        for _ in 0..200 {
            let k = 1 + next(30) as usize;
            let items: Vec<(usize, usize, usize)> = (0..k)
                .map(|_| {
                    let first = next(20) as usize;
                    (1 + next(5000) as usize, first, first + next(6) as usize)
                })
                .collect();
            let (off, total) = place(&items, 16);
            assert!(overlap_free(&items, &off), "{items:?} -> {off:?}");
            assert!(off.iter().all(|o| o % 16 == 0));
            assert!(items.iter().zip(&off).all(|(it, o)| o + it.0 <= total));
            // Never worse than giving every buffer its own place.
            assert!(total <= items.iter().map(|i| align_up(i.0, 16)).sum::<usize>());
        }
    }
}
