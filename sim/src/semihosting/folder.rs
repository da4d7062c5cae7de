//! The host folder a firmware may reach through semihosting (`--semihosting-dir`): how a
//! name the firmware gives becomes a path inside it, or a refusal.
//!
//! Names are relative to the folder. Refused, with `EACCES`: absolute names (`/x`, `\x`,
//! `C:x`), any `..` component, and anything that a symbolic link leads outside the folder.
//! The folder is canonicalised once; each name's parent directory (and the name itself
//! when it exists) is canonicalised and must lie inside it, so a link inside the folder
//! that points elsewhere cannot be followed, whether to read, create or remove.

use super::errno::*;
use std::io;
use std::path::{Component, Path, PathBuf};

/// Why a request failed: the errno the firmware sees, and whether the report should note
/// it (a refusal by policy or a firmware mistake, rather than an ordinary failure such as
/// a missing file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub errno: i32,
    pub why: String,
    pub noted: bool,
}

impl Refusal {
    /// A refusal the report notes.
    pub fn noted(errno: i32, why: impl Into<String>) -> Refusal {
        Refusal { errno, why: why.into(), noted: true }
    }
    /// An ordinary failure (the firmware is told, the report is not).
    pub fn quiet(errno: i32, why: impl Into<String>) -> Refusal {
        Refusal { errno, why: why.into(), noted: false }
    }
    /// The same refusal, saying what it is about first (`"../x" (mode w): …`).
    pub fn about(mut self, what: &str) -> Refusal {
        self.why = format!("{what}: {}", self.why);
        self
    }
    /// A host I/O error, as the firmware's errno.
    pub fn io(e: &io::Error, what: &str) -> Refusal {
        Refusal::quiet(errno_of(e), format!("{what}: {e}"))
    }
}

/// Where a name leads inside the folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The directory entry itself: canonical parent + last component. What REMOVE and
    /// RENAME act on (a symbolic link is removed, not its target).
    pub entry: PathBuf,
    /// The file it names, canonical, when it exists (links followed, inside the folder).
    pub target: Option<PathBuf>,
}

impl Resolved {
    /// The path to open: the existing file, or the entry to create.
    pub fn path(&self) -> &Path {
        self.target.as_deref().unwrap_or(&self.entry)
    }
}

/// The folder, canonical.
#[derive(Debug, Clone)]
pub struct Folder {
    root: PathBuf,
}

impl Folder {
    /// The folder at `dir`, which must exist and be a directory.
    pub fn new(dir: &Path) -> io::Result<Folder> {
        let root = std::fs::canonicalize(dir)?;
        if !root.is_dir() {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "not a directory"));
        }
        Ok(Folder { root })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Resolve the firmware's `name` to a place inside the folder.
    pub fn resolve(&self, name: &str) -> Result<Resolved, Refusal> {
        let parts = relative_parts(name)?;
        let Some((leaf, dirs)) = parts.split_last() else {
            return Err(Refusal::quiet(EISDIR, "the name is the host folder itself"));
        };
        let mut parent = self.root.clone();
        parent.extend(dirs);
        let parent = match std::fs::canonicalize(&parent) {
            Ok(p) => p,
            Err(e) => return Err(Refusal::io(&e, "its directory does not exist")),
        };
        if !parent.starts_with(&self.root) {
            return Err(Refusal::noted(EACCES, "a symbolic link leads outside the host folder"));
        }
        if !parent.is_dir() {
            return Err(Refusal::quiet(ENOTDIR, "a directory in the name is a file"));
        }
        let entry = parent.join(leaf);
        let target = match std::fs::symlink_metadata(&entry) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(Refusal::io(&e, "cannot inspect it")),
            Ok(_) => match std::fs::canonicalize(&entry) {
                Ok(t) if t.starts_with(&self.root) => Some(t),
                Ok(_) => return Err(Refusal::noted(EACCES, "a symbolic link leads outside the host folder")),
                // A link to nothing: creating through it would create its target, wherever that is.
                Err(_) => return Err(Refusal::noted(EACCES, "it is a symbolic link to nothing")),
            },
        };
        Ok(Resolved { entry, target })
    }
}

