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

use crate::cli::args::{self, Flag};
use crate::cli::ctx::Ctx;
use crate::cli::error::depmod as M;
use crate::cli::error::{depmod_msg, errno_text, num_text};
use crate::config::depmod_d::{Conf, Search, DEFAULT_DIRS};
use crate::kernel::Kernel;
use crate::moddir::index::Writer;
use crate::module::elf::Elf;
use crate::sys::file::{cpath, open_ro, read_all, Mapped};
use crate::sys::out::Out;
use rustix::fs::{FileType, Mode, OFlags};
use rustix::io::Errno;
use std::ffi::OsString;

const FLAGS: &[Flag] = &[
    ('a', "all", false),
    ('A', "quick", false),
    ('b', "basedir", true),
    ('C', "config", true),
    ('E', "symvers", true),
    ('F', "filesyms", true),
    ('e', "errsyms", false),
    ('v', "verbose", false),
    ('n', "show", false),
    ('\u{1}', "dry-run", false),
    ('P', "symbol-prefix", true),
    ('w', "warn", false),
    // kmod accepts these and ignores them with a warning.
    ('u', "unresolved-error", false),
    ('q', "quiet", false),
    ('r', "root", false),
    ('m', "map", false),
];
const ALL: u32 = 1;
const QUICK: u32 = 1 << 1;
const BASEDIR: u32 = 1 << 2;
const CONFIG: u32 = 1 << 3;
const SYMVERS: u32 = 1 << 4;
const FILESYMS: u32 = 1 << 5;
const ERRSYMS: u32 = 1 << 6;
const VERBOSE: u32 = 1 << 7;
const SHOW: u32 = 1 << 8 | 1 << 9;
const PREFIX: u32 = 1 << 10;
const WARN: u32 = 1 << 11;
const DEPRECATED: u32 = 0xf << 12;

/// Module files are recognised by these endings, as kmod's
/// path_ends_with_kmod_ext() with the decoders this build has.
const EXTS: &[&[u8]] = &[
    b".ko",
    #[cfg(feature = "gzip")]
    b".ko.gz",
    #[cfg(feature = "xz")]
    b".ko.xz",
    #[cfg(feature = "zstd")]
    b".ko.zst",
];

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
    /// `alias` (true) and `softdep` values of .modinfo, in order.
    info: Vec<(bool, Vec<u8>)>,
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

/// What a worker thread makes of one module file.
#[derive(Default)]
struct Loaded {
    /// Every symbol name, one after the other: the threads allocate a few
    /// blocks a module, not one a symbol, under the allocator's lock.
    names: Vec<u8>,
    /// (start, end in `names`, CRC).
    exports: Vec<(u32, u32, u64)>,
    /// (start, end in `names`, CRC, weak).
    needs: Vec<(u32, u32, u64, bool)>,
    info: Vec<(bool, Vec<u8>)>,
    /// Why the file could not be read as a module.
    error: Option<Vec<u8>>,
}

/// A symbol: the module that exports it (None for the kernel's) and its CRC.
type Sym = (Option<usize>, u64);

pub fn main<K: Kernel>(ctx: &mut Ctx<K>, args: Vec<OsString>) -> i32 {
    let opts = match args::parse(ctx, args, FLAGS, USAGE) {
        Ok(o) => o,
        Err(code) => return code,
    };
    let value = |bit: u32| opts.seq.iter().rev().find(|s| s.0 == bit).map(|s| s.1.clone());
    let verbose = opts.seq.iter().filter(|s| s.0 == VERBOSE).count();
    let show = opts.flags & SHOW != 0;
    for (bit, _) in &opts.seq {
        if bit & DEPRECATED != 0 {
            let mut c = [0; 4];
            let letter = FLAGS[bit.trailing_zeros() as usize].0.encode_utf8(&mut c);
            depmod_msg(&mut ctx.err, M::DEPRECATED, &[letter.as_bytes()]);
        }
    }
    let mut prefix = 0u8;
    if let Some(p) = value(PREFIX) {
        if p.len() != 1 {
            return fatal(ctx, M::PREFIX_CHAR, &[]);
        }
        prefix = p[0];
    }
    let mut words = opts.words.clone();
    let kver = if words.is_empty() {
        ctx.k.release()
    } else {
        let v = words.remove(0);
        if !is_version_number(&v) {
            depmod_msg(&mut ctx.err, M::BAD_VERSION, &[&v]);
            return 1;
        }
        v
    };
    let mut dir = match value(BASEDIR) {
        Some(b) => absolute(&b),
        None => ctx.k.root().to_vec(),
    };
    dir.extend_from_slice(b"/lib/modules/");
    dir.extend_from_slice(&kver);
    let mut all = opts.has(ALL) || words.is_empty();
    if opts.has(QUICK) {
        if show {
            return 0;
        }
        if up_to_date(&dir, &mut ctx.err) {
            return 0;
        }
        all = true;
    }

    let mut d = Depmod {
        dir,
        prefix,
        symbols: KHash::new(2048),
        modules: Vec::new(),
        by_name: KHash::new(512),
        conf: Conf::default(),
        needs: Vec::new(),
        unreadable: AtomicBool::new(false),
    };
    let mut print_unknown = opts.has(ERRSYMS);
    let check_crcs = opts.has(SYMVERS);
    let kernel_syms = value(SYMVERS).map(|f| (f, true)).or_else(|| value(FILESYMS).map(|f| (f, false)));
    if let Some((file, symvers)) = kernel_syms {
        let text = match cpath(b"", &[&file]).and_then(|c| read_all(open_ro(&c)?, 256 << 20)) {
            Ok(t) => t,
            Err(errno) => return fatal(ctx, M::LOAD_KERNEL_SYMS, &[&file, &errno_text(errno)]),
        };
        if symvers {
            d.load_symvers(&file, &text, &mut ctx.err);
        } else {
            d.load_system_map(&file, &text, &mut ctx.err);
        }
    } else if print_unknown {
        depmod_msg(&mut ctx.err, M::ERRSYMS_ALONE, &[]);
        print_unknown = false;
    }

    if all {
        let paths: Vec<Vec<u8>> = match opts.has(CONFIG) {
            true => opts.seq.iter().filter(|s| s.0 == CONFIG).map(|s| s.1.clone()).collect(),
            false => DEFAULT_DIRS.iter().map(|p| p.to_vec()).collect(),
        };
        d.conf = Conf::load(ctx.k.root(), &paths, &kver, verbose > 1, &mut ctx.err);
        let top = d.dir.clone();
        if let Err(errno) = d.search(&top, &mut ctx.err) {
            depmod_msg(&mut ctx.err, M::OPEN_DIR, &[&top, &errno_text(errno)]);
            return fatal(ctx, M::SEARCH, &[&errno_text(errno)]);
        }
        for ext in d.conf.externals.clone() {
            if let Err(errno) = d.search(&ext, &mut ctx.err) {
                depmod_msg(&mut ctx.err, M::OPEN_DIR, &[&ext, &errno_text(errno)]);
            }
        }
    } else {
        for path in &words {
            if !path.starts_with(b"/") {
                return fatal(ctx, M::NOT_ABSOLUTE, &[path]);
            }
            if let Err(errno) = cpath(b"", &[path]).and_then(|c| rustix::fs::stat(c.as_c_str())) {
                return fatal(ctx, M::CREATE_MODULE, &[path, &errno_text(errno)]);
            }
            let base = path.iter().rposition(|&c| c == b'/').unwrap_or(0) + 1;
            if base == path.len() {
                return fatal(ctx, M::CREATE_MODULE, &[path, &errno_text(Errno::NOENT)]);
            }
            // Named files get no depmod.d ranking: two of one name are an
            // error, as in kmod (its module pool refuses a second path; the
            // same path twice fails when it is added).
            if let Some(&old) = d.by_name.find(&crate::module::name::normalize(&path[base..])) {
                let same = d.modules[old].path == *path;
                return fatal(
                    ctx,
                    if same { M::ADD_MODULE } else { M::CREATE_MODULE },
                    &[path, &errno_text(Errno::EXIST)],
                );
            }
            d.add(path.clone(), base);
        }
    }

    d.sort_modules(&mut ctx.err);
    let loaded = load_all(&d.modules);
    for (i, l) in loaded.into_iter().enumerate() {
        if let Some(why) = &l.error {
            depmod_msg(&mut ctx.err, M::LOAD_SYMBOLS, &[&d.modules[i].path, why]);
        }
        for &(a, b, crc) in &l.exports {
            d.add_symbol(&l.names[a as usize..b as usize], false, crc, Some(i));
        }
        d.modules[i].info = l.info;
        d.needs.push((l.names, l.needs));
    }
    d.resolve(print_unknown, check_crcs, verbose > 0, &mut ctx.out, &mut ctx.err);
    if !d.sort_dependencies(&mut ctx.err) {
        return 1;
    }
    let files = d.outputs(show, opts.has(WARN), &mut ctx.err);
    if d.unreadable.load(Ordering::Relaxed) {
        return 1;
    }
    if show {
        for (_, text) in files {
            ctx.out.bytes(&text);
        }
        return 0;
    }
    match write_atomically(&d.dir, &files) {
        Ok(()) => 0,
        Err((name, errno, partial)) => {
            let mut path = d.dir.clone();
            path.push(b'/');
            path.extend_from_slice(name.as_bytes());
            depmod_msg(&mut ctx.err, if partial { M::WRITE_PART } else { M::WRITE }, &[&path, &errno_text(errno)]);
            1
        }
    }
}

