//! Semihosting as debuggers serve it (issue 16, item 1): newlib's rdimon start-up, printf,
//! scanf and host files (`fixtures/field/rdimon_io_m4.elf`), and hostile requests that
//! must be refused without touching anything outside the host folder
//! (`fixtures/field/semihost_bad_m4.elf`). Expected values: `fixtures/field/README.md`.

mod common;
use common::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const ARGS: &str = "rdimon_io --alpha beta";

/// A scratch directory under the system's temporary directory, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Scratch {
        let p = std::env::temp_dir().join(format!("simbench-semihosting-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        Scratch(p)
    }
    /// A copy of `fixtures/field/host` at `<scratch>/host`.
    fn with_host_copy(tag: &str) -> (Scratch, PathBuf) {
        let s = Scratch::new(tag);
        let host = s.0.join("host");
        std::fs::create_dir(&host).unwrap();
        for (name, bytes) in host_files() {
            std::fs::write(host.join(name), bytes).unwrap();
        }
        (s, host)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The committed host folder's files and contents.
fn host_files() -> BTreeMap<String, Vec<u8>> {
    let dir = fixture("field/host");
    std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().unwrap().is_file())
        .map(|e| (e.file_name().to_string_lossy().into_owned(), std::fs::read(e.path()).unwrap()))
        .collect()
}

/// Names in a directory, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    v.sort();
    v
}

fn rdimon(extra: &[&str]) -> (Run, serde_json::Value) {
    let run = run_json(&fixture("field/rdimon_io_m4.elf"), "m4", extra);
    let r = run.json();
    (run, r)
}

/// The firmware's `rdimon_io: …` lines without the prefix.
fn lines(r: &serde_json::Value) -> Vec<String> {
    let out = r["firmware_output"].as_str().unwrap();
    out.lines().map(|l| l.replace("rdimon_io: ", "")).collect()
}

fn notes(r: &serde_json::Value) -> Vec<String> {
    r["semihosting_notes"].as_array().map(|a| a.iter().map(|n| n.as_str().unwrap().to_string()).collect()).unwrap_or_default()
}

#[test]
fn rdimon_io_reads_stdin_argv_and_a_host_file() {
    let host = fixture("field/host");
    let before = host_files();
    let (run, r) = rdimon(&["--semihosting-dir", host.to_str().unwrap(), "--stdin", host.join("stdin.txt").to_str().unwrap(), "--args", ARGS]);
    let expected = [
        "hello from newlib printf",
        "argc=3",
        "argv[0]=rdimon_io",
        "argv[1]=--alpha",
        "argv[2]=beta",
        "clock_ok=1 time_ok=1",
        "name? hello, simbench",
        "number? number=42 squared=1764",
        "input.bin length=64 read=64 fnv1a32=0x42592885",
        "scores=-1538,1032,-1153,22 class=1",
        "write result.txt refused errno=30",
        "status=8",
    ];
    assert_eq!(lines(&r), expected, "stderr: {}", run.stderr);
    // Status 8 (result.txt not written) goes through SYS_EXIT_EXTENDED, as
    // :semihosting-features promised.
    assert_eq!(r["outcome"]["exit_status"], 8);
    assert_eq!(run.code, 1);
    // Writes were off: the folder is exactly as committed, and the report says why.
    assert_eq!(host_files(), before);
    let n = notes(&r);
    assert_eq!(n.len(), 1, "{n:?}");
    assert!(
        n[0].starts_with("SYS_OPEN at pc ") && n[0].contains("\"result.txt\" (mode w)") && n[0].contains("--semihosting-write") && n[0].contains("EROFS"),
        "{}",
        n[0]
    );
}

