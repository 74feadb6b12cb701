//! Reading files and directories by byte-string path, below the root the
//! kernel interface names (the real / or a test's fake tree).

use rustix::buffer::spare_capacity;
use rustix::fd::{AsFd, OwnedFd};
use rustix::fs::{open, FileType, Mode, OFlags, RawDir};
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

/// O_NONBLOCK: a FIFO put where a file is expected opens at once and reads
/// as empty, instead of blocking until a writer comes (kmod hangs there).
/// Linux ignores the flag on regular files.
pub fn open_ro(path: &CString) -> Result<OwnedFd, Errno> {
    open(path.as_c_str(), OFlags::RDONLY | OFlags::NONBLOCK | OFlags::CLOEXEC, Mode::empty())
}

/// Reads a descriptor to its end, into one buffer of `hint` bytes (the
/// file's size, when known) that grows only if the file does. `limit`
/// bounds what a hostile or endless file (/dev/zero) can make us hold: past
/// it, EFBIG; the buffer never grows beyond one byte more.
pub fn read_fd(fd: impl AsFd, limit: usize, hint: usize) -> Result<Vec<u8>, Errno> {
    // One byte more than the hint, so the end of the file is seen without
    // growing the buffer.
    let mut buf = Vec::with_capacity(hint.min(limit) + 1);
    loop {
        if buf.len() == buf.capacity() {
            buf.reserve_exact(buf.capacity().max(4096).min(limit + 1 - buf.len()));
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
    rustix::fs::stat(path.as_c_str()).ok().map(|st| FileType::from_raw_mode(st.st_mode) == FileType::Directory)
}

/// A whole file mapped read-only, as libkmod maps indexes and uncompressed
/// modules: no copy, and the page cache's pages are shared between runs.
/// Files larger than `limit` are refused (EFBIG).
pub struct Mapped {
    ptr: *mut core::ffi::c_void,
    len: usize,
}

impl Mapped {
    pub fn open(path: &CString, limit: usize) -> Result<Mapped, Errno> {
        Mapped::of(&open_ro(path)?, limit)
    }

    /// A mapping of nothing.
    pub fn empty() -> Mapped {
        Mapped { ptr: core::ptr::null_mut(), len: 0 }
    }

    /// The file open in `fd`, mapped whole.
    pub fn of(fd: &OwnedFd, limit: usize) -> Result<Mapped, Errno> {
        let st = rustix::fs::fstat(fd)?;
        // mmap() of a directory says ENODEV; reading one, as kmod does, EISDIR.
        if FileType::from_raw_mode(st.st_mode) == FileType::Directory {
            return Err(Errno::ISDIR);
        }
        let len = usize::try_from(st.st_size).map_err(|_| Errno::FBIG)?;
        if len > limit {
            return Err(Errno::FBIG);
        }
        if len == 0 {
            return Ok(Mapped::empty());
        }
        use rustix::mm::{mmap, MapFlags, ProtFlags};
        // SAFETY: a fresh private read-only mapping of a file we opened;
        // it is only read through `bytes` and unmapped on drop.
        let ptr = unsafe { mmap(core::ptr::null_mut(), len, ProtFlags::READ, MapFlags::PRIVATE, fd, 0)? };
        Ok(Mapped { ptr, len })
    }

    pub fn bytes(&self) -> &[u8] {
        if self.len == 0 {
            return &[];
        }
        // SAFETY: `ptr` maps `len` readable bytes for the life of self. A
        // file truncated meanwhile would fault; kmod maps the same files the
        // same way, and depmod replaces index files by rename, never in place.
        unsafe { core::slice::from_raw_parts(self.ptr.cast(), self.len) }
    }
}

impl Drop for Mapped {
    fn drop(&mut self) {
        if self.len > 0 {
            // SAFETY: the mapping made in `open`, not used after this.
            let _ = unsafe { rustix::mm::munmap(self.ptr, self.len) };
        }
    }
}

/// `path` made absolute against the working directory, as kmod's
/// path_make_absolute_cwd() does (the path is not normalised). The getcwd
/// system call rather than musl's getcwd(), which would link malloc in;
/// when there is no working directory the path stays as given. Like the C
/// library, an answer that is no absolute path (the kernel's
/// "(unreachable)/..." for a directory outside the root) counts as none.
pub fn absolute(path: &[u8]) -> Vec<u8> {
    match rustix::process::getcwd(Vec::new()) {
        Ok(cwd) if cwd.as_bytes().starts_with(b"/") && !path.starts_with(b"/") => [cwd.as_bytes(), b"/", path].concat(),
        _ => path.to_vec(),
    }
}
