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
/// later line comes first here (parse() appends, load() reverses once: a
/// 10 MB `search` line is millions of entries).
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
        conf.searches.reverse();
        for list in [&mut conf.overrides, &mut conf.externals, &mut conf.excludes] {
            list.reverse();
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
                        self.searches.push(s);
                    }
                }
                b"exclude" => self.excludes.extend(words.map(<[u8]>::to_vec)),
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
                        self.overrides.push(p);
                    } else {
                        self.externals.push(b.to_vec());
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
/// `\` escapes; a pattern with groups or `|` matches nothing. It keeps the
/// set of pattern positions reached (Thompson's construction), so its time
/// is the pattern's length times the version's: a pattern such as
/// `.*.*.*...x` cannot make it backtrack without end.
pub fn kernel_matches(pattern: &[u8], kver: &[u8]) -> bool {
    if pattern == b"*" {
        return true;
    }
    if pattern.iter().any(|c| matches!(c, b'(' | b')' | b'|' | b'{')) {
        return false;
    }
    let (anchored, p) = match pattern.strip_prefix(b"^") {
        Some(p) => (true, p),
        None => (false, pattern),
    };
    // Atoms (offset in p), each with its repetition: `*`, `?` or none; `a+`
    // is `aa*`. A `$` ending the pattern anchors it at the end.
    let mut atoms = Vec::new();
    let (mut i, mut end) = (0, false);
    while i < p.len() {
        if &p[i..] == b"$" {
            end = true;
            break;
        }
        let len = atom(&p[i..], 0).0;
        let q = p.get(i + len).copied().filter(|c| matches!(c, b'*' | b'+' | b'?'));
        if q == Some(b'+') {
            atoms.push((i, 0));
        }
        atoms.push((i, q.map_or(0, |q| if q == b'+' { b'*' } else { q })));
        i += len + q.is_some() as usize;
    }
    let n = atoms.len();
    // State s: atoms[..s] matched. Adding one adds those reached by
    // skipping `*` and `?` atoms.
    let add = |set: &mut Vec<bool>, mut s: usize| {
        while !set[s] {
            set[s] = true;
            if s == n || atoms[s].1 == 0 {
                break;
            }
            s += 1;
        }
    };
    let (mut set, mut next) = (vec![false; n + 1], vec![false; n + 1]);
    add(&mut set, 0);
    for &c in kver {
        if set[n] && !end {
            return true;
        }
        next.fill(false);
        for s in 0..n {
            if set[s] && atom(&p[atoms[s].0..], c).1 {
                add(&mut next, if atoms[s].1 == b'*' { s } else { s + 1 });
            }
        }
        if !anchored {
            add(&mut next, 0);
        }
        std::mem::swap(&mut set, &mut next);
    }
    set[n]
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
        assert!(!kernel_matches(b"amd6$", b"6.12.1-amd64"));
        assert!(kernel_matches(b"^6\\.1+2?\\.1-a*md", b"6.12.1-amd64"));
        assert!(kernel_matches(b"^6\\.1+2?\\.1-a*md", b"6.1.1-md64"));
        assert!(!kernel_matches(b"^6\\.1+2?\\.1-a+md", b"6.1.1-md64"));
        assert!(kernel_matches(b"x?$", b"6.1"));
        assert!(kernel_matches(b"", b"6.1"));
        let v = format!("6.1{}", "a".repeat(300));
        assert!(!kernel_matches(&b".*".repeat(40).into_iter().chain(*b"x").collect::<Vec<u8>>(), v.as_bytes()));
        assert!(!kernel_matches(&b"a*".repeat(40).into_iter().chain(*b"b").collect::<Vec<u8>>(), v.as_bytes()));
    }
}