/// A kmod CRIT message (`depmod: FATAL: ...`): exit 1.
fn fatal<K: Kernel>(ctx: &mut Ctx<K>, template: &str, args: &[&[u8]]) -> i32 {
    depmod_msg(&mut ctx.err, template, args);
    1
}

fn join(dir: &[u8], name: &[u8]) -> Vec<u8> {
    let mut p = dir.to_vec();
    p.push(b'/');
    p.extend_from_slice(name);
    p
}

/// kmod's is_version_number(): sscanf("%u.%u") finds two numbers.
fn is_version_number(v: &[u8]) -> bool {
    scan_u(v).and_then(|(_, rest)| scan_u(rest.strip_prefix(b".")?)).is_some()
}

/// scanf's `%u`: blanks, a sign, digits; the value as C stores it.
fn scan_u(s: &[u8]) -> Option<(u32, &[u8])> {
    let s = &s[s.iter().position(|c| !b" \t\n\r\x0b\x0c".contains(c)).unwrap_or(s.len())..];
    let (neg, s) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let n = s.iter().take_while(|c| c.is_ascii_digit()).count();
    if n == 0 {
        return None;
    }
    let v = s[..n].iter().fold(0u64, |v, &c| v.saturating_mul(10).saturating_add(u64::from(c - b'0')));
    Some((if neg { v.wrapping_neg() } else { v } as u32, &s[n..]))
}

fn absolute(p: &[u8]) -> Vec<u8> {
    use std::os::unix::ffi::OsStringExt;
    match std::env::current_dir() {
        Ok(cwd) if !p.starts_with(b"/") => {
            let mut a = cwd.into_os_string().into_vec();
            a.push(b'/');
            a.extend_from_slice(p);
            a
        }
        _ => p.to_vec(),
    }
}

fn is_module_file(name: &[u8]) -> bool {
    EXTS.iter().any(|e| name.len() > e.len() && name.ends_with(e))
}

/// The entries of a directory in the order the file system gives them
/// (kmod walks in readdir order, which decides between equal duplicates),
/// each with whether it is a directory; None for a type kmod skips.
fn read_dir(path: &[u8], err: &mut Out) -> Result<(rustix::fd::OwnedFd, Vec<(Vec<u8>, Option<bool>)>), Errno> {
    use std::mem::MaybeUninit;
    let c = cpath(b"", &[path])?;
    let fd = rustix::fs::open(c.as_c_str(), OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())?;
    let mut out = Vec::new();
    // On the heap: the walk recurses once per directory level.
    let mut buf = vec![MaybeUninit::uninit(); 8192];
    let mut dir = rustix::fs::RawDir::new(&fd, &mut buf);
    while let Some(entry) = dir.next() {
        let entry = entry?;
        let name = entry.file_name().to_bytes();
        let kind = match entry.file_type() {
            FileType::RegularFile => Some(false),
            FileType::Directory => Some(true),
            _ => match rustix::fs::statat(&fd, entry.file_name(), rustix::fs::AtFlags::empty()) {
                Ok(st) => match FileType::from_raw_mode(st.st_mode) {
                    FileType::RegularFile => Some(false),
                    FileType::Directory => Some(true),
                    _ => {
                        let mut oct = Vec::new();
                        let mut m = st.st_mode & 0o170000;
                        while m > 0 {
                            oct.insert(0, b'0' + (m & 7) as u8);
                            m >>= 3;
                        }
                        depmod_msg(err, M::FILE_TYPE, &[&join(path, name), &oct]);
                        None
                    }
                },
                Err(errno) => {
                    depmod_msg(err, M::STAT, &[&join(path, name), &errno_text(errno)]);
                    None
                }
            },
        };
        out.push((name.to_vec(), kind));
    }
    Ok((fd, out))
}

struct Depmod {
    dir: Vec<u8>,
    prefix: u8,
    symbols: KHash<Sym>,
    modules: Vec<Module>,
    by_name: KHash<usize>,
    conf: Conf,
    /// While loading: each module's needed symbols (name, CRC, weak).
    needs: Vec<(Vec<u8>, Vec<(u32, u32, u64, bool)>)>,
    /// modules.builtin.modinfo opened but could not be read: kmod fails
    /// (output_builtin_alias_bin()), and no file is written.
    unreadable: AtomicBool,
}

// The #[inline(never)]s here and below: with LTO at opt-level z the
// one-caller functions were all inlined into main(), 1 KB larger in total.
impl Depmod {
    /// depmod_modules_search_path(): every module file below `top`, in
    /// readdir order, of two with one name the one depmod.d prefers.
    #[inline(never)]
    fn search(&mut self, top: &[u8], err: &mut Out) -> Result<(), Errno> {
        let mut ancestors = Vec::new();
        self.search_dir(&mut top.to_vec(), &mut ancestors, err, true)
    }

