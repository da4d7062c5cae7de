//! Whole reports stay byte-identical: every fixture family, both timing modes, against the
//! digests in `tests/snapshots/reports.sha256` (SHA-256 of the JSON report without its
//! host-dependent `host` object).
//!
//! A change that moves any figure (a timing rule, a profile, a report field) fails here by
//! design. When the change is intended, rewrite the digests and commit them with it:
//! `SIMBENCH_BLESS=1 cargo test --test report_snapshots`. `SIMBENCH_SNAPSHOT_BIN=PATH`
//! runs another simbench binary instead (e.g. one built from the commit before a
//! refactor, to record what the refactor must reproduce).

mod common;

use common::{fixture, simbench, without_host};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// (fixture, board) pairs: inference firmware of both engines on both real boards, the
/// system firmware (exceptions, vendor registers, caches), micro and calibration firmware
/// on each generic core, and the STM32 flash-path calibration firmware (FLASH_ACR and
/// ICACHE_CR writes).
const RUNS: [(&str, &str); 18] = [
    ("inference/tflm_kws_lpc55s69_O3.elf", "lpc55s69"),
    ("inference/tflm_kws_mimxrt1011_O3.elf", "mimxrt1011"),
    ("inference/aot_kws_lpc55s69_O3.elf", "lpc55s69"),
    ("inference/aot_kws_mimxrt1011_O3.elf", "mimxrt1011"),
    ("inference/tflm_kws_mimxrt1011_O3_markers.elf", "mimxrt1011"),
    ("inference/aot_kws_lpc55s69_O3_ramweights.elf", "lpc55s69"),
    ("system/vendor_rtos_mimxrt1011.elf", "mimxrt1011"),
    ("system/vendor_rtos_lpc55s69.elf", "lpc55s69"),
    ("system/vendor_rtos_m4.elf", "generic-m4"),
    ("system/vendor_fault_mimxrt1011.elf", "mimxrt1011"),
    ("micro/dot_m7.elf", "generic-m7"),
    ("micro/float_m33.elf", "generic-m33"),
    ("micro/syscalls_m4.elf", "generic-m4"),
    ("calib/calib_m7.elf", "generic-m7"),
    ("calib/memory_lpc55s69.elf", "lpc55s69"),
    ("micro/unmapped_write_m4.elf", "generic-m4"),
    ("calib/memory_stm32l4r5.elf", "stm32l4r5"),
    ("calib/memory_stm32l552.elf", "stm32l552"),
];

fn digest(elf: &str, board: &str, timing: &str) -> (String, String) {
    let args =
        [fixture(elf).display().to_string(), "--board".into(), board.into(), "--timing".into(), timing.into(), "--format".into(), "json".into(), "-q".into()];
    let r = match std::env::var_os("SIMBENCH_SNAPSHOT_BIN") {
        Some(bin) => {
            let out = std::process::Command::new(bin).args(&args).output().expect("SIMBENCH_SNAPSHOT_BIN runs");
            common::Run {
                code: out.status.code().unwrap_or(-1),
                stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
                stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            }
        }
        None => simbench(args),
    };
    let v = without_host(r.json());
    let summary = format!("{} cycles, {} instructions, outcome {}", v["cycles"], v["instructions"], v["outcome"]["kind"]);
    (format!("{:x}", Sha256::digest(serde_json::to_string(&v).unwrap().as_bytes())), summary)
}

#[test]
fn reports_are_byte_identical_to_the_recorded_ones() {
    let path = common::root().join("tests/snapshots/reports.sha256");
    let mut actual = BTreeMap::new();
    let mut summaries = BTreeMap::new();
    for (elf, board) in RUNS {
        for timing in ["detailed", "fast"] {
            let key = format!("{elf} {board} {timing}");
            let (d, s) = digest(elf, board, timing);
            actual.insert(key.clone(), d);
            summaries.insert(key, s);
        }
    }
    let text: String = actual.iter().map(|(k, d)| format!("{d}  {k}\n")).collect();
    if std::env::var_os("SIMBENCH_BLESS").is_some() {
        std::fs::write(&path, &text).unwrap();
        return;
    }
    let recorded = std::fs::read_to_string(&path).expect("tests/snapshots/reports.sha256 (SIMBENCH_BLESS=1 writes it)");
    let recorded: BTreeMap<String, String> = recorded.lines().filter_map(|l| l.split_once("  ").map(|(d, k)| (k.to_string(), d.to_string()))).collect();
    let changed: Vec<String> = actual.iter().filter(|(k, d)| recorded.get(*k) != Some(*d)).map(|(k, _)| format!("{k}: now {}", summaries[k])).collect();
    assert_eq!(recorded.len(), actual.len(), "recorded runs differ from the runs this test makes");
    assert!(changed.is_empty(), "reports changed (SIMBENCH_BLESS=1 if intended):\n{}", changed.join("\n"));
}
