//! Reading files and directories by byte-string path, below the root the
//! kernel interface names (the real / or a test's fake tree).

use rustix::fd::{AsFd, OwnedFd};
use rustix::fs::{open, Mode, OFlags, RawDir};
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

/// Reads a descriptor to its end. `limit` bounds what a hostile or endless
/// file (/dev/zero) can make us hold: past it, EFBIG.
pub fn read_fd(fd: impl AsFd, limit: usize) -> Result<Vec<u8>, Errno> {
    let mut buf = Vec::new();
    let mut len = 0;
    loop {
        if buf.len() - len < 4096 {
            buf.resize(buf.len() * 2 + 4096, 0);
        }
        match read(&fd, &mut buf[len..]) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(Errno::INTR) => continue,
            Err(e) => return Err(e),
        }
        if len > limit {
            return Err(Errno::FBIG);
        }
    }
    buf.truncate(len);
    Ok(buf)
}

/// A small /proc or /sys file, whole.
pub fn read_small(path: &CString) -> Result<Vec<u8>, Errno> {
    read_fd(open_ro(path)?, 1 << 20)
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
