//! What kmod's configuration files have in common, modprobe.d's and
//! depmod.d's alike (shared/util.c and the two config readers): how
//! physical lines join into logical ones, and how files of the search path
//! are ordered.

pub mod depmod_d;
#[cfg(feature = "applet-modprobe")]
pub mod modprobe_d;

use crate::sys::file::{cpath, list_dir, stat_dir};

/// What find_files() meets that a reader may report.
pub enum Skipped<'a> {
    /// A directory entry whose name has none of the endings.
    Name(&'a [u8]),
    /// A directory inside a configuration directory (its full path).
    Subdir(&'a [u8]),
    /// A configuration directory that could not be listed.
    Unlistable(&'a [u8]),
}

/// Adds the configuration files of `paths` below `root` to `files`, as both
/// of kmod's readers collect them: a path may be a file or a directory of
/// files with one of `endings` (dot files skipped); of two files with one
/// name the one already there wins; `files` stays sorted by file name. Each
/// entry is (name, path without `root`).
pub fn find_files(
    files: &mut Vec<(Vec<u8>, Vec<u8>)>,
    root: &[u8],
    paths: &[Vec<u8>],
    endings: &[&[u8]],
    skipped: &mut dyn FnMut(Skipped),
) {
    for path in paths {
        let Ok(c) = cpath(root, &[path]) else { continue };
        match stat_dir(&c) {
            None => continue,
            Some(false) => {
                let name = path.rsplit(|&b| b == b'/').next().unwrap_or(path);
                insert_sorted(files, name.to_vec(), path.clone());
            }
            Some(true) => {
                // In readdir order, as kmod warns; insert_sorted() orders.
                let Ok(names) = list_dir(&c) else {
                    skipped(Skipped::Unlistable(path));
                    continue;
                };
                for name in names.into_iter().filter(|n| !n.starts_with(b".")) {
                    let full = [&path[..], b"/", &name].concat();
                    if name.len() < 6 || !endings.iter().any(|e| name.ends_with(e)) {
                        skipped(Skipped::Name(&full));
                    } else if cpath(root, &[&full]).ok().and_then(|c| stat_dir(&c)) == Some(true) {
                        skipped(Skipped::Subdir(&full));
                    } else {
                        insert_sorted(files, name, full);
                    }
                }
            }
        }
    }
}

/// kmod's cfg_files_insert_sorted() (depmod) and conf_files_insert_sorted()
/// (modprobe): (name, path) kept sorted by file name; a name already taken
/// keeps its first file, so an earlier directory hides a later one.
pub fn insert_sorted(files: &mut Vec<(Vec<u8>, Vec<u8>)>, name: Vec<u8>, path: Vec<u8>) {
    if let Err(i) = files.binary_search_by(|f| f.0.cmp(&name)) {
        files.insert(i, (name, path));
    }
}

/// freadline_wrapped(): lines with `\`-newline joined, `\` before any
/// other character dropped (and before the end of the file, the EOF that
/// getc() returned stored as 0xff); each with the number of its last line.
pub fn lines(text: &[u8]) -> Vec<(usize, Vec<u8>)> {
    let mut out = Vec::new();
    let (mut line, mut n) = (Vec::new(), 0);
    let mut it = text.iter();
    while let Some(&c) = it.next() {
        match c {
            b'\n' => {
                n += 1;
                out.push((n, std::mem::take(&mut line)));
            }
            b'\\' => match it.next() {
                Some(b'\n') => n += 1,
                Some(&d) => line.push(d),
                None => line.push(0xff),
            },
            _ => line.push(c),
        }
    }
    if !line.is_empty() {
        out.push((n + 1, line));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_lines_as_kmod() {
        let l = lines(b"search a \\\n b\n#x\nlast");
        assert_eq!(l, vec![(2, b"search a  b".to_vec()), (3, b"#x".to_vec()), (4, b"last".to_vec())]);
    }
}
