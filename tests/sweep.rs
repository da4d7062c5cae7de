//! `simbench sweep` and `simbench merge` on the micro fixtures (fast: a few seconds).

mod common;

use common::{fixture, run_json, simbench};
use serde_json::Value;
use std::path::PathBuf;

const DOT: &str = "micro/dot_m4.elf";
/// Firmware linked for the LPC55S69 (the generic map's dot_m4 sets its SP above the
/// LPC55S69's RAM, so it does not fit there).
const FITS_LPC55S69: &str = "calib/memory_lpc55s69.elf";
const EXIT3: &str = "micro/exit3_m4.elf";
/// Linked for the i.MX RT1011 (FlexSPI at 0x60000000): nothing of it loads on the LPC55S69.
const AOT_KWS_RT: &str = "inference/aot_kws_mimxrt1011_O3.elf";

fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("sweep-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn s(p: PathBuf) -> String {
    p.display().to_string()
}

/// `simbench sweep DOT EXIT3 --core m4,m33` plus `extra`.
fn sweep_micro(extra: &[&str]) -> common::Run {
    let mut args = vec!["sweep".to_string(), s(fixture(DOT)), s(fixture(EXIT3)), "--core".into(), "m4,m33".into()];
    args.extend(extra.iter().map(|a| a.to_string()));
    simbench(args)
}

