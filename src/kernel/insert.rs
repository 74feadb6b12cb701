//! Putting one module file into the kernel, shared by insmod and modprobe:
//! which syscall and which flags, who decompresses, and, when the kernel
//! says no, why.

use crate::cli::ctx::Ctx;
use crate::cli::message::{Error, Msg};
use crate::kernel::kmsg::Kmsg;
use crate::kernel::{Kernel, MODULE_INIT_COMPRESSED_FILE, MODULE_INIT_IGNORE_MODVERSIONS, MODULE_INIT_IGNORE_VERMAGIC};
use crate::module::modfile;
use crate::sys::out::{Out, Sink};
use rustix::fd::{AsFd, OwnedFd};
use rustix::io::Errno;
use std::ffi::CStr;

/// insmod's words (tools/insmod.c), with mod_strerror()'s text for `%s`.
pub const INSERT: &Msg = &Msg::error("could not insert module %s: %s");
/// One record the kernel logged while it refused the module.
pub const KERNEL_LOG: &Msg = &Msg::plain("kernel: %s");
// What is wrong with a file the kernel calls ENOEXEC, where kmod says
// "Invalid module format" and no more.
pub const COMPRESSED: &Msg = &Msg::error("%s is %s-compressed and the kernel could not decompress it");
pub const NOT_ELF: &Msg = &Msg::error("%s is not an ELF file, so not a kernel module");
pub const NO_VERMAGIC: &Msg = &Msg::error("%s has no vermagic in a .modinfo section, so it is not a kernel module");
pub const VERMAGIC: &Msg =
    &Msg::error("%s was built for another kernel: its vermagic is '%s', the running kernel is %s");
// How a module went in, for insmod -v.
pub const BY_FINIT: &Msg = &Msg::plain("loaded %s with finit_module(2)");
pub const DECOMPRESSED_BY_KERNEL: &Msg = &Msg::plain("loaded %s with finit_module(2), decompressed by the kernel");
pub const BY_INIT: &Msg = &Msg::plain("loaded %s with init_module(2)");
pub const DECOMPRESSED_HERE: &Msg = &Msg::plain("loaded %s with init_module(2), decompressed by modbox");
pub const NO_FINIT: &Msg = &Msg::plain("loaded %s with init_module(2): finit_module(2) is not available");

/// insmod's INSERT message for a module the kernel refused with `errno`.
pub fn refused(path: &[u8], errno: Errno) -> Error {
    Error::new(INSERT, &[path, &mod_strerror(errno)])
}

/// kmod's insmod words some errnos for what they mean to a module load
/// (tools/insmod.c, mod_strerror()).
fn mod_strerror(errno: Errno) -> Vec<u8> {
    let mut o = Out::new(Sink::Buffer);
    match errno {
        Errno::NOEXEC => o.str("Invalid module format"),
        Errno::NOENT => o.str("Unknown symbol in module"),
        Errno::SRCH => o.str("Module has wrong symbol version"),
        Errno::INVAL => o.str("Invalid parameters"),
        _ => o.errno(errno),
    };
    o.buf
}

/// Why a load failed.
pub enum Failure {
    /// The kernel refused it; the image, when it was read, for explain().
    Kernel(Errno, Option<Vec<u8>>),
    /// The file could not be read or decompressed.
    File(Error),
}

