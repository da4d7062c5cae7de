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

#[test]
fn roles_come_from_names() {
    let r = |raw: &str, name: &str| role_of(raw, name);
    let invoke = r("_ZN6tflite16MicroInterpreter6InvokeEv", TFLM_INVOKE);
    assert!(invoke.interpreter_invoke && invoke.op_loop);
    // The operator loops of 2021 and 2023 on.
    assert!(r("_ZN6tflite10MicroGraph14InvokeSubgraphEi", "tflite::MicroGraph::InvokeSubgraph(int)").op_loop);
    assert!(r("_ZN6tflite21MicroInterpreterGraph14InvokeSubgraphEi", "tflite::MicroInterpreterGraph::InvokeSubgraph(int)").op_loop);
    assert!(!r("_ZN3foo14InvokeSubgraphEi", "foo::InvokeSubgraph(int)").op_loop);
    // Kernels a bundle entry calls; instrumentation callbacks are not kernels.
    assert!(r("libjit_fc_i8_i32", "libjit_fc_i8_i32").kernel);
    assert!(!r("arm_convolve_s8", "arm_convolve_s8").kernel);
    let before = r("glow_instrument_before", "glow_instrument_before");
    assert_eq!((before.kernel, before.instrument), (false, Some(Instrument::Before)));
    assert_eq!(r("libjit_instrument_after", "libjit_instrument_after").instrument, Some(Instrument::After));
    // An indirect call from the loop to a virtual method is not an operator; one to a
    // kernel (C++ with the kernel's parameters, or a C function) is.
    let reset = r("_ZN6tflite14MicroAllocator20ResetTempAllocationsEv", "tflite::MicroAllocator::ResetTempAllocations()");
    assert!(reset.not_an_operator);
    let eval = r("_ZN6tflite12_GLOBAL__N_14EvalEP13TfLiteContextP10TfLiteNode", "tflite::(anonymous namespace)::Eval(TfLiteContext*, TfLiteNode*)");
    assert!(!eval.not_an_operator);
    assert!(!r("_Zx", "tflite::Eval(TfLiteContext*, TfLiteNode*) [clone .constprop.0]").not_an_operator);
    assert!(!r("my_c_kernel", "my_c_kernel").not_an_operator);
    // An interrupt taken inside the loop enters its handler like an indirect call.
    assert!(r("SysTick_Handler", "SysTick_Handler").not_an_operator && r("LPUART1_IRQHandler", "LPUART1_IRQHandler").not_an_operator);
    assert!(invoke.records(&eval, true) && !invoke.records(&reset, true) && !invoke.records(&eval, false));
}

fn call(callee: &str, role: FuncRole, caller: &str, caller_role: FuncRole, chain: u64, span: (u64, u64, u64)) -> RecordedCall {
    RecordedCall {
        callee: callee.into(),
        callee_role: role,
        caller: caller.into(),
        caller_role,
        indirect: caller_role.op_loop,
        start: span.0,
        end: span.1,
        window_end: span.2,
        caller_serial: chain,
        depth: 2,
        args: None,
        breakdown: vec![
            PathTime { path: vec![caller.into(), callee.into()], cycles: span.1 - span.0, calls: 1 },
            PathTime { path: vec![caller.into()], cycles: span.2 - span.1, calls: 0 },
        ],
    }
}

fn span(serial: u64, name: &str, start: u64, end: u64) -> ParentSpan {
    ParentSpan { serial, name: name.into(), start, end }
}

fn kws_model() -> tflite::Model {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/models/kws_ref_model.tflite");
    tflite::parse(&std::fs::read(path).unwrap()).unwrap()
}

fn image() -> Image {
    Image { entry: 0, segments: vec![], sections: vec![], symbols: vec![] }
}

