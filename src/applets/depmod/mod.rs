//! The pipeline, in the order `main` runs it: the options; the tree walk
//! (`walk`); kmod's module order (`order`); every module's symbols, read on
//! all cores (`symbols`); the dependency graph and its cycle report
//! (`graph`); the index files, one writer each (`outputs`), written
//! atomically.

const USAGE: &str = "\
Usage: depmod [-a] [-A] [-b BASEDIR] [-C CONFIG] [-e] [-E Module.symvers] [-F System.map] [-n] [-P PREFIX] [-v] [-w] [KVER] [FILES...]

Write the module indexes of BASEDIR/lib/modules/KVER (the running kernel's
when KVER is not given): modules.dep, modules.alias, modules.softdep,
modules.symbols, modules.devname and their binary .bin forms, as kmod 30
writes them. Each file is written in full beside the old one and then
renamed over it, so an index is never half-written. With FILES (absolute
paths) only those modules are indexed.

  -a, --all              index every module of the tree (the default)
  -A, --quick            do nothing when no module is newer than modules.dep
  -b, --basedir=DIR      the tree is DIR/lib/modules/KVER
  -C, --config=PATH      depmod.d configuration from PATH, not the default directories
  -e, --errsyms          report symbols no module or the kernel provides (needs -E or -F)
  -E, --symvers=FILE     the kernel's symbols and their versions, from Module.symvers
  -F, --filesyms=FILE    the kernel's symbols, from System.map
  -n, --show, --dry-run  write the text indexes to standard output only
  -P, --symbol-prefix=C  the architecture's symbol prefix
  -v, --verbose          show each dependency found
  -w, --warn             warn about duplicate index entries
  -h, --help             show this help
  -V, --version          show the version
";

mod graph;
mod messages;
mod order;
mod outputs;
mod symbols;
mod text;
mod walk;

use crate::cli::args;
use crate::cli::ctx::Ctx;
use crate::cli::message::Msg;
use crate::config::depmod_d::{self, DepmodD};
use crate::kernel::Kernel;
use crate::moddir::khash::KHash;
use crate::sys::atomic_write::write_atomically;
use crate::sys::file::{absolute, cpath, open_ro, read_all};
use crate::sys::number::scan_u;
use graph::Report;
use messages::{self as M, say, say_errno};
use outputs::Writing;
use rustix::io::Errno;
use std::ffi::OsString;
use std::sync::atomic::{AtomicBool, Ordering};
use symbols::Needs;

crate::options! { FLAGS;
    ALL = 'a', "all", false;
    QUICK = 'A', "quick", false;
    BASEDIR = 'b', "basedir", true;
    CONFIG = 'C', "config", true;
    SYMVERS = 'E', "symvers", true;
    FILESYMS = 'F', "filesyms", true;
    ERRSYMS = 'e', "errsyms", false;
    VERBOSE = 'v', "verbose", false;
    SHOW = 'n', "show", false;
    DRY_RUN = '\u{1}', "dry-run", false;
    PREFIX = 'P', "symbol-prefix", true;
    WARN = 'w', "warn", false;
    // kmod accepts these and ignores them with a warning.
    UNRESOLVED_ERROR = 'u', "unresolved-error", false;
    QUIET = 'q', "quiet", false;
    ROOT = 'r', "root", false;
    MAP = 'm', "map", false;
}
const DEPRECATED: u32 = UNRESOLVED_ERROR | QUIET | ROOT | MAP;

/// Where the kernel's own symbols come from (-E or -F).
enum KernelSymbols {
    /// Module.symvers: names and CRCs, so CRCs can be checked.
    Symvers(Vec<u8>),
    /// System.map: names only.
    SystemMap(Vec<u8>),
}

/// The options, decoded once.
struct Options {
    all: bool,
    quick: bool,
    basedir: Option<Vec<u8>>,
    /// Every -C, in order (none: depmod.d's default directories).
    configs: Vec<Vec<u8>>,
    kernel_symbols: Option<KernelSymbols>,
    errsyms: bool,
    /// How many -v: one shows dependencies, two also depmod.d's lines.
    verbose: usize,
    show: bool,
    prefix: u8,
    warn: bool,
    words: Vec<Vec<u8>>,
}

struct Module {
    name: Vec<u8>,
    /// The path kmod knows it by: the tree's directory, `/`, the file's
    /// path below it (or an external directory's file).
    path: Vec<u8>,
    /// Where the file name starts in `path`.
    base: usize,
    /// Where the part relative to the tree starts in `path`, when the
    /// module is inside the tree.
    rel: Option<usize>,
    /// The `alias` and `softdep` values of .modinfo, in order.
    info: Vec<Info>,
    /// Modules whose symbols it needs, in the order first needed.
    deps: Vec<usize>,
    users: u32,
    order: usize,
}

impl Module {
    /// What modules.dep calls it: relative to the tree, or absolute.
    fn shown(&self) -> &[u8] {
        &self.path[self.rel.unwrap_or(0)..]
    }
}

