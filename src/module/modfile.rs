//! Module files: opening one for loading, and reading what its ELF
//! `.modinfo` section says (key=value strings, NUL-separated).

use crate::cli::message::{Error, Msg};
use crate::sys::file::{cpath, read_all, Mapped};
use object::elf::{FileHeader32, FileHeader64};
use object::read::elf::{FileHeader, SectionHeader};
use object::{Endianness, SectionIndex};
use rustix::fd::OwnedFd;
use rustix::fs::{fstat, FileType};
use rustix::io::Errno;

pub const LOAD: &Msg = &Msg::error("could not load module %s: %m");
/// The two refusals of a file that is not regular, before the kernel would
/// answer EINVAL; the error carries EISDIR or EINVAL for modinfo's words.
pub const DIRECTORY: &Msg = &Msg::error("could not insert module %s: Is a directory");
pub const NOT_REGULAR: &Msg = &Msg::error("could not insert module %s: Not a regular file");
pub const DECOMPRESS: &Msg = &Msg::error("could not read %s-compressed module %s: %s");

/// Largest module file modbox reads into memory (the largest Debian module,
/// amdgpu, is about 20 MiB unstripped).
pub const MAX_MODULE: usize = 256 << 20;

/// Opens a module file for finit_module or reading. Directories and other
/// non-regular files are refused here, before the kernel would answer a
/// puzzling EINVAL ("Invalid parameters"). The open does not block on a
/// FIFO (kmod's does, for ever); on the regular file that passes the check
/// O_NONBLOCK changes nothing, for reads here or the kernel's.
pub fn open_module(path: &[u8]) -> Result<OwnedFd, Error> {
    let load_err = |errno| Error::errno(LOAD, &[path], errno);
    let c = cpath(b"", &[path]).map_err(load_err)?;
    let fd = crate::sys::file::open_ro(&c).map_err(load_err)?;
    let st = fstat(&fd).map_err(load_err)?;
    match FileType::from_raw_mode(st.st_mode) {
        FileType::RegularFile => Ok(fd),
        FileType::Directory => Err(Error::errno(DIRECTORY, &[path], Errno::ISDIR)),
        _ => Err(Error::errno(NOT_REGULAR, &[path], Errno::INVAL)),
    }
}

/// The whole file, for init_module and for inspection.
pub fn read_module(fd: &OwnedFd, path: &[u8]) -> Result<Vec<u8>, Error> {
    // Read through a duplicate so the caller's descriptor keeps its offset
    // at 0 for a later finit_module.
    let err = |errno| Error::errno(LOAD, &[path], errno);
    let dup = rustix::io::dup(fd).map_err(err)?;
    rustix::fs::seek(&dup, rustix::fs::SeekFrom::Start(0)).map_err(err)?;
    read_all(dup, MAX_MODULE).map_err(err)
}

/// The contents of the `.modinfo` section of an ELF module (64- or
/// 32-bit, either byte order), or `None` when the image is not one or has
/// no such section.
pub fn modinfo_section(image: &[u8]) -> Option<&[u8]> {
    match image.get(4) {
        Some(1) => section::<FileHeader32<Endianness>>(image, b".modinfo"),
        _ => section::<FileHeader64<Endianness>>(image, b".modinfo"),
    }
}

fn section<'a, H: FileHeader<Endian = Endianness>>(image: &'a [u8], name: &[u8]) -> Option<&'a [u8]> {
    let header = H::parse(image).ok()?;
    let endian = header.endian().ok()?;
    let sections = header.sections(endian, image).ok()?;
    // kmod_elf_new(): a section-name table that does not end in a NUL makes
    // the whole file invalid, even for a name that comes before.
    let names =
        sections.section(SectionIndex(header.shstrndx(endian, image).ok()? as usize)).ok()?.data(endian, image).ok()?;
    if names.last() != Some(&0) {
        return None;
    }
    let (_, section) = sections.section_by_name(endian, name)?;
    section.data(endian, image).ok()
}

/// The `key=value` strings of a `.modinfo` section, as
/// kmod_elf_get_strings() splits them: runs of NULs separate them.
pub fn modinfo_strings(modinfo: &[u8]) -> impl Iterator<Item = &[u8]> {
    modinfo.split(|&c| c == 0).filter(|s| !s.is_empty())
}

/// A module image: the file mapped, or (when `mapped` is empty) the bytes
/// read or decompressed.
pub struct Image {
    mapped: Mapped,
    owned: Vec<u8>,
}

impl std::ops::Deref for Image {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self.mapped.bytes() {
            [] => &self.owned,
            m => m,
        }
    }
}

