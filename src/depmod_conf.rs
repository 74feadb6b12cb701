//! depmod.d configuration (depmod.d(5), as kmod 30's depmod reads it):
//! which of two modules with the same name wins (`search`, `override`,
//! `external`), and which directories are skipped (`exclude`).

use crate::conffile::{insert_sorted, lines};
use crate::error::depmod as M;
use crate::error::{depmod_msg, num_text};
use crate::file::{cpath, list_dir, open_ro, read_all, stat_dir};
use crate::out::Out;

/// kmod's default configuration directories, in priority order.
pub const DEFAULT_DIRS: [&[u8]; 4] = [b"/etc/depmod.d", b"/run/depmod.d", b"/usr/local/lib/depmod.d", b"/lib/depmod.d"];

pub enum Search {
    Path(Vec<u8>),
    Builtin,
    External,
}

/// Each list is in kmod's order: kmod puts every new entry in front, so a
/// later line comes first here.
#[derive(Default)]
pub struct Conf {
    pub searches: Vec<Search>,
    /// `SUBDIR/MODNAME` of each `override` line for this kernel.
    pub overrides: Vec<Vec<u8>>,
    pub externals: Vec<Vec<u8>>,
    pub excludes: Vec<Vec<u8>>,
}

impl Conf {
    /// Reads the configuration files of `paths` (files, or directories of
    /// `*.conf` files; of two files with one name the first path's wins;
    /// files are read in name order). Messages go to `err`, INF ones only
    /// when `verbose`.
    #[inline(never)]
    pub fn load(root: &[u8], paths: &[Vec<u8>], kver: &[u8], verbose: bool, err: &mut Out) -> Conf {
        let mut files: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
        for path in paths {
            let Ok(c) = cpath(root, &[path]) else { continue };
            match stat_dir(&c) {
                None => continue,
                Some(false) => {
                    let name = path.rsplit(|&b| b == b'/').next().unwrap_or(path);
                    insert_sorted(&mut files, name.to_vec(), path.clone());
                }
                Some(true) => {
                    let Ok(mut names) = list_dir(&c) else {
                        depmod_msg(err, M::CONF_DIR, &[path]);
                        continue;
                    };
                    names.retain(|n| !n.starts_with(b"."));
                    for name in names {
                        let mut full = path.clone();
                        full.push(b'/');
                        full.extend_from_slice(&name);
                        if name.len() < 6 || !name.ends_with(b".conf") {
                            if verbose {
                                depmod_msg(err, M::CONF_NAME, &[&full]);
                            }
                            continue;
                        }
                        if cpath(root, &[&full]).ok().and_then(|c| stat_dir(&c)) == Some(true) {
                            depmod_msg(err, M::CONF_SUBDIR, &[&full]);
                            continue;
                        }
                        insert_sorted(&mut files, name, full);
                    }
                }
            }
        }
        let mut conf = Conf::default();
        for (_, path) in &files {
            let text = cpath(root, &[path]).ok().and_then(|c| read_all(open_ro(&c).ok()?, 16 << 20).ok());
            match text {
                Some(t) => conf.parse(path, &t, kver, verbose, err),
                None => depmod_msg(err, M::CONF_READ, &[path]),
            }
        }
        // kmod: without any `search` line, "updates" comes before the rest.
        if conf.searches.is_empty() {
            conf.searches.push(Search::Path(b"updates".to_vec()));
        }
        conf
    }

