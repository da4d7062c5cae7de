//! What a semihosting host keeps between calls: the handle table, the console's stdin,
//! the host folder and its write permission, the command line, the last errno, and notes
//! for the report.
//!
//! Handles are indices into simbench's own table, never host file descriptors. 0, 1 and
//! 2 are the console's stdin, stdout and stderr, open at reset (firmware that writes to
//! handle 1 without opening anything works, as under OpenOCD and QEMU). SYS_OPEN returns
//! the lowest free handle from 3 up; at most [`MAX_HANDLES`] are open at once, counting
//! the three console handles.

use super::errno::*;
use super::folder::{Folder, Refusal};
use crate::error::SimError;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::PathBuf;

/// How semihosting reaches the host (`RunOptions::semihosting`). The default is what a
/// debugger without file access gives: console only, empty stdin.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SemihostingOptions {
    /// Host folder the firmware may open files in, by relative name (`--semihosting-dir`);
    /// None: host files are off.
    pub dir: Option<PathBuf>,
    /// Let the firmware create, write, remove and rename files in `dir`
    /// (`--semihosting-write`).
    pub write: bool,
    /// File whose bytes the firmware reads from the console (`--stdin`); None: stdin is
    /// empty (a read returns end of file).
    pub stdin: Option<PathBuf>,
    /// The command line SYS_GET_CMDLINE returns, program name first (`--args`); None:
    /// the firmware's file name (see `runner::run_to_report`).
    pub args: Option<String>,
}

/// Handles open at once, the three console handles included.
pub const MAX_HANDLES: usize = 64;
/// The first handle SYS_OPEN returns (0–2 are the console, open at reset).
pub const FIRST_OPENED: u32 = 3;
/// The contents of `:semihosting-features`: magic `SHFB`, then feature byte 0 with
/// EXIT_EXTENDED (bit 0) and STDOUT_STDERR (bit 1).
pub const FEATURES: [u8; 5] = [b'S', b'H', b'F', b'B', 0b11];
/// Bytes the firmware may write to host files in one run (a runaway loop must not fill
/// the disk).
pub const MAX_WRITTEN: u64 = 256 << 20;
/// Notes kept for the report; later ones are counted.
const MAX_NOTES: usize = 32;
/// The command line when nobody named the program.
const DEFAULT_PROGRAM: &str = "firmware";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    Stdin,
    Stdout,
    Stderr,
}

enum Handle {
    Console(Stream),
    Features { pos: u64 },
    File { file: File, read: bool, write: bool },
}

/// Where a write goes.
#[derive(Debug, PartialEq, Eq)]
pub enum Sink {
    /// The console: 1 = stdout, 2 = stderr.
    Console(u8),
    File,
}

/// The host side of semihosting for one run.
pub struct Host {
    folder: Option<Folder>,
    write: bool,
    stdin: Vec<u8>,
    stdin_pos: usize,
    cmdline: String,
    handles: Vec<Option<Handle>>,
    /// What SYS_ERRNO returns: the errno of the last call that failed.
    pub errno: i32,
    written: u64,
    notes: Vec<String>,
    notes_dropped: u64,
}

impl Host {
    /// The host at reset: checks the folder and reads stdin.
    pub fn new(opts: &SemihostingOptions) -> Result<Host, SimError> {
        if opts.write && opts.dir.is_none() {
            return Err(SimError::Usage("--semihosting-write needs --semihosting-dir DIR: the folder the firmware may write in".into()));
        }
        let folder = match &opts.dir {
            Some(d) => Some(Folder::new(d).map_err(|e| SimError::Io(format!("--semihosting-dir '{}': {e}", d.display())))?),
            None => None,
        };
        let stdin = match &opts.stdin {
            Some(p) => std::fs::read(p).map_err(|e| SimError::Io(format!("cannot read --stdin '{}': {e}", p.display())))?,
            None => Vec::new(),
        };
        let cmdline = opts.args.clone().unwrap_or_else(|| DEFAULT_PROGRAM.into());
        let handles = vec![Some(Handle::Console(Stream::Stdin)), Some(Handle::Console(Stream::Stdout)), Some(Handle::Console(Stream::Stderr))];
        Ok(Host { folder, write: opts.write, stdin, stdin_pos: 0, cmdline, handles, errno: 0, written: 0, notes: Vec::new(), notes_dropped: 0 })
    }

