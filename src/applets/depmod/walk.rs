//! Finding the modules: the walk of the tree and of depmod.d's external
//! directories, and which of two modules with one name wins
//! (depmod_modules_search_*() and depmod_module_is_higher_priority()).

use super::messages::{self as M, say, say_errno};
use super::{Depmod, Module};
use crate::config::depmod_d::Search;
use crate::module::modfile::has_readable_module_ending;
use crate::module::name::normalize;
use crate::sys::file::cpath;
use crate::sys::out::Out;
use rustix::fd::OwnedFd;
use rustix::fs::{AtFlags, FileType, Mode, OFlags, RawDir};
use rustix::io::Errno;
use std::mem::MaybeUninit;

/// A directory entry as the walk sees it.
struct Entry {
    name: Vec<u8>,
    /// Directory or regular file; None for a type kmod skips.
    kind: Option<EntryKind>,
}

#[derive(Clone, Copy, PartialEq)]
enum EntryKind {
    File,
    Dir,
}

/// The entries of a directory in the order the file system gives them
/// (kmod walks in readdir order, which decides between equal duplicates).
/// Entries of other types than file and directory are reported, as kmod
/// does, and kept with no kind.
fn read_dir(path: &[u8], err: &mut Out) -> Result<(OwnedFd, Vec<Entry>), Errno> {
    let c = cpath(b"", &[path])?;
    let fd = rustix::fs::open(c.as_c_str(), OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())?;
    let mut out = Vec::new();
    // On the heap: the walk recurses once per directory level.
    let mut buf = vec![MaybeUninit::uninit(); 8192];
    let mut dir = RawDir::new(&fd, &mut buf);
    while let Some(entry) = dir.next() {
        let entry = entry?;
        let name = entry.file_name().to_bytes().to_vec();
        let kind = match entry.file_type() {
            FileType::RegularFile => Some(EntryKind::File),
            FileType::Directory => Some(EntryKind::Dir),
            _ => match rustix::fs::statat(&fd, entry.file_name(), AtFlags::empty()) {
                Ok(st) => match FileType::from_raw_mode(st.st_mode) {
                    FileType::RegularFile => Some(EntryKind::File),
                    FileType::Directory => Some(EntryKind::Dir),
                    other => {
                        let path = [path, b"/", &name].concat();
                        say(err, M::FILE_TYPE, &[&path, &octal(other.as_raw_mode())]);
                        None
                    }
                },
                Err(errno) => {
                    say_errno(err, M::STAT, &[&[path, b"/", &name].concat()], errno);
                    None
                }
            },
        };
        out.push(Entry { name, kind });
    }
    Ok((fd, out))
}

/// `%o`, as kmod prints a file type.
fn octal(mut m: u32) -> Vec<u8> {
    let mut oct = Vec::new();
    while m > 0 {
        oct.insert(0, b'0' + (m & 7) as u8);
        m >>= 3;
    }
    oct
}

impl Depmod {
    /// depmod_modules_search_path(): every module file below `top`, in
    /// readdir order, of two with one name the one depmod.d prefers.
    #[inline(never)]
    pub(super) fn search(&mut self, top: &[u8], err: &mut Out) -> Result<(), Errno> {
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
                say_errno(err, M::OPEN_DIR, &[path], errno);
                return Ok(());
            }
        };
        // A symbolic link to a directory above would make the walk endless
        // (kmod goes round until it runs out of file descriptors).
        let id = rustix::fs::fstat(&fd).map(|st| (st.st_dev, st.st_ino)).unwrap_or_default();
        drop(fd);
        if ancestors.contains(&id) {
            say(err, M::LOOP, &[path]);
            return Ok(());
        }
        ancestors.push(id);
        let len = path.len();
        for Entry { name, kind } in entries {
            let excluded =
                matches!(&name[..], b"." | b".." | b"build" | b"source") || self.conf.excludes.contains(&name);
            let Some(kind) = kind.filter(|_| !excluded) else { continue };
            path.push(b'/');
            path.extend_from_slice(&name);
            if kind == EntryKind::Dir {
                self.search_dir(path, ancestors, err, false)?;
            } else if has_readable_module_ending(&name) {
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
    pub(super) fn add(&mut self, path: Vec<u8>, base: usize) -> bool {
        let name = normalize(&path[base..]);
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
}

/// -A: whether modules.dep is at least as new as every module file
/// (depfile_up_to_date()). A missing modules.dep is reported, as kmod does,
/// and means "not up to date".
#[inline(never)]
pub(super) fn up_to_date(dir: &[u8], err: &mut Out) -> bool {
    let st = cpath(dir, &[b"/modules.dep"]).and_then(|c| rustix::fs::stat(c.as_c_str()));
    let mtime = match st {
        Ok(st) => st.st_mtime,
        Err(errno) => {
            say_errno(err, M::UP_TO_DATE, &[dir], errno);
            return false;
        }
    };
    fn newer(path: &mut Vec<u8>, mtime: i64, depth: usize, err: &mut Out) -> bool {
        let Ok((_, entries)) = read_dir(path, err) else { return false };
        let len = path.len();
        for Entry { name, kind } in entries {
            if matches!(&name[..], b"." | b".." | b"build" | b"source") || depth > 64 {
                continue;
            }
            path.push(b'/');
            path.extend_from_slice(&name);
            let found = match kind {
                Some(EntryKind::Dir) => newer(path, mtime, depth + 1, err),
                Some(EntryKind::File) if has_readable_module_ending(&name) => {
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
