//! What kmod's configuration files have in common, modprobe.d's and
//! depmod.d's alike (shared/util.c and the two config readers): how
//! physical lines join into logical ones, and how files of the search path
//! are ordered.

pub mod depmod_d;
#[cfg(feature = "applet-modprobe")]
pub mod modprobe_d;

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
