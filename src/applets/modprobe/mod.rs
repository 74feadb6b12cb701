const USAGE: &str = "\
Usage: modprobe [options] [-i] [-b] MODULE [PARAM=VALUE]...
       modprobe [options] -a [-i] [-b] MODULE...
       modprobe [options] -r [-i] MODULE...
       modprobe [options] -c
       modprobe [options] --dump-modversions FILE

Load a module by name or alias with everything it needs, or remove one and
what it no longer needs, as configured in modprobe.d.

  -a, --all                  every argument is a module (to load, or with -r
                             to remove)
  -r, --remove               remove modules instead of loading them
      --remove-holders       also remove the modules that use it (with -r)
  -w, --wait=MSEC            with -r, wait up to MSEC for the module to be unused
      --first-time           fail if the module is already loaded (or removed)
  -i, --ignore-install       ignore install and remove commands and softdeps
  -b, --use-blacklist        apply the blacklist to names too, not only aliases
  -f, --force                ignore version magic and symbol versions
      --force-modversion     ignore symbol versions
      --force-vermagic       ignore version magic
  -R, --resolve-alias        only print the modules a name resolves to
  -D, --show-depends         only print what would be loaded, loaded or not
  -c, --show-config          print the configuration and alias indexes
      --dump-modversions     print the symbol versions a module file needs
      --show-exports         print the symbols a module file exports
  -n, --dry-run              do everything but load or remove
  -C, --config=PATH          read PATH (a file or directory) instead of modprobe.d
  -d, --dirname=DIR          modules are in DIR/lib/modules
  -S, --set-version=KVER     use KVER's modules instead of the running kernel's
  -s, --syslog               messages to syslog, not stderr
  -q, --quiet                no messages
  -v, --verbose              print what is done (twice: more)
  -h, --help                 show this help
  -V, --version              show the version
";

mod load;
mod lookup;
mod messages;
mod query;
mod remove;

use crate::cli::args;
use crate::cli::ctx::Ctx;
use crate::cli::message::{Error, Level};
use crate::config::modprobe_d::ModprobeD;
use crate::kernel::Kernel;
use crate::moddir::ModDir;
use crate::sys::file::{cpath, read_small};
use messages::{BAD_WAIT, MISSING_PARAMS};
use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::rc::Rc;

crate::options! { FLAGS;
    ALL = 'a', "all", false;
    REMOVE = 'r', "remove", false;
    REMOVE_DEPENDENCIES = '\u{1}', "remove-dependencies", false;
    REMOVE_HOLDERS = '\u{1}', "remove-holders", false;
    WAIT = 'w', "wait", true;
    RESOLVE = 'R', "resolve-alias", false;
    FIRST_TIME = '\u{1}', "first-time", false;
    IGNORE_INSTALL = 'i', "ignore-install", false;
    IGNORE_REMOVE = '\u{1}', "ignore-remove", false;
    BLACKLIST = 'b', "use-blacklist", false;
    FORCE = 'f', "force", false;
    FORCE_MODVERSION = '\u{1}', "force-modversion", false;
    FORCE_VERMAGIC = '\u{1}', "force-vermagic", false;
    SHOW_DEPENDS = 'D', "show-depends", false;
    SHOWCONFIG = 'c', "showconfig", false;
    SHOW_CONFIG = '\u{1}', "show-config", false;
    SHOW_MODVERSIONS = '\u{1}', "show-modversions", false;
    DUMP_MODVERSIONS = '\u{1}', "dump-modversions", false;
    DRY_RUN = 'n', "dry-run", false;
    SHOW = '\u{1}', "show", false;
    CONFIG = 'C', "config", true;
    DIRNAME = 'd', "dirname", true;
    KVER = 'S', "set-version", true;
    SYSLOG = 's', "syslog", false;
    QUIET = 'q', "quiet", false;
    VERBOSE = 'v', "verbose", false;
    EXPORTS = '\u{1}', "show-exports", false;
}
// Options kmod's table gives two names.
const HOLDERS: u32 = REMOVE_DEPENDENCIES | REMOVE_HOLDERS;
const IGNORE_CMDS: u32 = IGNORE_INSTALL | IGNORE_REMOVE;
const DUMP_CONFIG: u32 = SHOWCONFIG | SHOW_CONFIG;
const MODVERSIONS: u32 = SHOW_MODVERSIONS | DUMP_MODVERSIONS;
const NO_ACTION: u32 = DRY_RUN | SHOW;

