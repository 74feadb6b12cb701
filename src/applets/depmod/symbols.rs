//! Symbols: what each module exports and needs, read from every module file
//! on all cores, and the kernel's own from Module.symvers or System.map.

use super::messages::{self as M, say, say_errno};
use super::text::fgets_lines;
use super::{Depmod, Info, Module, Sym};
use crate::cli::message::num_text;
use crate::module::decompress::decompress;
use crate::module::elf::Elf;
use crate::module::modfile::{compression, MAX_MODULE};
use crate::sys::file::{cpath, Mapped};
use crate::sys::out::Out;
use crate::sys::parallel::{parallel, Slots};
use rustix::io::Errno;

/// A needed symbol: its name at `names[start..end]`, its CRC, and whether
/// the need is weak.
#[derive(Clone, Copy)]
pub struct Needed {
    pub start: u32,
    pub end: u32,
    pub crc: u64,
    pub weak: bool,
}

/// A module's needed symbols, kept from reading until resolve().
pub struct Needs {
    pub names: Vec<u8>,
    pub needed: Vec<Needed>,
}

/// What a worker thread makes of one module file.
#[derive(Default)]
struct ModuleSymbols {
    /// Every symbol name, one after the other: the threads allocate a few
    /// blocks a module, not one a symbol, under the allocator's lock.
    names: Vec<u8>,
    /// (start, end in `names`, CRC).
    exports: Vec<(u32, u32, u64)>,
    needs: Vec<Needed>,
    info: Vec<Info>,
    /// Why the file could not be read as a module.
    error: Option<Errno>,
}

impl Depmod {
    /// depmod_symbol_add(): a later module's symbol replaces an earlier one.
    fn add_symbol(&mut self, name: &[u8], prefix_skipped: bool, crc: u64, owner: Option<usize>) {
        let name = match name.split_first() {
            Some((&c, rest)) if !prefix_skipped && c == self.prefix => rest,
            _ => name,
        };
        if !name.is_empty() {
            self.symbols.add(name, Sym { owner, crc }, false);
        }
    }

    pub(super) fn find_symbol(&self, name: &[u8]) -> Option<&Sym> {
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
    pub(super) fn load_symvers(&mut self, file: &[u8], text: &[u8], err: &mut Out) {
        for (n, line) in fgets_lines(text).into_iter().enumerate() {
            let mut f = line.split(|&c| c == b' ' || c == b'\t').filter(|w| !w.is_empty());
            let (Some(ver), Some(sym), Some(b"vmlinux")) = (f.next(), f.next(), f.next()) else { continue };
            let hex = ver.strip_prefix(b"0x").or_else(|| ver.strip_prefix(b"0X")).unwrap_or(ver);
            let crc = (!hex.is_empty() && hex.iter().all(|c| c.is_ascii_hexdigit())).then(|| {
                hex.iter().fold(0u64, |v, &c| v.wrapping_shl(4) | u64::from((c as char).to_digit(16).unwrap_or(0)))
            });
            match crc {
                Some(crc) => self.add_symbol(sym, false, crc, None),
                None => say(err, M::SYMVERS_LINE, &[file, &num_text(n as i64 + 1), ver]),
            }
        }
        self.add_fake_symbols();
    }

    /// System.map: `ADDRESS TYPE NAME` lines; the kernel's exports are the
    /// `__ksymtab_` names.
    #[inline(never)]
    pub(super) fn load_system_map(&mut self, file: &[u8], text: &[u8], err: &mut Out) {
        for (n, line) in fgets_lines(text).into_iter().enumerate() {
            let mut parts = line.splitn(3, |&c| c == b' ');
            let (Some(_), Some(_), Some(mut p)) = (parts.next(), parts.next(), parts.next()) else {
                say(err, M::SYSTEM_MAP_LINE, &[file, &num_text(n as i64 + 1), line]);
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
}

impl Depmod {
    /// Every module's symbols and .modinfo strings: the exports go into the
    /// symbol table in module order (a later module's export wins, as in
    /// kmod), the needs are kept for resolve().
    pub(super) fn read_modules(&mut self, err: &mut Out) {
        for (i, m) in read_all_modules(&self.modules).into_iter().enumerate() {
            if let Some(errno) = m.error {
                say_errno(err, M::LOAD_SYMBOLS, &[&self.modules[i].path], errno);
            }
            for &(a, b, crc) in &m.exports {
                self.add_symbol(&m.names[a as usize..b as usize], false, crc, Some(i));
            }
            self.modules[i].info = m.info;
            self.needs.push(Needs { names: m.names, needed: m.needs });
        }
    }
}

/// Reads every module on all cores: each worker takes the next module
/// from a shared counter, and the results come back in module order.
#[inline(never)]
fn read_all_modules(modules: &[Module]) -> Vec<ModuleSymbols> {
    let slots = Slots::new(modules.len());
    // SAFETY: parallel() runs each job once.
    parallel(modules.len(), &|i| unsafe { slots.put(i, read_module(&modules[i].path)) });
    slots.into_vec()
}

/// One module file, as libkmod would read it for depmod: its exports,
/// needed symbols and alias/softdep strings.
#[inline(never)]
fn read_module(path: &[u8]) -> ModuleSymbols {
    let fail = |errno| ModuleSymbols { error: Some(errno), ..ModuleSymbols::default() };
    let file = match cpath(b"", &[path]).and_then(|c| Mapped::open(&c, MAX_MODULE)) {
        Ok(f) => f,
        Err(e) => return fail(e),
    };
    let data = file.bytes();
    // kmod reads the longest compression magic (6 bytes) first.
    if data.len() < 6 {
        return fail(Errno::INVAL);
    }
    let unpacked;
    let image = match compression(data) {
        None => data,
        Some(format) => match decompress(format, data) {
            Ok(i) => {
                unpacked = i;
                &unpacked[..]
            }
            // libkmod's decoders answer EINVAL for any damage.
            Err(_) => return fail(Errno::INVAL),
        },
    };
    let elf = match Elf::new(image) {
        Ok(e) => e,
        Err(e) => return fail(e),
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
            let (start, end) = add(s.name);
            Needed { start, end, crc: s.crc, weak: s.weak }
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
                b"alias" => Some(Info::Alias(value)),
                b"softdep" => Some(Info::Softdep(value)),
                _ => None,
            }
        })
        .collect();
    ModuleSymbols { names, exports, needs, info, error: None }
}