#[test]
fn a_loop_run_inside_an_operator_belongs_to_it() {
    // Invoke (10..100) runs the loop (chain 1): operator 0 (20..60) re-enters the loop
    // (chain 2) for one nested dispatch (30..40); operator 1 runs 60..90.
    let lp = role_of("_ZN6tflite21MicroInterpreterGraph14InvokeSubgraphEi", "tflite::MicroInterpreterGraph::InvokeSubgraph(int)");
    let g = "tflite::MicroInterpreterGraph::InvokeSubgraph(int)";
    let calls = vec![
        call("CallOnceEval", FuncRole::default(), g, lp, 1, (20, 55, 60)),
        call("ReshapeEval", FuncRole::default(), g, lp, 2, (30, 40, 45)),
        call("ConvEval", FuncRole::default(), g, lp, 1, (60, 90, 95)),
    ];
    let parents = [span(1, g, 10, 95), span(2, g, 25, 45)];
    let entries = [span(1, TFLM_INVOKE, 10, 100)];
    let img = image();
    let inp = Inputs { image: &img, model: None, clock_mhz: 100.0, markers: &[], calls: &calls, parents: &parents, entries: &entries };
    let a = attribute(ProfileMode::Auto, &inp).unwrap();
    assert_eq!(a.summary.source, "tflm");
    assert_eq!(a.rows.iter().map(|r| (r.index, r.cycles, r.kernel.as_deref())).collect::<Vec<_>>(), [(0, 40, Some("CallOnceEval")), (1, 35, Some("ConvEval"))]);
    // Invoke from call to return; its overhead is before the first dispatch and after the loop.
    assert_eq!((a.summary.inference_cycles, a.summary.overhead_cycles, a.summary.inferences), (90, 15, 1));
    assert!(a.summary.notes.iter().any(|n| n.starts_with("operator 0 (UNKNOWN) ran 1 operator(s) of another subgraph")), "{:?}", a.summary.notes);
    // The breakdown: the kernel's call, then the loop's own code up to the next dispatch.
    assert_eq!(a.rows[0].kernels.iter().map(|k| (k.function.as_str(), k.cycles)).collect::<Vec<_>>(), [("CallOnceEval", 35), (g, 5)]);
}

#[test]
fn glow_calls_align_with_aliases_and_an_inlined_kernel() {
    // kws (0..1000) calls 9 convolutions, the pool and FC (each 10 cycles, then 2 of kws's
    // own code), SOFTMAX inlined: kws's own code after the FC call (100 cycles).
    let entry = FuncRole::default();
    let mut calls = Vec::new();
    let mut t = 100;
    for k in ["libjit_channelwise_quantized_conv2d_i8_i32"; 9].into_iter().chain(["libjit_avg_pool_i8", "libjit_fc_i8_i32"]) {
        let end = if k == "libjit_fc_i8_i32" { t + 110 } else { t + 12 };
        calls.push(call(k, role_of(k, k), "kws", entry, 7, (t, t + 10, end)));
        t = end;
    }
    let parents = [span(7, "kws", 0, t)];
    let model = kws_model();
    let img = image();
    let inp = Inputs { image: &img, model: Some(&model), clock_mhz: 100.0, markers: &[], calls: &calls, parents: &parents, entries: &[] };
    let a = attribute(ProfileMode::Auto, &inp).unwrap();
    assert_eq!(a.summary.source, "aot");
    let ops: Vec<&str> = a.rows.iter().map(|r| r.op.as_str()).collect();
    assert_eq!(
        ops,
        [
            "CONV_2D",
            "DEPTHWISE_CONV_2D",
            "CONV_2D",
            "DEPTHWISE_CONV_2D",
            "CONV_2D",
            "DEPTHWISE_CONV_2D",
            "CONV_2D",
            "DEPTHWISE_CONV_2D",
            "CONV_2D",
            "AVERAGE_POOL_2D",
            "RESHAPE",
            "FULLY_CONNECTED",
            "SOFTMAX"
        ]
    );
    assert_eq!(a.rows[1].kernel.as_deref(), Some("libjit_channelwise_quantized_conv2d_i8_i32"));
    assert_eq!(a.rows[1].cycles, 12);
    // RESHAPE: a zero-cost alias; FC: its call only; SOFTMAX: kws's code after it.
    assert_eq!((a.rows[10].kernel.clone(), a.rows[10].cycles), (None, 0));
    assert_eq!((a.rows[11].cycles, a.rows[12].cycles, a.rows[12].kernel.clone()), (10, 100, None));
    assert_eq!(a.rows[12].kernels.iter().map(|k| k.path.clone()).collect::<Vec<_>>(), [vec!["kws".to_string()]]);
    assert_eq!(a.summary.overhead_cycles, 100, "kws before its first call");
    assert!(a.summary.notes.iter().any(|n| n.contains("operator 12 (SOFTMAX) has no kernel call: inlined into kws")));
    // The MACs of the model's operator at each position: DEPTHWISE, not CONV, at 1.
    assert_eq!(a.rows[1].macs, Some(72_000));
}