#[test]
fn sweep_rows_equal_single_runs_whatever_the_jobs() {
    let run = sweep_micro(&["--format", "json", "--jobs", "2"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let v = run.json();
    assert_eq!(v["schema"], "simbench.sweep/1");
    assert_eq!(v["matrix_size"], 4);
    assert_eq!(v["shard"], Value::Null);
    assert!(v.get("host").is_none(), "host times only with --host-times");
    let rows = v["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 4);
    // Firmware in the order given, then core.
    let expected = [(DOT, "m4"), (DOT, "m33"), (EXIT3, "m4"), (EXIT3, "m33")];
    for (i, ((fw, core), row)) in expected.iter().zip(rows).enumerate() {
        assert_eq!(row["position"], i as u64);
        assert_eq!(row["firmware"], s(fixture(fw)));
        assert_eq!(row["core"], *core);
        assert_eq!(row["board"], format!("generic-{core}"));
        assert_eq!(row["timing"], "detailed");
        assert!(row.get("host_seconds").is_none());
        let single = run_json(&fixture(fw), core, &["--quiet"]).json();
        assert_eq!(row["cycles"], single["cycles"], "{fw} on {core}");
        assert_eq!(row["instructions"], single["instructions"], "{fw} on {core}");
        assert_eq!(row["latency_us"], single["latency_us"], "{fw} on {core}");
        assert_eq!(row["exit_status"], single["outcome"]["exit_status"], "{fw} on {core}");
    }
    assert_eq!(rows[0]["outcome"], "exit 0");
    assert_eq!(rows[2]["outcome"], "exit 3");

    // Deterministic whatever --jobs: byte-identical JSON, CSV and text.
    let one = sweep_micro(&["--format", "json", "--jobs", "1"]);
    assert_eq!(one.code, 0, "{}", one.stderr);
    assert_eq!(one.stdout, run.stdout, "--jobs 1 and --jobs 2 give the same JSON");
    let csv1 = sweep_micro(&["--format", "csv", "--jobs", "1"]);
    let csv2 = sweep_micro(&["--format", "csv", "--jobs", "2"]);
    assert_eq!(csv1.stdout, csv2.stdout);
    let lines: Vec<&str> = csv1.stdout.lines().collect();
    assert_eq!(lines.len(), 5, "{}", csv1.stdout);
    assert!(lines[0].starts_with("position,firmware,board,core,clock_mhz,timing,outcome,"), "{}", lines[0]);
    assert!(lines[3].contains(",generic-m4,m4,100,detailed,exit 3,3,"), "{}", lines[3]);
    let text = sweep_micro(&["--jobs", "2"]);
    assert_eq!(text.code, 0, "{}", text.stderr);
    assert_eq!(text.stdout, sweep_micro(&["--jobs", "1"]).stdout);
    assert!(text.stdout.contains("2 firmware × 2 core(s) [m4, m33]"), "{}", text.stdout);
    assert_eq!(text.stdout.lines().filter(|l| l.contains("exit3_m4.elf")).count(), 2, "{}", text.stdout);
    // No progress bar when stderr is not a terminal.
    assert!(text.stderr.is_empty(), "{}", text.stderr);

    // --host-times adds the host part (and only then).
    let timed = sweep_micro(&["--format", "json", "--host-times", "--jobs", "2"]).json();
    assert_eq!(timed["host"]["jobs"], 2);
    assert!(timed["rows"].as_array().unwrap().iter().all(|r| r["host_seconds"].as_f64().is_some()));
}

#[test]
fn firmware_that_does_not_fit_a_board_is_a_row() {
    let out = scratch("fit").join("fit.json");
    let run = simbench([
        "sweep".to_string(),
        s(fixture(AOT_KWS_RT)),
        s(fixture(FITS_LPC55S69)),
        "--board".into(),
        "lpc55s69".into(),
        "--clock-mhz".into(),
        "100,150".into(),
        "--timing".into(),
        "fast".into(),
        "--format".into(),
        "json".into(),
        "-o".into(),
        s(out.clone()),
    ]);
    assert_eq!(run.code, 0, "a firmware that does not fit does not abort the sweep: {}", run.stderr);
    assert!(run.stdout.is_empty());
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let rows = v["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 4);
    for r in &rows[..2] {
        assert_eq!(r["outcome"], "does not fit", "{r}");
        assert_eq!(r["cycles"], Value::Null);
        assert!(r["message"].as_str().unwrap().contains("outside every memory region of board 'lpc55s69'"), "{r}");
    }
    assert_eq!(rows[0]["clock_mhz"], 100.0);
    assert_eq!(rows[1]["clock_mhz"], 150.0);
    for r in &rows[2..] {
        assert_eq!(r["outcome"], "exit 0", "{r}");
        assert_eq!(r["board"], "lpc55s69");
        assert_eq!(r["core"], "m33");
        assert_eq!(r["timing"], "fast");
    }
    // Cycles do not depend on the clock; latency does.
    assert_eq!(rows[2]["cycles"], rows[3]["cycles"]);
    let (l100, l150) = (rows[2]["latency_us"].as_f64().unwrap(), rows[3]["latency_us"].as_f64().unwrap());
    assert!((l100 / l150 - 1.5).abs() < 1e-12, "{l100} vs {l150}");
}

#[test]
fn shards_merge_into_the_unsharded_sweep() {
    let dir = scratch("shards");
    let full = sweep_micro(&["--format", "json"]);
    assert_eq!(full.code, 0, "{}", full.stderr);
    let mut parts = Vec::new();
    for i in 1..=2 {
        let p = dir.join(format!("shard{i}.json"));
        let run = sweep_micro(&["--format", "json", "--shard", &format!("{i}/2"), "-o", &s(p.clone())]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        let v: Value = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
        assert_eq!(v["shard"]["index"], i);
        assert_eq!(v["shard"]["count"], 2);
        assert_eq!(v["matrix_size"], 4);
        let positions: Vec<u64> = v["rows"].as_array().unwrap().iter().map(|r| r["position"].as_u64().unwrap()).collect();
        assert_eq!(positions, if i == 1 { vec![0, 2] } else { vec![1, 3] });
        parts.push(s(p));
    }
    // Any order of the inputs; every format equals the unsharded sweep's.
    let merged = simbench(["merge", &parts[1], &parts[0], "--format", "json"]);
    assert_eq!(merged.code, 0, "{}", merged.stderr);
    assert_eq!(merged.stdout, full.stdout, "merged shards equal the unsharded JSON");
    for format in ["csv", "text"] {
        let m = simbench(["merge", &parts[0], &parts[1], "--format", format]);
        assert_eq!(m.code, 0, "{}", m.stderr);
        assert_eq!(m.stdout, sweep_micro(&["--format", format]).stdout, "{format}");
    }

    // Incomplete, overlapping, or from another sweep: exit 3 with a clear message.
    let incomplete = simbench(["merge", &parts[0], "--format", "json"]);
    assert_eq!(incomplete.code, 3, "{}", incomplete.stdout);
    assert!(incomplete.stderr.contains("incomplete: shard(s) 2/2 missing"), "{}", incomplete.stderr);
    assert!(incomplete.stdout.is_empty());
    let overlap = simbench(["merge", &parts[0], &parts[1], &parts[0]]);
    assert_eq!(overlap.code, 3);
    assert!(overlap.stderr.contains("overlap"), "{}", overlap.stderr);
    let whole = dir.join("full.json");
    std::fs::write(&whole, &full.stdout).unwrap();
    let mixed = simbench(["merge", &parts[0], &s(whole)]);
    assert_eq!(mixed.code, 3);
    assert!(mixed.stderr.contains("one of 2"), "{}", mixed.stderr);
    let fast = dir.join("fast2.json");
    let run = sweep_micro(&["--format", "json", "--shard", "2/2", "--timing", "fast", "-o", &s(fast.clone())]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let foreign = simbench(["merge", &parts[0], &s(fast)]);
    assert_eq!(foreign.code, 3);
    assert!(foreign.stderr.contains("not shards of one sweep") && foreign.stderr.contains("timing"), "{}", foreign.stderr);
    let not_sweep = dir.join("report.json");
    std::fs::write(&not_sweep, run_json(&fixture(DOT), "m4", &["--quiet"]).stdout).unwrap();
    let wrong = simbench(["merge", &s(not_sweep)]);
    assert_eq!(wrong.code, 3);
    assert!(wrong.stderr.contains("not a sweep output"), "{}", wrong.stderr);
}

#[test]
fn bad_sweep_options_are_usage_errors() {
    for shard in ["0/2", "3/2", "1/0", "2", "a/b", "1/2/3"] {
        let run = sweep_micro(&["--shard", shard]);
        assert_eq!(run.code, 2, "--shard {shard}: {}", run.stderr);
        assert!(run.stderr.contains("is not a shard"), "{}", run.stderr);
        assert!(run.stdout.is_empty());
    }
    for extra in [&["--jobs", "0"][..], &["--format", "svg"], &["--timing", "slow"], &["--core", "m99"], &["--board", "lpc55s69"]] {
        let run = sweep_micro(extra);
        assert_eq!(run.code, 2, "{extra:?}: {}", run.stderr);
    }
    // Neither --core nor --board.
    assert_eq!(simbench(["sweep".to_string(), s(fixture(DOT))]).code, 2);
    // Not an ELF: exit 3 before anything runs.
    let run = simbench(["sweep".to_string(), s(fixture("micro/dot.c")), "--core".into(), "m4".into()]);
    assert_eq!(run.code, 3, "{}", run.stderr);
}
