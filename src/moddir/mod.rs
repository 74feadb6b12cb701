//! The module directory, /lib/modules/RELEASE (or BASEDIR/lib/modules/KVER),
//! and the lookups libkmod makes in it: which file holds a module and what
//! it depends on (modules.dep), which modules an alias or a symbol names
//! (modules.alias, modules.symbols), which modules are built into the
//! kernel (modules.builtin, modules.builtin.alias) and what those would say
//! in .modinfo (modules.builtin.modinfo).
//!
//! Like libkmod, lookups use depmod's binary indexes (memory-mapped, read
//! once per run); unlike libkmod, a missing .bin file falls back to the text
//! file depmod writes beside it, so a tree indexed by an old or minimal
//! depmod (or by hand) still works.

pub mod glob;
pub mod index;
pub mod khash;

use crate::cli::message::{Error, Msg};
use crate::kernel::Kernel;
use crate::moddir::index::Index;
use crate::module::name;
use crate::sys::file::{cpath, open_ro, read_all, Mapped};
use std::cell::OnceCell;

/// Text index files are read whole; none of Debian's is near this.
/// modbox's words: libkmod fails quietly on a damaged index.
pub const CORRUPT_INDEX: &Msg =
    &Msg::error("%s is not a valid index file (corrupt, or from another kmod version); run depmod");

const MAX_INDEX: usize = 64 << 20;

pub struct ModDir {
    /// The directory, without a trailing slash.
    pub path: Vec<u8>,
    /// TEXT files, each read once on first use.
    text: [OnceCell<Option<Vec<u8>>>; 5],
    /// BIN files, each mapped once on first use.
    bins: [OnceCell<Option<Mapped>>; 5],
    /// modules.dep's and modules.builtin's lines by module name, made on
    /// first use (see line()).
    #[cfg(feature = "applet-modprobe")]
    lines: [OnceCell<Lines>; 2],
}

/// A text index's lines, as (module name, start, end), sorted: by name,
/// and of several lines for one name, the first in the file comes first.
#[cfg(feature = "applet-modprobe")]
struct Lines(Vec<(Vec<u8>, usize, usize)>);

#[cfg(feature = "applet-modprobe")]
impl Lines {
    /// The lines of `text` that `name_of` gives a name.
    fn new(text: &[u8], name_of: fn(&[u8]) -> Option<Vec<u8>>) -> Lines {
        let mut lines = Vec::new();
        let mut at = 0;
        for l in text.split(|&c| c == b'\n') {
            if let Some(n) = name_of(l) {
                lines.push((n, at, at + l.len()));
            }
            at += l.len() + 1;
        }
        heapsort(&mut lines);
        Lines(lines)
    }

    /// Where the first line of module `name` is.
    fn find(&self, name: &[u8]) -> Option<(usize, usize)> {
        let first = self.0.partition_point(|l| &l.0[..] < name);
        self.0.get(first).filter(|l| l.0 == name).map(|l| (l.1, l.2))
    }
}

/// A modules.dep line's module name.
fn dep_name(line: &[u8]) -> Option<Vec<u8>> {
    Some(name::from_path(&line[..line.iter().position(|&c| c == b':')?]))
}

/// Sorts in place in O(n log n). std's sorts bring about 4 KB of code to
/// a build where nothing else sorts; this is a few hundred bytes. Lines
/// are unique (their start differs), so stability is not needed for the
/// first line of a name to come first.
#[cfg(feature = "applet-modprobe")]
fn heapsort<T: Ord>(v: &mut [T]) {
    let n = v.len();
    for i in (0..n / 2).rev() {
        sift_down(v, i, n);
    }
    for end in (1..n).rev() {
        v.swap(0, end);
        sift_down(v, 0, end);
    }
}

/// Moves v[i] down the max-heap v[..n] to where it belongs.
#[cfg(feature = "applet-modprobe")]
fn sift_down<T: Ord>(v: &mut [T], mut i: usize, n: usize) {
    loop {
        let mut c = 2 * i + 1;
        if c >= n {
            return;
        }
        if c + 1 < n && v[c + 1] > v[c] {
            c += 1;
        }
        if v[i] >= v[c] {
            return;
        }
        v.swap(i, c);
        i = c;
    }
}

const TEXT: [&[u8]; 5] =
    [b"modules.dep", b"modules.builtin", b"modules.builtin.modinfo", b"modules.alias", b"modules.symbols"];
