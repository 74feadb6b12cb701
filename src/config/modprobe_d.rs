//! modprobe's configuration: the modprobe.d directories, the module
//! directory's modules.softdep and the kernel command line, read as libkmod
//! 30 reads them (libkmod-config.c), quirks included, so that `modprobe -c`
//! and every decision taken from the configuration come out the same.

use crate::cli::message::{num_text, Error, Msg};
use crate::config::{find_files, insert_sorted, lines, Skipped};
use crate::module::name::underscores;
use crate::sys::file::{cpath, open_ro, read_all};

/// kmod 30's search path, in order; a file name found in an earlier
/// directory hides the same name in later ones.
pub const DIRS: [&[u8]; 4] = [b"/etc/modprobe.d", b"/run/modprobe.d", b"/usr/local/lib/modprobe.d", b"/lib/modprobe.d"];

// libkmod's messages while it reads the configuration.
pub const SUBDIR: &Msg = &Msg::error("Directories inside directories are not supported: %s");
/// modbox's own: libkmod would read on until memory runs out.
pub const READ: &Msg = &Msg::error("could not read %s: %m");
pub const DEPRECATED: &Msg = &Msg::error("%s: command %s is deprecated and not parsed anymore");
pub const BAD_LINE: &Msg = &Msg::error("%s line %s: ignoring bad line starting with '%s'");
pub const CMDLINE_OPTION: &Msg =
    &Msg::error("Ignoring bad option on kernel command line while parsing module name: '%s'");

/// A configuration file larger than this is not read (real ones are a few
/// KB); it keeps a hostile file from exhausting memory.
const MAX_FILE: usize = 16 << 20;
/// libkmod reads at most this much of /proc/cmdline (KCMD_LINE_SIZE).
const MAX_CMDLINE: usize = 4095;

pub struct Softdep {
    pub name: Vec<u8>,
    pub pre: Vec<Vec<u8>>,
    pub post: Vec<Vec<u8>>,
}

/// Every directive, in the order kmod keeps them (file order, files in name
/// order, the command line last).
#[derive(Default)]
pub struct ModprobeD {
    /// (pattern, module name); both normalised.
    pub aliases: Vec<(Vec<u8>, Vec<u8>)>,
    pub blacklist: Vec<Vec<u8>>,
    /// (module name or alias, options).
    pub options: Vec<(Vec<u8>, Vec<u8>)>,
    /// (module name pattern, shell command).
    pub install: Vec<(Vec<u8>, Vec<u8>)>,
    pub remove: Vec<(Vec<u8>, Vec<u8>)>,
    pub softdeps: Vec<Softdep>,
    /// What kmod reports while reading (bad lines, deprecated commands).
    pub warnings: Vec<Error>,
}

impl ModprobeD {
    /// Reads `paths` (files or directories; kmod's defaults below `root`
    /// when empty), `moddir`/modules.softdep and, when given, the kernel
    /// command line.
    pub fn read(root: &[u8], paths: &[Vec<u8>], moddir: &[u8], cmdline: Option<&[u8]>) -> ModprobeD {
        let mut cfg = ModprobeD::default();
        // (name, full path), sorted by name; the first of a name wins, and
        // the module directory's modules.softdep comes first (kmod).
        let mut files: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
        insert_sorted(&mut files, b"modules.softdep".to_vec(), [moddir, b"/modules.softdep"].concat());
        let defaults: Vec<Vec<u8>> = DIRS.iter().map(|p| [root, p].concat()).collect();
        let dirs = if paths.is_empty() { &defaults[..] } else { paths };
        let warnings = &mut cfg.warnings;
        find_files(&mut files, b"", dirs, &[b".conf", b".alias"], &mut |skipped| {
            if let Skipped::Subdir(path) = skipped {
                warnings.push(Error::new(SUBDIR, &[path]));
            }
        });
        for (_, path) in files {
            // kmod skips what it cannot open, and reads what it opened until
            // memory runs out (/dev/zero); modbox stops at MAX_FILE and says so.
            let Some(fd) = cpath(b"", &[&path]).ok().and_then(|p| open_ro(&p).ok()) else { continue };
            match read_all(fd, MAX_FILE) {
                Ok(text) => cfg.parse(&text, &path),
                Err(errno) => cfg.warnings.push(Error::errno(READ, &[&path], errno)),
            }
        }
        if let Some(line) = cmdline {
            cfg.parse_cmdline(line);
        }
        cfg
    }

    /// One file's directives (kmod_config_parse()).
    pub fn parse(&mut self, text: &[u8], file: &[u8]) {
        for (linenum, mut line) in lines(text) {
            // kmod reads lines as C strings.
            if let Some(nul) = line.iter().position(|&c| c == 0) {
                line.truncate(nul);
            }
            if line.is_empty() || line[0] == b'#' {
                continue;
            }
            self.directive(&line, file, linenum as u32);
        }
    }

