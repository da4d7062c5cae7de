//! Reader tests against the four models in fixtures/models and their documented operator lists
//! (`fixtures/models/README.md`, "Per-layer detail"), and against corrupted inputs.

use super::read::T;
use super::schema::*;
use super::verify::ModelV;
use super::*;
use flatbuffers::{ForwardsUOffset, Table, Verifiable, Verifier, VerifierOptions};
use std::path::PathBuf;

fn models_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/models")
}

fn load(name: &str) -> Vec<u8> {
    std::fs::read(models_dir().join(name)).unwrap_or_else(|e| panic!("cannot read model {name}: {e}"))
}

/// One documented layer: `   0 CONV_2D_v3 in=[[1, 49, 10, 1], ...] out=[[...]] pad=SAME stride=2x2 ... act=RELU`.
#[derive(Debug)]
struct DocLayer {
    op: String,
    version: i32,
    inputs: Vec<Vec<i32>>,
    outputs: Vec<Vec<i32>>,
    attrs: Vec<(String, String)>,
}

fn parse_shapes(s: &str) -> Vec<Vec<i32>> {
    // "[[1, 49, 10, 1], [64]]"
    let inner = s.trim().strip_prefix('[').and_then(|s| s.strip_suffix(']')).expect("shape list");
    inner
        .split(']')
        .filter_map(|part| {
            let p = part.trim_start_matches([',', ' ', '[']);
            if p.trim().is_empty() && !part.contains('[') {
                return None;
            }
            Some(p.split(',').filter(|x| !x.trim().is_empty()).map(|x| x.trim().parse::<i32>().expect("dim")).collect())
        })
        .collect()
}

/// Reads the per-layer block of `model` from the models README.
fn documented_layers(model: &str) -> Vec<DocLayer> {
    let text = std::fs::read_to_string(models_dir().join("README.md")).expect("models README");
    let mut out = Vec::new();
    let mut inside = false;
    for line in text.lines() {
        if let Some(name) = line.strip_prefix("== ") {
            inside = name.trim() == model;
            continue;
        }
        if line.starts_with("```") {
            inside = false;
        }
        if !inside || line.trim().is_empty() {
            continue;
        }
        let rest = line.trim_start();
        let (_idx, rest) = rest.split_once(' ').unwrap();
        let (opv, rest) = rest.split_once(' ').unwrap();
        let (op, v) = opv.rsplit_once("_v").unwrap();
        let rest = rest.strip_prefix("in=").unwrap();
        let (ins, rest) = rest.split_once("] out=").unwrap();
        let (outs, rest) = rest.split_once(']').unwrap();
        let attrs = rest.split_whitespace().filter_map(|kv| kv.split_once('=').map(|(k, v)| (k.to_string(), v.to_string()))).collect();
        out.push(DocLayer {
            op: op.to_string(),
            version: v.parse().unwrap(),
            inputs: parse_shapes(&format!("{ins}]")),
            outputs: parse_shapes(&format!("{outs}]")),
            attrs,
        });
    }
    assert!(!out.is_empty(), "no per-layer detail for {model} in the README");
    out
}

fn act_name(a: Activation) -> &'static str {
    match a {
        Activation::None => "NONE",
        Activation::Relu => "RELU",
        Activation::ReluN1To1 => "RELU_N1_TO_1",
        Activation::Relu6 => "RELU6",
        Activation::Tanh => "TANH",
        Activation::SignBit => "SIGN_BIT",
    }
}

fn pad_name(p: Padding) -> &'static str {
    match p {
        Padding::Same => "SAME",
        Padding::Valid => "VALID",
    }
}

/// The attributes the README prints for an operator, from the parsed options.
fn attrs_of(o: &Options) -> Vec<(String, String)> {
    let kv = |k: &str, v: String| (k.to_string(), v);
    match o {
        Options::Conv2d { padding, stride_w, stride_h, activation, dilation_w, dilation_h } => vec![
            kv("pad", pad_name(*padding).into()),
            kv("stride", format!("{stride_h}x{stride_w}")),
            kv("dil", format!("{dilation_h}x{dilation_w}")),
            kv("act", act_name(*activation).into()),
        ],
        Options::DepthwiseConv2d { padding, stride_w, stride_h, depth_multiplier, activation, dilation_w, dilation_h } => vec![
            kv("pad", pad_name(*padding).into()),
            kv("stride", format!("{stride_h}x{stride_w}")),
            kv("dm", depth_multiplier.to_string()),
            kv("dil", format!("{dilation_h}x{dilation_w}")),
            kv("act", act_name(*activation).into()),
        ],
        Options::Pool2d { padding, stride_w, stride_h, filter_w, filter_h, activation } => vec![
            kv("pad", pad_name(*padding).into()),
            kv("filter", format!("{filter_w}x{filter_h}")),
            kv("stride", format!("{stride_w}x{stride_h}")),
            kv("act", act_name(*activation).into()),
        ],
        Options::FullyConnected { activation, weights_format, keep_num_dims } => vec![
            kv("act", act_name(*activation).into()),
            kv("wfmt", weights_format.to_string()),
            kv("keep_dims", if *keep_num_dims { "True".into() } else { "False".into() }),
        ],
        Options::Add { activation } => vec![kv("act", act_name(*activation).into())],
        Options::Softmax { beta } => vec![kv("beta", format!("{beta:?}"))],
        Options::Reshape { .. } => vec![],
        Options::CallOnce { .. } | Options::If { .. } | Options::While { .. } => vec![],
    }
}

