//! Each semihosting operation against a fake guest memory and, for files, a temporary
//! host folder.

use super::*;
use crate::error::SimError;
use std::path::{Path, PathBuf};

/// Guest RAM at address 0; anything beyond is unmapped.
pub(crate) struct Ram(pub Vec<u8>);

impl GuestMemory for Ram {
    fn read(&self, addr: u32, len: usize) -> Option<Vec<u8>> {
        self.0.get(addr as usize..(addr as usize).checked_add(len)?).map(|s| s.to_vec())
    }
    fn write(&mut self, addr: u32, bytes: &[u8]) -> bool {
        match self.0.get_mut(addr as usize..addr as usize + bytes.len()) {
            Some(s) => {
                s.copy_from_slice(bytes);
                true
            }
            None => false,
        }
    }
}

/// A temporary directory, removed when dropped.
pub(crate) struct TempDir(PathBuf);

impl TempDir {
    pub(crate) fn new(tag: &str) -> TempDir {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let p = std::env::temp_dir().join(format!("simbench-semihosting-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
    pub(crate) fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Where the tests put things in guest memory.
const BLOCK: u32 = 0x100;
const NAME: u32 = 0x1000;
const NAME2: u32 = 0x1800;
const BUF: u32 = 0x2000;
const UNMAPPED: u32 = 0xFFFF_FF00;
const MINUS_ONE: u32 = u32::MAX;

struct Rig {
    m: Ram,
    host: Host,
    ctx: Context,
}

impl Rig {
    fn new(opts: SemihostingOptions) -> Rig {
        Rig { m: Ram(vec![0; 0x10000]), host: Host::new(&opts).unwrap(), ctx: Context { cycles: 250_000_000, clock_hz: 100e6, heap_info: [1, 2, 3, 4] } }
    }
    fn console() -> Rig {
        Rig::new(SemihostingOptions::default())
    }
    fn folder(dir: &Path, write: bool) -> Rig {
        Rig::new(SemihostingOptions { dir: Some(dir.into()), write, ..Default::default() })
    }
    fn call(&mut self, op: u32, r1: u32) -> Action {
        handle(op, r1, &mut self.m, &self.ctx, &mut self.host)
    }
    fn block(&mut self, words: &[u32]) -> u32 {
        let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
        assert!(self.m.write(BLOCK, &bytes));
        BLOCK
    }
    fn put(&mut self, at: u32, bytes: &[u8]) {
        assert!(self.m.write(at, bytes));
    }
    /// r0 of a call with a block.
    fn r0(&mut self, op: u32, words: &[u32]) -> u32 {
        r0_of(self.with(op, words))
    }
    /// A call with a block.
    fn with(&mut self, op: u32, words: &[u32]) -> Action {
        let b = self.block(words);
        self.call(op, b)
    }
    fn open(&mut self, name: &str, mode: u32) -> Action {
        self.put(NAME, name.as_bytes());
        let b = self.block(&[NAME, mode, name.len() as u32]);
        self.call(SYS_OPEN, b)
    }
    fn open_ok(&mut self, name: &str, mode: u32) -> u32 {
        match self.open(name, mode) {
            Action::Resume { r0 } if (r0 as i32) >= 0 => r0,
            other => panic!("open {name} mode {mode}: {other:?}"),
        }
    }
    fn write(&mut self, h: u32, bytes: &[u8]) -> Action {
        self.put(BUF, bytes);
        let b = self.block(&[h, BUF, bytes.len() as u32]);
        self.call(SYS_WRITE, b)
    }
    /// SYS_READ of `len` bytes: (r0, bytes read).
    fn read(&mut self, h: u32, len: u32) -> (u32, Vec<u8>) {
        self.put(BUF, &vec![0xEE; len as usize]);
        let r0 = self.r0(SYS_READ, &[h, BUF, len]);
        let got = if (r0 as i32) < 0 { 0 } else { len - r0 };
        (r0, self.m.0[BUF as usize..(BUF + got) as usize].to_vec())
    }
    fn path_op(&mut self, op: u32, name: &str) -> Action {
        self.put(NAME, name.as_bytes());
        let b = self.block(&[NAME, name.len() as u32]);
        self.call(op, b)
    }
    fn rename(&mut self, from: &str, to: &str) -> Action {
        self.put(NAME, from.as_bytes());
        self.put(NAME2, to.as_bytes());
        let b = self.block(&[NAME, from.len() as u32, NAME2, to.len() as u32]);
        self.call(SYS_RENAME, b)
    }
    fn errno(&mut self) -> i32 {
        r0_of(self.call(SYS_ERRNO, 0)) as i32
    }
}

fn r0_of(a: Action) -> u32 {
    match a {
        Action::Resume { r0 } | Action::Output { r0, .. } | Action::Refused { r0, .. } => r0,
        Action::Exit(s) => panic!("unexpected exit {s}"),
    }
}

/// The action is a refusal noted with this errno.
#[track_caller]
fn assert_refused(a: Action, errno: i32) -> String {
    match a {
        Action::Refused { r0: MINUS_ONE, errno: e, why } if e == errno => why,
        other => panic!("expected a refusal with errno {errno} ({}), got {other:?}", errno::name(errno)),
    }
}

/// The action is a plain failure (-1) the report does not note.
#[track_caller]
fn assert_failed_quietly(a: Action) {
    assert_eq!(a, Action::Resume { r0: MINUS_ONE });
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    v.sort();
    v
}

#[test]
fn console_output_calls() {
    let mut r = Rig::console();
    r.put(16, b"A");
    assert_eq!(r.call(SYS_WRITEC, 16), Action::Output { fd: 1, bytes: b"A".to_vec(), r0: 0 });
    r.put(16, b"hello\0");
    assert_eq!(r.call(SYS_WRITE0, 16), Action::Output { fd: 1, bytes: b"hello".to_vec(), r0: 0 });
    // A string across several 256-byte chunks.
    let long: Vec<u8> = (0..700).map(|i| b'a' + (i % 26) as u8).collect();
    r.put(0x3F0, &long);
    r.put(0x3F0 + 700, b"\0");
    assert_eq!(r.call(SYS_WRITE0, 0x3F0), Action::Output { fd: 1, bytes: long, r0: 0 });
    // Handles 1 and 2 are open at reset; SYS_WRITE returns the bytes NOT written.
    assert_eq!(r.write(1, b"out"), Action::Output { fd: 1, bytes: b"out".to_vec(), r0: 0 });
    assert_eq!(r.write(2, b"err"), Action::Output { fd: 2, bytes: b"err".to_vec(), r0: 0 });
    // Writing to the console's stdin is a bad handle.
    assert_refused(r.write(0, b"x"), errno::EBADF);
}

#[test]
fn unreadable_output_arguments_give_efault_not_a_fault() {
    let mut r = Rig::console();
    assert_refused(r.call(SYS_WRITEC, UNMAPPED), errno::EFAULT);
    assert_refused(r.call(SYS_WRITE0, UNMAPPED), errno::EFAULT);
    // A string running into unmapped memory.
    let end = r.m.0.len() as u32 - 3;
    r.put(end, b"abc");
    assert_refused(r.call(SYS_WRITE0, end), errno::EFAULT);
    assert_refused(r.call(SYS_WRITE, UNMAPPED), errno::EFAULT);
    let b = r.block(&[1, UNMAPPED, 16]);
    assert_refused(r.call(SYS_WRITE, b), errno::EFAULT);
    assert_eq!(r.errno(), errno::EFAULT);
    // A string with no NUL within 1 MiB.
    r.m = Ram(vec![b'x'; 3 << 20]);
    assert_refused(r.call(SYS_WRITE0, 0), errno::EINVAL);
}

#[test]
fn tt_opens_the_console_streams() {
    let mut r = Rig::new(SemihostingOptions { stdin: None, ..Default::default() });
    // r → stdin, w → stdout, a → stderr; handles from 3 up.
    assert_eq!(r.open_ok(":tt", 0), 3);
    assert_eq!(r.open_ok(":tt", 4), 4);
    assert_eq!(r.open_ok(":tt", 8), 5);
    assert_eq!(r.write(4, b"o"), Action::Output { fd: 1, bytes: b"o".to_vec(), r0: 0 });
    assert_eq!(r.write(5, b"e"), Action::Output { fd: 2, bytes: b"e".to_vec(), r0: 0 });
    for h in [0, 3, 4, 5] {
        assert_eq!(r.r0(SYS_ISTTY, &[h]), 1);
        assert_eq!(r.r0(SYS_FLEN, &[h]), 0, "a terminal has no length");
    }
    // Seeking the console fails as on a terminal, without a note (newlib does it at exit).
    let b = r.block(&[3, 10]);
    assert_failed_quietly(r.call(SYS_SEEK, b));
    assert_eq!(r.errno(), errno::ESPIPE);
    // Reading the console's output is a bad handle; closing works once.
    assert_refused(r.with(SYS_READ, &[4, BUF, 4]), errno::EBADF);
    assert_eq!(r.r0(SYS_CLOSE, &[4]), 0);
    assert_refused(r.with(SYS_CLOSE, &[4]), errno::EBADF);
    // The lowest free handle is reused.
    assert_eq!(r.open_ok(":tt", 5), 4);
    assert_refused(r.open(":tt", 12), errno::EINVAL);
}

#[test]
fn stdin_reads_a_line_at_a_time_then_end_of_file() {
    let t = TempDir::new("stdin");
    let file = t.path().join("stdin.txt");
    std::fs::write(&file, b"simbench\n42\nxyz").unwrap();
    let mut r = Rig::new(SemihostingOptions { stdin: Some(file), ..Default::default() });
    assert_eq!(r.read(0, 1024), (1024 - 9, b"simbench\n".to_vec()));
    let h = r.open_ok(":tt", 1);
    assert_eq!(r.read(h, 2), (0, b"42".to_vec()));
    assert_eq!(r.read(h, 100), (99, b"\n".to_vec()));
    assert_eq!(r.r0(SYS_READC, &[]), b'x' as u32);
    assert_eq!(r.read(0, 100), (98, b"yz".to_vec()));
    // End of file: nothing read (r0 = len), READC -1.
    assert_eq!(r.read(0, 100), (100, vec![]));
    assert_eq!(r0_of(r.call(SYS_READC, 0)), MINUS_ONE);
}

#[test]
fn empty_stdin_is_end_of_file() {
    let mut r = Rig::console();
    assert_eq!(r.read(0, 1024), (1024, vec![]));
    assert_eq!(r0_of(r.call(SYS_READC, 0)), MINUS_ONE);
}

#[test]
fn semihosting_features_file() {
    let mut r = Rig::console();
    let h = r.open_ok(":semihosting-features", 1);
    assert_eq!(r.r0(SYS_FLEN, &[h]), 5);
    assert_eq!(r.r0(SYS_ISTTY, &[h]), 0);
    assert_eq!(r.read(h, 4), (0, b"SHFB".to_vec()));
    assert_eq!(r.r0(SYS_SEEK, &[h, 4]), 0);
    // EXIT_EXTENDED (bit 0) and STDOUT_STDERR (bit 1).
    assert_eq!(r.read(h, 1), (0, vec![0x03]));
    assert_eq!(r.read(h, 8), (8, vec![]));
    assert_eq!(r.r0(SYS_SEEK, &[h, 0]), 0);
    assert_eq!(r.read(h, 8), (3, b"SHFB\x03".to_vec()));
    assert_refused(r.write(h, b"x"), errno::EBADF);
    assert_eq!(r.r0(SYS_CLOSE, &[h]), 0);
    assert_refused(r.open(":semihosting-features", 4), errno::EACCES);
    // Mode r works too, without any host folder.
    assert_eq!(r.open_ok(":semihosting-features", 0), h);
}

#[test]
fn iserror_is_the_sign_of_a_status() {
    let mut r = Rig::console();
    assert_eq!(r.r0(SYS_ISERROR, &[0]), 0);
    assert_eq!(r.r0(SYS_ISERROR, &[5]), 0);
    assert_eq!(r.r0(SYS_ISERROR, &[MINUS_ONE]), 1);
    assert_eq!(r.r0(SYS_ISERROR, &[0x8000_0000]), 1);
}

#[test]
fn time_calls_answer_in_modelled_time() {
    let mut r = Rig::console();
    // 2.5 s of modelled time at 100 MHz.
    assert_eq!(r.call(SYS_CLOCK, 0), Action::Resume { r0: 250 });
    assert_eq!(r.call(SYS_TIME, 0), Action::Resume { r0: EPOCH + 2 });
    // A C library's "was the clock set" check (rdimon_io: time() > 1e9) passes.
    const { assert!(EPOCH > 1_000_000_000) };
    assert_eq!(r.call(SYS_TICKFREQ, 0), Action::Resume { r0: 100_000_000 });
    assert_eq!(r.call(SYS_ELAPSED, 32), Action::Resume { r0: 0 });
    assert_eq!(u64::from_le_bytes(r.m.0[32..40].try_into().unwrap()), 250_000_000);
    assert_refused(r.call(SYS_ELAPSED, UNMAPPED), errno::EFAULT);
}

#[test]
fn heapinfo_and_exit_forms() {
    let mut r = Rig::console();
    r.put(40, &48u32.to_le_bytes());
    assert_eq!(r.call(SYS_HEAPINFO, 40), Action::Resume { r0: 0 });
    assert_eq!(&r.m.0[48..64], &[1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0]);
    r.put(40, &UNMAPPED.to_le_bytes());
    assert_refused(r.call(SYS_HEAPINFO, 40), errno::EFAULT);
    assert_eq!(r.call(SYS_EXIT, ADP_APPLICATION_EXIT), Action::Exit(0));
    assert_eq!(r.call(SYS_EXIT, 0x20023), Action::Exit(1));
    let b = r.block(&[ADP_APPLICATION_EXIT, 3]);
    assert_eq!(r.call(SYS_EXIT_EXTENDED, b), Action::Exit(3));
    let b = r.block(&[ADP_APPLICATION_EXIT, MINUS_ONE]);
    assert_eq!(r.call(SYS_EXIT_EXTENDED, b), Action::Exit(-1));
    let b = r.block(&[0x20023, 7]);
    assert_eq!(r.call(SYS_EXIT_EXTENDED, b), Action::Exit(1));
    assert_refused(r.call(SYS_EXIT_EXTENDED, UNMAPPED), errno::EFAULT);
}

#[test]
fn errno_is_the_last_failure() {
    let mut r = Rig::console();
    assert_eq!(r.errno(), 0);
    assert_refused(r.with(SYS_CLOSE, &[99]), errno::EBADF);
    assert_eq!(r.errno(), errno::EBADF);
    // A success leaves errno alone, as in C.
    assert_eq!(r.r0(SYS_ISTTY, &[1]), 1);
    assert_eq!(r.errno(), errno::EBADF);
    assert_refused(r.open("x.bin", 0), errno::ENOENT);
    assert_eq!(r.errno(), errno::ENOENT);
}

#[test]
fn command_line() {
    let mut r = Rig::console();
    assert_eq!(r.r0(SYS_GET_CMDLINE, &[BUF, 64]), 0);
    assert_eq!(&r.m.0[BUF as usize..BUF as usize + 9], b"firmware\0");
    let mut r = Rig::new(SemihostingOptions { args: Some("rdimon_io --alpha beta".into()), ..Default::default() });
    assert_eq!(r.r0(SYS_GET_CMDLINE, &[BUF, 64]), 0);
    assert_eq!(&r.m.0[BUF as usize..BUF as usize + 23], b"rdimon_io --alpha beta\0");
    // The block's second word becomes the length.
    assert_eq!(r.m.read_u32(BLOCK + 4), Some(22));
    // Too small a buffer: -1, nothing written.
    r.put(BUF, &[0; 32]);
    let why = assert_refused(r.with(SYS_GET_CMDLINE, &[BUF, 22]), errno::EINVAL);
    assert!(why.contains("22-byte buffer"), "{why}");
    assert_eq!(r.m.0[BUF as usize], 0);
    assert_refused(r.with(SYS_GET_CMDLINE, &[UNMAPPED, 64]), errno::EFAULT);
}

#[test]
fn system_is_refused() {
    let mut r = Rig::console();
    let why = assert_refused(r.path_op(SYS_SYSTEM, "touch ran"), errno::EPERM);
    assert!(why.contains("\"touch ran\"") && why.contains("never runs host commands"), "{why}");
    assert_eq!(r.errno(), errno::EPERM);
    // Even with an unreadable command.
    assert_refused(r.call(SYS_SYSTEM, UNMAPPED), errno::EPERM);
}

#[test]
fn unknown_operations_return_minus_one_with_enosys() {
    let mut r = Rig::console();
    for op in [0x0B, 0x14, 0x17, 0x99, 0x100] {
        let why = assert_refused(r.call(op, 0), errno::ENOSYS);
        assert!(why.contains("not a semihosting operation"), "{why}");
    }
    assert_eq!(r.errno(), errno::ENOSYS);
    assert_eq!(op_label(0x99), "operation 0x99");
    assert_eq!(op_label(SYS_OPEN), "SYS_OPEN");
}

#[test]
fn handles_never_opened_are_bad() {
    let mut r = Rig::console();
    for h in [99, 3, 63, 64, MINUS_ONE] {
        assert_refused(r.with(SYS_READ, &[h, BUF, 16]), errno::EBADF);
        assert_refused(r.write(h, b"bad\n"), errno::EBADF);
        assert_refused(r.with(SYS_SEEK, &[h, 0]), errno::EBADF);
        assert_refused(r.with(SYS_FLEN, &[h]), errno::EBADF);
        assert_refused(r.with(SYS_ISTTY, &[h]), errno::EBADF);
        assert_refused(r.with(SYS_CLOSE, &[h]), errno::EBADF);
    }
}

#[test]
fn host_files_are_off_by_default() {
    let mut r = Rig::console();
    let why = assert_refused(r.open("input.bin", 1), errno::ENOENT);
    assert!(why.starts_with("\"input.bin\" (mode rb): host files are off"), "{why}");
    assert_refused(r.open("result.txt", 4), errno::ENOENT);
    assert_refused(r.path_op(SYS_REMOVE, "input.bin"), errno::ENOENT);
    assert_refused(r.rename("a", "b"), errno::ENOENT);
    assert_refused(r.with(SYS_TMPNAM, &[BUF, 0, 64]), errno::ENOENT);
    // A name at an unreadable address, or absurdly long.
    assert_refused(r.with(SYS_OPEN, &[UNMAPPED, 0, 8]), errno::EFAULT);
    assert_refused(r.with(SYS_OPEN, &[NAME, 0, 1 << 20]), errno::ENAMETOOLONG);
    assert_refused(r.call(SYS_OPEN, UNMAPPED), errno::EFAULT);
}

#[test]
fn files_in_the_folder_read_seek_and_measure() {
    let t = TempDir::new("read");
    let data: Vec<u8> = (0..64u8).collect();
    std::fs::write(t.path().join("input.bin"), &data).unwrap();
    let mut r = Rig::folder(t.path(), false);
    let h = r.open_ok("input.bin", 1);
    assert_eq!(h, 3);
    assert_eq!(r.r0(SYS_FLEN, &[h]), 64);
    assert_eq!(r.r0(SYS_ISTTY, &[h]), 0);
    assert_eq!(r.read(h, 16), (0, data[..16].to_vec()));
    assert_eq!(r.r0(SYS_SEEK, &[h, 60]), 0);
    assert_eq!(r.read(h, 16), (12, data[60..].to_vec()));
    assert_eq!(r.read(h, 16), (16, vec![]));
    assert_refused(r.write(h, b"x"), errno::EBADF);
    // A read into unwritable memory.
    assert_eq!(r.r0(SYS_SEEK, &[h, 0]), 0);
    assert_refused(r.with(SYS_READ, &[h, UNMAPPED, 4]), errno::EFAULT);
    assert_eq!(r.r0(SYS_CLOSE, &[h]), 0);
    // A file that is not there: an ordinary failure, not noted.
    assert_failed_quietly(r.open("missing.bin", 0));
    assert_eq!(r.errno(), errno::ENOENT);
    std::fs::create_dir(t.path().join("sub")).unwrap();
    assert_failed_quietly(r.open("sub", 0));
    assert_eq!(r.errno(), errno::EISDIR);
    assert_eq!(files_in(t.path()), ["input.bin", "sub"]);
}

#[test]
fn writes_need_permission() {
    let t = TempDir::new("readonly");
    std::fs::write(t.path().join("input.bin"), b"keep").unwrap();
    let mut r = Rig::folder(t.path(), false);
    for mode in [2, 3, 4, 5, 6, 7, 8, 9, 10, 11] {
        let why = assert_refused(r.open("result.txt", mode), errno::EROFS);
        assert!(why.contains("--semihosting-write"), "{why}");
        assert_refused(r.open("input.bin", mode), errno::EROFS);
    }
    assert_refused(r.path_op(SYS_REMOVE, "input.bin"), errno::EROFS);
    assert_refused(r.rename("input.bin", "moved.bin"), errno::EROFS);
    assert_eq!(files_in(t.path()), ["input.bin"]);
    assert_eq!(std::fs::read(t.path().join("input.bin")).unwrap(), b"keep");
    let t2 = TempDir::new("no-dir-write");
    assert!(matches!(Host::new(&SemihostingOptions { write: true, ..Default::default() }), Err(SimError::Usage(_))));
    assert!(matches!(Host::new(&SemihostingOptions { dir: Some(t2.path().join("nope")), ..Default::default() }), Err(SimError::Io(_))));
    assert!(matches!(Host::new(&SemihostingOptions { stdin: Some(t2.path().join("nope")), ..Default::default() }), Err(SimError::Io(_))));
    std::fs::write(t2.path().join("file"), b"").unwrap();
    assert!(matches!(Host::new(&SemihostingOptions { dir: Some(t2.path().join("file")), ..Default::default() }), Err(SimError::Io(_))));
}

#[test]
fn writes_create_truncate_and_append() {
    let t = TempDir::new("write");
    let mut r = Rig::folder(t.path(), true);
    let h = r.open_ok("result.txt", 4);
    assert_eq!(r.write(h, b"class=1\n"), Action::Resume { r0: 0 });
    assert_eq!(r.r0(SYS_FLEN, &[h]), 8);
    assert_refused(r.with(SYS_READ, &[h, BUF, 4]), errno::EBADF);
    assert_eq!(r.r0(SYS_CLOSE, &[h]), 0);
    assert_eq!(std::fs::read(t.path().join("result.txt")).unwrap(), b"class=1\n");
    // a: appends.
    let h = r.open_ok("result.txt", 8);
    assert_eq!(r.write(h, b"more\n"), Action::Resume { r0: 0 });
    assert_eq!(r.r0(SYS_CLOSE, &[h]), 0);
    assert_eq!(std::fs::read(t.path().join("result.txt")).unwrap(), b"class=1\nmore\n");
    // r+: changes in place, reads back.
    let h = r.open_ok("result.txt", 3);
    assert_eq!(r.write(h, b"CLASS"), Action::Resume { r0: 0 });
    assert_eq!(r.r0(SYS_SEEK, &[h, 0]), 0);
    assert_eq!(r.read(h, 7), (0, b"CLASS=1".to_vec()));
    assert_eq!(r.r0(SYS_CLOSE, &[h]), 0);
    // w+: truncates.
    let h = r.open_ok("result.txt", 6);
    assert_eq!(r.r0(SYS_FLEN, &[h]), 0);
    assert_eq!(r.r0(SYS_CLOSE, &[h]), 0);
    // r+ does not create.
    assert_failed_quietly(r.open("new.txt", 2));
    assert_eq!(files_in(t.path()), ["result.txt"]);
    // A write from unreadable memory changes nothing.
    let h = r.open_ok("result.txt", 4);
    assert_refused(r.with(SYS_WRITE, &[h, UNMAPPED, 4]), errno::EFAULT);
    assert_eq!(r.r0(SYS_FLEN, &[h]), 0);
}

#[test]
fn remove_rename_and_tmpnam_stay_in_the_folder() {
    let t = TempDir::new("remove");
    let dir = t.path().join("host");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("a.txt"), b"a").unwrap();
    let mut r = Rig::folder(&dir, true);
    assert_eq!(r0_of(r.rename("a.txt", "b.txt")), 0);
    assert_eq!(files_in(&dir), ["b.txt"]);
    assert_failed_quietly(r.rename("a.txt", "c.txt"));
    assert_eq!(r0_of(r.path_op(SYS_REMOVE, "b.txt")), 0);
    assert_failed_quietly(r.path_op(SYS_REMOVE, "b.txt"));
    assert_eq!(r.errno(), errno::ENOENT);
    // TMPNAM: a relative name, so inside the folder, distinct per identifier.
    assert_eq!(r.r0(SYS_TMPNAM, &[BUF, 7, 64]), 0);
    let name = String::from_utf8(r.m.0[BUF as usize..BUF as usize + 16].to_vec()).unwrap();
    assert_eq!(name, "simbench-tmp-007");
    assert_eq!(r.m.0[BUF as usize + 16], 0);
    let h = r.open_ok(&name, 6);
    assert_eq!(r.r0(SYS_CLOSE, &[h]), 0);
    assert_eq!(files_in(&dir), ["simbench-tmp-007"]);
    assert_refused(r.with(SYS_TMPNAM, &[BUF, 7, 16]), errno::EINVAL);
    assert_refused(r.with(SYS_TMPNAM, &[BUF, 256, 64]), errno::EINVAL);
    assert_refused(r.with(SYS_TMPNAM, &[UNMAPPED, 1, 64]), errno::EFAULT);
    assert_eq!(files_in(t.path()), ["host"]);
}

#[test]
fn escapes_are_refused_and_touch_nothing() {
    let t = TempDir::new("escape");
    let dir = t.path().join("host");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("input.bin"), b"in").unwrap();
    std::fs::write(t.path().join("sentinel"), b"untouched").unwrap();
    let mut r = Rig::folder(&dir, true);
    for name in ["../escape.txt", "sub/../../escape.txt", "../sentinel", "/tmp/simbench-semihosting-escape.txt", "..\\escape.txt"] {
        for mode in [0, 4, 8] {
            assert_refused(r.open(name, mode), errno::EACCES);
        }
        assert_refused(r.path_op(SYS_REMOVE, name), errno::EACCES);
        assert_refused(r.rename("input.bin", name), errno::EACCES);
        assert_refused(r.rename(name, "stolen"), errno::EACCES);
    }
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(t.path(), dir.join("outside_link")).unwrap();
        assert_refused(r.open("outside_link/escape.txt", 4), errno::EACCES);
        assert_refused(r.open("outside_link/sentinel", 0), errno::EACCES);
        assert_refused(r.path_op(SYS_REMOVE, "outside_link/sentinel"), errno::EACCES);
        // The link itself lies inside: removing it is allowed and leaves its target alone.
        std::fs::remove_file(dir.join("outside_link")).unwrap();
    }
    assert_eq!(files_in(t.path()), ["host", "sentinel"]);
    assert_eq!(files_in(&dir), ["input.bin"]);
    assert_eq!(std::fs::read(t.path().join("sentinel")).unwrap(), b"untouched");
    assert!(!Path::new("/tmp/simbench-semihosting-escape.txt").exists());
}

#[test]
fn the_handle_table_is_bounded() {
    let t = TempDir::new("handles");
    let mut r = Rig::folder(t.path(), true);
    for want in FIRST_OPENED..MAX_HANDLES as u32 {
        assert_eq!(r.open_ok(":semihosting-features", 0), want);
    }
    let why = assert_refused(r.open(":tt", 4), errno::EMFILE);
    assert!(why.contains("64 handles"), "{why}");
    // EMFILE is decided before a file is created.
    assert_refused(r.open("new.txt", 4), errno::EMFILE);
    assert_eq!(files_in(t.path()), Vec::<String>::new());
    assert_eq!(r.r0(SYS_CLOSE, &[10]), 0);
    assert_eq!(r.open_ok("new.txt", 4), 10);
}

#[test]
fn notes_are_kept_up_to_a_limit() {
    let mut h = Host::console_only();
    for i in 0..40 {
        h.note(format!("note {i}"));
    }
    let notes = h.take_notes();
    assert_eq!(notes.len(), 33);
    assert_eq!(notes[31], "note 31");
    assert_eq!(notes[32], "… and 8 more refused semihosting requests");
}