const DEP: usize = 0;
const BUILTIN: usize = 1;
const BUILTIN_MODINFO: usize = 2;

const BINS: [&[u8]; 5] = [
    b"modules.dep.bin",
    b"modules.alias.bin",
    b"modules.symbols.bin",
    b"modules.builtin.bin",
    b"modules.builtin.alias.bin",
];
const DEP_BIN: usize = 0;
const BUILTIN_BIN: usize = 3;

/// The alias indexes, as libkmod's lookups name them.
#[derive(Clone, Copy)]
pub enum Aliases {
    /// modules.alias: `pci:v...`, `fs-ext4`, `crypto-crc32c`...
    Alias = 1,
    /// modules.symbols: `symbol:NAME`.
    Symbols = 2,
    /// modules.builtin.alias: aliases of modules built into the kernel.
    Builtin = 4,
}

/// A modules.dep entry: the module's file and the files it needs, as full
/// paths, in the file's order (the last one is loaded first).
pub struct Dep {
    pub path: Vec<u8>,
    pub deps: Vec<Vec<u8>>,
}

impl ModDir {
    /// /lib/modules/RELEASE of the running kernel, below the kernel's root.
    pub fn running<K: Kernel>(k: &K) -> ModDir {
        Self::at(k.root(), &k.release())
    }

    /// BASEDIR/lib/modules/KVER, as kmod builds it for -b/-d and -k/-S.
    pub fn at(base: &[u8], release: &[u8]) -> ModDir {
        let mut path = base.to_vec();
        path.extend_from_slice(b"/lib/modules/");
        path.extend_from_slice(release);
        ModDir {
            path,
            text: Default::default(),
            bins: Default::default(),
            #[cfg(feature = "applet-modprobe")]
            lines: Default::default(),
        }
    }

    fn file(&self, name: &[u8]) -> Vec<u8> {
        [&self.path[..], b"/", name].concat()
    }

    fn text(&self, i: usize) -> Option<&[u8]> {
        let read = || read_all(open_ro(&cpath(b"", &[&self.file(TEXT[i])]).ok()?).ok()?, MAX_INDEX).ok();
        self.text[i].get_or_init(read).as_deref()
    }

    /// The first line of text index `i` (DEP or BUILTIN) that `name_of`
    /// says is module `name`'s. modprobe looks up every module on its list,
    /// and a hostile list is long: it sorts the lines once. The other
    /// applets look up a name or two; a scan costs them no code.
    fn line(&self, i: usize, name_of: fn(&[u8]) -> Option<Vec<u8>>, name: &[u8]) -> Option<&[u8]> {
        let text = self.text(i)?;
        #[cfg(feature = "applet-modprobe")]
        {
            let (from, to) = self.lines[i].get_or_init(|| Lines::new(text, name_of)).find(name)?;
            Some(&text[from..to])
        }
        #[cfg(not(feature = "applet-modprobe"))]
        text.split(|&c| c == b'\n').find(|l| name_of(l).is_some_and(|n| n == name))
    }