    fn search_dir(
        &mut self,
        path: &mut Vec<u8>,
        ancestors: &mut Vec<(u64, u64)>,
        err: &mut Out,
        top: bool,
    ) -> Result<(), Errno> {
        let (fd, entries) = match read_dir(path, err) {
            Ok(x) => x,
            Err(e) if top => return Err(e),
            Err(errno) => {
                depmod_msg(err, M::OPEN_DIR, &[path, &errno_text(errno)]);
                return Ok(());
            }
        };
        // A symbolic link to a directory above would make the walk endless
        // (kmod goes round until it runs out of file descriptors).
        let id = rustix::fs::fstat(&fd).map(|st| (st.st_dev, st.st_ino)).unwrap_or_default();
        drop(fd);
        if ancestors.contains(&id) {
            depmod_msg(err, M::LOOP, &[path]);
            return Ok(());
        }
        ancestors.push(id);
        let len = path.len();
        for (name, kind) in entries {
            let excluded =
                matches!(&name[..], b"." | b".." | b"build" | b"source") || self.conf.excludes.contains(&name);
            let Some(is_dir) = kind.filter(|_| !excluded) else { continue };
            path.push(b'/');
            path.extend_from_slice(&name);
            if is_dir {
                self.search_dir(path, ancestors, err, false)?;
            } else if is_module_file(&name) {
                self.add(path.clone(), len + 1);
            }
            path.truncate(len);
        }
        ancestors.pop();
        Ok(())
    }

    /// depmod_modules_search_file(): adds the module at `path` (its file
    /// name at `base`) unless a module of that name with a higher priority
    /// is known; false when `path` was not added.
    fn add(&mut self, path: Vec<u8>, base: usize) -> bool {
        let name = crate::module::name::normalize(&path[base..]);
        if let Some(&old) = self.by_name.find(&name) {
            if self.keeps(&self.modules[old], &path, base + name.len()) {
                return false;
            }
            self.by_name.del(&name);
        }
        let rel =
            (path.starts_with(&self.dir) && path.get(self.dir.len()) == Some(&b'/')).then_some(self.dir.len() + 1);
        self.by_name.add(&name, self.modules.len(), true);
        self.modules.push(Module {
            name,
            path,
            base,
            rel,
            info: Vec::new(),
            deps: Vec::new(),
            users: 0,
            order: usize::MAX,
        });
        true
    }