/// How long a module the kernel is still initialising (`coming`) is waited
/// for before modprobe goes on and lets the kernel sort it out.
const COMING_WAIT_MS: u64 = 10_000;

/// A module as libkmod knows it: by name, and by the alias it was found
/// through, which decides whether the blacklist applies and which
/// `options` lines count.
#[derive(Clone)]
struct Mod {
    name: Vec<u8>,
    alias: Option<Vec<u8>>,
    /// Its file, when it came from another module's modules.dep line.
    path: Option<Vec<u8>>,
    /// Found through a built-in index.
    builtin: bool,
    /// Found through an install or remove command of exactly its name.
    by_cmd: bool,
}

impl Mod {
    fn new(name: &[u8], alias: Option<&[u8]>) -> Mod {
        Mod { name: name.to_vec(), alias: alias.map(<[u8]>::to_vec), path: None, builtin: false, by_cmd: false }
    }

    fn same(&self, other: &Mod) -> bool {
        self.name == other.name && self.alias == other.alias
    }
}

/// A softdep line's modules: (pre, post).
type SoftdepMods = (Vec<Mod>, Vec<Mod>);

/// One step of a load, in order.
struct Step {
    m: Mod,
    /// An install command applies unless softdeps came with it (libkmod's
    /// ignorecmd).
    ignore_cmd: bool,
}

struct Modprobe<'a, K: Kernel> {
    ctx: &'a mut Ctx<K>,
    cfg: ModprobeD,
    dir: ModDir,
    /// The directory as messages name it.
    dirname: Vec<u8>,
    verbose: u8,
    /// The level of `Msg::log` messages: FATAL; WARNING with -a.
    log_level: Level,
    /// A FATAL message was printed: kmod exits right there.
    fatal: bool,
    flags: u32,
    show: bool,
    dry_run: bool,
    ignore_loaded: bool,
    wait_ms: u64,
    /// $MODPROBE_OPTIONS for install and remove commands.
    child_opts: Option<Vec<u8>>,
    // Per probe (libkmod's visited/required marks). `visited` is kept
    // sorted: a hostile softdep web visits thousands of modules, and libkmod
    // asks a flag on the module object, not a list.
    visited: Vec<Mod>,
    required: Vec<Mod>,
    /// Each softdep line's modules, once looked up without an error: kmod
    /// looks them up again every time the line applies, and without .bin
    /// indexes each lookup goes through the text files.
    softdep_mods: Vec<Option<Rc<SoftdepMods>>>,
    /// Per softdep line, how many of its modules (pre, then post) this
    /// probe has gone to, and so left visited: a pass over the line,
    /// however deeply nested in another pass over it, goes on from there,
    /// as libkmod's passes would find all before it visited.
    softdep_next: Vec<usize>,
    /// How many more times a load may start over because a dependency it
    /// found loaded may have been removed meanwhile (a `modprobe -r`
    /// racing it).
    restarts: u8,
    /// The last insert failed that way: start over.
    vanished: bool,
    /// The modules being removed, outermost first (remove_module()).
    removing: Vec<Mod>,
}

/// The options, decoded once.
struct Options {
    flags: u32,
    /// The highest syslog priority printed: WARNING; 0 with -q; one more
    /// for each -v.
    verbose: u8,
    wait_ms: u64,
    /// Every -C, in order (none: modprobe.d's default directories).
    configs: Vec<Vec<u8>>,
    root: Option<Vec<u8>>,
    kver: Option<Vec<u8>>,
    /// $MODPROBE_OPTIONS for install and remove commands.
    child_opts: Option<Vec<u8>>,
    words: Vec<Vec<u8>>,
}