#[test]
fn instrumented_instructions_are_the_operators_and_callbacks_count_apart() {
    let entry = FuncRole::default();
    let b = role_of("libjit_instrument_before", "libjit_instrument_before");
    let af = role_of("libjit_instrument_after", "libjit_instrument_after");
    let fc = role_of("libjit_fc_i8_i32", "libjit_fc_i8_i32");
    // before(0, 55) 10..14, kws 14..16, fc 16..40 (+2 of kws), after(0, 55) 42..46.
    let mut c = vec![
        call("libjit_instrument_before", b, "kws", entry, 3, (10, 14, 16)),
        call("libjit_fc_i8_i32", fc, "kws", entry, 3, (16, 40, 42)),
        call("libjit_instrument_after", af, "kws", entry, 3, (42, 46, 50)),
    ];
    c[0].args = Some([0, 55]);
    c[2].args = Some([0, 55]);
    let parents = [span(3, "kws", 0, 50)];
    let img = image();
    let inp = Inputs { image: &img, model: None, clock_mhz: 100.0, markers: &[], calls: &c, parents: &parents, entries: &[] };
    let a = attribute(ProfileMode::Aot, &inp).unwrap();
    assert_eq!(a.rows.len(), 1);
    let r = &a.rows[0];
    assert_eq!((r.op.as_str(), r.cycles, r.start_cycle), ("libjit_fc_i8_i32", 28, 14));
    assert_eq!(r.instrument, Some(InstrumentIds { id: 0, kind: 55 }));
    assert_eq!(a.summary.instrumentation_cycles, Some(8));
    // 50 = 28 (operator) + 8 (callbacks) + 14 (kws before, between and after).
    assert_eq!((a.summary.inference_cycles, a.summary.overhead_cycles), (50, 14));
    // The kws code between the before callback's return and the kernel call is the operator's.
    assert_eq!(r.kernels.iter().map(|k| (k.function.as_str(), k.cycles)).collect::<Vec<_>>(), [("libjit_fc_i8_i32", 24), ("kws", 4)]);
}

#[test]
fn each_invoke_is_an_inference() {
    // Two Invokes (chains 1 and 3), two dispatches each.
    let lp = role_of("_ZN6tflite16MicroInterpreter6InvokeEv", TFLM_INVOKE);
    let calls = vec![
        call("A", FuncRole::default(), TFLM_INVOKE, lp, 1, (10, 20, 25)),
        call("B", FuncRole::default(), TFLM_INVOKE, lp, 1, (25, 40, 42)),
        call("A", FuncRole::default(), TFLM_INVOKE, lp, 3, (100, 110, 115)),
        call("B", FuncRole::default(), TFLM_INVOKE, lp, 3, (115, 130, 131)),
    ];
    let parents = [span(1, TFLM_INVOKE, 5, 42), span(3, TFLM_INVOKE, 95, 131)];
    let img = image();
    let inp = Inputs { image: &img, model: None, clock_mhz: 100.0, markers: &[], calls: &calls, parents: &parents, entries: &parents };
    let a = attribute(ProfileMode::Tflm, &inp).unwrap();
    assert_eq!(a.summary.inferences, 2);
    assert_eq!(a.rows.iter().map(|r| (r.invocation, r.index, r.cycles)).collect::<Vec<_>>(), [(0, 0, 15), (0, 1, 17), (1, 0, 15), (1, 1, 16)]);
    assert_eq!((a.summary.inference_cycles, a.summary.overhead_cycles), (37 + 36, 10));
}
