//! How kmod's depmod reads the tree's text files.

use super::messages::{self as M, say_errno};
use crate::sys::file::{cpath, open_ro, read_all};
use crate::sys::out::Out;
use rustix::io::Errno;

/// A file of the tree's directory that kmod reads through dfdopen(),
/// which warns when it cannot open it. One that opens but cannot be read
/// (a directory, /dev/zero past 256 MiB) is warned about the same way,
/// unless `must_read` (modules.builtin.modinfo, for which kmod fails):
/// `Err` then.
pub fn read_tree_file(dir: &[u8], name: &[u8], must_read: bool, err: &mut Out) -> Result<Option<Vec<u8>>, Errno> {
    let read = cpath(dir, &[b"/", name]).and_then(|c| open_ro(&c)).map(|fd| read_all(fd, 256 << 20));
    match read {
        Ok(Ok(t)) => Ok(Some(t)),
        Ok(Err(errno)) if must_read => Err(errno),
        Ok(Err(errno)) | Err(errno) => {
            say_errno(err, M::OPEN_TREE_FILE, &[name, dir], errno);
            Ok(None)
        }
    }
}

/// fgets() with kmod's PATH_MAX buffer: lines with their `\n`, longer
/// ones cut into pieces of 4095 bytes (a newline is looked for in the next
/// piece only: a 10 MB line is not searched 2,560 times).
pub fn fgets_lines(text: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let piece = &rest[..rest.len().min(4095)];
        let end = piece.iter().position(|&c| c == b'\n').map_or(piece.len(), |p| p + 1);
        out.push(&rest[..end]);
        rest = &rest[end..];
    }
    out
}
