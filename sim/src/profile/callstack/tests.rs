//! The call stack as the machine drives it: calls, returns, tail calls, recorded calls
//! and their windows.

use super::*;
use simbench_profiles::profile::CallEdge;

/// One block entry as the machine does it: the transfer, then the block's count.
fn step(p: &mut Profiler, to: u32, exit: Exit, fall_through: u32, callee: Option<u32>, now: u64, instructions: u64) {
    p.transfer(to, exit, fall_through, callee, now);
    p.block(instructions, 0);
}

fn info(name: &str) -> FuncInfo {
    FuncInfo { name: name.into(), role: FuncRole::default(), anonymous: false }
}

#[test]
fn calls_returns_and_exclusive_cycles() {
    // main (0x100) runs 10 cycles, calls f (0x200) at 10, f runs until 25 and returns
    // to 0x104, main runs until 30.
    let mut p = Profiler::new(0x100, info("main"), 0);
    let f = p.func_id(0x200, || info("f"));
    step(&mut p, 0x200, Exit::Call { indirect: false }, 0x104, Some(f), 10, 3);
    step(&mut p, 0x104, Exit::Return, 0, None, 25, 2);
    p.finish(30);
    let fs = p.functions();
    let get = |n: &str| fs.iter().find(|x| x.name == n).unwrap().clone();
    assert_eq!((get("f").inclusive_cycles, get("f").exclusive_cycles, get("f").calls, get("f").instructions), (15, 15, 1, 3));
    assert_eq!((get("main").inclusive_cycles, get("main").exclusive_cycles), (30, 15));
    assert_eq!(p.call_edges(), vec![CallEdge { caller: "main".into(), callee: "f".into(), calls: 1, cycles: 15 }]);
    let st = p.stacks();
    assert_eq!(st.iter().map(|s| s.exclusive_cycles).sum::<u64>(), 30);
    assert!(st.iter().any(|s| s.stack == ["main", "f"] && s.exclusive_cycles == 15));
}

#[test]
fn recursion_counts_inclusive_once_and_tail_calls_take_over_the_frame() {
    let mut p = Profiler::new(0x100, info("main"), 0);
    let r = p.func_id(0x300, || info("rec"));
    let t = p.func_id(0x400, || info("tail"));
    step(&mut p, 0x300, Exit::Call { indirect: false }, 0x104, Some(r), 0, 1);
    step(&mut p, 0x300, Exit::Call { indirect: false }, 0x310, Some(r), 5, 1);
    step(&mut p, 0x310, Exit::Return, 0, None, 9, 1);
    // rec tail-calls `tail` (B to its entry); `tail` returns straight to main.
    step(&mut p, 0x400, Exit::Jump, 0, Some(t), 12, 1);
    step(&mut p, 0x104, Exit::Return, 0, None, 20, 1);
    p.finish(20);
    let fs = p.functions();
    let get = |n: &str| fs.iter().find(|x| x.name == n).unwrap().clone();
    assert_eq!((get("rec").calls, get("rec").inclusive_cycles), (2, 12));
    assert_eq!((get("tail").calls, get("tail").inclusive_cycles), (1, 8));
    assert_eq!(get("main").exclusive_cycles, 0);
}

#[test]
fn indirect_calls_from_invoke_and_kernel_calls_are_recorded() {
    let mut p = Profiler::new(0x100, info("main"), 0);
    let inv = p.func_id(0x500, || FuncInfo {
        name: "tflite::MicroInterpreter::Invoke()".into(),
        role: FuncRole { interpreter_invoke: true, op_loop: true, ..FuncRole::default() },
        anonymous: false,
    });
    let k = p.func_id(0x600, || info("Eval"));
    let h = p.func_id(0x700, || info("helper"));
    step(&mut p, 0x500, Exit::Call { indirect: false }, 0x104, Some(inv), 10, 1);
    step(&mut p, 0x700, Exit::Call { indirect: false }, 0x504, Some(h), 11, 1); // direct: not an op
    step(&mut p, 0x504, Exit::Return, 0, None, 12, 1);
    step(&mut p, 0x600, Exit::Call { indirect: true }, 0x508, Some(k), 13, 1);
    step(&mut p, 0x508, Exit::Return, 0, None, 40, 1);
    step(&mut p, 0x104, Exit::Return, 0, None, 45, 1);
    p.finish(50);
    let calls = p.recorded_calls();
    assert_eq!(calls.len(), 1);
    assert_eq!((calls[0].callee.as_str(), calls[0].start, calls[0].end), ("Eval", 13, 40));
    assert_eq!(p.parent_spans()[0].start, 10);
    assert_eq!(p.parent_spans()[0].end, 45);
}

