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

#[test]
fn stm32_flash_paths_cost_what_their_manifest_says_and_fast_mode_charges_a_disabled_icache() {
    // fixtures/calib/memory_stm32.json: every cell of the STM32L4R5 ART settings and the
    // STM32L552 ICACHE off/on is checked in detailed mode by the test above; here the
    // figures that show each mechanism, with their hand counts (the manifest's sources).
    let manifest = root().join("fixtures/calib/memory_stm32.json");
    let rows = |fidelity| run_manifest(&manifest, fidelity).expect("memory_stm32 firmware runs");
    let cost =
        |rows: &[simbench::commands::calibrate::Row], name: &str| rows.iter().find(|r| r.benchmark == name).unwrap_or_else(|| panic!("{name}")).simulated;
    let detailed = rows(Fidelity::Detailed);
    // Two-word loop, 9 cycles of work: off 9 + 2 × 5; prefetch 9 + 5 + 2; I-cache 9;
    // D-cache as off; all 9 + 2 (the second word streams from the prefetch).
    let loops: Vec<f64> = ["none", "prefetch", "icache", "dcache", "all"].iter().map(|c| cost(&detailed, &format!("art_loop_{c}"))).collect();
    assert_eq!(loops, vec![19.0, 16.0, 9.0, 19.0, 11.0]);
    // Load loop, 6 cycles of work: fetch 5 / data 5 by setting.
    let loads: Vec<f64> = ["none", "prefetch", "icache", "dcache", "all"].iter().map(|c| cost(&detailed, &format!("art_load_{c}"))).collect();
    assert_eq!(loads, vec![16.0, 16.0, 11.0, 11.0, 6.0]);
    // No capacity cliff with the preset's ART: 382 / 64 words and ~1726 / 288 words are
    // both ~6 cycles per word (4 of work + 2 of prefetch stall).
    assert_eq!(cost(&detailed, "art_loop_512b_all"), 382.0);
    assert!((cost(&detailed, "art_loop_2304b_all") - 1726.0).abs() <= 4.0);
    // L552: ICACHE off at reset 19 / 15, on 9 / 5 (the data word is cached too).
    let l5: Vec<f64> = ["icache_loop_off", "icache_load_off", "icache_loop_on", "icache_load_on"].iter().map(|n| cost(&detailed, n)).collect();
    assert_eq!(l5, vec![19.0, 15.0, 9.0, 5.0]);
    // Fast mode charges the wait states of a disabled ICACHE (and of ART parts that are
    // off) as detailed mode does: before, the off cells came out 9 and 10.
    let fast = rows(Fidelity::Fast);
    let l5_fast: Vec<f64> = ["icache_loop_off", "icache_load_off", "icache_loop_on", "icache_load_on"].iter().map(|n| cost(&fast, n)).collect();
    assert_eq!(l5_fast, vec![19.0, 15.0, 9.0, 5.0]);
    assert_eq!((cost(&fast, "art_loop_none"), cost(&fast, "art_load_none"), cost(&fast, "art_load_dcache")), (19.0, 16.0, 11.0));
}

#[test]
fn stm32_flash_firmware_reports_its_settings_and_dwt_agrees_with_the_markers() {
    for (elf, board, setting) in [("memory_stm32l4r5", "stm32l4r5", "flash prefetch off"), ("memory_stm32l552", "stm32l552", "cache on")] {
        let path = root().join(format!("fixtures/calib/{elf}.elf"));
        let run = simbench([path.to_str().unwrap(), "--board", board, "--format", "json", "--quiet"]);
        assert_eq!(run.code, 0, "{elf}: {}", run.stderr);
        let report = run.json();
        let settings: Vec<&str> = report["configuration"].as_array().unwrap().iter().map(|c| c["setting"].as_str().unwrap()).collect();
        assert!(settings.contains(&setting), "{elf}: {settings:?}");
        let markers = report["markers"].as_array().unwrap();
        let at = |port: u64, id: u64| markers.iter().find(|m| m["port"] == port && m["value"] == id).map(|m| m["cycles"].as_i64().unwrap());
        let output = report["firmware_output"].as_str().unwrap();
        let manifest: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(root().join("fixtures/calib/memory_stm32.json")).unwrap()).unwrap();
        let id_of = |name: &str| manifest["benchmarks"].as_array().unwrap().iter().find(|b| b["name"] == name).map(|b| b["id"].as_u64().unwrap());
        let lines: Vec<&str> = output.lines().filter(|l| l.starts_with("calib ")).collect();
        assert_eq!(lines.len(), if board == "stm32l4r5" { 14 } else { 4 });
        for line in lines {
            let printed: i64 = line.rsplit(' ').next().unwrap().parse().unwrap();
            let id = id_of(line.split(' ').nth(1).unwrap()).unwrap_or_else(|| panic!("{line}: not in the manifest"));
            let once = at(2, 2 * id).unwrap() - at(1, 2 * id).unwrap();
            let twice = at(2, 2 * id + 1).unwrap() - at(1, 2 * id + 1).unwrap();
            assert_eq!(printed, twice - once, "{elf}: {line}");
        }
    }
}
