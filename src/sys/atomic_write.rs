//! Replacing a set of files so that each is either wholly old or wholly new:
//! kmod's depmod writes each index to a temporary name and renames it over
//! the old one; this does the same for the whole set, with the failure
//! cases described on write_atomically().

use crate::sys::file::{cpath, list_dir};
use crate::sys::out::{Out, Sink};
use rustix::fd::OwnedFd;
use rustix::fs::{flock, AtFlags, FlockOperation, Mode, OFlags};
use rustix::io::Errno;
use std::ffi::CString;

/// One file to write: its name in the directory and its contents.
pub struct OutputFile {
    pub name: &'static str,
    pub text: Vec<u8>,
}

/// Why write_atomically() failed.
pub struct WriteFailure {
    /// The file being written or renamed ("" for the directory itself).
    pub name: &'static str,
    pub errno: Errno,
    /// Files before it were renamed already: the set is part new.
    pub partly_renamed: bool,
}

/// Writes every file to a temporary name in `dir` (`NAME.PID.tmp`), syncs
/// it, and only when all are written renames them into place, in kmod's
/// order; on a failure the temporary files are removed and the old index
/// files are untouched. Returns the file and errno that failed, and whether
/// files before it were renamed already (a rename failed part-way).
///
/// Every temporary file stays open for writing until the renames are done:
/// the kernel refuses to make a file system (or a bind mount) read-only
/// while a file is open for writing on it (EBUSY), so a read-only remount
/// cannot come between two renames (leaving a set part new, part old) or
/// between a failure and the removal of the temporary files (leaving them
/// behind): it happens before the first file is made, and the run fails
/// cleanly, or after the last rename. A rename can still fail part-way
/// through (the directory's write permission taken away meanwhile, an I/O
/// error): then the message says which files are new.
///
/// A run that was killed (or lost power) part-way leaves its temporary
/// files behind, and nothing else would ever remove them (kmod's
/// `NAME.PID.USEC.SEC` files of a killed run stay for ever; they are not
/// touched here). So each run first removes those of earlier runs — but
/// only when no other modbox depmod is writing to the directory at that
/// moment: every writer holds a shared flock on the directory while its
/// temporary files exist, and the removal needs it exclusively. The lock
/// is only tried for the removal (a file system without flock just keeps
/// the leftovers, as before); the shared lock is waited for, as
/// only the removal of another run holds it exclusively.
#[inline(never)]
pub fn write_atomically(dir: &[u8], files: &[OutputFile]) -> Result<(), WriteFailure> {
    let cdir = cpath(b"", &[dir]).map_err(|errno| WriteFailure { name: "", errno, partly_renamed: false })?;
    let dfd = rustix::fs::open(cdir.as_c_str(), OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())
        .map_err(|errno| WriteFailure { name: "", errno, partly_renamed: false })?;
    let mut suffix = b".".to_vec();
    let mut o = Out::new(Sink::Buffer);
    o.num(i64::from(std::process::id()));
    suffix.extend_from_slice(&o.buf);
    suffix.extend_from_slice(b".tmp");
    let temp = |name: &str| cpath(name.as_bytes(), &[&suffix]);
    if flock(&dfd, FlockOperation::NonBlockingLockExclusive).is_ok() {
        remove_stale_temps(&dfd, &cdir, files);
    }
    // From exclusive to shared, or shared at once. flock converts by
    // unlocking first, so another run may take it exclusively for its own
    // removal meanwhile: that takes one directory read, and this waits.
    let _ = flock(&dfd, FlockOperation::LockShared);
    // The temporary files made so far, each still open (see above).
    let mut made: Vec<(&str, rustix::fd::OwnedFd)> = Vec::new();
    let mut result = Ok(());
    for OutputFile { name, text: data } in files {
        let written = (|| {
            let t = temp(name)?;
            let _ = rustix::fs::unlinkat(&dfd, t.as_c_str(), AtFlags::empty());
            let fd = rustix::fs::openat(
                &dfd,
                t.as_c_str(),
                OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::CLOEXEC | OFlags::NOFOLLOW,
                Mode::from_raw_mode(0o644),
            )?;
            made.push((name, fd));
            let fd = &made[made.len() - 1].1;
            let mut rest = &data[..];
            while !rest.is_empty() {
                match rustix::io::write(fd, rest) {
                    Ok(0) => return Err(Errno::NOSPC),
                    Ok(n) => rest = &rest[n..],
                    Err(Errno::INTR) => {}
                    Err(e) => return Err(e),
                }
            }
            rustix::fs::fsync(fd)
        })();
        if let Err(e) = written {
            result = Err(WriteFailure { name, errno: e, partly_renamed: false });
            break;
        }
    }
    let mut renamed = 0;
    if result.is_ok() {
        for (name, _) in &made {
            let (Ok(t), Ok(n)) = (temp(name), cpath(name.as_bytes(), &[])) else { continue };
            if let Err(e) = rustix::fs::renameat(&dfd, t.as_c_str(), &dfd, n.as_c_str()) {
                result = Err(WriteFailure { name, errno: e, partly_renamed: renamed > 0 });
                break;
            }
            renamed += 1;
        }
        let _ = rustix::fs::fsync(&dfd);
    }
    for (name, _) in &made[renamed..] {
        if let Ok(t) = temp(name) {
            let _ = rustix::fs::unlinkat(&dfd, t.as_c_str(), AtFlags::empty());
        }
    }
    // Only now are the temporary files closed.
    drop(made);
    result
}

/// Removes the temporary files write_atomically() names (`NAME.PID.tmp`,
/// NAME one of `files`) from `dir`, whoever made them.
fn remove_stale_temps(dfd: &OwnedFd, dir: &CString, files: &[OutputFile]) {
    let Ok(entries) = list_dir(dir) else { return };
    for name in entries {
        let Some(rest) = name.strip_suffix(b".tmp") else { continue };
        let Some(dot) = rest.iter().rposition(|&c| c == b'.') else { continue };
        let pid = &rest[dot + 1..];
        if !pid.is_empty()
            && pid.iter().all(u8::is_ascii_digit)
            && files.iter().any(|f| f.name.as_bytes() == &rest[..dot])
        {
            if let Ok(c) = cpath(&name, &[]) {
                let _ = rustix::fs::unlinkat(dfd, c.as_c_str(), AtFlags::empty());
            }
        }
    }
}