/// A .modinfo string depmod writes out: an `alias=` or a `softdep=` value.
enum Info {
    Alias(Vec<u8>),
    Softdep(Vec<u8>),
}

/// An exported symbol.
#[derive(Clone, Copy)]
struct Sym {
    /// The module that exports it; `None` for the kernel's own.
    owner: Option<usize>,
    crc: u64,
}

pub fn main<K: Kernel>(ctx: &mut Ctx<K>, args: Vec<OsString>) -> i32 {
    let mut o = match options(ctx, args) {
        Ok(o) => o,
        Err(code) => return code,
    };
    let kver = if o.words.is_empty() {
        ctx.k.release()
    } else {
        let v = o.words.remove(0);
        if !is_version_number(&v) {
            say(&mut ctx.err, M::BAD_VERSION, &[&v]);
            return 1;
        }
        v
    };
    let mut dir = match &o.basedir {
        Some(b) => absolute(b),
        None => ctx.k.root().to_vec(),
    };
    dir.extend_from_slice(b"/lib/modules/");
    dir.extend_from_slice(&kver);
    let mut all = o.all || o.words.is_empty();
    if o.quick {
        if o.show || walk::up_to_date(&dir, &mut ctx.err) {
            return 0;
        }
        all = true;
    }
    let mut d = Depmod::new(dir, o.prefix);
    if let Err(code) = d.kernel_symbols(ctx, &mut o) {
        return code;
    }
    let found = if all { d.find_all(ctx, &o, &kver) } else { d.find_named(ctx, &o.words) };
    if let Err(code) = found {
        return code;
    }
    d.sort_modules(&mut ctx.err);
    d.read_modules(&mut ctx.err);
    let report = Report {
        unknown_symbols: o.errsyms,
        crcs: matches!(o.kernel_symbols, Some(KernelSymbols::Symvers(_))),
        dependencies: o.verbose > 0,
    };
    d.resolve(&report, ctx);
    if !d.sort_dependencies(&mut ctx.err) {
        return 1;
    }
    let files = d.outputs(&Writing { dry_run: o.show, warn_duplicates: o.warn }, &mut ctx.err);
    if d.unreadable.load(Ordering::Relaxed) {
        return 1;
    }
    if o.show {
        for file in files {
            ctx.out.bytes(&file.text);
        }
        return 0;
    }
    match write_atomically(&d.dir, &files) {
        Ok(()) => 0,
        Err(failure) => {
            let mut path = d.dir.clone();
            path.push(b'/');
            path.extend_from_slice(failure.name.as_bytes());
            let template = if failure.partly_renamed { M::WRITE_PART } else { M::WRITE };
            say_errno(&mut ctx.err, template, &[&path], failure.errno);
            1
        }
    }
}

/// Decodes the options, warning about the ones kmod ignores.
fn options<K: Kernel>(ctx: &mut Ctx<K>, args: Vec<OsString>) -> Result<Options, i32> {
    let opts = args::parse(ctx, args, FLAGS, USAGE)?;
    let value = |bit: u32| opts.seq.iter().rev().find(|s| s.0 == bit).map(|s| s.1.clone());
    for (bit, _) in &opts.seq {
        if bit & DEPRECATED != 0 {
            let mut c = [0; 4];
            let letter = FLAGS[bit.trailing_zeros() as usize].0.encode_utf8(&mut c);
            say(&mut ctx.err, M::DEPRECATED, &[letter.as_bytes()]);
        }
    }
    let prefix = match value(PREFIX) {
        Some(p) if p.len() != 1 => return Err(fatal(ctx, M::PREFIX_CHAR, &[], None)),
        Some(p) => p[0],
        None => 0,
    };
    let kernel_symbols = match (value(SYMVERS), value(FILESYMS)) {
        (Some(f), _) => Some(KernelSymbols::Symvers(f)),
        (None, Some(f)) => Some(KernelSymbols::SystemMap(f)),
        (None, None) => None,
    };
    Ok(Options {
        all: opts.has(ALL),
        quick: opts.has(QUICK),
        basedir: value(BASEDIR),
        configs: opts.seq.iter().filter(|s| s.0 == CONFIG).map(|s| s.1.clone()).collect(),
        kernel_symbols,
        errsyms: opts.has(ERRSYMS),
        verbose: opts.seq.iter().filter(|s| s.0 == VERBOSE).count(),
        show: opts.has(SHOW | DRY_RUN),
        prefix,
        warn: opts.has(WARN),
        words: opts.words,
    })
}

impl Depmod {
    fn new(dir: Vec<u8>, prefix: u8) -> Depmod {
        Depmod {
            dir,
            prefix,
            symbols: KHash::new(2048),
            modules: Vec::new(),
            by_name: KHash::new(512),
            conf: DepmodD::default(),
            needs: Vec::new(),
            unreadable: AtomicBool::new(false),
        }
    }

