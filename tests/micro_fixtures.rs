//! The micro fixtures run to completion on every core, compute the host-expected
//! results, and the cycles they measure with DWT CYCCNT equal simbench's own count.

mod common;
use common::*;

const CORES: [&str; 3] = ["m4", "m33", "m7"];
const KERNELS: [&str; 4] = ["dot", "memcpy", "smlad", "float"];

/// Parse "<name>: result=<r> cycles=<n>".
fn kernel_line(output: &str, name: &str) -> (String, u64) {
    let line = output.lines().find(|l| l.starts_with(&format!("{name}: "))).unwrap_or_else(|| panic!("no '{name}:' line in {output:?}"));
    let field = |k: &str| line.split_whitespace().find_map(|w| w.strip_prefix(k)).unwrap_or_else(|| panic!("no {k} in {line}")).to_string();
    (field("result="), field("cycles=").parse().unwrap())
}

#[test]
fn kernels_compute_host_expected_results_on_every_core() {
    // fixtures/micro/expected.json comes from fixtures/micro/expected.py on the host.
    let expected: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(fixture("micro/expected.json")).unwrap()).unwrap();
    for core in CORES {
        for k in KERNELS {
            let run = run_json(&fixture(&format!("micro/{k}_{core}.elf")), core, &[]);
            assert_eq!(run.code, 0, "{k} on {core}: {}", run.stderr);
            let report = run.json();
            assert_eq!(report["outcome"]["kind"], "exit");
            assert_eq!(report["outcome"]["exit_status"], 0);
            let (result, _) = kernel_line(report["firmware_output"].as_str().unwrap(), k);
            assert_eq!(result, expected[k].as_str().unwrap(), "{k} on {core}");
            // In JSON mode firmware output is echoed on stderr, keeping stdout pure JSON.
            assert!(run.stderr.contains(&format!("{k}: result=")));
        }
    }
}

#[test]
fn dwt_cyccnt_is_wired_to_the_modelled_cycle_count() {
    // Each kernel is bracketed by sb_measure_begin/end: `isb; ldr CYCCNT; str ITM port`
    // (runtime/simbench.h). The marker stamps come from the ITM write hook, CYCCNT from
    // the DWT read: both sequences are identical, so the two intervals must be equal.
    for core in CORES {
        for k in KERNELS {
            let run = run_json(&fixture(&format!("micro/{k}_{core}.elf")), core, &[]);
            let report = run.json();
            let (_, dwt) = kernel_line(report["firmware_output"].as_str().unwrap(), k);
            let markers = report["markers"].as_array().unwrap();
            let begin = markers.iter().find(|m| m["port"] == 1).expect("begin marker");
            let end = markers.iter().find(|m| m["port"] == 2).expect("end marker");
            let modelled = end["cycles"].as_u64().unwrap() - begin["cycles"].as_u64().unwrap();
            assert_eq!(dwt, modelled, "{k} on {core}");
            // The interval is real work, not zero: at least one cycle per element (the
            // smallest kernel, smlad, has 512 pairs; the M7 issues at most 2 per cycle).
            assert!(dwt > 500, "{k} on {core}: {dwt}");
        }
    }
}

#[test]
fn cores_differ_the_way_their_pipelines_do() {
    // Same C kernel, three cores: the dual-issue M7 needs fewer cycles than the M33, whose
    // single-cycle loads beat the M4's two-cycle loads [timing-references §1.1, §2, §3].
    for k in KERNELS {
        let cycles: Vec<u64> = CORES
            .iter()
            .map(|c| {
                let r = run_json(&fixture(&format!("micro/{k}_{c}.elf")), c, &[]).json();
                kernel_line(r["firmware_output"].as_str().unwrap(), k).1
            })
            .collect();
        assert!(cycles[2] < cycles[1] && cycles[1] < cycles[0], "{k}: m4/m33/m7 = {cycles:?}");
    }
}

#[test]
fn two_runs_give_identical_reports_outside_host() {
    for core in CORES {
        let elf = fixture(&format!("micro/syscalls_{core}.elf"));
        let a = run_json(&elf, core, &[]);
        let b = run_json(&elf, core, &[]);
        assert_eq!(a.code, 0);
        let (ja, jb) = (without_host(a.json()), without_host(b.json()));
        assert_eq!(serde_json::to_string(&ja).unwrap(), serde_json::to_string(&jb).unwrap());
        assert!(ja["cycles"].as_u64().unwrap() > 0);
    }
}

#[test]
fn dot_bench_sums_its_repetitions() {
    // 4000 calls alternating n = 1024 and 1023; expected sum from expected.py.
    let expected: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(fixture("micro/expected.json")).unwrap()).unwrap();
    let run = run_json(&fixture("micro/dot_bench_m4.elf"), "m4", &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let r = run.json();
    let (result, dwt) = kernel_line(r["firmware_output"].as_str().unwrap(), "dot_bench");
    assert_eq!(result, expected["dot_bench"].as_str().unwrap());
    let m = r["markers"].as_array().unwrap();
    assert_eq!(dwt, m[1]["cycles"].as_u64().unwrap() - m[0]["cycles"].as_u64().unwrap());
    assert!(r["instructions"].as_u64().unwrap() > 10_000_000);
}