    /// depmod_module_is_higher_priority(): whether the known module `old`
    /// beats the file `new` (`new[..end]`: the path up to the end of the
    /// module name in the file name). Overrides first, then the search
    /// list (a later entry in kmod's list is a stronger one), with modules
    /// outside every search path ranked as `built-in`; on a tie the module
    /// found first stays.
    #[inline(never)]
    fn keeps(&self, old: &Module, new: &[u8], end: usize) -> bool {
        let old_end = old.base + old.name.len();
        let dl = self.dir.len() + 1;
        let rel = |p: &'_ [u8], end: usize| -> Option<Vec<u8>> {
            (p.starts_with(&self.dir) && end >= dl).then(|| p[dl..end].to_vec())
        };
        let (rnew, rold) = (rel(new, end).unwrap_or_default(), rel(&old.path, old_end).unwrap_or_default());
        for ov in &self.conf.overrides {
            if rnew == *ov {
                return false;
            }
            if rold == *ov {
                return true;
            }
        }
        let under = |p: &[u8], dir: &[u8]| p.len() > dir.len() && p[dir.len()] == b'/' && p.starts_with(dir);
        let (mut builtin, mut oldp, mut newp) = (-1i64, -1i64, -1i64);
        let mut i = 0i64;
        for s in &self.conf.searches {
            match s {
                Search::Builtin => builtin = i,
                Search::External => {
                    for ext in &self.conf.externals {
                        if under(&new[..end], ext) {
                            newp = i;
                        }
                        if under(&old.path[..old_end], ext) {
                            oldp = i;
                        }
                        i += 1;
                    }
                }
                Search::Path(p) if under(&rnew, p) => newp = i,
                Search::Path(p) if under(&rold, p) => oldp = i,
                Search::Path(_) => {}
            }
            i += 1;
        }
        if newp < 0 {
            newp = builtin;
        }
        if oldp < 0 {
            oldp = builtin;
        }
        newp <= oldp
    }

    /// The module array: kmod's hash order, then modules.order's order for
    /// the modules it lists (depmod_modules_sort()).
    #[inline(never)]
    fn sort_modules(&mut self, err: &mut Out) {
        let order: Vec<usize> = self.by_name.iter().map(|(_, &i)| i).collect();
        let mut modules: Vec<Module> = Vec::with_capacity(order.len());
        let mut slots: Vec<Option<Module>> = std::mem::take(&mut self.modules).into_iter().map(Some).collect();
        for i in order {
            if let Some(m) = slots[i].take() {
                modules.push(m);
            }
        }
        if let Ok(Some(text)) = read_tree_file(&self.dir, b"modules.order", false, err) {
            // As fgets() and strlen() see them: a line ends at a NUL.
            let lines: Vec<&[u8]> = fgets_lines(&text)
                .into_iter()
                .map(|l| &l[..l.iter().position(|&c| c == 0).unwrap_or(l.len())])
                .collect();
            if let Some(n) = lines.iter().position(|l| !l.is_empty() && !l.ends_with(b"\n")) {
                depmod_msg(err, M::ORDER_LINE, &[&self.dir, &num_text(n as i64 + 1)]);
            } else {
                // The key kmod looks modules up by: the path in the tree
                // with the name's extension cut to ".ko".
                let mut keyed: KHash<usize> = KHash::new(512);
                for (i, m) in modules.iter().enumerate() {
                    if let Some(r) = m.rel {
                        let end = m.base + m.name.len() + 3;
                        keyed.add(&m.path[r..end.min(m.path.len())], i, true);
                    }
                }
                for (n, l) in lines.iter().enumerate() {
                    if let Some(l) = l.strip_suffix(b"\n") {
                        if let Some(&i) = keyed.find(l) {
                            modules[i].order = n;
                        }
                    }
                }
                // A stable sort, as glibc's qsort (a merge sort) is in
                // practice: the key is (line, place in hash order).
                let mut keys: Vec<u64> = modules
                    .iter()
                    .enumerate()
                    .map(|(i, m)| (m.order.min(u32::MAX as usize) as u64) << 32 | i as u64)
                    .collect();
                keys.sort_unstable();
                let mut slots: Vec<Option<Module>> = modules.into_iter().map(Some).collect();
                modules = keys.iter().filter_map(|k| slots[(k & 0xffff_ffff) as usize].take()).collect();
            }
        }
        for m in &mut modules {
            m.order = 0;
        }
        self.modules = modules;
    }

    /// depmod_symbol_add(): a later module's symbol replaces an earlier one.
    fn add_symbol(&mut self, name: &[u8], prefix_skipped: bool, crc: u64, owner: Option<usize>) {
        let name = match name.split_first() {
            Some((&c, rest)) if !prefix_skipped && c == self.prefix => rest,
            _ => name,
        };
        if !name.is_empty() {
            self.symbols.add(name, (owner, crc), false);
        }
    }

    fn find_symbol(&self, name: &[u8]) -> Option<&Sym> {
        let name = name.strip_prefix(b".").unwrap_or(name);
        let name = match name.split_first() {
            Some((&c, rest)) if c == self.prefix && c != 0 => rest,
            _ => name,
        };
        self.symbols.find(name)
    }

    /// Symbols the kernel itself provides, after Module.symvers or
    /// System.map (depmod_add_fake_syms()).
    fn add_fake_symbols(&mut self) {
        self.add_symbol(b"__this_module", true, 0, None);
        self.add_symbol(b"_GLOBAL_OFFSET_TABLE_", true, 0, None);
        if self.find_symbol(b"TOC.").is_none() {
            self.add_symbol(b"TOC.", true, 0, None);
        }
    }

    /// Module.symvers: `0xCRC SYMBOL vmlinux EXPORT_...` lines.
    #[inline(never)]
    fn load_symvers(&mut self, file: &[u8], text: &[u8], err: &mut Out) {
        for (n, line) in fgets_lines(text).into_iter().enumerate() {
            let mut f = line.split(|&c| c == b' ' || c == b'\t').filter(|w| !w.is_empty());
            let (Some(ver), Some(sym), Some(b"vmlinux")) = (f.next(), f.next(), f.next()) else { continue };
            let hex = ver.strip_prefix(b"0x").or_else(|| ver.strip_prefix(b"0X")).unwrap_or(ver);
            let crc = (!hex.is_empty() && hex.iter().all(|c| c.is_ascii_hexdigit())).then(|| {
                hex.iter().fold(0u64, |v, &c| v.wrapping_shl(4) | u64::from((c as char).to_digit(16).unwrap_or(0)))
            });
            match crc {
                Some(crc) => self.add_symbol(sym, false, crc, None),
                None => depmod_msg(err, M::SYMVERS_LINE, &[file, &num_text(n as i64 + 1), ver]),
            }
        }
        self.add_fake_symbols();
    }

    /// System.map: `ADDRESS TYPE NAME` lines; the kernel's exports are the
    /// `__ksymtab_` names.
    #[inline(never)]
    fn load_system_map(&mut self, file: &[u8], text: &[u8], err: &mut Out) {
        for (n, line) in fgets_lines(text).into_iter().enumerate() {
            let mut parts = line.splitn(3, |&c| c == b' ');
            let (Some(_), Some(_), Some(mut p)) = (parts.next(), parts.next(), parts.next()) else {
                depmod_msg(err, M::SYSTEM_MAP_LINE, &[file, &num_text(n as i64 + 1), line]);
                continue;
            };
            if p.first() == Some(&self.prefix) {
                p = &p[1..];
            }
            if let Some(name) = p.strip_prefix(b"__ksymtab_") {
                let name = &name[..name.iter().position(|&c| c == b'\n').unwrap_or(name.len())];
                self.add_symbol(name, true, 0, None);
            }
        }
        self.add_fake_symbols();
    }

    /// depmod_load_dependencies(): each needed symbol's owner becomes a
    /// dependency; -e reports the symbols nobody has and, with -E, the
    /// CRCs that differ.
    #[inline(never)]
    fn resolve(&mut self, print_unknown: bool, check_crcs: bool, verbose: bool, out: &mut Out, err: &mut Out) {
        let needs = std::mem::take(&mut self.needs);
        for (i, (names, needs)) in needs.iter().enumerate() {
            for &(a, b, crc, weak) in needs {
                let name = &names[a as usize..b as usize];
                let Some(&(owner, sym_crc)) = self.find_symbol(name) else {
                    if print_unknown && !weak {
                        depmod_msg(err, M::UNKNOWN_SYMBOL, &[&self.modules[i].path, name]);
                    }
                    continue;
                };
                if check_crcs && sym_crc != crc && !weak && print_unknown {
                    depmod_msg(err, M::SYMBOL_VERSION, &[&self.modules[i].path, name]);
                }
                let Some(o) = owner else { continue };
                if self.modules[i].deps.contains(&o) {
                    continue;
                }
                self.modules[i].deps.push(o);
                self.modules[o].users += 1;
                if verbose {
                    out.bytes(&self.modules[i].path)
                        .str(" needs \"")
                        .bytes(name)
                        .str("\": ")
                        .bytes(&self.modules[o].path)
                        .byte(b'\n');
                }
            }
        }
        err.flush();
    }

    /// depmod_calculate_dependencies(): a topological order (modules nobody
    /// needs first), each module's `order` its place in it. None after
    /// reporting the cycles, when there are any (false).
    #[inline(never)]
    fn sort_dependencies(&mut self, err: &mut Out) -> bool {
        let n = self.modules.len();
        let mut users: Vec<u32> = self.modules.iter().map(|m| m.users).collect();
        let mut roots: Vec<usize> = (0..n).filter(|&i| users[i] == 0).collect();
        let mut sorted = 0;
        while let Some(src) = roots.pop() {
            self.modules[src].order = sorted;
            sorted += 1;
            for &dst in &self.modules[src].deps {
                users[dst] -= 1;
                if users[dst] == 0 {
                    roots.push(dst);
                }
            }
        }
        if sorted < n {
            self.report_cycles(&users, err);
        }
        sorted == n
    }

    /// depmod_report_cycles(): from each module left over, a depth-first
    /// walk that reports the paths leading back to it, as kmod does.
    #[inline(never)]
    fn report_cycles(&self, users: &[u32], err: &mut Out) {
        let mut roots: Vec<usize> = (0..self.modules.len()).filter(|&i| users[i] > 0).collect();
        let cap = roots.len();
        let mut visited = vec![false; self.modules.len()];
        let mut in_loops: Vec<&[u8]> = Vec::new();
        while !roots.is_empty() {
            let root = roots.remove(0);
            // Vertices: (module, parent vertex).
            let mut vertices: Vec<(usize, usize)> = vec![(root, usize::MAX)];
            let mut stack = vec![0usize];
            while let Some(v) = stack.pop() {
                // kmod's walk never ends when it meets a cycle other than
                // its root's; a bound keeps this one finite.
                if vertices.len() > 1 << 20 {
                    break;
                }
                let m = vertices[v].0;
                if visited[m] && m == root {
                    let mut chain = Vec::new();
                    let mut p = vertices[v].1;
                    while p != usize::MAX {
                        chain.push(vertices[p].0);
                        p = vertices[p].1;
                    }
                    let mut text = Vec::new();
                    for &c in chain.iter().rev() {
                        let name = &self.modules[c].name[..];
                        if !in_loops.contains(&name) {
                            in_loops.push(name);
                        }
                        roots.retain(|&r| r != c);
                        text.extend_from_slice(name);
                        text.extend_from_slice(b" -> ");
                    }
                    text.extend_from_slice(&self.modules[root].name);
                    depmod_msg(err, M::CYCLE, &[&text]);
                    continue;
                }
                visited[m] = true;
                if self.modules[m].deps.is_empty() {
                    roots.retain(|&r| r != m);
                    continue;
                }
                for &dep in &self.modules[m].deps {
                    // kmod's stack holds as many entries as there are
                    // modules left; it stops (asserts) beyond that.
                    if stack.len() >= cap {
                        break;
                    }
                    vertices.push((dep, v));
                    stack.push(vertices.len() - 1);
                }
            }
        }
        depmod_msg(err, M::CYCLES, &[&num_text(in_loops.len() as i64)]);
    }

    /// The transitive dependencies of module `i`, in load order (the
    /// topological order), as modules.dep lists them.
    #[inline(never)]
    fn all_deps(&self, i: usize) -> Vec<usize> {
        let mut seen = vec![i];
        let mut todo = vec![i];
        let mut out = Vec::new();
        while let Some(m) = todo.pop() {
            for &d in &self.modules[m].deps {
                if !seen.contains(&d) {
                    seen.push(d);
                    out.push(d);
                    todo.push(d);
                }
            }
        }
        let mut keys: Vec<u64> = out.iter().map(|&d| (self.modules[d].order as u64) << 32 | d as u64).collect();
        keys.sort_unstable();
        keys.iter().map(|k| (k & 0xffff_ffff) as usize).collect()
    }

    /// Every index file's contents, in the order kmod writes them (the
    /// binary ones empty with -n, where they are not written). Five jobs,
    /// run on all cores; their messages come out in kmod's order.
    #[inline(never)]
    fn outputs(&self, show: bool, warn: bool, err: &mut Out) -> Vec<(&'static str, Vec<u8>)> {
        let slots: Slots<(Vec<(&'static str, Vec<u8>)>, Vec<u8>)> = Slots::new(5);
        parallel(5, &|job| {
            let mut e = Out::new(crate::sys::out::Sink::Buffer);
            let files = self.output(job, show, warn, &mut e);
            // SAFETY: parallel() runs each job once.
            unsafe { slots.put(job, (files, e.buf)) };
        });
        let mut files = Vec::new();
        for (f, e) in slots.into_vec() {
            files.extend(f);
            err.bytes(&e);
        }
        files
    }

    /// One of outputs()'s jobs: 0 modules.dep, 1 aliases and softdeps,
    /// 2 symbols, 3 built-in modules, 4 modules.devname.
    fn output(&self, job: usize, show: bool, warn: bool, err: &mut Out) -> Vec<(&'static str, Vec<u8>)> {
        let mut files = Vec::new();
        match job {
            0 => {
                let mut dep = Vec::new();
                let mut dep_bin = Writer::default();
                for (i, m) in self.modules.iter().enumerate() {
                    let mut line = m.shown().to_vec();
                    line.push(b':');
                    for d in self.all_deps(i) {
                        line.push(b' ');
                        line.extend_from_slice(self.modules[d].shown());
                    }
                    dep.extend_from_slice(&line);
                    dep.push(b'\n');
                    if !show && dep_bin.insert(&m.name, &line, i as u32) && warn {
                        depmod_msg(err, M::DUP_DEPS, &[&line]);
                    }
                }
                files.push(("modules.dep", dep));
                files.push(("modules.dep.bin", if show { Vec::new() } else { dep_bin.write() }));
            }
            1 => {
                let mut alias = b"# Aliases extracted from modules themselves.\n".to_vec();
                let mut softdep = b"# Soft dependencies extracted from modules themselves.\n".to_vec();
                let mut alias_bin = Writer::default();
                for (i, m) in self.modules.iter().enumerate() {
                    for (is_alias, v) in &m.info {
                        if !is_alias {
                            for part in [&b"softdep "[..], &m.name, b" ", v, b"\n"] {
                                softdep.extend_from_slice(part);
                            }
                            continue;
                        }
                        for part in [&b"alias "[..], v, b" ", &m.name, b"\n"] {
                            alias.extend_from_slice(part);
                        }
                        if show {
                            continue;
                        }
                        match crate::module::name::alias_normalize(v) {
                            Some(key) => {
                                if alias_bin.insert(&key, &m.name, i as u32) && warn {
                                    depmod_msg(err, M::DUP_ALIAS, &[&key, &m.name]);
                                }
                            }
                            None => depmod_msg(err, M::BRACKET, &[v]),
                        }
                    }
                }
                files.push(("modules.alias", alias));
                files.push(("modules.alias.bin", if show { Vec::new() } else { alias_bin.write() }));
                files.push(("modules.softdep", softdep));
            }
            2 => {
                let mut symbols = b"# Aliases for symbols, used by symbol_request().\n".to_vec();
                let mut symbols_bin = Writer::default();
                for (name, &(owner, _)) in self.symbols.iter() {
                    let Some(o) = owner else { continue };
                    let owner = &self.modules[o].name;
                    for part in [&b"alias symbol:"[..], name, b" ", owner, b"\n"] {
                        symbols.extend_from_slice(part);
                    }
                    let mut key = b"symbol:".to_vec();
                    key.extend_from_slice(name);
                    if !show && symbols_bin.insert(&key, owner, o as u32) && warn {
                        depmod_msg(err, M::DUP_SYMS, &[&key, owner]);
                    }
                }
                files.push(("modules.symbols", symbols));
                files.push(("modules.symbols.bin", if show { Vec::new() } else { symbols_bin.write() }));
            }
            3 => {
                let read = |name: &[u8], must_read, err: &mut Out| {
                    if show {
                        Ok(None)
                    } else {
                        read_tree_file(&self.dir, name, must_read, err)
                    }
                };
                let mut builtin = Vec::new();
                if let Ok(Some(text)) = read(b"modules.builtin", false, err) {
                    let mut w = Writer::default();
                    for line in fgets_lines(&text) {
                        let line = &line[..line.iter().position(|&c| c == 0).unwrap_or(line.len())];
                        if !line.first().is_some_and(u8::is_ascii_alphabetic) {
                            depmod_msg(err, M::BUILTIN_LINE, &[line]);
                            continue;
                        }
                        let base = line.rsplit(|&c| c == b'/').next().unwrap_or(line);
                        if !base.is_empty() {
                            let name = crate::module::name::normalize(base);
                            w.insert(&name, b"", 0);
                        }
                    }
                    builtin = w.write();
                }
                files.push(("modules.builtin.bin", builtin));

                let mut builtin_alias = Vec::new();
                let modinfo = read(b"modules.builtin.modinfo", true, err).unwrap_or_else(|errno| {
                    depmod_msg(err, M::READ_TREE_FILE, &[&self.dir, &errno_text(errno)]);
                    self.unreadable.store(true, Ordering::Relaxed);
                    None
                });
                if let Some(text) = modinfo {
                    let mut w = Writer::default();
                    for (module, alias) in builtin_aliases(&text, err) {
                        match crate::module::name::alias_normalize(&alias) {
                            Some(key) => {
                                w.insert(&key, &module, 0);
                            }
                            None => depmod_msg(err, M::BRACKET, &[&alias]),
                        }
                    }
                    builtin_alias = w.write();
                }
                files.push(("modules.builtin.alias.bin", builtin_alias));
            }
            _ => {
                let mut devname = Vec::new();
                for m in &self.modules {
                    let (mut dev, mut kind, mut major, mut minor) = (None, 0u8, 0, 0);
                    for (is_alias, v) in &m.info {
                        if !is_alias {
                            continue;
                        }
                        if let Some(d) = v.strip_prefix(b"devname:") {
                            dev = Some(d);
                        } else if let Some((k, a, b)) = major_minor(v) {
                            (kind, major, minor) = (k, a, b);
                        }
                        if kind != 0 && dev.is_some() {
                            break;
                        }
                    }
                    let Some(dev) = dev else { continue };
                    if kind == 0 {
                        depmod_msg(err, M::DEVNAME, &[&m.name, dev]);
                        continue;
                    }
                    if devname.is_empty() {
                        devname.extend_from_slice(b"# Device nodes to trigger on-demand module loading.\n");
                    }
                    let mut o = Out::new(crate::sys::out::Sink::Buffer);
                    o.bytes(&m.name)
                        .byte(b' ')
                        .bytes(dev)
                        .byte(b' ')
                        .byte(kind)
                        .num(major as i64)
                        .byte(b':')
                        .num(minor as i64)
                        .byte(b'\n');
                    devname.extend_from_slice(&o.buf);
                }
                files.push(("modules.devname", devname));
            }
        }
        files
    }
}

/// A file of the tree's directory that kmod reads through dfdopen(),
/// which warns when it cannot open it. One that opens but cannot be read
/// (a directory, /dev/zero past 256 MiB) is warned about the same way,
/// unless `must_read` (modules.builtin.modinfo, for which kmod fails):
/// `Err` then.
fn read_tree_file(dir: &[u8], name: &[u8], must_read: bool, err: &mut Out) -> Result<Option<Vec<u8>>, Errno> {
    let read = cpath(dir, &[b"/", name]).and_then(|c| open_ro(&c)).map(|fd| read_all(fd, 256 << 20));
    match read {
        Ok(Ok(t)) => Ok(Some(t)),
        Ok(Err(errno)) if must_read => Err(errno),
        Ok(Err(errno)) | Err(errno) => {
            depmod_msg(err, M::OPEN_TREE_FILE, &[name, dir, &errno_text(errno)]);
            Ok(None)
        }
    }
}

/// fgets() with kmod's PATH_MAX buffer: lines with their `\n`, longer
/// ones cut into pieces of 4095 bytes (a newline is looked for in the next
/// piece only: a 10 MB line is not searched 2,560 times).
fn fgets_lines(text: &[u8]) -> Vec<&[u8]> {
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

/// `char-major-M-N` / `block-major-M-N` as sscanf reads them: the node
/// type and the two numbers.
fn major_minor(v: &[u8]) -> Option<(u8, u32, u32)> {
    let (kind, rest) = match v.strip_prefix(b"char-major-") {
        Some(r) => (b'c', r),
        None => (b'b', v.strip_prefix(b"block-major-")?),
    };
    let (major, rest) = scan_u(rest)?;
    let (minor, _) = scan_u(rest.strip_prefix(b"-")?)?;
    Some((kind, major, minor))
}

/// The `alias` entries of modules.builtin.modinfo (`module.key=value`,
/// NUL-terminated), read as kmod's output_builtin_alias_bin() reads them:
/// a field ends at its delimiter, a NUL or after 4096 bytes, and a field
/// that ends wrong is dropped with what follows it up to the next NUL.
#[inline(never)]
fn builtin_aliases(text: &[u8], err: &mut Out) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut out = Vec::new();
    let mut at = 0;
    // flush_stream_to(): the field up to `end`, or None.
    let field = |at: &mut usize, end: u8, err: &mut Out| -> Option<Vec<u8>> {
        let mut v = Vec::new();
        loop {
            let c = *text.get(*at)?;
            *at += 1;
            if c == end || c == 0 {
                return (c == end).then_some(v);
            }
            v.push(c);
            if v.len() == 4096 {
                depmod_msg(err, M::FLUSH, &[&v]);
                return None;
            }
        }
    };
    while at < text.len() {
        let Some(module) = field(&mut at, b'.', err).filter(|m| !m.is_empty()) else { continue };
        let key = field(&mut at, b'=', err).unwrap_or_default();
        if key != b"alias" {
            while at < text.len() {
                at += 1;
                if text[at - 1] == 0 {
                    break;
                }
            }
            continue;
        }
        if let Some(alias) = field(&mut at, 0, err).filter(|a| !a.is_empty()) {
            out.push((module, alias));
        }
    }
    out
}

/// -A: whether modules.dep is at least as new as every module file
/// (depfile_up_to_date()). A missing modules.dep is reported, as kmod does,
/// and means "not up to date".
#[inline(never)]
fn up_to_date(dir: &[u8], err: &mut Out) -> bool {
    let st = cpath(dir, &[b"/modules.dep"]).and_then(|c| rustix::fs::stat(c.as_c_str()));
    let mtime = match st {
        Ok(st) => st.st_mtime,
        Err(errno) => {
            depmod_msg(err, M::UP_TO_DATE, &[dir, &errno_text(errno)]);
            return false;
        }
    };
    fn newer(path: &mut Vec<u8>, mtime: i64, depth: usize, err: &mut Out) -> bool {
        let Ok((_, entries)) = read_dir(path, err) else { return false };
        let len = path.len();
        for (name, kind) in entries {
            if matches!(&name[..], b"." | b".." | b"build" | b"source") || depth > 64 {
                continue;
            }
            path.push(b'/');
            path.extend_from_slice(&name);
            let found = match kind {
                Some(true) => newer(path, mtime, depth + 1, err),
                Some(false) if is_module_file(&name) => {
                    cpath(b"", &[path]).and_then(|c| rustix::fs::stat(c.as_c_str())).is_ok_and(|st| st.st_mtime > mtime)
                }
                _ => false,
            };
            path.truncate(len);
            if found {
                return true;
            }
        }
        false
    }
    !newer(&mut dir.to_vec(), mtime, 0, err)
}

/// Reads every module on all cores: each worker takes the next module
/// from a shared counter, and the results come back in module order.
/// Reads every module on all cores.
#[inline(never)]
fn load_all(modules: &[Module]) -> Vec<Loaded> {
    let slots = Slots::new(modules.len());
    // SAFETY: parallel() runs each job once.
    parallel(modules.len(), &|i| unsafe { slots.put(i, load(&modules[i].path)) });
    slots.into_vec()
}

use std::cell::UnsafeCell;
use std::ffi::c_void;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// One result per job, each written by the one thread that ran the job.
struct Slots<T>(Vec<UnsafeCell<T>>);

// SAFETY: `put` writes a slot from one thread only (parallel() hands out
// each index once) and `into_vec` reads after every thread was joined.
unsafe impl<T: Send> Sync for Slots<T> {}

impl<T: Default> Slots<T> {
    fn new(n: usize) -> Slots<T> {
        Slots((0..n).map(|_| UnsafeCell::new(T::default())).collect())
    }

    /// # Safety
    /// No other thread may use slot `i` (parallel() guarantees it for job i).
    unsafe fn put(&self, i: usize, v: T) {
        *self.0[i].get() = v;
    }

    fn into_vec(self) -> Vec<T> {
        self.0.into_iter().map(UnsafeCell::into_inner).collect()
    }
}

/// What the threads of parallel() share: the next job and the job itself.
struct Jobs<'a> {
    next: AtomicUsize,
    n: usize,
    job: &'a (dyn Fn(usize) + Sync),
}