    fn directive(&mut self, line: &[u8], file: &[u8], linenum: u32) {
        let is_delim = |c: &u8| *c == b' ' || *c == b'\t';
        // strtok_r(): a token, and what follows the one delimiter after it.
        fn token(s: &[u8], is_delim: impl Fn(&u8) -> bool) -> Option<(&[u8], &[u8])> {
            let start = s.iter().position(|c| !is_delim(c))?;
            let s = &s[start..];
            let end = s.iter().position(&is_delim).unwrap_or(s.len());
            Some((&s[..end], s.get(end + 1..).unwrap_or_default()))
        }
        let Some((cmd, rest)) = token(line, is_delim) else { return };
        let word = token(rest, is_delim);
        // The rest of the line after the name, as kmod takes it: from just
        // past the one delimiter, leading blanks kept; nothing is an error.
        let tail = word.map(|(_, t)| t).filter(|t| !t.is_empty());
        let name = word.and_then(|(w, _)| underscores(w));
        let ok = match cmd {
            b"alias" => match (name, word.and_then(|(_, t)| token(t, is_delim)).and_then(|(m, _)| underscores(m))) {
                (Some(alias), Some(module)) => {
                    self.aliases.push((alias, module));
                    true
                }
                _ => false,
            },
            b"blacklist" => name.map(|n| self.blacklist.push(n)).is_some(),
            b"options" | b"install" | b"remove" | b"softdep" => match (name, tail) {
                (Some(n), Some(t)) => {
                    match cmd {
                        b"options" => {
                            self.options.push((n, t.iter().map(|&c| if c == b'\t' { b' ' } else { c }).collect()))
                        }
                        b"install" => self.install.push((n, t.to_vec())),
                        b"remove" => self.remove.push((n, t.to_vec())),
                        _ => self.softdeps.push(softdep(n, t)),
                    }
                    true
                }
                _ => false,
            },
            b"include" | b"config" => {
                self.warnings.push(Error::new(DEPRECATED, &[file, cmd]));
                true
            }
            _ => false,
        };
        if !ok {
            self.warnings.push(Error::new(BAD_LINE, &[file, &num_text(linenum.into()), cmd]));
        }
    }

    /// `MODULE.PARAM=VALUE` options and `modprobe.blacklist=a,b` from the
    /// kernel command line, with kmod_config_parse_kcmdline()'s rules:
    /// double quotes may wrap a value or the whole word (grub writes
    /// `"mod.p=a b"`, which is given back to the module as `p="a b"`), and
    /// anything else odd makes the word ignored.
    pub fn parse_cmdline(&mut self, cmdline: &[u8]) {
        #[derive(PartialEq, Clone, Copy)]
        enum S {
            Ignore,
            Name,
            Param,
            Value,
        }
        let mut b = cmdline[..cmdline.len().min(MAX_CMDLINE)].to_vec();
        if let Some(nul) = b.iter().position(|&c| c == 0) {
            b.truncate(nul);
        }
        b.push(0);
        let (mut state, mut quoted, mut quote_start) = (S::Name, false, None);
        let (mut name, mut param, mut value) = (0usize, None::<usize>, None::<usize>);
        let mut p = 0;
        while p < b.len() {
            let c = b[p];
            let mut complete = false;
            match c {
                b'"' => {
                    quoted = !quoted;
                    if quoted && state == S::Name && p == name {
                        quote_start = Some(p);
                        name = p + 1;
                    } else if state != S::Value {
                        state = S::Ignore;
                    }
                }
                0 | b' ' | b'\n' | b'\t' | 0x0b | 0x0c | b'\r' => {
                    if quoted && state == S::Value {
                    } else if quoted {
                        state = S::Ignore;
                    } else if state == S::Value || state == S::Param {
                        b[p] = 0;
                        complete = true;
                    } else {
                        name = p + 1;
                        state = S::Name;
                        quote_start = None;
                    }
                }
                b'.' if state == S::Name => {
                    b[p] = 0;
                    param = Some(p + 1);
                    state = S::Param;
                }
                b'.' if state == S::Param => state = S::Ignore,
                b'=' if state == S::Param => {
                    value = Some(p + 1);
                    state = S::Value;
                }
                b'=' if state == S::Name => state = S::Ignore,
                _ => {}
            }
            if complete {
                if let (Some(q), Some(v)) = (quote_start, value) {
                    if q < name && name < v {
                        // Put the opening quote back in front of the value.
                        b.copy_within(name..v, q);
                        name -= 1;
                        param = param.map(|x| x - 1);
                        value = Some(v - 1);
                        b[v - 1] = b'"';
                    }
                }
                self.cmdline_option(cstr_at(&b, name), param.map(|x| cstr_at(&b, x)), value.map(|x| cstr_at(&b, x)));
                name = p + 1;
                state = S::Name;
                quote_start = None;
            }
            p += 1;
        }
    }