#[test]
fn rdimon_io_writes_its_result_with_semihosting_write() {
    let (scratch, host) = Scratch::with_host_copy("rdimon-write");
    let (run, r) =
        rdimon(&["--semihosting-dir", host.to_str().unwrap(), "--semihosting-write", "--stdin", host.join("stdin.txt").to_str().unwrap(), "--args", ARGS]);
    let l = lines(&r);
    assert_eq!(run.code, 0, "{l:?} {}", run.stderr);
    assert_eq!(r["outcome"]["exit_status"], 0);
    assert!(l.contains(&"number? number=42 squared=1764".to_string()), "{l:?}");
    assert!(l.contains(&"input.bin length=64 read=64 fnv1a32=0x42592885".to_string()), "{l:?}");
    assert!(l.contains(&"scores=-1538,1032,-1153,22 class=1".to_string()), "{l:?}");
    assert!(l.contains(&"wrote result.txt ok=1".to_string()), "{l:?}");
    assert_eq!(l.last().unwrap(), "status=0");
    assert!(notes(&r).is_empty(), "{:?}", notes(&r));
    // result.txt is the one change: the other files are as committed, nothing else appeared.
    assert_eq!(std::fs::read_to_string(host.join("result.txt")).unwrap(), "class=1\nfnv1a32=0x42592885\n");
    let mut now: BTreeMap<String, Vec<u8>> = listing(&host).into_iter().map(|n| (n.clone(), std::fs::read(host.join(&n)).unwrap())).collect();
    now.remove("result.txt");
    assert_eq!(now, host_files());
    assert_eq!(listing(&scratch.0), ["host"]);
}

#[test]
fn rdimon_io_without_host_access_gets_clean_errors() {
    // No folder, no stdin, no --args: what a debugger without file access gives.
    let (run, r) = rdimon(&[]);
    let l = lines(&r);
    assert_eq!(r["outcome"]["exit_status"], 13, "{l:?} {}", run.stderr);
    assert_eq!(run.code, 1);
    assert!(l.contains(&"argc=1".to_string()) && l.contains(&"argv[0]=rdimon_io_m4.elf".to_string()), "{l:?}");
    assert!(l.contains(&"name? stdin is empty".to_string()), "{l:?}");
    assert!(l.contains(&"open input.bin failed errno=2".to_string()), "{l:?}");
    assert!(l.contains(&"write result.txt refused errno=2".to_string()), "{l:?}");
    let n = notes(&r);
    assert_eq!(n.len(), 2, "{n:?}");
    assert!(n.iter().all(|n| n.contains("host files are off") && n.contains("--semihosting-dir")), "{n:?}");
}

#[test]
fn rdimon_io_with_empty_stdin_sees_end_of_file() {
    let (_scratch, host) = Scratch::with_host_copy("rdimon-nostdin");
    let (run, r) = rdimon(&["--semihosting-dir", host.to_str().unwrap(), "--semihosting-write", "--args", ARGS]);
    assert_eq!(r["outcome"]["exit_status"], 4, "{:?} {}", lines(&r), run.stderr);
    assert!(lines(&r).contains(&"name? stdin is empty".to_string()));
}