    #[inline(never)]
    fn parse(&mut self, file: &[u8], text: &[u8], kver: &[u8], verbose: bool, err: &mut Out) {
        for (lineno, line) in lines(text) {
            if line.is_empty() || line[0] == b'#' {
                continue;
            }
            let mut words = line.split(|&c| c == b' ' || c == b'\t').filter(|w| !w.is_empty());
            let Some(cmd) = words.next() else { continue };
            let n = num_text(lineno as i64);
            match cmd {
                b"search" => {
                    for w in words {
                        let s = match w {
                            b"built-in" => Search::Builtin,
                            b"external" => Search::External,
                            _ => Search::Path(w.to_vec()),
                        };
                        self.searches.insert(0, s);
                    }
                }
                b"exclude" => words.for_each(|w| self.excludes.insert(0, w.to_vec())),
                b"override" | b"external" => {
                    let a = words.next();
                    let b = words.next();
                    let c = if cmd == b"override" { words.next() } else { Some(&b""[..]) };
                    let (Some(a), Some(b), Some(c)) = (a, b, c) else {
                        depmod_msg(err, M::CONF_BAD_LINE, &[file, &n, cmd]);
                        continue;
                    };
                    // override MODULE KVER DIR / external KVER DIR
                    let version = if cmd == b"override" { b } else { a };
                    if !kernel_matches(version, kver) {
                        if verbose {
                            depmod_msg(err, if cmd == b"override" { M::CONF_OVERRIDE_KVER } else { M::CONF_EXTERNAL_KVER }, &[file, &n, version]);
                        }
                        continue;
                    }
                    if cmd == b"override" {
                        let mut p = c.to_vec();
                        p.push(b'/');
                        p.extend_from_slice(a);
                        self.overrides.insert(0, p);
                    } else {
                        self.externals.insert(0, b.to_vec());
                    }
                }
                b"include" | b"make_map_files" => {
                    if verbose {
                        depmod_msg(err, M::CONF_NOT_IMPLEMENTED, &[file, &n, cmd]);
                    }
                }
                _ => depmod_msg(err, M::CONF_BAD_LINE, &[file, &n, cmd]),
            }
        }
    }
}

/// cfg_kernel_matches(): `*`, or a POSIX extended regular expression
/// searched in the kernel version. modbox's matcher knows the part of ERE
/// that version patterns use: `.`, `[...]`, `*`, `+`, `?`, `^`, `$` and
/// `\` escapes; a pattern with groups or `|` matches nothing.
pub fn kernel_matches(pattern: &[u8], kver: &[u8]) -> bool {
    if pattern == b"*" {
        return true;
    }
    if pattern.iter().any(|c| matches!(c, b'(' | b')' | b'|' | b'{')) {
        return false;
    }
    if let Some(p) = pattern.strip_prefix(b"^") {
        return re_here(p, kver);
    }
    (0..=kver.len()).any(|i| re_here(pattern, &kver[i..]))
}

/// One pattern atom at the front of `p`: its length and whether it
/// matches `c`.
fn atom(p: &[u8], c: u8) -> (usize, bool) {
    match p[0] {
        b'.' => (1, true),
        b'\\' if p.len() > 1 => (2, p[1] == c),
        b'[' => {
            let neg = p.get(1) == Some(&b'^');
            let mut i = 1 + neg as usize;
            let mut hit = false;
            let mut first = true;
            while i < p.len() && (first || p[i] != b']') {
                first = false;
                if p.get(i + 1) == Some(&b'-') && p.get(i + 2).is_some_and(|&e| e != b']') {
                    hit |= p[i] <= c && c <= p[i + 2];
                    i += 3;
                } else {
                    hit |= p[i] == c;
                    i += 1;
                }
            }
            ((i + 1).min(p.len()), hit != neg)
        }
        x => (1, x == c),
    }
}

fn re_here(p: &[u8], s: &[u8]) -> bool {
    if p.is_empty() {
        return true;
    }
    if p == b"$" {
        return s.is_empty();
    }
    let (len, _) = atom(p, 0);
    let rest = &p[len..];
    let one = |s: &[u8]| s.first().is_some_and(|&c| atom(p, c).1);
    match rest.first() {
        Some(b'*') | Some(b'+') | Some(b'?') => {
            let op = rest[0];
            let rest = &rest[1..];
            let mut n = 0;
            while n < s.len() && (op != b'?' || n < 1) && one(&s[n..]) {
                n += 1;
            }
            let min = (op == b'+') as usize;
            (min..=n).rev().any(|k| re_here(rest, &s[k..]))
        }
        _ => one(s) && re_here(rest, &s[1..]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_patterns() {
        assert!(kernel_matches(b"*", b"6.1.0-41-amd64"));
        assert!(kernel_matches(b"6\\.1", b"6.1.0-41-amd64"));
        assert!(kernel_matches(b"^6\\.1\\..*-amd64$", b"6.1.0-41-amd64"));
        assert!(!kernel_matches(b"^6\\.12", b"6.1.0-41-amd64"));
        assert!(kernel_matches(b"[0-9]+\\.[0-9]+", b"6.12.1"));
        assert!(!kernel_matches(b"^[a-z]", b"6.12.1"));
        assert!(kernel_matches(b"amd64$", b"6.12.1-amd64"));
    }
}
