//! The module directory, /lib/modules/RELEASE (or BASEDIR/lib/modules/KVER):
//! which file holds a module (modules.dep), which modules are built into the
//! kernel (modules.builtin) and what they would say in .modinfo
//! (modules.builtin.modinfo).

use crate::file::{cpath, open_ro, read_all};
use crate::kernel::Kernel;
use crate::name;
use std::cell::OnceCell;

/// Index files are read whole; none of Debian's is near this.
const MAX_INDEX: usize = 64 << 20;

pub struct ModDir {
    /// The directory, without a trailing slash.
    pub path: Vec<u8>,
    /// FILES, each read once on first use: modinfo of many names looks in
    /// the same modules.dep for each.
    files: [OnceCell<Option<Vec<u8>>>; 3],
}

const FILES: [&[u8]; 3] = [b"modules.dep", b"modules.builtin", b"modules.builtin.modinfo"];
const DEP: usize = 0;
const BUILTIN: usize = 1;
const BUILTIN_MODINFO: usize = 2;

impl ModDir {
    /// /lib/modules/RELEASE of the running kernel, below the kernel's root.
    pub fn running<K: Kernel>(k: &K) -> ModDir {
        Self::at(k.root(), &k.release())
    }

    /// BASEDIR/lib/modules/KVER, as kmod builds it for -b and -k.
    pub fn at(base: &[u8], release: &[u8]) -> ModDir {
        let mut path = base.to_vec();
        path.extend_from_slice(b"/lib/modules/");
        path.extend_from_slice(release);
        ModDir { path, files: Default::default() }
    }

    fn read(&self, i: usize) -> Option<&[u8]> {
        let read = || {
            let p = cpath(&self.path, &[b"/", FILES[i]]).ok()?;
            read_all(open_ro(&p).ok()?, MAX_INDEX).ok()
        };
        self.files[i].get_or_init(read).as_deref()
    }

    /// The file of module `name` (normalised) from modules.dep: its first
    /// field, relative to this directory unless absolute.
    pub fn module_path(&self, name: &[u8]) -> Option<Vec<u8>> {
        let dep = self.read(DEP)?;
        let file = dep.split(|&c| c == b'\n').find_map(|line| {
            let file = &line[..line.iter().position(|&c| c == b':')?];
            (name::from_path(file) == name).then_some(file)
        })?;
        if file.starts_with(b"/") {
            return Some(file.to_vec());
        }
        let mut p = self.path.clone();
        p.push(b'/');
        p.extend_from_slice(file);
        Some(p)
    }

    /// Whether modules.builtin lists the module (a line `kernel/path/name.ko`).
    pub fn is_builtin(&self, name: &[u8]) -> bool {
        self.read(BUILTIN).is_some_and(|t| t.split(|&c| c == b'\n').any(|l| !l.is_empty() && name::from_path(l) == name))
    }

    /// The `key=value` strings modules.builtin.modinfo holds for a built-in
    /// module (entries `name.key=value`, NUL-terminated), in file order.
    pub fn builtin_modinfo(&self, name: &[u8]) -> Option<Vec<Vec<u8>>> {
        let all = self.read(BUILTIN_MODINFO)?;
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
