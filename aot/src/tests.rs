//! Generator tests on the models in fixtures/models (planner invariants, constant packing) and on
//! small hand-built models (reshape alias versus copy, errors).

use super::*;
use crate::lower::Step;
use crate::plan::{Area, Plan};
use simbench_profiles::tflite::{Activation, OpKind, Operator, Options, Quantization, Tensor, TensorType};
use std::path::PathBuf;

const MODELS: [&str; 4] = ["kws_ref_model.tflite", "vww_96_int8.tflite", "pretrainedResnet_quant.tflite", "ad01_int8.tflite"];

fn load(name: &str) -> Model {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/models").join(name);
    tflite::parse(&std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))).unwrap()
}

fn planned(m: &Model) -> (Vec<Step>, Plan) {
    let steps = lower::lower(m).unwrap();
    let plan = plan::plan(m, &steps).unwrap();
    (steps, plan)
}

/// Every pair of activation tensors that are alive at the same operator must occupy
/// disjoint bytes (tensors aliased by a RESHAPE share storage on purpose).
#[test]
fn live_activations_never_overlap_in_the_fixture_models() {
    for name in MODELS {
        let m = load(name);
        let (steps, plan) = planned(&m);
        // Lifetime of each tensor, from the steps (not from the planner's own buffers).
        let mut life: Vec<Option<(usize, usize)>> = vec![None; m.tensors.len()];
        for (i, s) in steps.iter().enumerate() {
            for t in s.tensors().chain(s.reshape.iter().flat_map(|&(a, b)| [a, b])) {
                let l = life[t].get_or_insert((i, i));
                l.1 = i;
            }
        }
        let acts: Vec<usize> = (0..m.tensors.len()).filter(|&t| matches!(plan.loc[t], Some(l) if l.area == Area::Activations)).collect();
        assert!(!acts.is_empty(), "{name}: no activations planned");
        let alias = |a: usize, b: usize| steps.iter().zip(&plan.elided).any(|(s, &e)| e && (s.reshape == Some((a, b)) || s.reshape == Some((b, a))));
        for (k, &a) in acts.iter().enumerate() {
            let la = plan.loc[a].unwrap();
            let sa = m.tensors[a].bytes().unwrap();
            assert_eq!(la.offset % plan::ACTIVATION_ALIGN, 0, "{name}: tensor {a} misaligned");
            assert!(la.offset + sa <= plan.activations_size, "{name}: tensor {a} outside the area");
            for &b in &acts[..k] {
                let (lb, sb) = (plan.loc[b].unwrap(), m.tensors[b].bytes().unwrap());
                let (x, y) = (life[a].unwrap(), life[b].unwrap());
                let alive_together = x.0 <= y.1 && y.0 <= x.1;
                let overlap = la.offset < lb.offset + sb && lb.offset < la.offset + sa;
                assert!(!(alive_together && overlap) || alias(a, b), "{name}: tensors {a} and {b} overlap while both alive");
            }
        }
        assert_eq!(plan.activations_size % 64, 0);
        assert_eq!(plan.mutable_size % 64, 0);
        assert_eq!(plan.constant_size % 64, 0);
    }
}

#[test]
fn constants_are_packed_aligned_and_intact() {
    for name in MODELS {
        let m = load(name);
        let (steps, plan) = planned(&m);
        assert_eq!(plan.constants.len(), plan.constant_size);
        let mut count = 0;
        for s in &steps {
            for t in s.tensors() {
                if let Some(data) = m.tensor_data(t) {
                    let l = plan.loc[t].unwrap();
                    assert_eq!(l.area, Area::Constant);
                    assert_eq!(l.offset % 64, 0, "{name}: constant {t} misaligned");
                    assert_eq!(&plan.constants[l.offset..l.offset + data.len()], data, "{name}: constant {t} corrupted");
                    count += 1;
                }
            }
        }
        // Every conv / depthwise / fully-connected has a weight and a bias tensor.
        let weighted = m.operators.iter().filter(|o| matches!(o.kind, OpKind::Conv2d | OpKind::DepthwiseConv2d | OpKind::FullyConnected)).count();
        assert_eq!(count, 2 * weighted, "{name}");
        for p in &plan.placeholders {
            assert_eq!(p.offset % 64, 0);
            assert_eq!(plan.loc[p.tensor].unwrap().area, Area::Mutable);
        }
    }
}

#[test]
fn reshapes_between_activations_are_aliases() {
    for name in ["kws_ref_model.tflite", "vww_96_int8.tflite", "pretrainedResnet_quant.tflite"] {
        let m = load(name);
        let (steps, plan) = planned(&m);
        let i = m.operators.iter().position(|o| o.kind == OpKind::Reshape).unwrap();
        assert!(plan.elided[i], "{name}: reshape {i} was not aliased");
        let (a, b) = steps[i].reshape.unwrap();
        assert_eq!(plan.loc[a], plan.loc[b]);
    }
}

