const USAGE: &str = "\
Usage: rmmod [-f] [-s] [-v] [-w] MODULE...

Remove modules from the running kernel. MODULE is a name (- and _ are the
same) or the path of a module file.

  -f, --force    remove even a module in use (needs CONFIG_MODULE_FORCE_UNLOAD;
                 may crash the machine)
  -s, --syslog   send errors to syslog instead of stderr
  -v, --verbose  say what is removed
  -w, --wait     wait until the module is unused, then remove it
  -h, --help     show this help
  -V, --version  show the version
";

use crate::cli::args;
use crate::cli::ctx::Ctx;
use crate::cli::message::{Error, Msg};
use crate::kernel::sysfs::{self, State};
use crate::kernel::{Kernel, O_NONBLOCK, O_TRUNC};
use crate::module::name;
use rustix::io::Errno;
use std::ffi::{CString, OsString};

/// Longest pause between two tries of `rmmod -w`.
const MAX_BACKOFF_MS: u64 = 1000;

const MISSING: &Msg = &Msg::error("missing module name.");
const NOT_LOADED: &Msg = &Msg::error("Module %s is not currently loaded");
const BUILTIN: &Msg = &Msg::error("Module %s is builtin.");
const IN_USE_BY: &Msg = &Msg::error("Module %s is in use by:%s");
const IN_USE: &Msg = &Msg::error("Module %s is in use");
/// /sys/module/NAME/refcnt is missing: CONFIG_MODULE_UNLOAD is off.
const NO_UNLOAD: &Msg = &Msg::error("Module unloading is not supported");
const REMOVE_LIBKMOD: &Msg = &Msg::error("could not remove '%s': %m");
const REMOVE: &Msg = &Msg::error("could not remove module %s: %m");
const REMOVED: &Msg = &Msg::plain("removed %s");

crate::options! { FLAGS;
    FORCE = 'f', "force", false;
    SYSLOG = 's', "syslog", false;
    VERBOSE = 'v', "verbose", false;
    WAIT = 'w', "wait", false;
}

/// What the options ask for, decoded once.
struct Options {
    force: bool,
    verbose: bool,
    wait: bool,
}

pub fn main<K: Kernel>(ctx: &mut Ctx<K>, args: Vec<OsString>) -> i32 {
    let opts = match args::parse(ctx, args, FLAGS, USAGE) {
        Ok(o) => o,
        Err(code) => return code,
    };
    if opts.has(SYSLOG) {
        ctx.err.to_syslog();
    }
    let o = Options { force: opts.has(FORCE), verbose: opts.has(VERBOSE), wait: opts.has(WAIT) };
    if opts.words.is_empty() {
        return ctx.fail(Error::new(MISSING, &[]));
    }
    let mut failed = false;
    for arg in opts.words {
        // As kmod: an existing file names the module by its file name.
        let is_file = crate::sys::file::cpath(b"", &[&arg]).is_ok_and(|p| crate::sys::file::stat_dir(&p).is_some());
        let name = if is_file { name::from_path(&arg) } else { name::normalize(&arg) };
        // `..`, `/`, `.x` name no module: say so of the argument as given
        // (kmod gets lost in /sys/module//holders).
        let name = if name.is_empty() { arg.clone() } else { name };
        let result = check(ctx, &name, &o).and_then(|()| remove(ctx, &name, &arg, &o));
        if let Err(e) = result {
            ctx.report(e);
            failed = true;
        }
    }
    failed as i32
}

/// kmod's check_module_inuse(), skipped with -f. With -w a module in use is
/// not an error: it is what we wait for.
fn check<K: Kernel>(ctx: &mut Ctx<K>, name: &[u8], o: &Options) -> Result<(), Error> {
    match sysfs::state(&ctx.k, name) {
        State::NotLoaded => return Err(Error::new(NOT_LOADED, &[name])),
        State::Builtin => return Err(Error::new(BUILTIN, &[name])),
        State::Live | State::Coming | State::Going => {}
    }
    if o.force || o.wait {
        return Ok(());
    }
    let holders = sysfs::holders(&ctx.k, name);
    if !holders.is_empty() {
        let mut list = Vec::new();
        for h in &holders {
            list.push(b' ');
            list.extend_from_slice(h);
        }
        return Err(Error::new(IN_USE_BY, &[name, &list]));
    }
    match sysfs::refcnt(&ctx.k, name) {
        Ok(n) if n > 0 => Err(Error::new(IN_USE, &[name])),
        Err(Errno::NOENT) => Err(Error::new(NO_UNLOAD, &[])),
        _ => Ok(()),
    }
}

/// delete_module(2) with O_NONBLOCK, as kmod always passes. Since Linux 3.13
/// the kernel never waits for users, so -w waits here: EWOULDBLOCK while the
/// module has users, EBUSY while it is still coming or going, retried with a
/// backoff that grows to one second.
fn remove<K: Kernel>(ctx: &mut Ctx<K>, name: &[u8], arg: &[u8], o: &Options) -> Result<(), Error> {
    let flags = O_NONBLOCK | if o.force { O_TRUNC } else { 0 };
    // name::plausible() held in check() unless -f; a name that cannot be a
    // module is not handed to the kernel either way.
    let cname = match CString::new(name) {
        Ok(c) if name::plausible(name) => c,
        _ => return Err(Error::new(NOT_LOADED, &[name])),
    };
    let mut backoff = 10;
    loop {
        match ctx.k.delete_module(&cname, flags) {
            Ok(()) => break,
            Err(Errno::AGAIN | Errno::BUSY) if o.wait => {
                ctx.k.sleep_ms(backoff);
                backoff = (backoff * 2).min(MAX_BACKOFF_MS);
            }
            Err(errno) => {
                // kmod prints libkmod's line, then its own, for one failure.
                ctx.report(Error::errno(REMOVE_LIBKMOD, &[name], errno));
                return Err(Error::errno(REMOVE, &[arg], errno));
            }
        }
    }
    if o.verbose {
        REMOVED.print(&mut ctx.err, ctx.applet, &[name], None);
    }
    Ok(())
}