#[test]
fn time_is_a_fixed_epoch_plus_modelled_time() {
    // SYS_TIME = 2024-01-01 00:00:00 UTC + modelled seconds: the short run reads the epoch.
    let run = run_json(&fixture("micro/syscalls_m4.elf"), "m4", &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let r = run.json();
    let kv = kv(r["firmware_output"].as_str().unwrap());
    assert_eq!(kv["time"], "1704067200");
    assert_eq!(kv["clock"], "0");
    // The same options give the same report, whatever the host clock says.
    let host = fixture("field/host");
    let stdin = host.join("stdin.txt");
    let opts = ["--semihosting-dir", host.to_str().unwrap(), "--stdin", stdin.to_str().unwrap(), "--args", ARGS];
    let (_, a) = rdimon(&opts);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let (_, b) = rdimon(&opts);
    assert_eq!(serde_json::to_string(&without_host(a)).unwrap(), serde_json::to_string(&without_host(b)).unwrap());
}

/// (case, errno) of each hostile request, in the fixture's order, with a folder.
const HOSTILE: [(&str, i32); 18] = [
    ("open_parent_read", 13),
    ("open_parent_write", 13),
    ("open_nested_escape", 13),
    ("open_absolute_read", 13),
    ("open_absolute_write", 13),
    ("open_symlink_write", 13),
    ("open_bad_pointer", 14),
    ("remove_parent", 13),
    ("remove_absolute", 13),
    ("rename_escape", 13),
    ("system", 1),
    ("unknown_op_0x99", 88),
    ("read_bad_handle", 9),
    ("write_bad_handle", 9),
    ("seek_bad_handle", 9),
    ("flen_bad_handle", 9),
    ("istty_bad_handle", 9),
    ("close_bad_handle", 9),
];

/// `semihost_bad: <case> ret=<r> errno=<e>` lines as (case, ret, errno).
fn hostile_lines(out: &str) -> Vec<(String, i64, i64)> {
    out.lines()
        .filter_map(|l| l.strip_prefix("semihost_bad: "))
        .filter_map(|l| {
            let mut it = l.split(' ');
            let case = it.next()?.to_string();
            let ret = it.next()?.strip_prefix("ret=")?.parse().ok()?;
            let errno = it.next()?.strip_prefix("errno=")?.parse().ok()?;
            Some((case, ret, errno))
        })
        .collect()
}

fn semihost_bad(cwd: &Path, extra: &[&str]) -> (Run, serde_json::Value) {
    let mut args = vec![fixture("field/semihost_bad_m4.elf").display().to_string(), "--core".into(), "m4".into(), "--format".into(), "json".into()];
    args.extend(extra.iter().map(|s| s.to_string()));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_simbench")).args(&args).current_dir(cwd).output().unwrap();
    let run =
        Run { code: out.status.code().unwrap_or(-1), stdout: String::from_utf8_lossy(&out.stdout).into(), stderr: String::from_utf8_lossy(&out.stderr).into() };
    let r = run.json();
    (run, r)
}

#[test]
fn hostile_requests_are_refused_and_touch_nothing_outside_the_folder() {
    // <scratch>/host is served (writes allowed: the most a user can grant);
    // <scratch>/outside holds a sentinel and is what host/outside_link points to. The run's
    // working directory is <scratch>, so an escape or a shell command would land there.
    let (scratch, host) = Scratch::with_host_copy("semihost-bad");
    let outside = scratch.0.join("outside");
    std::fs::create_dir(&outside).unwrap();
    std::fs::write(outside.join("sentinel.txt"), b"sentinel\n").unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(&outside, host.join("outside_link")).unwrap();
    let tmp_escape = Path::new("/tmp/semihost_bad_escape.txt");
    let tmp_before = std::fs::metadata(tmp_escape).ok().map(|m| (m.len(), m.modified().ok()));

    let (run, r) = semihost_bad(&scratch.0, &["--semihosting-dir", host.to_str().unwrap(), "--semihosting-write"]);
    let out = r["firmware_output"].as_str().unwrap();
    assert_eq!(run.code, 0, "{out}\n{}", run.stderr);
    assert_eq!(r["outcome"]["exit_status"], 0);
    assert!(out.contains("semihost_bad: refused=18 accepted=0"), "{out}");
    let got = hostile_lines(out);
    // The control: input.bin inside the folder opens (handle 3, the first after the
    // console's 0-2) and closes.
    assert_eq!(got[0], ("inside_open".to_string(), 3, 0));
    assert_eq!(got[1], ("inside_close".to_string(), 0, 0));
    let refused: Vec<(String, i64, i64)> = got[2..].to_vec();
    let expected: Vec<(String, i64, i64)> = HOSTILE.iter().map(|&(c, e)| (c.to_string(), -1, e as i64)).collect();
    assert_eq!(refused, expected);

    // Nothing outside the folder changed or appeared; inside, only the test's link is new.
    assert_eq!(listing(&scratch.0), ["host", "outside"]);
    assert_eq!(listing(&outside), ["sentinel.txt"]);
    assert_eq!(std::fs::read(outside.join("sentinel.txt")).unwrap(), b"sentinel\n");
    let mut inside = host_files().into_keys().collect::<Vec<_>>();
    if cfg!(unix) {
        inside.push("outside_link".into());
        inside.sort();
    }
    assert_eq!(listing(&host), inside);
    for (name, bytes) in host_files() {
        assert_eq!(std::fs::read(host.join(&name)).unwrap(), bytes, "{name}");
    }
    assert_eq!(std::fs::metadata(tmp_escape).ok().map(|m| (m.len(), m.modified().ok())), tmp_before);
    assert!(!root().join("semihost_bad_system_ran").exists());

    // Every refusal is in the report, the unknown operation said as such.
    let n = notes(&r);
    assert_eq!(n.len(), 18, "{n:#?}");
    assert!(n.iter().any(|n| n.starts_with("operation 0x99 at pc ") && n.contains("not a semihosting operation") && n.contains("ENOSYS")), "{n:#?}");
    assert!(n.iter().any(|n| n.starts_with("SYS_SYSTEM") && n.contains("touch semihost_bad_system_ran")), "{n:#?}");
    if cfg!(unix) {
        assert!(n.iter().any(|n| n.contains("\"outside_link/escape.txt\"") && n.contains("symbolic link")), "{n:#?}");
    }
}

#[test]
fn hostile_requests_without_a_folder_are_refused_too() {
    let scratch = Scratch::new("semihost-bad-nodir");
    let (run, r) = semihost_bad(&scratch.0, &[]);
    let out = r["firmware_output"].as_str().unwrap();
    assert_eq!(run.code, 0, "{out}\n{}", run.stderr);
    assert!(out.contains("semihost_bad: refused=18 accepted=0"), "{out}");
    let got = hostile_lines(out);
    // No folder: the control fails too (ENOENT), and there is no inside_close line.
    assert_eq!(got[0], ("inside_open".to_string(), -1, 2));
    assert_eq!(got.len(), 19);
    assert!(got[1..].iter().all(|(_, ret, _)| *ret == -1), "{got:?}");
    assert_eq!(listing(&scratch.0), Vec::<String>::new());
    // The text report lists the refusals (the first ten) after the run.
    let text = simbench([fixture("field/semihost_bad_m4.elf").to_str().unwrap(), "--core", "m4", "-q"]);
    assert!(text.stdout.contains("semihosting requests refused (19):"), "{}", text.stdout);
    assert!(text.stdout.contains("… 9 more in --format json"), "{}", text.stdout);
}

#[test]
fn an_open_without_a_folder_returns_minus_one_and_the_run_goes_on() {
    // The micro fixture that used to stop the run as "unsupported semihosting".
    let run = run_json(&fixture("micro/unsupported_semihost_m4.elf"), "m4", &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let r = run.json();
    assert!(r["firmware_output"].as_str().unwrap().contains("open=-1"), "{}", r["firmware_output"]);
    let n = notes(&r);
    assert_eq!(n.len(), 1);
    assert!(n[0].contains("\"simbench.txt\" (mode w): host files are off"), "{}", n[0]);
}

#[test]
fn semihosting_options_are_checked_before_running() {
    let elf = fixture("field/rdimon_io_m4.elf");
    let e = elf.to_str().unwrap();
    let run = simbench([e, "--core", "m4", "--semihosting-write"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("--semihosting-dir"), "{}", run.stderr);
    let run = simbench([e, "--core", "m4", "--semihosting-dir", "no/such/dir"]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(run.stderr.contains("no/such/dir"), "{}", run.stderr);
    let run = simbench([e, "--core", "m4", "--stdin", "no/such/file"]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(run.stderr.contains("--stdin"), "{}", run.stderr);
}

#[test]
fn sweep_and_compare_pass_the_semihosting_options_to_every_run() {
    let host = fixture("field/host");
    let elf = fixture("field/rdimon_io_m4.elf");
    let stdin = host.join("stdin.txt");
    let opts = ["--semihosting-dir", host.to_str().unwrap(), "--stdin", stdin.to_str().unwrap(), "--args", ARGS];
    let mut args = vec!["sweep", elf.to_str().unwrap(), "--core", "m4,m7", "--format", "json"];
    args.extend(opts);
    let run = simbench(&args);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let rows = run.json()["rows"].as_array().unwrap().clone();
    assert_eq!(rows.len(), 2);
    // Status 8 = everything but the write worked (without the options it would be 13).
    assert!(rows.iter().all(|row| row["exit_status"] == 8), "{rows:?}");
    let mut args = vec!["compare", elf.to_str().unwrap(), elf.to_str().unwrap(), "--core", "m4", "--format", "json"];
    args.extend(opts);
    let run = simbench(&args);
    assert_eq!(run.code, 1, "status 8 is the first non-zero outcome: {}", run.stderr);
}