fn q(scale: f32, zp: i64) -> Option<Quantization> {
    Some(Quantization { scale: vec![scale], zero_point: vec![zp], quantized_dimension: 0 })
}

fn tensor(name: &str, shape: &[i32], buffer: usize) -> Tensor {
    Tensor { name: name.into(), shape: shape.to_vec(), dtype: TensorType::Int8, buffer, quantization: q(0.5, 0) }
}

/// input [1, 4] -> RESHAPE -> output [4]: both are placeholders, so a copy is needed.
fn reshape_model() -> Model {
    Model {
        version: 3,
        description: String::new(),
        tensors: vec![tensor("in", &[1, 4], 0), tensor("out", &[4], 0)],
        operators: vec![Operator { kind: OpKind::Reshape, version: 1, inputs: vec![Some(0)], outputs: vec![1], options: Options::Reshape { new_shape: None } }],
        inputs: vec![0],
        outputs: vec![1],
        buffers: vec![Vec::new()],
        subgraphs: vec![],
    }
}

#[test]
fn reshape_from_input_to_output_is_a_copy() {
    let m = reshape_model();
    let b = generate(&m, "r", "test").unwrap();
    assert!(!b.plan.elided[0]);
    let c = String::from_utf8(b.files[1].1.clone()).unwrap();
    assert!(c.contains("LIBJIT_OPERATOR void libjit_reshape_i8_0("), "{c}");
    assert!(c.contains("libjit_copy_i8("));
    assert_eq!(b.plan.activations_size, 0);
    let h = String::from_utf8(b.files[0].1.clone()).unwrap();
    assert!(h.contains("#define R_in 0") && h.contains("#define R_out 64"), "{h}");
}

#[test]
fn unsupported_content_is_an_error() {
    // Softmax whose output is not scale 1/256, zero point -128.
    let mut m = reshape_model();
    m.operators[0] = Operator { kind: OpKind::Softmax, version: 1, inputs: vec![Some(0)], outputs: vec![1], options: Options::Softmax { beta: 1.0 } };
    m.tensors[1].shape = vec![1, 4];
    assert!(matches!(generate(&m, "s", "t"), Err(AotError::Unsupported(_))));
    // A float tensor.
    let mut m = reshape_model();
    m.tensors[0].dtype = TensorType::Float32;
    assert!(matches!(generate(&m, "f", "t"), Err(AotError::Unsupported(_))));
    // A fully connected layer whose weights are not constant.
    let mut m = reshape_model();
    m.tensors.push(tensor("w", &[4, 4], 0));
    m.operators[0] = Operator {
        kind: OpKind::FullyConnected,
        version: 1,
        inputs: vec![Some(0), Some(2), None],
        outputs: vec![1],
        options: Options::FullyConnected { activation: Activation::None, weights_format: 0, keep_num_dims: false },
    };
    m.tensors[1].shape = vec![1, 4];
    assert!(matches!(generate(&m, "w", "t"), Err(AotError::Unsupported(_))));
    // Out-of-range tensor index in a hand-built model.
    let mut m = reshape_model();
    m.operators[0].outputs = vec![7];
    assert!(matches!(generate(&m, "i", "t"), Err(AotError::BadModel(_))));
    // Not a C identifier.
    assert!(matches!(generate(&reshape_model(), "1x", "t"), Err(AotError::Usage(_))));
}

#[test]
fn names_become_c_identifiers() {
    assert_eq!(default_name(std::path::Path::new("/a/kws-ref model.tflite")), "kws_ref_model");
    assert_eq!(default_name(std::path::Path::new("9lives.tflite")), "_9lives");
}

/// The fixed-point constants of the softmax kernels are the roundings of the real numbers
/// their comments name; recompute them here from the definitions.
#[test]
fn kernel_constants_match_their_definitions() {
    let k = emit::KERNELS_H;
    let q = |x: f64, frac_bits: i32| (x * 2f64.powi(frac_bits)).round() as i64;
    let expect = [
        ("exp_minus_eighth = ", q((-0.125f64).exp(), 31)),
        ("one_third = ", q(1.0 / 3.0, 31)),
        ("c48_17 = ", q(48.0 / 17.0, 29)),
        ("cm32_17 = ", q(-32.0 / 17.0, 29)),
    ];
    for (tag, v) in expect {
        let at = k.find(tag).unwrap_or_else(|| panic!("{tag} not in the kernels"));
        let lit: String = k[at + tag.len()..].chars().take_while(|c| *c == '-' || c.is_ascii_digit()).collect();
        assert_eq!(lit.parse::<i64>().unwrap(), v, "{tag}");
    }
    let at = k.find("factors[7] = {").unwrap() + "factors[7] = {".len();
    let list: Vec<i64> = k[at..k[at..].find('}').unwrap() + at].split(',').map(|x| x.trim().parse().unwrap()).collect();
    let want: Vec<i64> = (-2..=4).map(|e| q((-(2f64.powi(e))).exp(), 31)).collect();
    assert_eq!(list, want);
}
