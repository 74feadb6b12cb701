const USAGE: &str = "\
Usage: insmod [-f] [-v] FILE [PARAM=VALUE]...

Insert the module in FILE into the running kernel, with parameters.

  -f, --force    ignore the module's version magic and symbol versions
  -v, --verbose  say how the module was loaded
  -h, --help     show this help
  -V, --version  show the version
";

use crate::cli::args;
use crate::cli::ctx::Ctx;
use crate::cli::message::{Error, Msg};
use crate::kernel::insert::{self, Failure};
use crate::kernel::kmsg::Kmsg;
use crate::kernel::{Kernel, MODULE_INIT_IGNORE_MODVERSIONS, MODULE_INIT_IGNORE_VERMAGIC};
use crate::module::modfile;
use std::ffi::{CString, OsString};

const MISSING: &Msg = &Msg::error("missing filename.");
const STDIN: &Msg = &Msg::error("this tool does not support loading from stdin!");

// -p and -s are accepted and ignored, as kmod does, for old scripts.
crate::options! { FLAGS;
    FORCE = 'f', "force", false;
    VERBOSE = 'v', "verbose", false;
    PROBE = 'p', "", false;
    SYSLOG = 's', "", false;
}

pub fn main<K: Kernel>(ctx: &mut Ctx<K>, args: Vec<OsString>) -> i32 {
    let opts = match args::parse(ctx, args, FLAGS, USAGE) {
        Ok(o) => o,
        Err(code) => return code,
    };
    let (force, verbose) = (opts.has(FORCE), opts.has(VERBOSE));
    let Some((path, params)) = opts.words.split_first() else { return ctx.fail(Error::new(MISSING, &[])) };
    if path == b"-" {
        return ctx.fail(Error::new(STDIN, &[]));
    }
    let fd = match modfile::open_module(path) {
        Ok(fd) => fd,
        Err(e) => return ctx.fail(e),
    };
    // Command-line words cannot hold a NUL, so this never fails.
    let params = CString::new(crate::kernel::params::join(params.iter().map(|w| &w[..]))).unwrap_or_default();
    let flags = if force { MODULE_INIT_IGNORE_MODVERSIONS | MODULE_INIT_IGNORE_VERMAGIC } else { 0 };
    let log = Kmsg::open(&ctx.k);
    match insert::insert(ctx, path, &fd, &params, flags) {
        Ok(how) => {
            if verbose {
                how.print(&mut ctx.err, ctx.applet, &[path], None);
            }
            0
        }
        Err(Failure::File(e)) => ctx.fail(e),
        Err(Failure::Kernel(errno, image)) => {
            ctx.report(insert::refused(path, errno));
            insert::explain(ctx, path, &fd, image, errno, &log);
            1
        }
    }
}
