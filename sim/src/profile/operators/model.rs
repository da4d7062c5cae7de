//! The TFLite model an inference runs: found in the image, and what its operators cost
//! in multiply-accumulates.

use crate::image::Image;
use simbench_profiles::tflite::{self, Model, OpKind, Options};

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

pub(super) fn shapes(model: &Model, ids: impl Iterator<Item = usize>) -> Vec<Vec<i32>> {
    ids.filter_map(|t| model.tensors.get(t).map(|t| t.shape.clone())).collect()
}