fn role(name: &str, role: FuncRole) -> FuncInfo {
    FuncInfo { name: name.into(), role, anonymous: false }
}

const KERNEL: FuncRole = FuncRole { interpreter_invoke: false, op_loop: false, kernel: true, instrument: None, not_an_operator: false };
const LOOP: FuncRole = FuncRole { interpreter_invoke: false, op_loop: true, kernel: false, instrument: None, not_an_operator: false };

fn paths(c: &RecordedCall) -> Vec<(String, u64)> {
    c.breakdown.iter().map(|p| (p.path.join(">"), p.cycles)).collect()
}

#[test]
fn a_kernel_call_lasts_through_the_worker_it_tail_calls() {
    // A Glow-shaped entry `kws` (0x200) calls the kernel wrapper `conv` (0x300) at 10; the
    // wrapper tail-calls (B) the worker (0x400) at 12; the worker calls a helper at 20
    // that returns at 30; the worker returns straight to kws at 50; kws calls `fc` at 60,
    // which returns at 70; kws returns at 75.
    let mut p = Profiler::new(0x100, info("main"), 0);
    let kws = p.func_id(0x200, || info("kws"));
    let conv = p.func_id(0x300, || role("conv", KERNEL));
    let worker = p.func_id(0x400, || info("worker<int>(int)"));
    let helper = p.func_id(0x500, || info("helper"));
    let fc = p.func_id(0x600, || role("fc", KERNEL));
    step(&mut p, 0x200, Exit::Call { indirect: false }, 0x104, Some(kws), 5, 1);
    step(&mut p, 0x300, Exit::Call { indirect: false }, 0x204, Some(conv), 10, 1);
    step(&mut p, 0x400, Exit::Jump, 0, Some(worker), 12, 1);
    step(&mut p, 0x500, Exit::Call { indirect: false }, 0x404, Some(helper), 20, 1);
    step(&mut p, 0x404, Exit::Return, 0, None, 30, 1);
    step(&mut p, 0x204, Exit::Return, 0, None, 50, 1);
    step(&mut p, 0x600, Exit::Call { indirect: false }, 0x208, Some(fc), 60, 1);
    step(&mut p, 0x208, Exit::Return, 0, None, 70, 1);
    step(&mut p, 0x104, Exit::Return, 0, None, 75, 1);
    p.finish(80);
    let c = p.recorded_calls();
    assert_eq!(c.len(), 2);
    // The call ends when control is back in kws, not at the tail call.
    assert_eq!((c[0].callee.as_str(), c[0].start, c[0].end, c[0].window_end), ("conv", 10, 50, 60));
    assert_eq!((c[1].callee.as_str(), c[1].start, c[1].end, c[1].window_end), ("fc", 60, 70, 75));
    assert_eq!(c[0].caller, "kws");
    // The breakdown puts the worker below the wrapper it replaced, and kws's own code
    // after the return (50..60) at the root.
    assert_eq!(
        paths(&c[0]),
        vec![("kws>conv>worker<int>(int)".into(), 28), ("kws".into(), 10), ("kws>conv>worker<int>(int)>helper".into(), 10), ("kws>conv".into(), 2)]
    );
    assert_eq!(c[0].breakdown.iter().map(|p| p.cycles).sum::<u64>(), c[0].window_end - c[0].start);
    assert_eq!(paths(&c[1]), vec![("kws>fc".into(), 10), ("kws".into(), 5)]);
    // The entry's span, for the inference.
    assert_eq!(p.parent_spans(), &[ParentSpan { serial: c[0].caller_serial, name: "kws".into(), start: 5, end: 75 }]);
    // The function profile still sees the tail call as the worker replacing the wrapper.
    let fs = p.functions();
    let get = |n: &str| fs.iter().find(|x| x.name == n).unwrap().clone();
    assert_eq!((get("conv").inclusive_cycles, get("worker<int>(int)").inclusive_cycles), (2, 38));
}

