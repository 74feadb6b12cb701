//! depmod.d configuration (depmod.d(5), as kmod 30's depmod reads it):
//! which of two modules with the same name wins (`search`, `override`,
//! `external`), and which directories are skipped (`exclude`).

use crate::cli::message::{num_text, Msg};
use crate::config::{find_files, lines, Skipped};
use crate::sys::file::{cpath, open_ro, read_all};
use crate::sys::out::Out;

// What kmod's depmod says of its configuration (the INFO ones with -vv).
pub const DIR: &Msg = &Msg::error("files list %s: could not read the directory");
pub const NAME: &Msg = &Msg::info("All cfg files need .conf: %s");
pub const SUBDIR: &Msg = &Msg::error("Directories inside directories are not supported: %s");
pub const READ: &Msg = &Msg::error("file parse %s: could not read it");
pub const BAD_LINE: &Msg = &Msg::error("%s:%s: ignoring bad line starting with '%s'");
pub const OVERRIDE_KVER: &Msg = &Msg::info("%s:%s: override kernel did not match %s");
pub const EXTERNAL_KVER: &Msg = &Msg::info("%s:%s: external directory did not match %s");
pub const NOT_IMPLEMENTED: &Msg = &Msg::info("%s:%s: command %s not implemented yet");

/// kmod's default configuration directories, in priority order.
pub const DIRS: [&[u8]; 4] = [b"/etc/depmod.d", b"/run/depmod.d", b"/usr/local/lib/depmod.d", b"/lib/depmod.d"];

pub enum Search {
    Path(Vec<u8>),
    Builtin,
    External,
}

/// Each list is in kmod's order: kmod puts every new entry in front, so a
/// later line comes first here (parse() appends, load() reverses once: a
/// 10 MB `search` line is millions of entries).
#[derive(Default)]
pub struct DepmodD {
    pub searches: Vec<Search>,
    /// `SUBDIR/MODNAME` of each `override` line for this kernel.
    pub overrides: Vec<Vec<u8>>,
    pub externals: Vec<Vec<u8>>,
    pub excludes: Vec<Vec<u8>>,
}

impl DepmodD {
    /// Reads the configuration files of `paths` (files, or directories of
    /// `*.conf` files; of two files with one name the first path's wins;
    /// files are read in name order). Messages go to `err`, INF ones only
    /// when `verbose`.
    #[inline(never)]
    pub fn read(root: &[u8], paths: &[Vec<u8>], kver: &[u8], verbose: bool, err: &mut Out) -> DepmodD {
        let mut files = Vec::new();
        find_files(&mut files, root, paths, &[b".conf"], &mut |skipped| match skipped {
            Skipped::Name(path) if verbose => say(err, NAME, &[path]),
            Skipped::Name(_) => {}
            Skipped::Subdir(path) => say(err, SUBDIR, &[path]),
            Skipped::Unlistable(path) => say(err, DIR, &[path]),
        });
        let mut conf = DepmodD::default();
        for (_, path) in &files {
            let text = cpath(root, &[path]).ok().and_then(|c| read_all(open_ro(&c).ok()?, 16 << 20).ok());
            match text {
                Some(t) => conf.parse(path, &t, kver, verbose, err),
                None => say(err, READ, &[path]),
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

    /// One file's lines (kmod's depmod_config_parse()).
    #[inline(never)]
    pub fn parse(&mut self, file: &[u8], text: &[u8], kver: &[u8], verbose: bool, err: &mut Out) {
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
                        say(err, BAD_LINE, &[file, &n, cmd]);
                        continue;
                    };
                    // override MODULE KVER DIR / external KVER DIR
                    let version = if cmd == b"override" { b } else { a };
                    if !kernel_matches(version, kver) {
                        if verbose {
                            say(
                                err,
                                if cmd == b"override" { OVERRIDE_KVER } else { EXTERNAL_KVER },
                                &[file, &n, version],
                            );
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
                        say(err, NOT_IMPLEMENTED, &[file, &n, cmd]);
                    }
                }
                _ => say(err, BAD_LINE, &[file, &n, cmd]),
            }
        }
    }
}