/// A module file's contents, decompressed when it is compressed. An
/// uncompressed file is mapped, as libkmod maps it: modinfo then touches
/// only the pages of the headers and `.modinfo`, not all of amdgpu's 20 MB.
/// A file that cannot be mapped (empty, or a /proc file whose size reads
/// 0) is read.
pub fn load(path: &[u8]) -> Result<Image, Error> {
    let fd = open_module(path)?;
    let mapped = Mapped::of(&fd, MAX_MODULE).map_err(|errno| Error::errno(LOAD, &[path], errno))?;
    let owned = if mapped.bytes().is_empty() { read_module(&fd, path)? } else { Vec::new() };
    let image = Image { mapped, owned };
    Ok(match unpack(&image, path)? {
        None => image,
        Some(owned) => Image { mapped: Mapped::empty(), owned },
    })
}

/// The module image in `data` (the contents of `path`): `data` itself, or
/// its decompression when it starts with a compression format's magic.
pub fn decompressed(data: Vec<u8>, path: &[u8]) -> Result<Vec<u8>, Error> {
    Ok(unpack(&data, path)?.unwrap_or(data))
}

/// The decompression of `data` (the contents of `path`), or `None` when it
/// starts with no compression format's magic and is an image as it is.
fn unpack(data: &[u8], path: &[u8]) -> Result<Option<Vec<u8>>, Error> {
    let Some(format) = compression(data) else { return Ok(None) };
    crate::module::decompress::decompress(format, data)
        .map(Some)
        .map_err(|what| Error::new(DECOMPRESS, &[format.as_bytes(), path, what.as_bytes()]))
}

/// The first value of `key` in a `.modinfo` section.
pub fn modinfo_value<'a>(modinfo: &'a [u8], key: &[u8]) -> Option<&'a [u8]> {
    modinfo_strings(modinfo).find_map(|kv| kv.strip_prefix(key).and_then(|v| v.strip_prefix(b"=")))
}

/// Module file endings, as kmod's kmod_exts[], each with whether this build
/// has its decoder.
const ENDINGS: [(&[u8], bool); 4] = [
    (b".ko", true),
    (b".ko.gz", cfg!(feature = "gzip")),
    (b".ko.xz", cfg!(feature = "xz")),
    (b".ko.zst", cfg!(feature = "zstd")),
];

/// Whether a file name ends as a module's, compressed in any format kmod
/// knows (modinfo's is_module_filename()).
pub fn has_module_ending(name: &[u8]) -> bool {
    ENDINGS.iter().any(|(e, _)| name.len() > e.len() && name.ends_with(e))
}

/// Whether a file name ends as a module's this build can read: kmod's
/// path_ends_with_kmod_ext() in a kmod built with the same decoders, which
/// is what depmod indexes.
pub fn has_readable_module_ending(name: &[u8]) -> bool {
    ENDINGS.iter().any(|&(e, built)| built && name.len() > e.len() && name.ends_with(e))
}

/// The compression format of a module file, by its magic bytes.
pub fn compression(image: &[u8]) -> Option<&'static str> {
    if image.starts_with(&[0x1f, 0x8b]) {
        Some("gzip")
    } else if image.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
        Some("xz")
    } else if image.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Some("zstd")
    } else {
        None
    }
}

/// What `insmod -f` needs on the init_module path, where the kernel takes no
/// IGNORE flags: kmod's kmod_elf_strip_section("__versions") and
/// kmod_elf_strip_vermagic(). The kernel only finds sections with SHF_ALLOC,
/// so clearing that flag hides the symbol versions; a zeroed vermagic string
/// makes the kernel force-load (CONFIG_MODULE_FORCE_LOAD) instead of refuse.
pub fn strip_for_force(image: &mut [u8], force: Force) {
    if !force.modversions && !force.vermagic {
        return;
    }
    let Some((versions_flags, vermagic)) = force_edits(image) else { return };
    let (versions_flags, vermagic) =
        (versions_flags.filter(|_| force.modversions), vermagic.filter(|_| force.vermagic));
    if let Some(at) = versions_flags {
        const SHF_ALLOC: u8 = 2;
        image[at] &= !SHF_ALLOC;
    }
    if let Some((start, end)) = vermagic {
        image[start..end].fill(0);
    }
}

/// What `insmod -f` and modprobe's --force-* ignore.
#[derive(Clone, Copy)]
pub struct Force {
    pub modversions: bool,
    pub vermagic: bool,
}

/// Where `strip_for_force` writes: the file offset of the low byte of the
/// __versions section's sh_flags, and the byte range of `vermagic=...`.
type ForceEdits = (Option<usize>, Option<(usize, usize)>);