/// Runs job(0), ..., job(n - 1), each once, on every core this process may
/// use (the calling thread is one of them); returns when all are done.
/// pthreads directly: std::thread brings 20 KB (thread names, spawn hooks,
/// its stack-overflow bookkeeping) that a counter loop never uses.
fn parallel(n: usize, job: &(dyn Fn(usize) + Sync)) {
    let jobs = Jobs { next: AtomicUsize::new(0), n, job };
    let cores = rustix::thread::sched_getaffinity(None).map_or(1, |s| s.count() as usize);
    let mut threads = Vec::new();
    for _ in 1..cores.clamp(1, 16).min(n) {
        let mut t = 0u64;
        let mut attr = [0u64; 8];
        // SAFETY: `jobs` outlives every thread (all are joined below) and
        // is only read through shared references and its atomic counter.
        let ok = unsafe {
            pthread_attr_init(attr.as_mut_ptr().cast()) == 0
                && pthread_attr_setstacksize(attr.as_mut_ptr().cast(), 1 << 20) == 0
                && pthread_create(&mut t, attr.as_ptr().cast(), worker, (&jobs as *const Jobs).cast_mut().cast()) == 0
        };
        // A thread that could not start leaves its share to the others.
        if ok {
            threads.push(t);
        }
    }
    run_jobs(&jobs);
    for t in threads {
        // SAFETY: a thread created above, joined once.
        unsafe { pthread_join(t, std::ptr::null_mut()) };
    }
}

