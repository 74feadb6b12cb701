//! Module names: how a command-line word or a file path becomes the name
//! the kernel knows a module by.

/// The kernel's MODULE_NAME_LEN (56) less the terminating NUL.
pub const MAX_NAME: usize = 55;

/// kmod's modname_normalize(): `-` and `_` are the same character to the
/// kernel, and the name ends at the first `.`, so `snd-hda.ko.xz` is
/// `snd_hda`.
pub fn normalize(word: &[u8]) -> Vec<u8> {
    word.iter().take_while(|&&c| c != b'.').map(|&c| if c == b'-' { b'_' } else { c }).collect()
}

/// The module name of a file path: its last component, normalised.
pub fn from_path(path: &[u8]) -> Vec<u8> {
    let base = path.rsplit(|&c| c == b'/').next().unwrap_or(path);
    normalize(base)
}

/// Whether `name` could be a loaded module's name. Anything else (empty,
/// too long, with a `/`, a NUL or a newline, or a `.`, which normalize()
/// never leaves, as in `..`) is never looked up in /sys, so a hostile name
/// cannot reach the file system as a path.
pub fn plausible(name: &[u8]) -> bool {
    !name.is_empty() && name.len() <= MAX_NAME && !name.iter().any(|&c| c == b'/' || c == 0 || c == b'\n' || c == b'.')
}

/// kmod's underscores(): `-` becomes `_` outside bracket expressions; an
/// unbalanced `]` or `[` makes the word invalid.
pub fn underscores(word: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(word.len());
    let mut i = 0;
    while i < word.len() {
        match word[i] {
            b'-' => out.push(b'_'),
            b']' => return None,
            b'[' => {
                let close = word[i..].iter().position(|&c| c == b']')?;
                out.extend_from_slice(&word[i..=i + close]);
                i += close;
            }
            c => out.push(c),
        }
        i += 1;
    }
    Some(out)
}

/// kmod's alias_normalize(), which depmod applies to index keys:
/// underscores() of at most PATH_MAX - 1 bytes, as kmod's buffer holds.
pub fn alias_normalize(alias: &[u8]) -> Option<Vec<u8>> {
    underscores(&alias[..alias.len().min(4095)])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalisation() {
        assert_eq!(normalize(b"snd-hda-intel"), b"snd_hda_intel");
        assert_eq!(normalize(b"crc-itu-t.ko.zst"), b"crc_itu_t");
        assert_eq!(from_path(b"/lib/modules/6.1/kernel/net/802/garp.ko.xz"), b"garp");
        assert_eq!(from_path(b"dummy.ko"), b"dummy");
        assert_eq!(from_path(b"dir/"), b"");
        assert!(plausible(b"nf_conntrack"));
        assert!(!plausible(b""));
        assert!(!plausible(&[b'a'; 56]));
        assert!(plausible(&[b'a'; 55]));
        assert!(!plausible(b"a/b"));
        assert!(!plausible(b".."));
    }
}