#[test]
fn a_tail_called_operator_loop_dispatches_within_invoke() {
    // TFLM 2021 at -O3: Invoke (0x200) tail-calls InvokeSubgraph (0x300), whose indirect
    // calls are the operators; a direct call (ResetTempAllocations) after each is loop code.
    let mut p = Profiler::new(0x100, info("main"), 0);
    let invoke = p.func_id(0x200, || role("tflite::MicroInterpreter::Invoke()", FuncRole { interpreter_invoke: true, ..LOOP }));
    let graph = p.func_id(0x300, || role("tflite::MicroGraph::InvokeSubgraph(int)", LOOP));
    let eval = p.func_id(0x400, || info("Eval"));
    let reset = p.func_id(0x500, || info("Reset"));
    step(&mut p, 0x200, Exit::Call { indirect: false }, 0x104, Some(invoke), 10, 1);
    step(&mut p, 0x300, Exit::Jump, 0, Some(graph), 14, 1);
    step(&mut p, 0x400, Exit::Call { indirect: true }, 0x304, Some(eval), 20, 1);
    step(&mut p, 0x304, Exit::Return, 0, None, 100, 1);
    step(&mut p, 0x500, Exit::Call { indirect: false }, 0x308, Some(reset), 102, 1);
    step(&mut p, 0x308, Exit::Return, 0, None, 105, 1);
    step(&mut p, 0x400, Exit::Call { indirect: true }, 0x304, Some(eval), 110, 1);
    step(&mut p, 0x304, Exit::Return, 0, None, 150, 1);
    step(&mut p, 0x104, Exit::Return, 0, None, 160, 1);
    p.finish(170);
    let c = p.recorded_calls();
    assert_eq!(c.len(), 2, "the direct call to Reset is not a dispatch");
    assert_eq!((c[0].start, c[0].end, c[0].window_end, c[1].start, c[1].window_end), (20, 100, 110, 110, 160));
    assert_eq!(c[0].caller, "tflite::MicroGraph::InvokeSubgraph(int)");
    assert_eq!(c[0].caller_serial, c[1].caller_serial);
    assert_eq!(
        paths(&c[0]),
        vec![
            ("tflite::MicroGraph::InvokeSubgraph(int)>Eval".into(), 80),
            ("tflite::MicroGraph::InvokeSubgraph(int)".into(), 7),
            ("tflite::MicroGraph::InvokeSubgraph(int)>Reset".into(), 3)
        ]
    );
    // The loop's chain began with Invoke's call; Invoke's span follows the tail call.
    assert_eq!((p.parent_spans()[0].start, p.parent_spans()[0].end), (10, 160));
    assert_eq!(p.entry_spans(), &[ParentSpan { serial: c[0].caller_serial, name: "tflite::MicroInterpreter::Invoke()".into(), start: 10, end: 160 }]);
}