fn run_jobs(jobs: &Jobs) {
    loop {
        let i = jobs.next.fetch_add(1, Ordering::Relaxed);
        if i >= jobs.n {
            return;
        }
        (jobs.job)(i);
    }
}

extern "C" fn worker(arg: *mut c_void) -> *mut c_void {
    // SAFETY: `arg` is the &Jobs parallel() keeps alive until the join.
    run_jobs(unsafe { &*arg.cast::<Jobs>() });
    std::ptr::null_mut()
}

extern "C" {
    fn pthread_attr_init(attr: *mut c_void) -> i32;
    fn pthread_attr_setstacksize(attr: *mut c_void, size: usize) -> i32;
    fn pthread_create(
        t: *mut u64,
        attr: *const c_void,
        f: extern "C" fn(*mut c_void) -> *mut c_void,
        arg: *mut c_void,
    ) -> i32;
    fn pthread_join(t: u64, ret: *mut *mut c_void) -> i32;
}

/// One module file, as libkmod would read it for depmod: its exports,
/// needed symbols and alias/softdep strings.
#[inline(never)]
fn load(path: &[u8]) -> Loaded {
    let fail = |why: &[u8]| Loaded { error: Some(why.to_vec()), ..Loaded::default() };
    let file = match cpath(b"", &[path]).and_then(|c| Mapped::open(&c, crate::module::modfile::MAX_MODULE)) {
        Ok(f) => f,
        Err(e) => return fail(&errno_text(e)),
    };
    let data = file.bytes();
    // kmod reads the longest compression magic (6 bytes) first.
    if data.len() < 6 {
        return fail(&errno_text(Errno::INVAL));
    }
    let unpacked;
    let image = match crate::module::modfile::compression(data) {
        None => data,
        Some(format) => match crate::module::decompress::decompress(format, data) {
            Ok(i) => {
                unpacked = i;
                &unpacked[..]
            }
            // libkmod's decoders answer EINVAL for any damage.
            Err(_) => return fail(&errno_text(Errno::INVAL)),
        },
    };
    let elf = match Elf::new(image) {
        Ok(e) => e,
        Err(e) => return fail(&errno_text(e)),
    };
    let mut names = Vec::new();
    let mut add = |name: &[u8]| {
        let start = names.len() as u32;
        names.extend_from_slice(name);
        (start, names.len() as u32)
    };
    let exports: Vec<_> = elf
        .exports()
        .into_iter()
        .map(|s| {
            let (a, b) = add(s.name);
            (a, b, s.crc)
        })
        .collect();
    let needs: Vec<_> = elf
        .needs()
        .unwrap_or_default()
        .into_iter()
        .map(|s| {
            let (a, b) = add(s.name);
            (a, b, s.crc, s.weak)
        })
        .collect();
    let info = elf
        .strings(b".modinfo")
        .into_iter()
        .filter_map(|kv| {
            // A string without `=` is a key with an empty value (kmod).
            let eq = kv.iter().position(|&c| c == b'=').unwrap_or(kv.len());
            let value = kv.get(eq + 1..).unwrap_or_default().to_vec();
            match &kv[..eq] {
                b"alias" => Some((true, value)),
                b"softdep" => Some((false, value)),
                _ => None,
            }
        })
        .collect();
    Loaded { names, exports, needs, info, error: None }
}

