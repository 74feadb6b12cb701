const USAGE: &str = "\
Usage: lsmod

Show the modules loaded in the running kernel: name, size in bytes, how
many users it has, and which modules use it.
";

use crate::cli::ctx::Ctx;
use crate::cli::message::{Error, Msg};
use crate::kernel::sysfs;
use crate::kernel::Kernel;
use std::ffi::OsString;

/// kmod's lsmod words this one without its name.
const LIST: &Msg = &Msg::bare("Error: could not get list of modules: %m");

pub fn main<K: Kernel>(ctx: &mut Ctx<K>, args: Vec<OsString>) -> i32 {
    if let Some(a) = args.first() {
        if a == "-h" || a == "--help" {
            ctx.out.str(USAGE);
            return 0;
        }
        if a == "-V" || a == "--version" {
            ctx.out.str(crate::applets::VERSION);
            return 0;
        }
        // kmod's lsmod takes no arguments and says only this.
        ctx.err.str("Usage: lsmod\n");
        return 1;
    }
    let mods = match sysfs::proc_modules(&ctx.k) {
        Ok(m) => m,
        Err(errno) => return ctx.fail(Error::errno(LIST, &[], errno)),
    };
    ctx.out.str("Module                  Size  Used by\n");
    for m in &mods {
        // The columns come from /sys like kmod's, not from /proc/modules:
        // printf("%-19s %8ld  %d") and the holders, comma-separated.
        let refcnt = sysfs::refcnt(&ctx.k, &m.name).unwrap_or_else(|e| -(e.raw_os_error() as i64));
        let size = sysfs::size(&ctx.k, m);
        ctx.out.pad(&m.name, 19).byte(b' ').num_pad(size, 8).str("  ").num(refcnt);
        for (i, h) in sysfs::holders(&ctx.k, &m.name).iter().enumerate() {
            ctx.out.byte(if i == 0 { b' ' } else { b',' }).bytes(h);
        }
        ctx.out.byte(b'\n');
    }
    0
}