fn force_edits(image: &[u8]) -> Option<ForceEdits> {
    let header = FileHeader64::<Endianness>::parse(image).ok()?;
    let endian = header.endian().ok()?;
    let sections = header.sections(endian, image).ok()?;
    let shoff = header.e_shoff(endian) as usize;
    let shentsize = header.e_shentsize(endian) as usize;
    let versions = sections.section_by_name(endian, b"__versions").map(|(i, _)| {
        // sh_flags is the third field of Elf64_Shdr, at byte 8; the low byte
        // comes first in a little-endian file, last in a big-endian one.
        let low = if endian == Endianness::Little { 8 } else { 15 };
        shoff + i.0 * shentsize + low
    });
    let vermagic = sections.section_by_name(endian, b".modinfo").and_then(|(_, s)| {
        let base = s.sh_offset(endian) as usize;
        let data = s.data(endian, image).ok()?;
        let mut at = 0;
        for kv in data.split(|&c| c == 0) {
            if kv.starts_with(b"vermagic=") {
                return Some((base + at, base + at + kv.len()));
            }
            at += kv.len() + 1;
        }
        None
    });
    Some((versions, vermagic))
}

/// The kernel's memory types for a module (include/linux/module.h, enum
/// mod_mem_type): what `modinfo --sizes` reports.
pub const MEM_TYPES: [&str; 7] = ["text", "rodata", "ro_after_init", "data", "init_text", "init_rodata", "init_data"];

/// How many bytes each memory type of MEM_TYPES takes once the kernel has
/// laid the module out, following layout_sections() in
/// kernel/module/main.c: sections with SHF_ALLOC (the kernel drops it from
/// .modinfo and __versions), init ones by their `.init` name, placed in the
/// first class whose flags they have, each aligned to its sh_addralign.
/// The kernel's own copy of the symbol table (kallsyms) is not counted.
pub fn layout(image: &[u8]) -> Option<[u64; 7]> {
    match image.get(4) {
        Some(1) => layout_of::<FileHeader32<Endianness>>(image),
        _ => layout_of::<FileHeader64<Endianness>>(image),
    }
}

fn layout_of<H: FileHeader<Endian = Endianness>>(image: &[u8]) -> Option<[u64; 7]> {
    const WRITE: u64 = 1;
    const ALLOC: u64 = 2;
    const EXEC: u64 = 4;
    const RO_AFTER_INIT: u64 = 0x0020_0000;
    // (flags a section must have, flags it must not have), in the kernel's
    // order: text, rodata, ro_after_init, data.
    const CLASSES: [(u64, u64); 4] =
        [(EXEC | ALLOC, 0), (ALLOC, WRITE), (RO_AFTER_INIT | ALLOC, 0), (WRITE | ALLOC, 0)];
    let header = H::parse(image).ok()?;
    let endian = header.endian().ok()?;
    let sections = header.sections(endian, image).ok()?;
    // Each section's flags as the kernel sees them, whether it is an init
    // section, its alignment and size; None once placed.
    let mut todo = Vec::with_capacity(sections.len());
    for s in sections.iter() {
        let name = sections.section_name(endian, s).ok()?;
        let mut flags: u64 = s.sh_flags(endian).0;
        if name == b".modinfo" || name == b"__versions" {
            flags &= !ALLOC;
        }
        if name == b".data..ro_after_init" || name == b"__jump_table" {
            flags |= RO_AFTER_INIT;
        }
        let align: u64 = s.sh_addralign(endian).into();
        todo.push(Some((flags, name.starts_with(b".init"), align.max(1), s.sh_size(endian).into())));
    }
    let mut sizes = [0u64; 7];
    for init in [false, true] {
        for (class, &(have, lack)) in CLASSES.iter().enumerate() {
            for slot in todo.iter_mut() {
                let Some((flags, is_init, align, size)) = *slot else { continue };
                if flags & have != have || flags & lack != 0 || is_init != init {
                    continue;
                }
                *slot = None;
                // Init has no ro_after_init: the kernel folds it into init_data.
                let t = (class + if init { 4 } else { 0 }).min(6);
                sizes[t] = (sizes[t].checked_add(align - 1)? / align * align).checked_add(size)?;
            }
        }
    }
    Some(sizes)
}

#[cfg(test)]
mod tests {
    #[test]
    fn modinfo_value() {
        let m = b"license=GPL\0vermagic=6.1.0-41-amd64 SMP mod_unload modversions \0\0name=dummy\0";
        assert_eq!(super::modinfo_value(m, b"vermagic"), Some(&b"6.1.0-41-amd64 SMP mod_unload modversions "[..]));
        assert_eq!(super::modinfo_value(m, b"name"), Some(&b"dummy"[..]));
        assert_eq!(super::modinfo_value(m, b"nam"), None);
        assert_eq!(super::modinfo_value(m, b"depends"), None);
    }
}