/// cfg_kernel_matches(): `*`, or a POSIX extended regular expression
/// searched in the kernel version; a pattern regcomp() refuses matches
/// nothing. modbox's matcher knows the part of ERE that version patterns
/// use: `.`, `[...]`, `*`, `+`, `?`, `^`, `$` and `\` escapes; a pattern
/// with groups, `|`, `{` or a character class matches nothing. It runs the
/// pattern as a set of states over the version, one pass, so a hostile
/// pattern such as `a*a*a*a*...b` costs pattern x version steps, not the
/// exponential time of backtracking.
pub fn kernel_matches(pattern: &[u8], kver: &[u8]) -> bool {
    if pattern == b"*" {
        return true;
    }
    if pattern.iter().any(|c| matches!(c, b'(' | b')' | b'|' | b'{')) || pattern.windows(2).any(|w| w == b"[:") {
        return false;
    }
    // (atom offset or ANCHOR_START/END, may repeat, may be skipped);
    // consecutive quantifiers combine as in glibc (`a+?` is `a*`).
    const START: usize = usize::MAX;
    const END: usize = usize::MAX - 1;
    let mut items: Vec<(usize, bool, bool)> = Vec::new();
    let mut i = 0;
    while i < pattern.len() {
        let item = match pattern[i] {
            b'^' => (START, false, false),
            b'$' => (END, false, false),
            b'*' | b'+' | b'?' => {
                // A quantifier needs an atom before it (glibc: REG_BADRPT).
                let Some(last) = items.last_mut().filter(|l| l.0 < END) else { return false };
                last.1 |= pattern[i] != b'?';
                last.2 |= pattern[i] != b'+';
                i += 1;
                continue;
            }
            _ => (i, false, false),
        };
        let len = if item.0 == i { atom(&pattern[i..], 0).0 } else { 1 };
        if len == 0 {
            return false;
        }
        items.push(item);
        i += len;
    }
    let n = items.len();
    // The states reached by passing optional items and anchors that hold.
    let close = |set: &mut Vec<bool>, pos: usize| {
        for k in 0..n {
            let (at, _, optional) = items[k];
            if set[k] && (optional || (at == START && pos == 0) || (at == END && pos == kver.len())) {
                set[k + 1] = true;
            }
        }
    };
    let mut cur = vec![true; 1];
    cur.resize(n + 1, false);
    close(&mut cur, 0);
    for (pos, &c) in kver.iter().enumerate() {
        // Past an END item, `n` is only reached at the end of the version.
        if cur[n] {
            return true;
        }
        let mut next = vec![true; 1];
        next.resize(n + 1, false);
        for (k, &(at, repeat, _)) in items.iter().enumerate() {
            if cur[k] && at < END && atom(&pattern[at..], c).1 {
                next[k] |= repeat;
                next[k + 1] = true;
            }
        }
        close(&mut next, pos + 1);
        cur = next;
    }
    cur[n]
}

/// One pattern atom at the front of `p`: its length and whether it
/// matches `c`. The length is 0 for what regcomp() refuses: an unclosed
/// bracket, a reversed range, a lone backslash at the end.
fn atom(p: &[u8], c: u8) -> (usize, bool) {
    match p[0] {
        b'.' => (1, true),
        b'\\' => (if p.len() > 1 { 2 } else { 0 }, p.get(1) == Some(&c)),
        b'[' => {
            let neg = p.get(1) == Some(&b'^');
            let mut i = 1 + neg as usize;
            let mut hit = false;
            let mut first = true;
            while first || p.get(i) != Some(&b']') {
                let Some(&lo) = p.get(i) else { return (0, false) };
                first = false;
                if p.get(i + 1) == Some(&b'-') && p.get(i + 2).is_some_and(|&e| e != b']') {
                    if lo > p[i + 2] {
                        return (0, false);
                    }
                    hit |= lo <= c && c <= p[i + 2];
                    i += 3;
                } else {
                    hit |= lo == c;
                    i += 1;
                }
            }
            (i + 1, hit != neg)
        }
        x => (1, x == c),
    }
}

/// Prints one of the messages above, as depmod's.
fn say(err: &mut Out, msg: &'static Msg, args: &[&[u8]]) {
    msg.print(err, "depmod", args, None);
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
        assert!(kernel_matches(b"^6\\.1+\\.0?-4*1", b"6.11.-41"));
        assert!(!kernel_matches(b"a$b", b"a$b"));
        assert!(kernel_matches(b"a**", b"aa") && kernel_matches(b"^6.1+?\\.", b"6.."));
        for bad in ["^*a", "+a", "a[b", "[", "a\\", "[z-a]", "x$*", "[[:digit:]]"] {
            assert!(!kernel_matches(bad.as_bytes(), b"a6-z$x[\\"), "{bad}");
        }
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

    #[test]
    fn hostile_version_pattern() {
        // Backtracking took 2^40 steps on this; the state set takes 40 x 60.
        let p = "a*".repeat(40) + "b";
        assert!(!kernel_matches(p.as_bytes(), "a".repeat(60).as_bytes()));
        assert!(kernel_matches(p.as_bytes(), ("a".repeat(60) + "b").as_bytes()));
    }
}