    fn cmdline_option(&mut self, name: &[u8], param: Option<&[u8]>, value: Option<&[u8]>) {
        let Some(param) = param else { return };
        if name == b"modprobe" && param.starts_with(b"blacklist=") {
            for m in value.unwrap_or_default().split(|&c| c == b',') {
                self.blacklist.push(m.to_vec());
            }
        } else if let Some(n) = underscores(name) {
            self.options.push((n, param.to_vec()));
        } else {
            self.warnings.push(Error::new(CMDLINE_OPTION, &[name]));
        }
    }
}

/// The NUL-terminated string at `at`.
fn cstr_at(b: &[u8], at: usize) -> &[u8] {
    let s = b.get(at..).unwrap_or_default();
    &s[..s.iter().position(|&c| c == 0).unwrap_or(s.len())]
}

/// `softdep NAME pre: a b post: c`: words before any `pre:`/`post:` are
/// ignored, as kmod does.
fn softdep(name: Vec<u8>, text: &[u8]) -> Softdep {
    let mut dep = Softdep { name, pre: Vec::new(), post: Vec::new() };
    let mut post = None;
    for w in text.split(|c| c.is_ascii_whitespace()).filter(|w| !w.is_empty()) {
        match w {
            b"pre:" => post = Some(false),
            b"post:" => post = Some(true),
            _ => match post {
                Some(false) => dep.pre.push(w.to_vec()),
                Some(true) => dep.post.push(w.to_vec()),
                None => {}
            },
        }
    }
    dep
}

impl Softdep {
    /// softdep_to_char(): kmod joins the lists with no space between
    /// them (`pre: apost: b`), and `modprobe -c` prints it so.
    pub fn value(&self) -> Vec<u8> {
        let mut v = Vec::new();
        for (label, list) in [(&b"pre: "[..], &self.pre), (b"post: ", &self.post)] {
            if !list.is_empty() {
                v.extend_from_slice(label);
                v.extend_from_slice(&list.join(&b' '));
            }
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(b: &[u8]) -> String {
        String::from_utf8_lossy(b).into_owned()
    }

    #[test]
    fn directives() {
        let mut c = ModprobeD::default();
        c.parse(
            b"# comment\nalias my-alias snd-hda\noptions  dummy\t numdummies=2\tx=1\ninstall foo /bin/true \\\n  --x\nblacklist bad-mod\nsoftdep a-b pre: c d post: e\nbogus line\noptions lonely\ninclude /x\nalias a[-]b m\n alias x y\n",
            b"f.conf",
        );
        assert_eq!(
            c.aliases.iter().map(|(a, m)| (s(a), s(m))).collect::<Vec<_>>(),
            [("my_alias".into(), "snd_hda".into()), ("a[-]b".into(), "m".into()), ("x".into(), "y".into())]
        );
        assert_eq!(s(&c.options[0].1), " numdummies=2 x=1");
        assert_eq!(s(&c.install[0].1), "/bin/true   --x");
        assert_eq!(s(&c.blacklist[0]), "bad_mod");
        assert_eq!(s(&c.softdeps[0].value()), "pre: c dpost: e");
        let mut w = crate::sys::out::Out::new(crate::sys::out::Sink::Buffer);
        for e in &c.warnings {
            e.report("modprobe", &mut w);
        }
        assert_eq!(
            s(&w.buf),
            "modprobe: ERROR: f.conf line 8: ignoring bad line starting with 'bogus'\n\
             modprobe: ERROR: f.conf line 9: ignoring bad line starting with 'options'\n\
             modprobe: ERROR: f.conf: command include is deprecated and not parsed anymore\n"
        );
    }

    #[test]
    fn kernel_command_line() {
        let mut c = ModprobeD::default();
        c.parse_cmdline(b"BOOT_IMAGE=/vmlinuz root=/dev/sda1 dummy.numdummies=3 snd-hda.x=1 \"parport.dyndbg=file a.c +p\" a.b.c=1 modprobe.blacklist=x,y-z quiet loop.max_loop\n");
        let opts: Vec<(String, String)> = c.options.iter().map(|(m, o)| (s(m), s(o))).collect();
        assert_eq!(
            opts,
            [
                ("dummy", "numdummies=3"),
                ("snd_hda", "x=1"),
                ("parport", "dyndbg=\"file a.c +p\""),
                ("loop", "max_loop")
            ]
            .map(|(a, b)| (a.to_string(), b.to_string()))
        );
        assert_eq!(c.blacklist, [b"x".to_vec(), b"y-z".to_vec()]);
    }
}