/// The components of a relative name without `.`; refuses absolute names and `..`.
fn relative_parts(name: &str) -> Result<Vec<&str>, Refusal> {
    if name.is_empty() {
        return Err(Refusal::quiet(ENOENT, "the name is empty"));
    }
    if name.contains('\0') {
        return Err(Refusal::noted(EINVAL, "the name contains a NUL byte"));
    }
    let bytes = name.as_bytes();
    let drive = bytes.len() >= 2 && bytes[1] == b':' && bytes[0].is_ascii_alphabetic();
    if name.starts_with('/') || name.starts_with('\\') || drive || Path::new(name).has_root() {
        return Err(Refusal::noted(EACCES, "absolute paths are refused: name files relative to the host folder"));
    }
    let mut parts = Vec::new();
    for part in name.split(['/', '\\']) {
        match part {
            "" | "." => {}
            ".." => return Err(Refusal::noted(EACCES, "'..' is refused: the firmware stays inside the host folder")),
            p => {
                // Whatever the host's path syntax makes of it, it must be one plain component.
                let mut c = Path::new(p).components();
                if !matches!((c.next(), c.next()), (Some(Component::Normal(_)), None)) {
                    return Err(Refusal::noted(EACCES, format!("'{p}' is not a plain file name")));
                }
                parts.push(p);
            }
        }
    }
    Ok(parts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::semihosting::tests::TempDir;

    #[test]
    fn names_resolve_inside_the_folder() {
        let t = TempDir::new("folder-resolve");
        std::fs::create_dir(t.path().join("sub")).unwrap();
        std::fs::write(t.path().join("sub/a.txt"), b"a").unwrap();
        let f = Folder::new(t.path()).unwrap();
        let r = f.resolve("sub/a.txt").unwrap();
        assert_eq!(r.target.as_deref(), Some(f.root().join("sub/a.txt").as_path()));
        let r = f.resolve("./sub//new.txt").unwrap();
        assert_eq!(r.target, None);
        assert_eq!(r.entry, f.root().join("sub/new.txt"));
        // A missing directory: an ordinary failure.
        let e = f.resolve("nodir/x").unwrap_err();
        assert_eq!((e.errno, e.noted), (ENOENT, false));
        assert_eq!(f.resolve(".").unwrap_err().errno, EISDIR);
        assert_eq!(f.resolve("").unwrap_err().errno, ENOENT);
        assert_eq!(f.resolve("sub/a.txt/x").unwrap_err().errno, ENOTDIR);
    }

    #[test]
    fn escapes_are_refused_and_noted() {
        let t = TempDir::new("folder-escape");
        let f = Folder::new(t.path()).unwrap();
        for name in ["../x", "sub/../../x", "..", "a/..", "/etc/passwd", "\\x", "C:x", "c:\\x", "..\\x"] {
            let e = f.resolve(name).unwrap_err();
            assert_eq!((e.errno, e.noted), (EACCES, true), "{name}: {e:?}");
        }
        assert_eq!(f.resolve("a\0b").unwrap_err().errno, EINVAL);
    }

    #[cfg(unix)]
    #[test]
    fn symbolic_links_may_not_leave_the_folder() {
        let t = TempDir::new("folder-links");
        let inside = t.path().join("inside");
        let outside = t.path().join("outside");
        std::fs::create_dir(&inside).unwrap();
        std::fs::create_dir(&outside).unwrap();
        std::fs::write(outside.join("secret"), b"s").unwrap();
        std::fs::write(inside.join("data"), b"d").unwrap();
        std::os::unix::fs::symlink(&outside, inside.join("out_dir")).unwrap();
        std::os::unix::fs::symlink(outside.join("secret"), inside.join("out_file")).unwrap();
        std::os::unix::fs::symlink(outside.join("nothing"), inside.join("dangling")).unwrap();
        std::os::unix::fs::symlink(inside.join("data"), inside.join("in_file")).unwrap();
        let f = Folder::new(&inside).unwrap();
        for name in ["out_dir/secret", "out_dir/new", "out_file", "dangling"] {
            let e = f.resolve(name).unwrap_err();
            assert_eq!((e.errno, e.noted), (EACCES, true), "{name}: {e:?}");
        }
        // A link that stays inside is followed; its entry is the link itself.
        let r = f.resolve("in_file").unwrap();
        assert_eq!(r.target.as_deref(), Some(f.root().join("data").as_path()));
        assert_eq!(r.entry, f.root().join("in_file"));
        // The folder given through a link is the link's target.
        std::os::unix::fs::symlink(&inside, t.path().join("alias")).unwrap();
        let g = Folder::new(&t.path().join("alias")).unwrap();
        assert!(g.resolve("data").unwrap().target.is_some());
    }
}
