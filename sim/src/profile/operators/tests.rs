//! Unit tests of operator attribution.

use super::*;
use simbench_profiles::tflite;

#[test]
fn kernel_symbols_name_operators() {
    assert_eq!(parse_kernel_symbol("libjit_conv2d_i8_0"), Some(("CONV_2D", 0)));
    assert_eq!(parse_kernel_symbol("libjit_depthwise_conv2d_i8_11"), Some(("DEPTHWISE_CONV_2D", 11)));
    assert_eq!(parse_kernel_symbol("libjit_avg_pool_i8_9"), Some(("AVERAGE_POOL_2D", 9)));
    assert_eq!(parse_kernel_symbol("libjit_conv2d_i8_x"), None);
    assert_eq!(parse_kernel_symbol("arm_convolve_s8"), None);
    // CMSIS-NN functions are TFLM's kernels' helpers, never bundle kernels.
    assert!(!is_kernel_symbol("arm_convolve_s8") && is_kernel_symbol("libjit_add_i8_3") && !is_kernel_symbol("main"));
}

#[test]
fn kws_macs_from_shapes() {
    // KWS layer 0: CONV_2D out [1,25,5,64], filter [64,10,4,1]: 8000 × 40 = 320,000.
    // Layer 1: DEPTHWISE 3×3 over [1,25,5,64]: 8000 × 9 = 72,000.
    // Layer 11: FULLY_CONNECTED [12,64]: 12 × 64 = 768 (fixtures/models/README.md shapes).
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/models/kws_ref_model.tflite");
    let m = tflite::parse(&std::fs::read(path).unwrap()).unwrap();
    assert_eq!(macs(&m, &m.operators[0]), Some(320_000));
    assert_eq!(macs(&m, &m.operators[1]), Some(72_000));
    assert_eq!(macs(&m, &m.operators[11]), Some(768));
    assert_eq!(macs(&m, &m.operators[10]), None); // RESHAPE
}

#[test]
fn marker_protocol_pairs_begin_and_end_with_names() {
    let mk = |port, value, cycles| MarkerEvent { port, value, cycles, pc: 0 };
    let mut ms = vec![mk(1, 1, 0)];
    for (i, b) in b"CONV_2D".iter().enumerate() {
        ms.push(mk(PORT_OP_NAME, *b as u32, i as u64));
    }
    ms.push(mk(PORT_OP_BEGIN, 0, 10));
    ms.push(mk(PORT_OP_END, 0, 110));
    ms.push(mk(PORT_OP_BEGIN, 1, 120));
    ms.push(mk(PORT_OP_END, 1, 150));
    ms.push(mk(2, 1, 200));
    let image = Image { entry: 0, segments: vec![], sections: vec![], symbols: vec![] };
    let inp = Inputs { image: &image, model: None, clock_mhz: 100.0, markers: &ms, calls: &[], parents: &[], entries: &[] };
    let a = attribute(ProfileMode::Auto, &inp).unwrap();
    assert_eq!(a.summary.source, "markers");
    assert_eq!(a.rows.len(), 2);
    assert_eq!((a.rows[0].op.as_str(), a.rows[0].cycles, a.rows[1].cycles), ("CONV_2D", 100, 30));
    assert_eq!((a.summary.inference_cycles, a.summary.overhead_cycles), (200, 70));
    assert!((a.rows[0].share - 0.5).abs() < 1e-9);
    assert!((a.rows[0].latency_us - 1.0).abs() < 1e-9);
}