/// Loads the module in `fd` (the file `path`) with `params`. `flags` are
/// finit_module's IGNORE flags. Returns how it went in, as a message for `-v`.
pub fn insert<K: Kernel>(
    ctx: &mut Ctx<K>,
    path: &[u8],
    fd: &OwnedFd,
    params: &CStr,
    flags: u32,
) -> Result<&'static Msg, Failure> {
    let mut magic = [0u8; 6];
    let n = rustix::io::pread(fd, &mut magic, 0).unwrap_or(0);
    let compressed = modfile::compression(&magic[..n]);
    // A file compressed in the one format the kernel decompresses itself
    // (CONFIG_MODULE_DECOMPRESS, Linux >= 5.17) goes to it as it is; any
    // other compressed file is decompressed here.
    let by_kernel = compressed.is_some_and(|f| kernel_format(ctx) == Some(f));
    let mut result = Err(Errno::NOSYS);
    if compressed.is_none() || by_kernel {
        result =
            ctx.k.finit_module(fd.as_fd(), params, flags | if by_kernel { MODULE_INIT_COMPRESSED_FILE } else { 0 });
    }
    let fallback = match result {
        // Kernels before 3.8, or a seccomp filter: the old interface.
        Err(Errno::NOSYS) => true,
        // The kernel claimed the format but cannot take it after all.
        Err(Errno::OPNOTSUPP | Errno::INVAL) => by_kernel,
        _ => false,
    };
    if !fallback {
        return match result {
            Ok(()) if by_kernel => Ok(DECOMPRESSED_BY_KERNEL),
            Ok(()) => Ok(BY_FINIT),
            Err(errno) => Err(Failure::Kernel(errno, None)),
        };
    }
    let mut img =
        modfile::read_module(fd, path).and_then(|data| modfile::decompressed(data, path)).map_err(Failure::File)?;
    let force = modfile::Force {
        modversions: flags & MODULE_INIT_IGNORE_MODVERSIONS != 0,
        vermagic: flags & MODULE_INIT_IGNORE_VERMAGIC != 0,
    };
    modfile::strip_for_force(&mut img, force);
    match ctx.k.init_module(&img, params) {
        Ok(()) if compressed.is_some() => Ok(DECOMPRESSED_HERE),
        Ok(()) if result == Err(Errno::NOSYS) => Ok(NO_FINIT),
        Ok(()) => Ok(BY_INIT),
        Err(errno) => Err(Failure::Kernel(errno, Some(img))),
    }
}

/// The format /sys/module/compression names: `xz`, `gzip` or `zstd` and a
/// newline (kernel/module/decompress.c), when the kernel decompresses.
fn kernel_format<K: Kernel>(ctx: &Ctx<K>) -> Option<&'static str> {
    let p = crate::sys::file::cpath(ctx.k.root(), &[b"/sys/module/compression"]).ok()?;
    let text = crate::sys::file::read_small(&p).ok()?;
    ["xz", "gzip", "zstd"].into_iter().find(|f| text.strip_suffix(b"\n") == Some(f.as_bytes()))
}

/// Says why a load failed, where kmod only says "see dmesg": what the kernel
/// logged during the attempt (the missing symbol, the bad signature), and for
/// ENOEXEC what is wrong with the file as modbox sees it.
pub fn explain<K: Kernel>(
    ctx: &mut Ctx<K>,
    path: &[u8],
    fd: &OwnedFd,
    image: Option<Vec<u8>>,
    errno: Errno,
    log: &Kmsg,
) {
    for rec in log.records() {
        ctx.report(Error::new(KERNEL_LOG, &[&rec]));
    }
    if errno != Errno::NOEXEC {
        return;
    }
    let Some(image) = image.or_else(|| modfile::read_module(fd, path).ok()) else { return };
    let hint = if let Some(format) = modfile::compression(&image) {
        Error::new(COMPRESSED, &[path, format.as_bytes()])
    } else if !image.starts_with(b"\x7fELF") {
        Error::new(NOT_ELF, &[path])
    } else {
        match modfile::modinfo_section(&image).and_then(|info| modfile::modinfo_value(info, b"vermagic")) {
            None => Error::new(NO_VERMAGIC, &[path]),
            Some(magic) => {
                let release = ctx.k.release();
                if magic.split(|&c| c == b' ').next() == Some(&release[..]) {
                    return;
                }
                Error::new(VERMAGIC, &[path, magic, &release])
            }
        }
    };
    ctx.report(hint);
}