pub fn main<K: Kernel>(ctx: &mut Ctx<K>, args: Vec<OsString>) -> i32 {
    let o = match options(ctx, args) {
        Ok(o) => o,
        Err(code) => return code,
    };
    let (dir, dirname) = module_dir(ctx, o.root, o.kver);
    let cmdline = cpath(ctx.k.root(), &[b"/proc/cmdline"]).ok().and_then(|p| read_small(&p).ok());
    let cfg = ModprobeD::read(ctx.k.root(), &o.configs, &dir.path, cmdline.as_deref());
    let (flags, verbose) = (o.flags, o.verbose);
    let cfg_softdeps = cfg.softdeps.len();
    let mut p = Modprobe {
        ctx,
        cfg,
        dir,
        dirname,
        verbose,
        log_level: if flags & ALL != 0 { Level::Warning } else { Level::Fatal },
        fatal: false,
        flags,
        show: flags & SHOW_DEPENDS != 0 || verbose > Level::Warning.priority(),
        dry_run: flags & (NO_ACTION | SHOW_DEPENDS) != 0,
        ignore_loaded: flags & SHOW_DEPENDS != 0,
        wait_ms: o.wait_ms,
        child_opts: o.child_opts,
        visited: Vec::new(),
        required: Vec::new(),
        softdep_mods: vec![None; cfg_softdeps],
        softdep_next: Vec::new(),
        restarts: 0,
        vanished: false,
        removing: Vec::new(),
    };
    for w in std::mem::take(&mut p.cfg.warnings) {
        p.log(w);
    }
    let ok = p.run(&o.words);
    p.ctx.flush();
    (!ok || p.fatal) as i32
}

/// Decodes the arguments; `Err` is the exit code when the run ends here.
fn options<K: Kernel>(ctx: &mut Ctx<K>, args: Vec<OsString>) -> Result<Options, i32> {
    let opts = args::parse(ctx, with_env_options(args), FLAGS, USAGE)?;
    if opts.has(SYSLOG) {
        ctx.err.to_syslog();
    }
    let mut o = Options {
        flags: opts.flags,
        verbose: Level::Warning.priority(),
        wait_ms: 0,
        configs: Vec::new(),
        root: None,
        kver: None,
        child_opts: std::env::var_os("MODPROBE_OPTIONS").map(OsString::into_vec),
        words: opts.words,
    };
    for (bit, value) in &opts.seq {
        match *bit {
            QUIET => o.verbose = 0,
            VERBOSE => o.verbose = o.verbose.saturating_add(1),
            CONFIG => o.configs.push(value.clone()),
            DIRNAME => o.root = Some(value.clone()),
            KVER => o.kver = Some(value.clone()),
            WAIT => match std::str::from_utf8(value).ok().and_then(crate::sys::number::strtoul) {
                Some(ms) => o.wait_ms = ms,
                None => return Err(ctx.fail(Error::new(BAD_WAIT, &[value]))),
            },
            _ => {}
        }
        // Install commands that run modprobe again get the same options
        // (kmod appends them to $MODPROBE_OPTIONS).
        let again: &[u8] = match *bit {
            CONFIG => b"-C",
            SYSLOG => b"-s",
            QUIET => b"-q",
            VERBOSE => b"-v",
            _ => continue,
        };
        for word in [again, value].into_iter().filter(|w| !w.is_empty()) {
            o.child_opts = Some(match o.child_opts.take() {
                Some(old) => [&old[..], b" ", word].concat(),
                None => word.to_vec(),
            });
        }
    }
    if o.words.is_empty() && o.flags & DUMP_CONFIG == 0 {
        if o.verbose >= Level::Error.priority() {
            ctx.report(Error::new(MISSING_PARAMS, &[]));
        }
        return Err(1);
    }
    Ok(o)
}