    /// -E/-F: the kernel's own symbols. -e without either is reported and
    /// dropped, as kmod does.
    fn kernel_symbols<K: Kernel>(&mut self, ctx: &mut Ctx<K>, o: &mut Options) -> Result<(), i32> {
        let Some(source) = &o.kernel_symbols else {
            if o.errsyms {
                say(&mut ctx.err, M::ERRSYMS_ALONE, &[]);
                o.errsyms = false;
            }
            return Ok(());
        };
        let (KernelSymbols::Symvers(file) | KernelSymbols::SystemMap(file)) = source;
        let text = match cpath(b"", &[file]).and_then(|c| read_all(open_ro(&c)?, 256 << 20)) {
            Ok(t) => t,
            Err(errno) => return Err(fatal(ctx, M::LOAD_KERNEL_SYMS, &[file], Some(errno))),
        };
        match source {
            KernelSymbols::Symvers(_) => self.load_symvers(file, &text, &mut ctx.err),
            KernelSymbols::SystemMap(_) => self.load_system_map(file, &text, &mut ctx.err),
        }
        Ok(())
    }

    /// Every module of the tree and of depmod.d's external directories.
    fn find_all<K: Kernel>(&mut self, ctx: &mut Ctx<K>, o: &Options, kver: &[u8]) -> Result<(), i32> {
        let paths = match o.configs.is_empty() {
            true => depmod_d::DIRS.iter().map(|p| p.to_vec()).collect(),
            false => o.configs.clone(),
        };
        self.conf = DepmodD::read(ctx.k.root(), &paths, kver, o.verbose > 1, &mut ctx.err);
        let top = self.dir.clone();
        if let Err(errno) = self.search(&top, &mut ctx.err) {
            say_errno(&mut ctx.err, M::OPEN_DIR, &[&top], errno);
            return Err(fatal(ctx, M::SEARCH, &[], Some(errno)));
        }
        for ext in self.conf.externals.clone() {
            if let Err(errno) = self.search(&ext, &mut ctx.err) {
                say_errno(&mut ctx.err, M::OPEN_DIR, &[&ext], errno);
            }
        }
        Ok(())
    }

    /// The modules named on the command line, by absolute path.
    fn find_named<K: Kernel>(&mut self, ctx: &mut Ctx<K>, paths: &[Vec<u8>]) -> Result<(), i32> {
        for path in paths {
            if !path.starts_with(b"/") {
                return Err(fatal(ctx, M::NOT_ABSOLUTE, &[path], None));
            }
            if let Err(errno) = cpath(b"", &[path]).and_then(|c| rustix::fs::stat(c.as_c_str())) {
                return Err(fatal(ctx, M::CREATE_MODULE, &[path], Some(errno)));
            }
            let base = path.iter().rposition(|&c| c == b'/').unwrap_or(0) + 1;
            if base == path.len() {
                return Err(fatal(ctx, M::CREATE_MODULE, &[path], Some(Errno::NOENT)));
            }
            // Named files get no depmod.d ranking: two of one name are an
            // error, as in kmod (its module pool refuses a second path; the
            // same path twice fails when it is added).
            if let Some(&old) = self.by_name.find(&crate::module::name::normalize(&path[base..])) {
                let same = self.modules[old].path == *path;
                let template = if same { M::ADD_MODULE } else { M::CREATE_MODULE };
                return Err(fatal(ctx, template, &[path], Some(Errno::EXIST)));
            }
            self.add(path.clone(), base);
        }
        Ok(())
    }
}

/// A FATAL message (kmod's CRIT): exit 1.
fn fatal<K: Kernel>(ctx: &mut Ctx<K>, msg: &'static Msg, args: &[&[u8]], errno: Option<Errno>) -> i32 {
    msg.print(&mut ctx.err, ctx.applet, args, errno);
    1
}

/// kmod's is_version_number(): sscanf("%u.%u") finds two numbers.
fn is_version_number(v: &[u8]) -> bool {
    scan_u(v).and_then(|(_, rest)| scan_u(rest.strip_prefix(b".")?)).is_some()
}

// The #[inline(never)]s on Depmod's methods in the parts: with LTO at
// opt-level z the one-caller functions were all inlined into main(), 1 KB
// larger in total.
struct Depmod {
    dir: Vec<u8>,
    prefix: u8,
    symbols: KHash<Sym>,
    modules: Vec<Module>,
    by_name: KHash<usize>,
    conf: DepmodD,
    /// While loading: each module's needed symbols (name, CRC, weak).
    needs: Vec<Needs>,
    /// modules.builtin.modinfo opened but could not be read: kmod fails
    /// (output_builtin_alias_bin()), and no file is written.
    unreadable: AtomicBool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_numbers_as_sscanf_reads_them() {
        assert!(is_version_number(b"6.1.0-41-amd64"));
        assert!(is_version_number(b" 6. 1"));
        assert!(!is_version_number(b"x6.1"));
        assert!(!is_version_number(b"6"));
    }
}
