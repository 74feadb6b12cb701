//! What depmod needs from a module's ELF file, read the way libkmod's
//! libkmod-elf.c reads it (so that the same files count as broken, and the
//! same symbols are found): the section table, `.modinfo` strings, the
//! symbols a module exports and the symbols it needs. 32- and 64-bit files
//! of either byte order; every read is bounds-checked, a string without its
//! NUL ends at the end of the file.

use rustix::io::Errno;

/// A section's (file offset, size).
type Extent = (u64, u64);

pub struct Elf<'a> {
    data: &'a [u8],
    is64: bool,
    msb: bool,
    shoff: u64,
    shnum: u16,
    machine: u16,
    /// The section-name string table: offset and size.
    names: (u64, u64),
}

/// A symbol and its CRC (0 when the module has none), and whether the
/// module's reference to it is weak (needed symbols only).
pub struct Symbol<'a> {
    pub name: &'a [u8],
    pub crc: u64,
    pub weak: bool,
}

const SHN_UNDEF: u16 = 0;
const SHN_ABS: u16 = 0xfff1;
const STB_WEAK: u8 = 2;

impl<'a> Elf<'a> {
    /// kmod_elf_new(): ENOEXEC for something that is not ELF at all,
    /// EINVAL for an ELF file whose headers do not hold together.
    pub fn new(data: &'a [u8]) -> Result<Elf<'a>, Errno> {
        if data.len() <= 16 || !data.starts_with(b"\x7fELF") {
            return Err(Errno::NOEXEC);
        }
        let is64 = match data[4] {
            1 if data.len() > 52 => false,
            2 if data.len() > 64 => true,
            _ => return Err(Errno::INVAL),
        };
        let msb = match data[5] {
            1 => false,
            2 => true,
            _ => return Err(Errno::INVAL),
        };
        let mut elf = Elf { data, is64, msb, shoff: 0, shnum: 0, machine: 0, names: (0, 0) };
        elf.machine = elf.uint(18, 2) as u16;
        let (shoff, entsize, num, strndx) = if is64 {
            (elf.uint(40, 8), elf.uint(58, 2), elf.uint(60, 2), elf.uint(62, 2))
        } else {
            (elf.uint(32, 4), elf.uint(46, 2), elf.uint(48, 2), elf.uint(50, 2))
        };
        elf.shoff = shoff;
        elf.shnum = num as u16;
        if entsize != elf.shentsize() || shoff.checked_add(entsize * num).is_none_or(|end| end > data.len() as u64) {
            return Err(Errno::INVAL);
        }
        let (off, size, _) = elf.section_info(strndx as u16).ok_or(Errno::INVAL)?;
        if size == 0 || data[(off + size - 1) as usize] != 0 {
            return Err(Errno::INVAL);
        }
        elf.names = (off, size);
        Ok(elf)
    }

    fn shentsize(&self) -> u64 {
        if self.is64 {
            64
        } else {
            40
        }
    }

    /// elf_get_uint(): an integer of `size` bytes in the file's byte order,
    /// all ones when it lies outside the file.
    fn uint(&self, at: u64, size: usize) -> u64 {
        let Some(b) = usize::try_from(at).ok().and_then(|at| self.data.get(at..at.checked_add(size)?)) else {
            return u64::MAX;
        };
        // Fixed-size loads: this is depmod's innermost code, run for every
        // symbol of every module.
        let (msb, v) = (self.msb, b);
        match size {
            1 => u64::from(v[0]),
            2 => {
                let a = [v[0], v[1]];
                u64::from(if msb { u16::from_be_bytes(a) } else { u16::from_le_bytes(a) })
            }
            4 => {
                let a = [v[0], v[1], v[2], v[3]];
                u64::from(if msb { u32::from_be_bytes(a) } else { u32::from_le_bytes(a) })
            }
            _ => {
                let a = [v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]];
                if msb {
                    u64::from_be_bytes(a)
                } else {
                    u64::from_le_bytes(a)
                }
            }
        }
    }

