//! Unit tests.

use super::*;
use simbench_profiles::profile::OperatorSummary;
use simbench_profiles::report::{BoardInfo, FirmwareInfo, HostInfo, Outcome, TimingInfo};

/// A report with the given operators (op, cycles) and overhead, for unit tests.
pub(crate) fn report(file: &str, board: &str, clock_mhz: f64, ops: &[(&str, u64)], overhead: u64) -> Report {
    let op_sum: u64 = ops.iter().map(|o| o.1).sum();
    let inference = op_sum + overhead;
    let operators: Vec<OperatorRow> = ops
        .iter()
        .enumerate()
        .map(|(i, (op, cycles))| OperatorRow {
            index: i as u32,
            op: op.to_string(),
            kernel: Some(format!("kernel_{}", op.to_lowercase())),
            cycles: *cycles,
            share: *cycles as f64 / inference.max(1) as f64,
            macs: None,
            cycles_per_mac: None,
            latency_us: *cycles as f64 / clock_mhz,
            start_cycle: 0,
            inputs: vec![],
            outputs: vec![],
            invocation: 0,
            kernels: vec![],
            instrument: None,
        })
        .collect();
    let functions: Vec<FunctionStat> = ops
        .iter()
        .map(|(op, cycles)| FunctionStat {
            name: format!("kernel_{}", op.to_lowercase()),
            address: "0x00000000".into(),
            calls: 1,
            inclusive_cycles: *cycles,
            exclusive_cycles: *cycles,
            instructions: *cycles,
        })
        .collect();
    Report {
        schema: simbench_profiles::report::SCHEMA.into(),
        simbench_version: "0.0.0".into(),
        firmware: FirmwareInfo { file: file.into(), bytes: 1, sha256: "00".into(), entry: "0x00000000".into(), initial_sp: "0x20000000".into() },
        board: BoardInfo { name: board.into(), core: "m7".into(), clock_mhz, mapped_for_image: Vec::new() },
        timing: TimingInfo {
            model: "m7-block-v2".into(),
            mode: "detailed".into(),
            description: String::new(),
            icache: None,
            dcache: None,
            branch_predictor: None,
            divides_timed: 0,
            fast_ignores: Vec::new(),
        },
        outcome: Outcome { kind: "exit".into(), exit_status: Some(0), message: None, pc: None, symbol: None },
        instructions: inference,
        cycles: inference + 1000,
        cpi: 1.0,
        latency_us: (inference + 1000) as f64 / clock_mhz,
        regions: vec![],
        instruction_mix: Default::default(),
        markers: vec![],
        markers_dropped: 0,
        unmodelled_registers: vec![],
        exceptions: None,
        configuration: vec![],
        firmware_output: String::new(),
        firmware_output_truncated: false,
        semihosting_notes: Vec::new(),
        profile: Some(OperatorSummary {
            source: "tflm".into(),
            inference_cycles: inference,
            operator_cycles: op_sum,
            overhead_cycles: overhead,
            inferences: 1,
            instrumentation_cycles: None,
            notes: vec![],
        }),
        operators,
        functions,
        call_edges: vec![],
        stacks: vec![],
        memory: None,
        error: None,
        range: None,
        trace: vec![],
        placements: Vec::new(),
        stalls: None,
        host: HostInfo {
            wall_seconds: 0.0,
            simulated_mips: 0.0,
            blocks_decoded: 0,
            block_entries_replayed: 0,
            data_accesses_logged: 0,
            data_accesses_folded: 0,
        },
    }
}

