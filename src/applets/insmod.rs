const USAGE: &str = "\
Usage: insmod [-f] [-v] FILE [PARAM=VALUE]...

Insert the module in FILE into the running kernel, with parameters.

  -f, --force    ignore the module's version magic and symbol versions
  -v, --verbose  say how the module was loaded
  -h, --help     show this help
  -V, --version  show the version
";

use crate::ctx::Ctx;
use crate::error::Error;
use crate::kernel::{Kernel, MODULE_INIT_COMPRESSED_FILE, MODULE_INIT_IGNORE_MODVERSIONS, MODULE_INIT_IGNORE_VERMAGIC};
use crate::kmsg::Kmsg;
use crate::modfile;
use crate::args::{self, Flag};
use rustix::fd::AsFd;
use rustix::io::Errno;
use std::ffi::{CString, OsString};

const FORCE: u32 = 1;
const VERBOSE: u32 = 2;
/// -p and -s are accepted and ignored, as kmod does, for old scripts.
const FLAGS: &[Flag] = &[('f', "force", false), ('v', "verbose", false), ('p', "", false), ('s', "", false)];

pub fn main<K: Kernel>(ctx: &mut Ctx<K>, args: Vec<OsString>) -> i32 {
    let opts = match args::parse(ctx, args, FLAGS, USAGE) {
        Ok(o) => o,
        Err(code) => return code,
    };
    let (force, verbose) = (opts.has(FORCE), opts.has(VERBOSE));
    let Some((path, params)) = opts.words.split_first() else { return ctx.fail(Error::Missing("filename")) };
    if path == b"-" {
        return ctx.fail(Error::Stdin);
    }
    let fd = match modfile::open_module(path) {
        Ok(fd) => fd,
        Err(e) => return ctx.fail(e),
    };
    // Command-line words cannot hold a NUL, so this never fails.
    let params = CString::new(crate::params::join(params.iter().map(|w| &w[..]))).unwrap_or_default();
    let flags = if force { MODULE_INIT_IGNORE_MODVERSIONS | MODULE_INIT_IGNORE_VERMAGIC } else { 0 };
    let mut magic = [0u8; 6];
    let n = rustix::io::pread(&fd, &mut magic, 0).unwrap_or(0);
    let compressed = modfile::compression(&magic[..n]);
    // A file compressed in the one format the kernel decompresses itself
    // (CONFIG_MODULE_DECOMPRESS, Linux >= 5.17) goes to it as it is; any
    // other compressed file is decompressed here.
    let by_kernel = compressed.is_some_and(|f| kernel_format(ctx) == Some(f));

    let log = Kmsg::open(&ctx.k);
    let mut image = None;
    let mut result = Err(Errno::NOSYS);
    if compressed.is_none() || by_kernel {
        result = ctx.k.finit_module(fd.as_fd(), &params, flags | if by_kernel { MODULE_INIT_COMPRESSED_FILE } else { 0 });
    }
    let fallback = match result {
        // Kernels before 3.8, or a seccomp filter: the old interface.
        Err(Errno::NOSYS) => true,
        // The kernel claimed the format but cannot take it after all.
        Err(Errno::OPNOTSUPP | Errno::INVAL) => by_kernel,
        _ => false,
    };
    if fallback {
        if verbose && result == Err(Errno::NOSYS) && (compressed.is_none() || by_kernel) {
            ctx.err.str("insmod: finit_module(2) is not available, using init_module(2)\n");
        }
        let mut img = match modfile::read_module(&fd, path).and_then(|data| modfile::decompressed(data, path)) {
            Ok(img) => img,
            Err(e) => return ctx.fail(e),
        };
        if force {
            modfile::strip_for_force(&mut img);
        }
        result = ctx.k.init_module(&img, &params);
        image = Some(img);
    }
    match result {
        Ok(()) => {
            if verbose {
                ctx.err.str("insmod: loaded ").bytes(path).str(match (&image, by_kernel) {
                    (Some(_), _) if compressed.is_some() => " with init_module(2), decompressed by modbox\n",
                    (Some(_), _) => " with init_module(2)\n",
                    (None, true) => " with finit_module(2), decompressed by the kernel\n",
                    (None, false) => " with finit_module(2)\n",
                });
            }
            0
        }
        Err(errno) => {
            ctx.report(Error::Insert { path: path.clone(), errno });
            explain(ctx, path, &fd, image, errno, &log);
            1
        }
    }
}

/// The format /sys/module/compression names: `xz`, `gzip` or `zstd` and a
/// newline (kernel/module/decompress.c), when the kernel decompresses.
fn kernel_format<K: Kernel>(ctx: &Ctx<K>) -> Option<&'static str> {
    let p = crate::file::cpath(ctx.k.root(), &[b"/sys/module/compression"]).ok()?;
    let text = crate::file::read_small(&p).ok()?;
    ["xz", "gzip", "zstd"].into_iter().find(|f| text.strip_suffix(b"\n") == Some(f.as_bytes()))
}

/// Says why a load failed, where kmod only says "see dmesg": what the kernel
/// logged during the attempt (the missing symbol, the bad signature), and for
/// ENOEXEC what is wrong with the file as modbox sees it.
fn explain<K: Kernel>(ctx: &mut Ctx<K>, path: &[u8], fd: &rustix::fd::OwnedFd, image: Option<Vec<u8>>, errno: Errno, log: &Kmsg) {
    for rec in log.records() {
        ctx.report(Error::KernelLog(rec));
    }
    if errno != Errno::NOEXEC {
        return;
    }
    let Some(image) = image.or_else(|| modfile::read_module(fd, path).ok()) else { return };
    let path = path.to_vec();
    let hint = if let Some(format) = modfile::compression(&image) {
        Error::Compressed { path, format }
    } else if !image.starts_with(b"\x7fELF") {
        Error::NotElf(path)
    } else {
        match modfile::modinfo_section(&image).and_then(|info| modfile::modinfo_value(info, b"vermagic")) {
            None => Error::NoVermagic(path),
            Some(magic) => {
                let release = ctx.k.release();
                if magic.split(|&c| c == b' ').next() == Some(&release[..]) {
                    return;
                }
                Error::Vermagic { path, magic: magic.to_vec(), release }
            }
        }
    };
    ctx.report(hint);
}