    /// A host with no folder, empty stdin and the default command line.
    pub fn console_only() -> Host {
        Host::new(&SemihostingOptions::default()).expect("the default options are valid")
    }

    pub fn cmdline(&self) -> &str {
        &self.cmdline
    }

    /// Record a note for the report.
    pub fn note(&mut self, text: String) {
        if self.notes.len() < MAX_NOTES {
            self.notes.push(text);
        } else {
            self.notes_dropped += 1;
        }
    }

    /// The notes, with a last line counting those not kept.
    pub fn take_notes(&mut self) -> Vec<String> {
        let notes = self.notes();
        self.notes.clear();
        notes
    }

    /// The notes so far, as `take_notes` gives them, keeping them.
    pub fn notes(&self) -> Vec<String> {
        let mut notes = self.notes.clone();
        if self.notes_dropped > 0 {
            notes.push(format!("… and {} more refused semihosting requests", self.notes_dropped));
        }
        notes
    }

    fn slot(&mut self, h: u32) -> Result<&mut Handle, Refusal> {
        match self.handles.get_mut(h as usize) {
            Some(Some(handle)) => Ok(handle),
            _ => Err(Refusal::noted(EBADF, "it is not open")),
        }
    }

    /// A free handle number (checked before a file is created, so that EMFILE changes nothing).
    fn free_handle(&self) -> Result<usize, Refusal> {
        let first = FIRST_OPENED as usize;
        match self.handles.iter().skip(first).position(Option::is_none) {
            Some(i) => Ok(first + i),
            None if self.handles.len() < MAX_HANDLES => Ok(self.handles.len()),
            None => Err(Refusal::noted(EMFILE, format!("{MAX_HANDLES} handles are open already (simbench's limit): close some"))),
        }
    }

    /// SYS_OPEN: `name` with an fopen mode 0–11 (r, rb, r+, r+b, w, wb, w+, w+b, a, ab, a+, a+b).
    pub fn open(&mut self, name: &str, mode: u32) -> Result<u32, Refusal> {
        if mode > 11 {
            return Err(Refusal::noted(EINVAL, format!("mode {mode} is not an open mode (0–11)")));
        }
        let h = self.free_handle()?;
        let handle = match name {
            // The console: r = stdin, w = stdout, a = stderr (each with b and + forms).
            ":tt" => Handle::Console(match mode / 4 {
                0 => Stream::Stdin,
                1 => Stream::Stdout,
                _ => Stream::Stderr,
            }),
            ":semihosting-features" if mode <= 1 => Handle::Features { pos: 0 },
            ":semihosting-features" => return Err(Refusal::noted(EACCES, ":semihosting-features opens for reading only")),
            _ => self.open_file(name, mode)?,
        };
        if h == self.handles.len() {
            self.handles.push(Some(handle));
        } else {
            self.handles[h] = Some(handle);
        }
        Ok(h as u32)
    }

    fn folder(&self) -> Result<&Folder, Refusal> {
        self.folder.as_ref().ok_or_else(|| Refusal::noted(ENOENT, "host files are off: --semihosting-dir DIR lets the firmware open files in DIR"))
    }

    fn check_writable(&self) -> Result<(), Refusal> {
        if self.write {
            Ok(())
        } else {
            Err(Refusal::noted(EROFS, "the host folder is read-only: --semihosting-write lets the firmware create and change files in it"))
        }
    }

