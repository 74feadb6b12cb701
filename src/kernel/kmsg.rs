//! The kernel log as /dev/kmsg serves it: one record a read(2), in the form
//! `prio,seq,usec,flags;text\n` followed by ` KEY=value` continuation lines
//! (Documentation/ABI/testing/dev-kmsg). insmod shows what the kernel logged
//! while it tried a load, where kmod only says "see dmesg".

use crate::kernel::Kernel;
use crate::sys::file::cpath;
use rustix::fd::OwnedFd;
use rustix::fs::{open, seek, Mode, OFlags, SeekFrom};
use rustix::io::{read, Errno};

/// A reader positioned at the end of the log when it was opened.
pub struct Kmsg(Option<OwnedFd>);

/// At most this many records are shown; a module init that floods the log
/// should not flood the terminal too.
const MAX_RECORDS: usize = 16;

impl Kmsg {
    /// Opens /dev/kmsg past its current end. Without it (no permission,
    /// no devtmpfs) the reader stays empty: the log is extra help, not a
    /// reason to fail.
    pub fn open<K: Kernel>(k: &K) -> Kmsg {
        let fd = cpath(k.root(), &[b"/dev/kmsg"])
            .ok()
            .and_then(|p| open(p.as_c_str(), OFlags::RDONLY | OFlags::NONBLOCK | OFlags::CLOEXEC, Mode::empty()).ok())
            .filter(|fd| seek(fd, SeekFrom::End(0)).is_ok());
        Kmsg(fd)
    }

    /// The texts of the records logged since `open`.
    pub fn records(&self) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let Some(fd) = &self.0 else { return out };
        let mut buf = [0u8; 2048];
        while out.len() < MAX_RECORDS {
            match read(fd, &mut buf) {
                Ok(0) => break,
                // /dev/kmsg gives one record a read; a plain file (tests,
                // or a copy of the log) may give several.
                Ok(n) => out.extend(buf[..n].split(|&c| c == b'\n').filter_map(record_text).map(<[u8]>::to_vec)),
                // EPIPE: the ring buffer overwrote records we had not read
                // yet; the next read goes on with the oldest one left.
                Err(Errno::PIPE) | Err(Errno::INTR) => {}
                Err(_) => break,
            }
        }
        out.truncate(MAX_RECORDS);
        out
    }
}

/// The message of a record's first line: what follows the first `;`.
/// Continuation lines (` KEY=value`) have none to show.
fn record_text(line: &[u8]) -> Option<&[u8]> {
    if line.starts_with(b" ") {
        return None;
    }
    let start = line.iter().position(|&c| c == b';')? + 1;
    Some(&line[start..])
}

#[cfg(test)]
mod tests {
    #[test]
    fn record_text() {
        assert_eq!(
            super::record_text(b"4,1093,5582212,-;garp: Unknown symbol stp_proto_register (err -2)"),
            Some(&b"garp: Unknown symbol stp_proto_register (err -2)"[..])
        );
        assert_eq!(super::record_text(b"6,1,2,-;a;b"), Some(&b"a;b"[..]));
        assert_eq!(super::record_text(b" SUBSYSTEM=x;y"), None);
        assert_eq!(super::record_text(b"garbage"), None);
    }
}