/// The module directory (-d, -S or the running kernel's) and its name for
/// messages.
fn module_dir<K: Kernel>(ctx: &Ctx<K>, root: Option<Vec<u8>>, kver: Option<Vec<u8>>) -> (ModDir, Vec<u8>) {
    if root.is_none() && kver.is_none() {
        return (ModDir::running(&ctx.k), [&b"/lib/modules/"[..], &ctx.k.release()].concat());
    }
    let mut base = root.unwrap_or_default();
    if !base.is_empty() && !base.starts_with(b"/") {
        // kmod makes -d absolute against the working directory.
        base = crate::sys::file::absolute(&base);
    }
    let dir = ModDir::at(&base, &kver.unwrap_or_else(|| ctx.k.release()));
    let name = dir.path.clone();
    (dir, name)
}

impl<K: Kernel> Modprobe<'_, K> {
    /// The run: show the configuration, a module file's symbols, or remove
    /// or load each module named.
    fn run(&mut self, words: &[Vec<u8>]) -> bool {
        let flags = self.flags;
        if flags & DUMP_CONFIG != 0 {
            return self.show_config();
        }
        if flags & (MODVERSIONS | EXPORTS) != 0 {
            return self.symbols(&words[0], flags & EXPORTS != 0);
        }
        if flags & (REMOVE | ALL) == 0 {
            let params = (words.len() > 1).then(|| crate::kernel::params::join(words[1..].iter().map(|w| &w[..])));
            return self.load_given(&words[0], params);
        }
        let mut ok = true;
        for w in words {
            ok &= if flags & REMOVE != 0 { self.remove_given(w) } else { self.load_given(w, None) };
            if self.fatal {
                break;
            }
        }
        ok
    }

    /// kmod's log_printf(): printed when the level passes -q/-v; a FATAL
    /// one that is printed ends the run.
    fn log(&mut self, e: Error) {
        let level = if e.msg.level == Level::Log { self.log_level } else { e.msg.level };
        if !self.shows(level) {
            return;
        }
        e.report_as(level, self.ctx.applet, &mut self.ctx.err);
        self.ctx.err.flush();
        self.fatal |= level == Level::Fatal;
    }

    /// Whether -q/-v let messages of `level` through.
    fn shows(&self, level: Level) -> bool {
        level.priority() <= self.verbose
    }

    /// A line of -v / -n / --show-depends output, at once, so that it comes
    /// before what an install command prints.
    fn say(&mut self, parts: &[&[u8]]) {
        if self.show {
            for (i, p) in parts.iter().enumerate() {
                if i > 0 {
                    self.ctx.out.byte(b' ');
                }
                self.ctx.out.bytes(p);
            }
            self.ctx.out.byte(b'\n').flush();
        }
    }
}

fn replace(s: &[u8], what: &[u8], with: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if s[i..].starts_with(what) {
            out.extend_from_slice(with);
            i += what.len();
        } else {
            out.push(s[i]);
            i += 1;
        }
    }
    out
}

/// $MODPROBE_OPTIONS in front of the arguments, split at spaces, quotes
/// grouping (kmod's prepend_options_from_env()).
fn with_env_options(args: Vec<OsString>) -> Vec<OsString> {
    let Some(env) = std::env::var_os("MODPROBE_OPTIONS") else { return args };
    let mut words: Vec<OsString> = Vec::new();
    let (mut word, mut quote, mut any) = (Vec::new(), None, false);
    for &c in env.as_encoded_bytes() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => word.push(c),
            None if c == b' ' => {
                if any {
                    words.push(OsString::from_vec(std::mem::take(&mut word)));
                }
                any = false;
            }
            None if c == b'"' || c == b'\'' => {
                quote = Some(c);
                any = true;
            }
            None => {
                word.push(c);
                any = true;
            }
        }
    }
    if any {
        words.push(OsString::from_vec(word));
    }
    words.extend(args);
    words
}
