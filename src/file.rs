//! Reading files and directories by byte-string path, below the root the
//! kernel interface names (the real / or a test's fake tree).

use rustix::fd::{AsFd, OwnedFd};
use rustix::fs::{open, Mode, OFlags, RawDir};
use rustix::buffer::spare_capacity;
use rustix::io::{read, Errno};
use std::ffi::CString;
use std::mem::MaybeUninit;

/// `root` + `path` as a C string; a NUL inside a name cannot name a file.
pub fn cpath(root: &[u8], parts: &[&[u8]]) -> Result<CString, Errno> {
    let mut p = root.to_vec();
    for part in parts {
        p.extend_from_slice(part);
    }
    CString::new(p).map_err(|_| Errno::INVAL)
}

pub fn open_ro(path: &CString) -> Result<OwnedFd, Errno> {
    open(path.as_c_str(), OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())
}

/// Reads a descriptor to its end, into one buffer of `hint` bytes (the
/// file's size, when known) that grows only if the file does. `limit`
/// bounds what a hostile or endless file (/dev/zero) can make us hold: past
/// it, EFBIG.
pub fn read_fd(fd: impl AsFd, limit: usize, hint: usize) -> Result<Vec<u8>, Errno> {
    // One byte more than the hint, so the end of the file is seen without
    // growing the buffer.
    let mut buf = Vec::with_capacity(hint.min(limit) + 1);
    loop {
        if buf.len() == buf.capacity() {
            buf.reserve(buf.capacity().max(4096));
        }
        match read(&fd, spare_capacity(&mut buf)) {
            Ok(0) => return Ok(buf),
            Ok(_) => {}
            Err(Errno::INTR) => continue,
            Err(e) => return Err(e),
        }
        if buf.len() > limit {
            return Err(Errno::FBIG);
        }
    }
}

/// A regular file's whole contents, read in one buffer of its size.
pub fn read_all(fd: impl AsFd, limit: usize) -> Result<Vec<u8>, Errno> {
    let size = rustix::fs::fstat(&fd)?.st_size as usize;
    read_fd(fd, limit, size)
}

/// A small /proc or /sys file, whole.
pub fn read_small(path: &CString) -> Result<Vec<u8>, Errno> {
    read_fd(open_ro(path)?, 1 << 20, 4096)
}

/// The names in a directory, in the order the file system gives them
/// (readdir order, as kmod lists holders), without `.` and `..`.
pub fn list_dir(path: &CString) -> Result<Vec<Vec<u8>>, Errno> {
    let fd = open(path.as_c_str(), OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())?;
    let mut names = Vec::new();
    let mut buf = [MaybeUninit::uninit(); 4096];
    let mut dir = RawDir::new(fd, &mut buf);
    while let Some(entry) = dir.next() {
        let entry = entry?;
        let name = entry.file_name().to_bytes();
        if name != b"." && name != b".." {
            names.push(name.to_vec());
        }
    }
    Ok(names)
}

/// Whether the path exists, and is a directory.
pub fn stat_dir(path: &CString) -> Option<bool> {
    rustix::fs::stat(path.as_c_str()).ok().map(|st| st.st_mode & 0o170000 == 0o040000)
}