    fn open_file(&self, name: &str, mode: u32) -> Result<Handle, Refusal> {
        let place = self.folder()?.resolve(name)?;
        // (read, write, create, truncate, append)
        let (read, write, create, truncate, append) = match mode {
            0 | 1 => (true, false, false, false, false),
            2 | 3 => (true, true, false, false, false),
            4 | 5 => (false, true, true, true, false),
            6 | 7 => (true, true, true, true, false),
            8 | 9 => (false, true, true, false, true),
            _ => (true, true, true, false, true),
        };
        if write {
            self.check_writable()?;
        }
        match &place.target {
            Some(t) if t.is_dir() => return Err(Refusal::quiet(EISDIR, "it is a directory")),
            Some(t) if !t.is_file() => return Err(Refusal::noted(EACCES, "it is not a regular file")),
            None if !create => return Err(Refusal::quiet(ENOENT, "no such file in the host folder")),
            _ => {}
        }
        let file = std::fs::OpenOptions::new()
            .read(read)
            .write(write && !append)
            .append(append)
            .create(create)
            .truncate(truncate)
            .open(place.path())
            .map_err(|e| Refusal::io(&e, "the host cannot open it"))?;
        Ok(Handle::File { file, read, write })
    }

    /// SYS_CLOSE.
    pub fn close(&mut self, h: u32) -> Result<(), Refusal> {
        self.slot(h)?;
        self.handles[h as usize] = None;
        Ok(())
    }

    /// Where SYS_WRITE to `h` goes.
    pub fn sink(&mut self, h: u32) -> Result<Sink, Refusal> {
        match self.slot(h)? {
            Handle::Console(Stream::Stdout) => Ok(Sink::Console(1)),
            Handle::Console(Stream::Stderr) => Ok(Sink::Console(2)),
            Handle::File { write: true, .. } => Ok(Sink::File),
            Handle::Console(Stream::Stdin) => Err(Refusal::noted(EBADF, "the handle is the console's stdin")),
            Handle::Features { .. } | Handle::File { .. } => Err(Refusal::noted(EBADF, "the handle is open for reading only")),
        }
    }

    /// SYS_WRITE to a file handle (`sink` said `File`): bytes written.
    pub fn write_file(&mut self, h: u32, bytes: &[u8]) -> Result<usize, Refusal> {
        let room = MAX_WRITTEN.saturating_sub(self.written).min(bytes.len() as u64) as usize;
        if room == 0 && !bytes.is_empty() {
            return Err(Refusal::noted(ENOSPC, format!("the firmware has written {} MiB to host files, simbench's limit for one run", MAX_WRITTEN >> 20)));
        }
        let Handle::File { file, .. } = self.slot(h)? else {
            return Err(Refusal::noted(EBADF, "the handle is not a file"));
        };
        file.write_all(&bytes[..room]).map_err(|e| Refusal::io(&e, "the host cannot write it"))?;
        self.written += room as u64;
        Ok(room)
    }

    /// SYS_READ: up to `len` bytes. The console gives at most one line per read, as a
    /// terminal does; an empty result is the end of the file.
    pub fn read(&mut self, h: u32, len: usize) -> Result<Vec<u8>, Refusal> {
        if matches!(self.slot(h)?, Handle::Console(Stream::Stdin)) {
            return Ok(self.stdin_line(len));
        }
        match self.slot(h)? {
            Handle::Console(_) => Err(Refusal::noted(EBADF, "the handle is the console's output")),
            Handle::Features { pos } => {
                let from = (*pos).min(FEATURES.len() as u64) as usize;
                let out = FEATURES[from..(from + len).min(FEATURES.len())].to_vec();
                *pos = (from + out.len()) as u64;
                Ok(out)
            }
            Handle::File { file, read: true, .. } => {
                let mut out = Vec::with_capacity(len.min(1 << 16));
                file.take(len as u64).read_to_end(&mut out).map_err(|e| Refusal::io(&e, "the host cannot read it"))?;
                Ok(out)
            }
            Handle::File { .. } => Err(Refusal::noted(EBADF, "the handle is open for writing only")),
        }
    }