fn check_model(file: &str, tensors: usize, int8: usize, int32: usize) {
    let m = parse(&load(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
    assert_eq!(m.version, 3);
    assert_eq!(m.tensors.len(), tensors, "{file}: tensor count");
    assert_eq!(m.tensors.iter().filter(|t| t.dtype == TensorType::Int8).count(), int8, "{file}: INT8 tensors");
    assert_eq!(m.tensors.iter().filter(|t| t.dtype == TensorType::Int32).count(), int32, "{file}: INT32 tensors");
    let doc = documented_layers(file);
    assert_eq!(m.operators.len(), doc.len(), "{file}: operator count");
    for (i, (op, d)) in m.operators.iter().zip(&doc).enumerate() {
        assert_eq!(op.kind.name(), d.op, "{file} op {i}");
        assert_eq!(op.version, d.version, "{file} op {i} version");
        let ins: Vec<Vec<i32>> = op.inputs.iter().map(|t| m.tensors[t.unwrap()].shape.clone()).collect();
        let outs: Vec<Vec<i32>> = op.outputs.iter().map(|&t| m.tensors[t].shape.clone()).collect();
        assert_eq!(ins, d.inputs, "{file} op {i} input shapes");
        assert_eq!(outs, d.outputs, "{file} op {i} output shapes");
        for (k, v) in attrs_of(&op.options) {
            let documented = d.attrs.iter().find(|(dk, _)| *dk == k).map(|(_, dv)| dv.clone());
            assert_eq!(Some(v), documented, "{file} op {i} attribute {k}");
        }
    }
}

#[test]
fn kws_matches_the_documented_layers() {
    check_model("kws_ref_model.tflite", 35, 24, 11);
}

#[test]
fn vww_matches_the_documented_layers() {
    check_model("vww_96_int8.tflite", 89, 60, 29);
}

#[test]
fn resnet_matches_the_documented_layers() {
    check_model("pretrainedResnet_quant.tflite", 38, 27, 11);
}

#[test]
fn ad01_matches_the_documented_layers() {
    check_model("ad01_int8.tflite", 31, 21, 10);
}

#[test]
fn io_tensors_and_quantisation_match_the_readme() {
    let m = parse(&load("kws_ref_model.tflite")).unwrap();
    assert_eq!(m.inputs.len(), 1);
    assert_eq!(m.outputs.len(), 1);
    let out = &m.tensors[m.outputs[0]];
    assert_eq!(out.shape, vec![1, 12]);
    assert_eq!(out.dtype, TensorType::Int8);
    assert_eq!(out.scale_zp(), Some((0.00390625, -128)));
    let a = parse(&load("ad01_int8.tflite")).unwrap();
    let inp = &a.tensors[a.inputs[0]];
    assert_eq!(inp.name, "input_1");
    assert_eq!(inp.scale_zp().map(|(s, z)| ((s - 0.391_015_23).abs() < 1e-7, z)), Some((true, 89)));
    // Per-channel conv weights: one scale per output channel, along dimension 0.
    let conv = &m.operators[0];
    let w = &m.tensors[conv.inputs[1].unwrap()];
    let q = w.quantization.as_ref().unwrap();
    assert_eq!(q.scale.len(), 64);
    assert_eq!(q.quantized_dimension, 0);
    assert_eq!(m.tensor_data(conv.inputs[1].unwrap()).map(|d| d.len()), Some(64 * 10 * 4));
    assert_eq!(m.tensor_data(conv.inputs[2].unwrap()).map(|d| d.len()), Some(64 * 4));
}

#[test]
fn wrong_identifier_and_short_files_are_errors() {
    let mut bytes = load("kws_ref_model.tflite");
    assert!(matches!(parse(&[]), Err(Error::NotTflite(_))));
    assert!(matches!(parse(&bytes[..7]), Err(Error::NotTflite(_))));
    bytes[4..8].copy_from_slice(b"TFL2");
    assert!(matches!(parse(&bytes), Err(Error::NotTflite(_))));
}

#[test]
fn every_truncation_is_an_error_not_a_panic() {
    let bytes = load("kws_ref_model.tflite");
    // Cut at many points, including inside the root table and inside the weights.
    let mut cut = 8;
    while cut < bytes.len() {
        assert!(parse(&bytes[..cut]).is_err(), "truncated at {cut} parsed");
        cut = cut * 3 / 2 + 1;
    }
}

#[test]
fn corrupted_bytes_never_panic() {
    let bytes = load("ad01_int8.tflite");
    // Flip bytes across the metadata at the start and end (tables live at the edges).
    let n = bytes.len();
    for pos in (0..256).chain(n - 4096..n).step_by(3) {
        let mut b = bytes.clone();
        b[pos] ^= 0xA5;
        let _ = parse(&b);
    }
}

/// Finds the byte position of `needle` (a little-endian u32) in the file, for targeted edits.
fn patch_i32_vector(bytes: &mut [u8], old: &[i32], new: &[i32]) -> bool {
    let enc = |v: &[i32]| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
    let (o, nw) = (enc(old), enc(new));
    match bytes.windows(o.len()).position(|w| w == o.as_slice()) {
        Some(p) => {
            bytes[p..p + nw.len()].copy_from_slice(&nw);
            true
        }
        None => false,
    }
}

#[test]
fn out_of_range_tensor_indices_are_errors() {
    let mut bytes = load("kws_ref_model.tflite");
    let m = parse(&bytes).unwrap();
    let last = &m.operators[12];
    let (i, o) = (last.inputs[0].unwrap() as i32, last.outputs[0] as i32);
    // The SOFTMAX operator's inputs vector is [len=1, input]: point it past the tensors.
    assert!(patch_i32_vector(&mut bytes, &[1, i, 1, o], &[1, 9999, 1, o]) || patch_i32_vector(&mut bytes, &[1, i], &[1, 9999]));
    match parse(&bytes) {
        Err(Error::Invalid(msg)) => assert!(msg.contains("9999"), "{msg}"),
        other => panic!("expected Invalid, got {other:?}"),
    }
}

#[test]
fn unsupported_operator_is_an_error() {
    let mut bytes = load("ad01_int8.tflite");
    // The only operator code is FULLY_CONNECTED (9); rewrite it as MUL (18) in both fields.
    let m = parse(&bytes).unwrap();
    assert!(m.operators.iter().all(|o| o.kind == OpKind::FullyConnected));
    let opts = VerifierOptions::default();
    let mut v = Verifier::new(&opts, &bytes);
    <ForwardsUOffset<ModelV>>::run_verifier(&mut v, 0).unwrap();
    let root = T(unsafe { flatbuffers::root_unchecked::<Table>(&bytes) });
    let code = root.tables(MODEL_OPERATOR_CODES)[0];
    let vt = code.0.vtable();
    let loc = code.0.loc();
    let dep = vt.get(OPCODE_DEPRECATED_BUILTIN) as usize;
    let new = vt.get(OPCODE_BUILTIN) as usize;
    if dep != 0 {
        bytes[loc + dep] = 18;
    }
    if new != 0 {
        bytes[loc + new..loc + new + 4].copy_from_slice(&18i32.to_le_bytes());
    }
    match parse(&bytes) {
        Err(Error::Unsupported(msg)) => assert!(msg.contains("builtin code 18"), "{msg}"),
        other => panic!("expected Unsupported, got {other:?}"),
    }
}

/// The first TFL3 model inside a file (an ELF that embeds one), as a slice from its start.
fn embedded_model(bytes: &[u8]) -> &[u8] {
    let at = (0..bytes.len().saturating_sub(8)).step_by(4).find(|&i| &bytes[i + 4..i + 8] == b"TFL3" && parse(&bytes[i..]).is_ok());
    &bytes[at.expect("an embedded TFL3 model")..]
}

#[test]
fn call_once_model_has_two_subgraphs() {
    // fixtures/engines/src/tflm/make_call_once_model.py: subgraph 0 is CALL_ONCE (init
    // subgraph 1) in front of the 13 KWS operators; subgraph 1 ("init") is one RESHAPE.
    let elf = std::fs::read(models_dir().join("../engines/tflm2023_cmsis_callonce_kws_lpc55s69_O3.elf")).unwrap();
    let m = parse(embedded_model(&elf)).unwrap();
    assert_eq!(m.operators.len(), 14);
    assert_eq!(m.operators[0].kind, OpKind::CallOnce);
    assert_eq!(m.operators[0].options, Options::CallOnce { init_subgraph: 1 });
    assert_eq!(m.operators[0].options.subgraphs(), vec![1]);
    assert!(m.operators[0].kind.is_control_flow() && !m.operators[1].kind.is_control_flow());
    let kws = parse(&load("kws_ref_model.tflite")).unwrap();
    let names = |ops: &[Operator]| ops.iter().map(|o| o.kind.name()).collect::<Vec<_>>();
    assert_eq!(names(&m.operators[1..]), names(&kws.operators));
    assert_eq!(m.subgraphs.len(), 1);
    assert_eq!(names(&m.subgraphs[0].operators), ["RESHAPE"]);
    assert_eq!(m.subgraph_operators(1).map(names), Some(vec!["RESHAPE"]));
    assert_eq!(m.subgraph_operators(0).map(|o| o.len()), Some(14));
    assert!(m.subgraph_operators(2).is_none());
    // Its RESHAPE refers to the subgraph's own tensors.
    let reshape = &m.subgraphs[0].operators[0];
    assert_eq!(m.subgraphs[0].tensors[reshape.outputs[0]].shape, vec![1, 64]);
    // Single-subgraph models have no others.
    assert!(kws.subgraphs.is_empty());
}
