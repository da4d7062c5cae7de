//! The calibration suite (fixtures/calib): every microbenchmark's simulated cost per body
//! must lie within the tolerance of the number its manifest entry cites (Arm TRM rows,
//! silicon measurements; see fixtures/calib/README.md). The expected numbers come from
//! the documents, not from simbench.

mod common;

use common::{root, simbench};
use simbench::commands::calibrate::{run_manifest, DEFAULT_MANIFESTS};
use simbench_cores::Fidelity;

#[test]
fn every_benchmark_matches_its_documented_cycles_in_detailed_mode() {
    let mut checked = 0;
    let mut outside = Vec::new();
    for m in DEFAULT_MANIFESTS {
        let path = root().join(m);
        if !path.exists() {
            continue;
        }
        for r in run_manifest(&path, Fidelity::Detailed).expect("calibration firmware runs") {
            match r.within_tolerance {
                Some(true) => checked += 1,
                Some(false) => outside.push(format!(
                    "{} on {} ({}): simulated {:.2}, expected {:.2} ± {:.2} [{}]",
                    r.benchmark,
                    r.core,
                    r.board,
                    r.simulated,
                    r.expected.unwrap_or(0.0),
                    r.tolerance.unwrap_or(0.0),
                    r.source.unwrap_or_default()
                )),
                None => {}
            }
        }
    }
    assert!(outside.is_empty(), "outside tolerance:\n{}", outside.join("\n"));
    // 40 core benchmarks × 3 cores, minus the cells no document covers.
    assert!(checked >= 110, "only {checked} benchmarks had a reference");
}

#[test]
fn firmware_dwt_counts_equal_the_simulated_marker_intervals() {
    // The firmware prints `calib <name> <cycles for R bodies>` from DWT CYCCNT; that must
    // be what simbench's markers say (the same number through two paths).
    for core in ["m4", "m33", "m7"] {
        let elf = root().join(format!("fixtures/calib/calib_{core}.elf"));
        let run = simbench([elf.to_str().unwrap(), "--core", core, "--format", "json", "--quiet"]);
        assert_eq!(run.code, 0, "{core}: {}", run.stderr);
        let report = run.json();
        let markers = report["markers"].as_array().unwrap();
        let at = |port: u64, id: u64| markers.iter().find(|m| m["port"] == port && m["value"] == id).map(|m| m["cycles"].as_i64().unwrap());
        let output = report["firmware_output"].as_str().unwrap();
        let mut seen = 0;
        for (k, line) in output.lines().filter(|l| l.starts_with("calib ")).enumerate() {
            let printed: i64 = line.rsplit(' ').next().unwrap().parse().unwrap();
            let id = (k + 1) as u64;
            let once = at(2, 2 * id).unwrap() - at(1, 2 * id).unwrap();
            let twice = at(2, 2 * id + 1).unwrap() - at(1, 2 * id + 1).unwrap();
            assert_eq!(printed, twice - once, "{core}: {line}");
            seen += 1;
        }
        assert!(seen >= 40, "{core}: only {seen} calib lines");
    }
}

#[test]
fn divide_cost_depends_on_operands_only_in_detailed_mode() {
    // [TR §1.1] M4 SDIV 2–12 cycles with early termination: 7/3 is quick and
    // 0x7fffffff/3 slow in detailed timing; fast timing charges the static midpoint (7).
    let manifest = root().join("fixtures/calib/manifest.json");
    let cost = |fidelity, name: &str| run_manifest(&manifest, fidelity).unwrap().into_iter().find(|r| r.core == "m4" && r.benchmark == name).unwrap().simulated;
    assert_eq!(cost(Fidelity::Detailed, "sdiv_small"), 3.0);
    assert_eq!(cost(Fidelity::Detailed, "sdiv_large"), 12.0);
    assert_eq!(cost(Fidelity::Fast, "sdiv_small"), 7.0);
    assert_eq!(cost(Fidelity::Fast, "sdiv_large"), 7.0);
}

#[test]
fn calibrate_command_prints_the_table() {
    let run = simbench(["calibrate", root().join("fixtures/calib/manifest.json").to_str().unwrap(), "--strict"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("sdiv_large"), "{}", run.stdout);
    assert!(run.stdout.contains("within tolerance"), "{}", run.stdout);
    let bad = simbench(["calibrate", "/nonexistent/manifest.json"]);
    assert_eq!(bad.code, 3, "{}", bad.stderr);
}