    /// The NUL-terminated string at `at` (ending at the end of the file
    /// when it has no NUL).
    fn cstr(&self, at: u64) -> &'a [u8] {
        let rest = usize::try_from(at).ok().and_then(|at| self.data.get(at..)).unwrap_or_default();
        &rest[..rest.iter().position(|&c| c == 0).unwrap_or(rest.len())]
    }

    /// elf_get_section_info(): offset, size and name offset of section
    /// `idx`, when it exists and lies inside the file.
    fn section_info(&self, idx: u16) -> Option<(u64, u64, u64)> {
        if idx == SHN_UNDEF || idx >= self.shnum {
            return None;
        }
        let h = self.shoff + u64::from(idx) * self.shentsize();
        let (off, size) = if self.is64 {
            (self.uint(h + 24, 8), self.uint(h + 32, 8))
        } else {
            (self.uint(h + 16, 4), self.uint(h + 20, 4))
        };
        let end = off.checked_add(size)?;
        (end <= self.data.len() as u64).then_some((off, size, self.uint(h, 4)))
    }

    /// kmod_elf_get_section(): the first section of that name, as file
    /// offset and size (the bytes are `self.data[off..off + size]`).
    fn find(&self, name: &[u8]) -> Option<(u64, u64)> {
        (1..self.shnum).find_map(|i| {
            let (off, size, nameoff) = self.section_info(i)?;
            (nameoff < self.names.1 && self.cstr(self.names.0 + nameoff) == name).then_some((off, size))
        })
    }

    fn bytes(&self, (off, size): (u64, u64)) -> &'a [u8] {
        &self.data[off as usize..(off + size) as usize]
    }

    /// kmod_elf_get_strings(): the strings of a section such as `.modinfo`,
    /// separated by runs of NULs.
    pub fn strings(&self, section: &[u8]) -> Vec<&'a [u8]> {
        let Some(s) = self.find(section).map(|s| self.bytes(s)) else { return Vec::new() };
        // As kmod: after the leading NULs, a single byte is no string.
        let start = s.iter().position(|&c| c != 0).unwrap_or(s.len()).min(s.len().saturating_sub(1));
        if s.len() - start <= 1 {
            return Vec::new();
        }
        s[start..].split(|&c| c == 0).filter(|x| !x.is_empty()).collect()
    }

    /// `.symtab` and `.strtab`, as (offset, size, entry size) and the string
    /// table, when both exist and the symbol table is whole entries.
    fn symtab(&self) -> Option<(Extent, Extent, u64)> {
        let strtab = self.find(b".strtab")?;
        let symtab = self.find(b".symtab")?;
        let entsize = if self.is64 { 24 } else { 16 };
        (symtab.1 % entsize == 0).then_some((symtab, strtab, entsize))
    }

    /// Fields of the symbol whose entry is at `at`, read only when needed
    /// (Elf64_Sym and Elf32_Sym order them differently).
    fn sym_name(&self, at: u64) -> u64 {
        self.uint(at, 4)
    }

    fn sym_value(&self, at: u64) -> u64 {
        if self.is64 {
            self.uint(at + 8, 8)
        } else {
            self.uint(at + 4, 4)
        }
    }

    fn sym_info(&self, at: u64) -> u8 {
        self.uint(at + if self.is64 { 4 } else { 12 }, 1) as u8
    }

    fn sym_shndx(&self, at: u64) -> u16 {
        self.uint(at + if self.is64 { 6 } else { 14 }, 2) as u16
    }

    /// kmod_elf_get_symbols(): what the module exports. With modversions
    /// these are its `__crc_` symbols (the CRC is the symbol's value, or the
    /// word it points to); otherwise, or when the symbol table is odd, the
    /// names in `__ksymtab_strings`, CRC 0.
    pub fn exports(&self) -> Vec<Symbol<'a>> {
        let mut out = Vec::new();
        if let Some(((symoff, symsize), (stroff, strsize), entsize)) = self.symtab() {
            for at in (symoff + entsize..symoff + symsize).step_by(entsize as usize) {
                let nameoff = self.sym_name(at);
                if nameoff >= strsize {
                    out.clear();
                    break;
                }
                // Most symbols are not `__crc_` ones: look at the prefix
                // before measuring the name.
                let name_at = (stroff + nameoff) as usize;
                if !self.data.get(name_at..).is_some_and(|d| d.starts_with(b"__crc_")) {
                    continue;
                }
                let name = &self.cstr(stroff + nameoff)[6..];
                out.push(Symbol { name, crc: self.resolve_crc(self.sym_value(at), self.sym_shndx(at)), weak: false });
            }
        }
        if !out.is_empty() {
            return out;
        }
        let Some(s) = self.find(b"__ksymtab_strings").map(|s| self.bytes(s)) else { return out };
        let start = s.iter().position(|&c| c != 0).unwrap_or(s.len()).min(s.len().saturating_sub(1));
        if s.len() - start <= 1 {
            return out;
        }
        s[start..]
            .split(|&c| c == 0)
            .filter(|x| !x.is_empty())
            .map(|name| Symbol { name, crc: 0, weak: false })
            .collect()
    }

    /// kmod_elf_resolve_crc(): since Linux 4.19 a `__crc_` symbol in a
    /// section holds the offset of the CRC word there, not the CRC.
    fn resolve_crc(&self, value: u64, shndx: u16) -> u64 {
        if shndx == SHN_ABS || shndx == SHN_UNDEF {
            return value;
        }
        match self.section_info(shndx) {
            Some((off, size, _)) if value <= size.wrapping_sub(4) => self.uint(off.wrapping_add(value), 4),
            _ => u64::MAX,
        }
    }

    /// The `__versions` table (struct modversion_info: a CRC as wide as
    /// the class's `long`, then the symbol name, 64 bytes an entry): each
    /// whole entry's name and CRC.
    pub fn versions(&self) -> Vec<(&'a [u8], u64)> {
        let Some((off, size)) = self.find(b"__versions") else { return Vec::new() };
        let crclen = if self.is64 { 8 } else { 4 };
        (off..off + size - size % 64)
            .step_by(64)
            .map(|at| (self.cstr(at + crclen), self.uint(at, crclen as usize)))
            .collect()
    }

    /// kmod_elf_get_dependency_symbols(): every undefined symbol of
    /// `.symtab` with its CRC from `__versions`, then the `__versions`
    /// entries no undefined symbol named (module_layout), as needed too.
    /// EINVAL without a usable symbol table, as kmod.
    pub fn needs(&self) -> Result<Vec<Symbol<'a>>, Errno> {
        // A table that is not a whole number of entries is not used.
        let whole = self.find(b"__versions").is_some_and(|(_, size)| size % 64 == 0);
        let versions: Vec<(&[u8], u64, usize)> = if whole {
            self.versions().into_iter().enumerate().map(|(i, (name, crc))| (name, crc, i)).collect()
        } else {
            Vec::new()
        };
        let ((symoff, symsize), (stroff, strsize), entsize) = self.symtab().ok_or(Errno::INVAL)?;
        // kmod takes the first entry of a name (a linear search for each
        // symbol); here: entries sorted by (hash of name, index).
        let hash = |s: &[u8]| s.iter().fold(0x811c_9dc5u32, |h, &c| (h ^ u32::from(c)).wrapping_mul(0x0100_0193));
        let mut by_hash: Vec<u64> = versions.iter().map(|v| u64::from(hash(v.0)) << 32 | v.2 as u64).collect();
        by_hash.sort_unstable();
        let mut visited = vec![false; versions.len()];
        let mut out = Vec::new();
        for at in (symoff + entsize..symoff + symsize).step_by(entsize as usize) {
            // On SPARC, STT_REGISTER symbols are undefined without being
            // needed (module-init-tools' rule, kept by kmod).
            if self.sym_shndx(at) != SHN_UNDEF || (matches!(self.machine, 2 | 43) && self.sym_info(at) & 0xf == 13) {
                continue;
            }
            let (nameoff, info) = (self.sym_name(at), self.sym_info(at));
            if nameoff >= strsize {
                return Err(Errno::INVAL);
            }
            let name = self.cstr(stroff + nameoff);
            if name.is_empty() {
                continue;
            }
            let h = u64::from(hash(name)) << 32;
            let first = by_hash.partition_point(|&k| k < h);
            let found = by_hash[first..]
                .iter()
                .take_while(|&&k| k >> 32 == h >> 32)
                .map(|&k| (k & 0xffff_ffff) as usize)
                .find(|&v| versions[v].0 == name);
            let crc = match found {
                Some(v) => {
                    visited[v] = true;
                    versions[v].1
                }
                None => 0,
            };
            out.push(Symbol { name, crc, weak: info >> 4 == STB_WEAK });
        }
        for (name, crc, i) in versions {
            if !visited[i] {
                out.push(Symbol { name, crc, weak: false });
            }
        }
        Ok(out)
    }
}