    /// The binary index `i`: `Ok(None)` when the file is missing.
    fn bin(&self, i: usize) -> Result<Option<Index<'_>>, Error> {
        match self.bins[i].get_or_init(|| Mapped::open(&cpath(b"", &[&self.file(BINS[i])]).ok()?, usize::MAX).ok()) {
            None => Ok(None),
            Some(m) => Index::new(m.bytes()).map(Some).map_err(|_| self.corrupt(i)),
        }
    }

    fn corrupt(&self, i: usize) -> Error {
        Error::new(CORRUPT_INDEX, &[&self.file(BINS[i])])
    }

    /// A path from modules.dep made absolute: relative ones are below this
    /// directory (kmod's path_join()).
    fn full(&self, p: &[u8]) -> Vec<u8> {
        if p.starts_with(b"/") {
            p.to_vec()
        } else {
            self.file(p)
        }
    }

    /// The modules.dep entry of module `name` (normalised).
    pub fn dep(&self, name: &[u8]) -> Result<Option<Dep>, Error> {
        // Module names have no ':' (kmod_lookup_alias_from_moddep_file()).
        if name.contains(&b':') {
            return Ok(None);
        }
        let line = match self.bin(DEP_BIN)? {
            Some(idx) => match idx.get(name).map_err(|_| self.corrupt(DEP_BIN))? {
                Some(v) => v,
                None => return Ok(None),
            },
            None => match self.line(DEP, dep_name, name) {
                Some(l) => l,
                None => return Ok(None),
            },
        };
        let colon = line.iter().position(|&c| c == b':').unwrap_or(line.len());
        let deps = line
            .get(colon + 1..)
            .unwrap_or_default()
            .split(|&c| c == b' ' || c == b'\t')
            .filter(|d| !d.is_empty())
            .map(|d| self.full(d))
            .collect();
        Ok(Some(Dep { path: self.full(&line[..colon]), deps }))
    }

    /// The file of module `name` (normalised), from modules.dep.
    pub fn module_path(&self, name: &[u8]) -> Option<Vec<u8>> {
        self.dep(name).ok().flatten().map(|d| d.path)
    }

    /// The modules an alias index gives for `key` (normalised with
    /// name::underscores()), in libkmod's order; the text files' patterns
    /// are matched one by one when the index is missing.
    pub fn aliases(&self, which: Aliases, key: &[u8]) -> Result<Vec<Vec<u8>>, Error> {
        let i = which as usize;
        if let Some(idx) = self.bin(i)? {
            let found = idx.search_wild(key).map_err(|_| self.corrupt(i))?;
            return Ok(found.into_iter().map(|(_, v)| v.to_vec()).collect());
        }
        let mut out = Vec::new();
        let mut add = |pattern: &[u8], module: &[u8]| {
            // As depmod would index it (alias_normalize()).
            if name::alias_normalize(pattern).is_some_and(|p| glob::matches(&p, key)) {
                out.push(module.to_vec());
            }
        };
        match which {
            Aliases::Builtin => {
                // depmod makes modules.builtin.alias.bin from these entries
                // (`name.alias=pattern`) and writes no text file for it.
                for s in self.text(BUILTIN_MODINFO).unwrap_or_default().split(|&c| c == 0) {
                    if let Some(dot) = s.iter().position(|&c| c == b'.') {
                        if let Some(pattern) = s[dot + 1..].strip_prefix(b"alias=") {
                            add(pattern, &s[..dot]);
                        }
                    }
                }
            }
            _ => {
                let file = if matches!(which, Aliases::Alias) { 3 } else { 4 };
                for line in self.text(file).unwrap_or_default().split(|&c| c == b'\n') {
                    let mut w = line.split(|&c| c == b' ').filter(|w| !w.is_empty());
                    if let (Some(b"alias"), Some(pattern), Some(module)) = (w.next(), w.next(), w.next()) {
                        add(pattern, module);
                    }
                }
            }
        }
        Ok(out)
    }

    /// Whether modules.builtin(.bin) lists the module.
    pub fn is_builtin(&self, name: &[u8]) -> bool {
        match self.bin(BUILTIN_BIN) {
            Ok(Some(idx)) => idx.get(name).ok().flatten().is_some(),
            Ok(None) => self.line(BUILTIN, |l| (!l.is_empty()).then(|| name::from_path(l)), name).is_some(),
            Err(_) => false,
        }
    }

    /// An alias index dumped as `modprobe -c` shows it: `alias KEY VALUE`
    /// for every value, in key order.
    pub fn dump(&self, which: Aliases, out: &mut crate::sys::out::Out) -> Result<(), Error> {
        let i = which as usize;
        if let Some(idx) = self.bin(i)? {
            for (key, values) in idx.dump().map_err(|_| self.corrupt(i))? {
                for (_, v) in values {
                    out.str("alias ").bytes(&key).byte(b' ').bytes(v).byte(b'\n');
                }
            }
        }
        Ok(())
    }

    /// The `key=value` strings modules.builtin.modinfo holds for a built-in
    /// module (entries `name.key=value`, NUL-terminated), in file order.
    pub fn builtin_modinfo(&self, name: &[u8]) -> Option<Vec<Vec<u8>>> {
        let all = self.text(BUILTIN_MODINFO)?;
        let found: Vec<Vec<u8>> = all
            .split(|&c| c == 0)
            .filter_map(|s| {
                let dot = s.iter().position(|&c| c == b'.')?;
                (&s[..dot] == name).then(|| s[dot + 1..].to_vec())
            })
            .collect();
        (!found.is_empty()).then_some(found)
    }
}