#[test]
fn operators_match_by_index_and_flag_op_differences() {
    let a = report("a.elf", "mimxrt1011", 500.0, &[("CONV_2D", 1000), ("RELU", 100), ("SOFTMAX", 50)], 150);
    let b = report("b.elf", "mimxrt1011", 500.0, &[("CONV_2D", 500), ("ADD", 100)], 0);
    let c = compare(&a, &b);
    assert_eq!(c.basis, "operators");
    assert_eq!(c.operators.len(), 3);
    assert_eq!(c.operators[0].matched, Match::Same);
    assert_eq!(c.operators[0].cycles.ratio, Some(0.5));
    assert_eq!(c.operators[1].matched, Match::OpDiffers);
    assert_eq!(c.operators[2].matched, Match::OnlyA);
    assert_eq!(c.operators[2].cycles.ratio, None);
    assert_eq!(c.totals.inference_cycles.a, Some(1300));
    assert_eq!(c.totals.operator_cycles.a, Some(1150));
    assert_eq!(c.totals.overhead_cycles.a, Some(150));
    assert_eq!(c.totals.inference_cycles.b, Some(600));
    assert!((c.totals.inference_cycles.ratio.unwrap() - 600.0 / 1300.0).abs() < 1e-12);
    // 1300 cycles at 500 MHz = 2.6 µs
    assert!((c.totals.latency_ms.a.unwrap() - 0.0026).abs() < 1e-12);
    assert!((c.totals.inferences_per_second.a.unwrap() - 1e6 / 2.6).abs() < 1e-6);
    let t = text(&c);
    assert!(t.contains("! op differs: B runs ADD"), "{t}");
    assert!(t.contains("! only in A"), "{t}");
    assert!(c.notes.iter().any(|n| n.contains("2 operator row(s)")));
}

#[test]
fn latency_is_at_each_boards_clock() {
    let a = report("a.elf", "lpc55s69", 150.0, &[("CONV_2D", 1500)], 0);
    let b = report("a.elf", "mimxrt1011", 500.0, &[("CONV_2D", 1500)], 0);
    let c = compare(&a, &b);
    assert_eq!(c.totals.inference_cycles.ratio, Some(1.0));
    assert!((c.totals.latency_ms.a.unwrap() - 0.01).abs() < 1e-12);
    assert!((c.totals.latency_ms.b.unwrap() - 0.003).abs() < 1e-12);
    assert!((c.totals.latency_ms.ratio.unwrap() - 0.3).abs() < 1e-12);
    assert!(c.notes.iter().any(|n| n.contains("different boards")));
}

#[test]
fn without_operators_functions_are_compared_by_name() {
    let mut a = report("a.elf", "x", 100.0, &[("CONV_2D", 1000), ("RELU", 10)], 0);
    let mut b = report("b.elf", "x", 100.0, &[("CONV_2D", 2000), ("POOL", 5)], 0);
    a.operators.clear();
    b.operators.clear();
    let c = compare(&a, &b);
    assert_eq!(c.basis, "functions");
    let names: Vec<&str> = c.functions.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["kernel_conv_2d", "kernel_relu", "kernel_pool"]);
    assert_eq!(c.functions[0].exclusive_cycles.ratio, Some(2.0));
    assert_eq!(c.functions[1].exclusive_cycles.b, None);
    assert_eq!(c.totals.operator_cycles.a, None);
    // Many functions: only the top 30.
    a.functions = (0..50)
        .map(|i| FunctionStat { name: format!("f{i:02}"), address: "0x0".into(), calls: 1, inclusive_cycles: i, exclusive_cycles: i, instructions: i })
        .collect();
    let c = compare(&a, &b);
    assert_eq!(c.functions.len(), TOP_FUNCTIONS);
    assert_eq!(c.functions[0].name, "kernel_conv_2d");
    assert_eq!(c.functions[1].name, "f49");
}

#[test]
fn no_profile_compares_whole_runs() {
    let mut a = report("a.elf", "x", 100.0, &[], 0);
    a.profile = None;
    a.functions.clear();
    let b = a.clone();
    let c = compare(&a, &b);
    assert_eq!(c.basis, "totals");
    assert_eq!(c.totals.inference_cycles.a, Some(a.cycles));
    assert!(c.notes.iter().any(|n| n.contains("no inference profile")));
}

#[test]
fn csv_quotes_names_and_output_is_deterministic() {
    let a = report("a.elf", "x", 100.0, &[("CONV_2D", 1000)], 10);
    let mut b = a.clone();
    b.operators[0].kernel = Some("f(int, char)".into());
    b.host.wall_seconds = 99.0;
    let c = compare(&a, &b);
    let out = csv(&c);
    assert!(out.contains("\"f(int, char)\""), "{out}");
    assert!(out.lines().all(|l| l.split(',').count() >= 11), "{out}");
    let mut b2 = b.clone();
    b2.host.wall_seconds = 1.0;
    assert_eq!(render(&c, CompareFormat::Json), render(&compare(&a, &b2), CompareFormat::Json));
    assert_eq!(text(&c), text(&compare(&a, &b2)));
}