#[test]
fn instrumentation_callbacks_get_their_arguments_and_kernels_inside_kernels_are_not_recorded() {
    let mut p = Profiler::new(0x100, info("main"), 0);
    let kws = p.func_id(0x200, || info("kws"));
    let before = p.func_id(0x300, || role("libjit_instrument_before", FuncRole { instrument: Some(Instrument::Before), ..FuncRole::default() }));
    let cb = p.func_id(0x350, || role("glow_instrument_before", FuncRole { instrument: Some(Instrument::Before), ..FuncRole::default() }));
    let conv = p.func_id(0x400, || role("conv", KERNEL));
    let inner = p.func_id(0x500, || role("libjit_inner", KERNEL));
    step(&mut p, 0x200, Exit::Call { indirect: false }, 0x104, Some(kws), 1, 1);
    assert!(!p.wants_args());
    step(&mut p, 0x300, Exit::Call { indirect: false }, 0x204, Some(before), 10, 1);
    assert!(p.wants_args());
    p.set_args(7, 36);
    assert!(!p.wants_args());
    // The thunk's own call of the application's callback is not recorded again.
    step(&mut p, 0x350, Exit::Call { indirect: false }, 0x304, Some(cb), 12, 1);
    assert!(!p.wants_args());
    step(&mut p, 0x304, Exit::Return, 0, None, 14, 1);
    step(&mut p, 0x204, Exit::Return, 0, None, 16, 1);
    step(&mut p, 0x400, Exit::Call { indirect: false }, 0x208, Some(conv), 20, 1);
    step(&mut p, 0x500, Exit::Call { indirect: false }, 0x404, Some(inner), 22, 1);
    step(&mut p, 0x404, Exit::Return, 0, None, 30, 1);
    step(&mut p, 0x208, Exit::Return, 0, None, 40, 1);
    step(&mut p, 0x104, Exit::Return, 0, None, 45, 1);
    p.finish(50);
    let c = p.recorded_calls();
    assert_eq!(c.iter().map(|c| c.callee.as_str()).collect::<Vec<_>>(), ["libjit_instrument_before", "conv"]);
    assert_eq!((c[0].args, c[1].args), (Some([7, 36]), None));
    assert_eq!((c[0].end, c[0].window_end), (16, 20));
}

#[test]
fn an_entry_that_tail_calls_its_last_kernel_still_records_it() {
    // kws calls conv (10..20), then ends with `b fc` at 25; fc returns to main at 40.
    let mut p = Profiler::new(0x100, info("main"), 0);
    let kws = p.func_id(0x200, || info("kws"));
    let conv = p.func_id(0x300, || role("conv", KERNEL));
    let fc = p.func_id(0x600, || role("fc", KERNEL));
    step(&mut p, 0x200, Exit::Call { indirect: false }, 0x104, Some(kws), 5, 1);
    step(&mut p, 0x300, Exit::Call { indirect: false }, 0x204, Some(conv), 10, 1);
    step(&mut p, 0x204, Exit::Return, 0, None, 20, 1);
    step(&mut p, 0x600, Exit::Jump, 0, Some(fc), 25, 1);
    step(&mut p, 0x104, Exit::Return, 0, None, 40, 1);
    p.finish(45);
    let c = p.recorded_calls();
    assert_eq!(c.iter().map(|c| (c.callee.as_str(), c.start, c.end, c.window_end)).collect::<Vec<_>>(), [("conv", 10, 20, 25), ("fc", 25, 40, 40)]);
    assert_eq!(c[0].caller_serial, c[1].caller_serial);
    assert_eq!(paths(&c[1]), vec![("kws>fc".into(), 15)]);
    assert_eq!((p.parent_spans()[0].start, p.parent_spans()[0].end), (5, 40));
}

#[test]
fn code_without_symbols_is_named_by_the_range_it_ran() {
    let mut p = Profiler::new(0x100, info("main"), 0);
    let anon = p.func_id(0x800, || FuncInfo { name: "0x00000800".into(), role: FuncRole::default(), anonymous: true });
    p.transfer(0x800, Exit::Call { indirect: false }, 0x104, Some(anon), 1);
    p.block(1, 0x810);
    p.block(1, 0x83a);
    step(&mut p, 0x104, Exit::Return, 0, None, 3, 1);
    p.finish(4);
    assert!(p.functions().iter().any(|f| f.name == "0x00000800-0x0000083a" && f.calls == 1));
    assert!(p.call_edges().iter().any(|e| e.callee == "0x00000800-0x0000083a"));
}