    fn stdin_line(&mut self, len: usize) -> Vec<u8> {
        let rest = &self.stdin[self.stdin_pos..];
        let line = rest.iter().position(|&b| b == b'\n').map_or(rest.len(), |i| i + 1);
        let n = line.min(len);
        self.stdin_pos += n;
        rest[..n].to_vec()
    }

    /// SYS_READC: the next stdin byte (None at the end).
    pub fn readc(&mut self) -> Option<u8> {
        let b = self.stdin.get(self.stdin_pos).copied();
        self.stdin_pos += b.is_some() as usize;
        b
    }

    /// SYS_ISTTY.
    pub fn istty(&mut self, h: u32) -> Result<bool, Refusal> {
        Ok(matches!(self.slot(h)?, Handle::Console(_)))
    }

    /// SYS_SEEK to an absolute position.
    pub fn seek(&mut self, h: u32, pos: u32) -> Result<(), Refusal> {
        if (pos as i32) < 0 {
            return Err(Refusal::quiet(EINVAL, "negative position"));
        }
        match self.slot(h)? {
            Handle::Console(_) => Err(Refusal::quiet(ESPIPE, "the console cannot seek")),
            Handle::Features { pos: p } => {
                *p = pos as u64;
                Ok(())
            }
            Handle::File { file, .. } => file.seek(SeekFrom::Start(pos as u64)).map(|_| ()).map_err(|e| Refusal::io(&e, "the host cannot seek it")),
        }
    }

    /// SYS_FLEN: the length in bytes (0 for the console, as for a terminal).
    pub fn flen(&mut self, h: u32) -> Result<u32, Refusal> {
        let len = match self.slot(h)? {
            Handle::Console(_) => 0,
            Handle::Features { .. } => FEATURES.len() as u64,
            Handle::File { file, .. } => file.metadata().map_err(|e| Refusal::io(&e, "the host cannot measure it"))?.len(),
        };
        u32::try_from(len).ok().filter(|&l| l <= i32::MAX as u32).ok_or_else(|| Refusal::noted(EFBIG, "the file is 2 GiB or larger"))
    }

    /// SYS_TMPNAM: a name inside the host folder for identifier `id` (0–255).
    pub fn tmpnam(&self, id: u32) -> Result<String, Refusal> {
        self.folder()?;
        if id > 255 {
            return Err(Refusal::noted(EINVAL, format!("identifier {id} is not 0–255")));
        }
        Ok(format!("simbench-tmp-{id:03}"))
    }

    /// SYS_REMOVE.
    pub fn remove(&mut self, name: &str) -> Result<(), Refusal> {
        let place = self.folder()?.resolve(name)?;
        self.check_writable()?;
        match std::fs::symlink_metadata(&place.entry) {
            Err(_) => Err(Refusal::quiet(ENOENT, "no such file in the host folder")),
            Ok(m) if m.is_dir() => Err(Refusal::quiet(EISDIR, "it is a directory")),
            Ok(_) => std::fs::remove_file(&place.entry).map_err(|e| Refusal::io(&e, "the host cannot remove it")),
        }
    }

    /// SYS_RENAME.
    pub fn rename(&mut self, from: &str, to: &str) -> Result<(), Refusal> {
        let folder = self.folder()?;
        let (a, b) = (folder.resolve(from)?, folder.resolve(to)?);
        self.check_writable()?;
        if std::fs::symlink_metadata(&a.entry).is_err() {
            return Err(Refusal::quiet(ENOENT, "no such file in the host folder"));
        }
        std::fs::rename(&a.entry, &b.entry).map_err(|e| Refusal::io(&e, "the host cannot rename it"))
    }
}
