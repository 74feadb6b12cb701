//! The index files: kmod's depfiles[] table, as writers that each go
//! through the modules once and give one or more files, run side by side.

use super::messages::{self as M, say, say_errno};
use super::text::{fgets_lines, read_tree_file};
use super::{Depmod, Info, Sym};
use crate::moddir::index::Writer;
use crate::module::name::{alias_normalize, normalize};
use crate::sys::atomic_write::OutputFile;
use crate::sys::number::scan_u;
use crate::sys::out::{Out, Sink};
use crate::sys::parallel::{parallel, Slots};
use std::sync::atomic::Ordering;

/// How the files are made.
pub struct Writing {
    /// -n: the text files only, to standard output; no .bin file is built.
    pub dry_run: bool,
    /// -w: warn about index entries that are already there.
    pub warn_duplicates: bool,
}

/// A writer: the files of one pass over the modules, in kmod's order.
type FileWriter = fn(&Depmod, &Writing, &mut Out) -> Vec<OutputFile>;

/// kmod's depfiles[] order, grouped by pass.
const WRITERS: [FileWriter; 5] =
    [Depmod::dep_files, Depmod::alias_files, Depmod::symbol_files, Depmod::builtin_files, Depmod::devname_file];

impl Depmod {
    /// Every index file's contents, in the order kmod writes them (the
    /// binary ones empty with -n, where they are not written). The writers
    /// run on all cores; their messages come out in kmod's order.
    #[inline(never)]
    pub(super) fn outputs(&self, how: &Writing, err: &mut Out) -> Vec<OutputFile> {
        let slots: Slots<(Vec<OutputFile>, Vec<u8>)> = Slots::new(WRITERS.len());
        parallel(WRITERS.len(), &|job| {
            let mut e = Out::new(Sink::Buffer);
            let files = WRITERS[job](self, how, &mut e);
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

    /// modules.dep and its index (kmod's output_deps(), output_deps_bin()).
    fn dep_files(&self, how: &Writing, err: &mut Out) -> Vec<OutputFile> {
        let mut files = Vec::new();
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
            if !how.dry_run && dep_bin.insert(&m.name, &line, i as u32) && how.warn_duplicates {
                say(err, M::DUP_DEPS, &[&line]);
            }
        }
        files.push(OutputFile { name: "modules.dep", text: dep });
        files
            .push(OutputFile { name: "modules.dep.bin", text: if how.dry_run { Vec::new() } else { dep_bin.write() } });
        files
    }

    /// modules.alias, its index and modules.softdep (output_aliases(), output_aliases_bin(), output_softdeps()).
    fn alias_files(&self, how: &Writing, err: &mut Out) -> Vec<OutputFile> {
        let mut files = Vec::new();
        let mut alias = b"# Aliases extracted from modules themselves.\n".to_vec();
        let mut softdep = b"# Soft dependencies extracted from modules themselves.\n".to_vec();
        let mut alias_bin = Writer::default();
        for (i, m) in self.modules.iter().enumerate() {
            for info in &m.info {
                let v = match info {
                    Info::Alias(v) => v,
                    Info::Softdep(v) => {
                        for part in [&b"softdep "[..], &m.name, b" ", v, b"\n"] {
                            softdep.extend_from_slice(part);
                        }
                        continue;
                    }
                };
                for part in [&b"alias "[..], v, b" ", &m.name, b"\n"] {
                    alias.extend_from_slice(part);
                }
                if how.dry_run {
                    continue;
                }
                match alias_normalize(v) {
                    Some(key) => {
                        if alias_bin.insert(&key, &m.name, i as u32) && how.warn_duplicates {
                            say(err, M::DUP_ALIAS, &[&key, &m.name]);
                        }
                    }
                    None => say(err, M::BRACKET, &[v]),
                }
            }
        }
        files.push(OutputFile { name: "modules.alias", text: alias });
        files.push(OutputFile {
            name: "modules.alias.bin",
            text: if how.dry_run { Vec::new() } else { alias_bin.write() },
        });
        files.push(OutputFile { name: "modules.softdep", text: softdep });
        files
    }

    /// modules.symbols and its index (output_symbols(), output_symbols_bin()).
    fn symbol_files(&self, how: &Writing, err: &mut Out) -> Vec<OutputFile> {
        let mut files = Vec::new();
        let mut symbols = b"# Aliases for symbols, used by symbol_request().\n".to_vec();
        let mut symbols_bin = Writer::default();
        for (name, &Sym { owner, .. }) in self.symbols.iter() {
            let Some(o) = owner else { continue };
            let owner = &self.modules[o].name;
            for part in [&b"alias symbol:"[..], name, b" ", owner, b"\n"] {
                symbols.extend_from_slice(part);
            }
            let mut key = b"symbol:".to_vec();
            key.extend_from_slice(name);
            if !how.dry_run && symbols_bin.insert(&key, owner, o as u32) && how.warn_duplicates {
                say(err, M::DUP_SYMS, &[&key, owner]);
            }
        }
        files.push(OutputFile { name: "modules.symbols", text: symbols });
        files.push(OutputFile {
            name: "modules.symbols.bin",
            text: if how.dry_run { Vec::new() } else { symbols_bin.write() },
        });
        files
    }

    /// The indexes of built-in modules and their aliases (output_builtin_bin(), output_builtin_alias_bin()).
    fn builtin_files(&self, how: &Writing, err: &mut Out) -> Vec<OutputFile> {
        let mut files = Vec::new();
        let read = |name: &[u8], must_read, err: &mut Out| {
            if how.dry_run {
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
                    say(err, M::BUILTIN_LINE, &[line]);
                    continue;
                }
                let base = line.rsplit(|&c| c == b'/').next().unwrap_or(line);
                if !base.is_empty() {
                    let name = normalize(base);
                    w.insert(&name, b"", 0);
                }
            }
            builtin = w.write();
        }
        files.push(OutputFile { name: "modules.builtin.bin", text: builtin });

        let mut builtin_alias = Vec::new();
        let modinfo = read(b"modules.builtin.modinfo", true, err).unwrap_or_else(|errno| {
            say_errno(err, M::READ_TREE_FILE, &[&self.dir], errno);
            self.unreadable.store(true, Ordering::Relaxed);
            None
        });
        if let Some(text) = modinfo {
            let mut w = Writer::default();
            for (module, alias) in builtin_aliases(&text, err) {
                match alias_normalize(&alias) {
                    Some(key) => {
                        w.insert(&key, &module, 0);
                    }
                    None => say(err, M::BRACKET, &[&alias]),
                }
            }
            builtin_alias = w.write();
        }
        files.push(OutputFile { name: "modules.builtin.alias.bin", text: builtin_alias });
        files
    }

    /// modules.devname (output_devname()).
    fn devname_file(&self, _how: &Writing, err: &mut Out) -> Vec<OutputFile> {
        let mut files = Vec::new();
        let mut devname = Vec::new();
        for m in &self.modules {
            let (mut dev, mut kind, mut major, mut minor) = (None, 0u8, 0, 0);
            for info in &m.info {
                let Info::Alias(v) = info else { continue };
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
                say(err, M::DEVNAME, &[&m.name, dev]);
                continue;
            }
            if devname.is_empty() {
                devname.extend_from_slice(b"# Device nodes to trigger on-demand module loading.\n");
            }
            let mut o = Out::new(Sink::Buffer);
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
        files.push(OutputFile { name: "modules.devname", text: devname });
        files
    }
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
                say(err, M::FLUSH, &[&v]);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_numbers_and_aliases() {
        assert_eq!(major_minor(b"char-major-10-237"), Some((b'c', 10, 237)));
        assert_eq!(major_minor(b"block-major-7-*"), None);
        assert_eq!(alias_normalize(b"pci:v-[a-b]d*").as_deref(), Some(&b"pci:v_[a-b]d*"[..]));
        assert_eq!(alias_normalize(b"a[b"), None);
        assert_eq!(alias_normalize(b"a]b"), None);
    }
}