/// Writes every file to a temporary name in `dir` (`NAME.PID.tmp`), syncs
/// it, and only when all are written renames them into place, in kmod's
/// order; on a failure the temporary files are removed and the old index
/// files are untouched. Returns the file and errno that failed, and whether
/// files before it were renamed already (a rename failed part-way).
///
/// Every temporary file stays open for writing until the renames are done:
/// the kernel refuses to make a file system (or a bind mount) read-only
/// while a file is open for writing on it (EBUSY), so a read-only remount
/// cannot come between two renames (leaving a set part new, part old) or
/// between a failure and the removal of the temporary files (leaving them
/// behind): it happens before the first file is made, and the run fails
/// cleanly, or after the last rename. A rename can still fail part-way
/// through (the directory's write permission taken away meanwhile, an I/O
/// error): then the message says which files are new.
///
/// A run that was killed (or lost power) part-way leaves its temporary
/// files behind, and nothing else would ever remove them (kmod's
/// `NAME.PID.USEC.SEC` files of a killed run stay for ever; they are not
/// touched here). So each run first removes those of earlier runs — but
/// only when no other modbox depmod is writing to the directory at that
/// moment: every writer holds a shared flock on the directory while its
/// temporary files exist, and the removal needs it exclusively. The lock
/// is only tried for the removal (a file system without flock just keeps
/// the leftovers, as before); the shared lock is waited for, as
/// only the removal of another run holds it exclusively.
#[inline(never)]
fn write_atomically(dir: &[u8], files: &[(&'static str, Vec<u8>)]) -> Result<(), (&'static str, Errno, bool)> {
    let cdir = cpath(b"", &[dir]).map_err(|e| ("", e, false))?;
    let dfd = rustix::fs::open(cdir.as_c_str(), OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())
        .map_err(|e| ("", e, false))?;
    let mut suffix = b".".to_vec();
    let mut o = Out::new(crate::sys::out::Sink::Buffer);
    o.num(i64::from(std::process::id()));
    suffix.extend_from_slice(&o.buf);
    suffix.extend_from_slice(b".tmp");
    let temp = |name: &str| cpath(name.as_bytes(), &[&suffix]);
    use rustix::fs::{flock, FlockOperation};
    if flock(&dfd, FlockOperation::NonBlockingLockExclusive).is_ok() {
        remove_stale_temps(dir, files);
    }
    // From exclusive to shared, or shared at once. flock converts by
    // unlocking first, so another run may take it exclusively for its own
    // removal meanwhile: that takes one directory read, and this waits.
    let _ = flock(&dfd, FlockOperation::LockShared);
    // The temporary files made so far, each still open (see above).
    let mut made: Vec<(&str, rustix::fd::OwnedFd)> = Vec::new();
    let mut result = Ok(());
    for (name, data) in files {
        let written = (|| {
            let t = temp(name)?;
            let _ = rustix::fs::unlinkat(&dfd, t.as_c_str(), rustix::fs::AtFlags::empty());
            let fd = rustix::fs::openat(
                &dfd,
                t.as_c_str(),
                OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::CLOEXEC | OFlags::NOFOLLOW,
                Mode::from_raw_mode(0o644),
            )?;
            made.push((name, fd));
            let fd = &made[made.len() - 1].1;
            let mut rest = &data[..];
            while !rest.is_empty() {
                match rustix::io::write(fd, rest) {
                    Ok(0) => return Err(Errno::NOSPC),
                    Ok(n) => rest = &rest[n..],
                    Err(Errno::INTR) => {}
                    Err(e) => return Err(e),
                }
            }
            rustix::fs::fsync(fd)
        })();
        if let Err(e) = written {
            result = Err((*name, e, false));
            break;
        }
    }
    let mut renamed = 0;
    if result.is_ok() {
        for (name, _) in &made {
            let (Ok(t), Ok(n)) = (temp(name), cpath(name.as_bytes(), &[])) else { continue };
            if let Err(e) = rustix::fs::renameat(&dfd, t.as_c_str(), &dfd, n.as_c_str()) {
                result = Err((*name, e, renamed > 0));
                break;
            }
            renamed += 1;
        }
        let _ = rustix::fs::fsync(&dfd);
    }
    for (name, _) in &made[renamed..] {
        if let Ok(t) = temp(name) {
            let _ = rustix::fs::unlinkat(&dfd, t.as_c_str(), rustix::fs::AtFlags::empty());
        }
    }
    // Only now are the temporary files closed.
    drop(made);
    result
}

/// Removes the temporary files write_atomically() names (`NAME.PID.tmp`,
/// NAME one of `files`) from `dir`, whoever made them.
fn remove_stale_temps(dir: &[u8], files: &[(&'static str, Vec<u8>)]) {
    let Ok((dfd, entries)) = read_dir(dir, &mut Out::new(crate::sys::out::Sink::Buffer)) else { return };
    for (name, _) in entries {
        let Some(rest) = name.strip_suffix(b".tmp") else { continue };
        let Some(dot) = rest.iter().rposition(|&c| c == b'.') else { continue };
        let pid = &rest[dot + 1..];
        if !pid.is_empty() && pid.iter().all(u8::is_ascii_digit) && files.iter().any(|f| f.0.as_bytes() == &rest[..dot])
        {
            if let Ok(c) = cpath(&name, &[]) {
                let _ = rustix::fs::unlinkat(&dfd, c.as_c_str(), rustix::fs::AtFlags::empty());
            }
        }
    }
}

/// kmod's shared/hash.c, as far as its order shows in depmod's output: a
/// power-of-two number of buckets chosen by Paul Hsieh's "superfast" hash,
/// each bucket sorted by key. Iterating goes bucket by bucket.
struct KHash<V> {
    buckets: Vec<Vec<(Vec<u8>, V)>>,
}

impl<V> KHash<V> {
    fn new(n: usize) -> KHash<V> {
        KHash { buckets: (0..n).map(|_| Vec::new()).collect() }
    }

    fn slot(&self, key: &[u8]) -> (usize, Result<usize, usize>) {
        let b = superfast(key) as usize & (self.buckets.len() - 1);
        (b, self.buckets[b].binary_search_by(|e| e.0[..].cmp(key)))
    }

    /// hash_add() (replacing) or hash_add_unique() (keeping the old value).
    fn add(&mut self, key: &[u8], value: V, unique: bool) {
        match self.slot(key) {
            (b, Ok(i)) if !unique => self.buckets[b][i].1 = value,
            (_, Ok(_)) => {}
            (b, Err(i)) => self.buckets[b].insert(i, (key.to_vec(), value)),
        }
    }

    fn find(&self, key: &[u8]) -> Option<&V> {
        match self.slot(key) {
            (b, Ok(i)) => Some(&self.buckets[b][i].1),
            _ => None,
        }
    }

    fn del(&mut self, key: &[u8]) {
        if let (b, Ok(i)) = self.slot(key) {
            self.buckets[b].remove(i);
        }
    }

    fn iter(&self) -> impl Iterator<Item = (&[u8], &V)> {
        self.buckets.iter().flatten().map(|(k, v)| (&k[..], v))
    }
}

/// hash_superfast() as kmod computes it on x86 (little-endian 16-bit reads,
/// `char` signed).
fn superfast(key: &[u8]) -> u32 {
    let mut h = key.len() as u32;
    let at = |i: usize| u32::from(u16::from_le_bytes([key[i], key[i + 1]]));
    let chunks = key.len() / 4;
    for c in 0..chunks {
        h = h.wrapping_add(at(4 * c));
        let tmp = (at(4 * c + 2) << 11) ^ h;
        h = (h << 16) ^ tmp;
        h = h.wrapping_add(h >> 11);
    }
    let i = 4 * chunks;
    match key.len() & 3 {
        3 => {
            h = h.wrapping_add(at(i));
            h ^= h << 16;
            h ^= ((key[i + 2] as i8 as i32) << 18) as u32;
            h = h.wrapping_add(h >> 11);
        }
        2 => {
            h = h.wrapping_add(at(i));
            h ^= h << 11;
            h = h.wrapping_add(h >> 17);
        }
        1 => {
            h = h.wrapping_add(key[i] as i8 as i32 as u32);
            h ^= h << 10;
            h = h.wrapping_add(h >> 1);
        }
        _ => {}
    }
    h ^= h << 3;
    h = h.wrapping_add(h >> 5);
    h ^= h << 4;
    h = h.wrapping_add(h >> 17);
    h ^= h << 25;
    h.wrapping_add(h >> 6)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scanf_and_aliases() {
        assert!(is_version_number(b"6.1.0-41-amd64"));
        assert!(is_version_number(b" 6. 1"));
        assert!(!is_version_number(b"x6.1"));
        assert!(!is_version_number(b"6"));
        assert_eq!(major_minor(b"char-major-10-237"), Some((b'c', 10, 237)));
        assert_eq!(major_minor(b"block-major-7-*"), None);
        assert_eq!(crate::module::name::alias_normalize(b"pci:v-[a-b]d*").as_deref(), Some(&b"pci:v_[a-b]d*"[..]));
        assert_eq!(crate::module::name::alias_normalize(b"a[b"), None);
        assert_eq!(crate::module::name::alias_normalize(b"a]b"), None);
    }
}
