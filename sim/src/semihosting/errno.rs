//! The errno values SYS_ERRNO hands the firmware: newlib's and picolibc's numbering (the C
//! libraries that read it), which for 1–34 is also Linux's and macOS's.

pub const EPERM: i32 = 1;
pub const ENOENT: i32 = 2;
pub const EIO: i32 = 5;
pub const EBADF: i32 = 9;
pub const EACCES: i32 = 13;
pub const EFAULT: i32 = 14;
pub const EEXIST: i32 = 17;
pub const ENOTDIR: i32 = 20;
pub const EISDIR: i32 = 21;
pub const EINVAL: i32 = 22;
pub const EMFILE: i32 = 24;
pub const EFBIG: i32 = 27;
pub const ENOSPC: i32 = 28;
pub const ESPIPE: i32 = 29;
pub const EROFS: i32 = 30;
/// newlib's value (Linux uses 38).
pub const ENOSYS: i32 = 88;
/// newlib's value (Linux uses 36).
pub const ENAMETOOLONG: i32 = 91;

/// Symbolic name, for notes.
pub fn name(errno: i32) -> &'static str {
    match errno {
        EPERM => "EPERM",
        ENOENT => "ENOENT",
        EIO => "EIO",
        EBADF => "EBADF",
        EACCES => "EACCES",
        EFAULT => "EFAULT",
        EEXIST => "EEXIST",
        ENOTDIR => "ENOTDIR",
        EISDIR => "EISDIR",
        EINVAL => "EINVAL",
        EMFILE => "EMFILE",
        EFBIG => "EFBIG",
        ENOSPC => "ENOSPC",
        ESPIPE => "ESPIPE",
        EROFS => "EROFS",
        ENOSYS => "ENOSYS",
        ENAMETOOLONG => "ENAMETOOLONG",
        _ => "errno",
    }
}

/// A host I/O error as the firmware's errno: the classic values (1–34) pass through where
/// the host numbers them the same way, anything else is EIO.
pub fn errno_of(e: &std::io::Error) -> i32 {
    use std::io::ErrorKind::*;
    match e.kind() {
        NotFound => ENOENT,
        PermissionDenied => EACCES,
        AlreadyExists => EEXIST,
        InvalidInput => EINVAL,
        _ => match e.raw_os_error() {
            Some(n) if cfg!(unix) && (1..=34).contains(&n) => n,
            _ => EIO,
        },
    }
}
