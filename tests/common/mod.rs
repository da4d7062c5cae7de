//! Helpers shared by the integration tests: run the real `simbench` binary.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixture(rel: &str) -> PathBuf {
    root().join("fixtures").join(rel)
}

/// A directory of this test process's own for files a test writes, under the target
/// directory cargo keeps for integration tests (`CARGO_TARGET_TMPDIR`), so that nothing is
/// left in the system's temporary directory.
pub fn scratch_dir(tag: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}\nstderr:\n{}", self.stdout, self.stderr))
    }
}

pub fn simbench<I, S>(args: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let out: Output = Command::new(env!("CARGO_BIN_EXE_simbench")).args(args).output().expect("simbench runs");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Run a fixture on a generic core with a JSON report.
pub fn run_json(elf: &Path, core: &str, extra: &[&str]) -> Run {
    let mut args: Vec<String> = vec![elf.display().to_string(), "--core".into(), core.into(), "--format".into(), "json".into()];
    args.extend(extra.iter().map(|s| s.to_string()));
    simbench(args)
}

/// The report without its host-dependent part.
pub fn without_host(mut v: serde_json::Value) -> serde_json::Value {
    v.as_object_mut().unwrap().remove("host");
    v
}

/// The JSON report, without its host timing, of fixture `rel` run in-process with the
/// runner's options for `board` and `fidelity` as `adjust` changes them: for tests that
/// compare two ways of running the same firmware.
pub fn report_without_host(
    rel: &str,
    board: &simbench_cores::Board,
    fidelity: simbench_cores::Fidelity,
    adjust: impl FnOnce(&mut simbench_sim::RunOptions),
) -> serde_json::Value {
    without_host(report(rel, board, fidelity, adjust))
}

/// The whole JSON report of fixture `rel`, run as for `report_without_host`.
pub fn report(
    rel: &str,
    board: &simbench_cores::Board,
    fidelity: simbench_cores::Fidelity,
    adjust: impl FnOnce(&mut simbench_sim::RunOptions),
) -> serde_json::Value {
    let mut o = simbench_sim::runner::options(board.clone(), fidelity, simbench_sim::Echo::Quiet);
    adjust(&mut o);
    let finished = simbench_sim::runner::run_to_report(&fixture(rel), &o).expect("fixture runs");
    serde_json::to_value(&finished.report).expect("report serialises")
}

/// The inference fixtures (file names, sorted) whose name starts with `prefix` and names
/// `board`.
pub fn inference_fixtures(prefix: &str, board: &str) -> Vec<String> {
    let mut elfs: Vec<String> = std::fs::read_dir(fixture("inference"))
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.starts_with(prefix) && n.contains(board) && n.ends_with(".elf"))
        .collect();
    elfs.sort();
    elfs
}

/// `key=value` lines printed by a fixture.
pub fn kv(output: &str) -> std::collections::BTreeMap<String, String> {
    output.lines().filter_map(|l| l.split_once('=').map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))).collect()
}

/// The KWS operators in model order (fixtures/models/README.md, per-layer detail).
pub const KWS_OPERATORS: [&str; 13] = [
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
    "SOFTMAX",
];
