const USAGE: &str = "\
Usage: modprobe [options] [-i] [-b] MODULE [PARAM=VALUE]...
       modprobe [options] -a [-i] [-b] MODULE...
       modprobe [options] -r [-i] MODULE...
       modprobe [options] -c
       modprobe [options] --dump-modversions FILE

Load a module by name or alias with everything it needs, or remove one and
what it no longer needs, as configured in modprobe.d.

  -a, --all                  every argument is a module (to load, or with -r
                             to remove)
  -r, --remove               remove modules instead of loading them
      --remove-holders       also remove the modules that use it (with -r)
  -w, --wait=MSEC            with -r, wait up to MSEC for the module to be unused
      --first-time           fail if the module is already loaded (or removed)
  -i, --ignore-install       ignore install and remove commands and softdeps
  -b, --use-blacklist        apply the blacklist to names too, not only aliases
  -f, --force                ignore version magic and symbol versions
      --force-modversion     ignore symbol versions
      --force-vermagic       ignore version magic
  -R, --resolve-alias        only print the modules a name resolves to
  -D, --show-depends         only print what would be loaded, loaded or not
  -c, --show-config          print the configuration and alias indexes
      --dump-modversions     print the symbol versions a module file needs
      --show-exports         print the symbols a module file exports
  -n, --dry-run              do everything but load or remove
  -C, --config=PATH          read PATH (a file or directory) instead of modprobe.d
  -d, --dirname=DIR          modules are in DIR/lib/modules
  -S, --set-version=KVER     use KVER's modules instead of the running kernel's
  -s, --syslog               messages to syslog, not stderr
  -q, --quiet                no messages
  -v, --verbose              print what is done (twice: more)
  -h, --help                 show this help
  -V, --version              show the version
";

use crate::cli::args::{self, Flag};
use crate::cli::ctx::Ctx;
use crate::cli::error::Error;
use crate::config::modprobe_d::ModprobeD;
use crate::kernel::insert::{self, Failure};
use crate::kernel::kmsg::Kmsg;
use crate::kernel::sysfs;
use crate::kernel::{Kernel, MODULE_INIT_IGNORE_MODVERSIONS, MODULE_INIT_IGNORE_VERMAGIC, O_NONBLOCK, O_TRUNC};
use crate::moddir::glob;
use crate::moddir::{Aliases, ModDir};
use crate::module::name::underscores;
use crate::module::{modfile, name};
use crate::sys::file::{cpath, read_small};
use rustix::io::Errno;
use std::ffi::{CString, OsString};
use std::os::unix::ffi::OsStringExt;
use std::rc::Rc;

const FLAGS: &[Flag] = &[
    ('a', "all", false),
    ('r', "remove", false),
    ('\u{1}', "remove-dependencies", false),
    ('\u{1}', "remove-holders", false),
    ('w', "wait", true),
    ('R', "resolve-alias", false),
    ('\u{1}', "first-time", false),
    ('i', "ignore-install", false),
    ('\u{1}', "ignore-remove", false),
    ('b', "use-blacklist", false),
    ('f', "force", false),
    ('\u{1}', "force-modversion", false),
    ('\u{1}', "force-vermagic", false),
    ('D', "show-depends", false),
    ('c', "showconfig", false),
    ('\u{1}', "show-config", false),
    ('\u{1}', "show-modversions", false),
    ('\u{1}', "dump-modversions", false),
    ('n', "dry-run", false),
    ('\u{1}', "show", false),
    ('C', "config", true),
    ('d', "dirname", true),
    ('S', "set-version", true),
    ('s', "syslog", false),
    ('q', "quiet", false),
    ('v', "verbose", false),
    ('\u{1}', "show-exports", false),
];
const ALL: u32 = 1;
const REMOVE: u32 = 1 << 1;
const HOLDERS: u32 = 3 << 2;
const WAIT: u32 = 1 << 4;
const RESOLVE: u32 = 1 << 5;
const FIRST_TIME: u32 = 1 << 6;
const IGNORE_CMDS: u32 = 3 << 7;
const BLACKLIST: u32 = 1 << 9;
const FORCE: u32 = 1 << 10;
const FORCE_MODVERSION: u32 = 1 << 11;
const FORCE_VERMAGIC: u32 = 1 << 12;
const SHOW_DEPENDS: u32 = 1 << 13;
const SHOW_CONFIG: u32 = 3 << 14;
const MODVERSIONS: u32 = 3 << 16;
const DRY_RUN: u32 = 3 << 18;
const CONFIG: u32 = 1 << 20;
const DIRNAME: u32 = 1 << 21;
const KVER: u32 = 1 << 22;
const SYSLOG: u32 = 1 << 23;
const QUIET: u32 = 1 << 24;
const VERBOSE: u32 = 1 << 25;
const EXPORTS: u32 = 1 << 26;

/// syslog priorities, which kmod's messages carry and -q/-v move the
/// threshold of.
const CRIT: u8 = 2;
const ERR: u8 = 3;
const WARNING: u8 = 4;

/// How long a module the kernel is still initialising (`coming`) is waited
/// for before modprobe goes on and lets the kernel sort it out.
const COMING_WAIT_MS: u64 = 10_000;

/// A module as libkmod knows it: by name, and by the alias it was found
/// through, which decides whether the blacklist applies and which
/// `options` lines count.
#[derive(Clone)]
struct Mod {
    name: Vec<u8>,
    alias: Option<Vec<u8>>,
    /// Its file, when it came from another module's modules.dep line.
    path: Option<Vec<u8>>,
    /// Found through a built-in index.
    builtin: bool,
    /// Found through an install or remove command of exactly its name.
    by_cmd: bool,
}

impl Mod {
    fn new(name: &[u8], alias: Option<&[u8]>) -> Mod {
        Mod { name: name.to_vec(), alias: alias.map(<[u8]>::to_vec), path: None, builtin: false, by_cmd: false }
    }

    fn same(&self, other: &Mod) -> bool {
        self.name == other.name && self.alias == other.alias
    }
}

/// One step of a load, in order.
struct Step {
    m: Mod,
    /// An install command applies unless softdeps came with it (libkmod's
    /// ignorecmd).
    ignore_cmd: bool,
}

struct Probe<'a, K: Kernel> {
    ctx: &'a mut Ctx<K>,
    cfg: ModprobeD,
    dir: ModDir,
    /// The directory as messages name it.
    dirname: Vec<u8>,
    verbose: u8,
    /// The priority of "not found" and similar (FATAL; WARNING with -a).
    log_priority: u8,
    /// A FATAL message was printed: kmod exits right there.
    fatal: bool,
    flags: u32,
    show: bool,
    dry_run: bool,
    ignore_loaded: bool,
    wait_ms: u64,
    /// $MODPROBE_OPTIONS for install and remove commands.
    child_opts: Option<Vec<u8>>,
    // Per probe (libkmod's visited/required marks). `visited` is kept
    // sorted: a hostile softdep web visits thousands of modules, and libkmod
    // asks a flag on the module object, not a list.
    visited: Vec<Mod>,
    required: Vec<Mod>,
    /// Each softdep line's modules, once looked up without an error: kmod
    /// looks them up again every time the line applies, and without .bin
    /// indexes each lookup goes through the text files.
    softdep_mods: Vec<Option<Rc<(Vec<Mod>, Vec<Mod>)>>>,
    /// Per softdep line, how many of its modules (pre, then post) this
    /// probe has gone to, and so left visited: a pass over the line,
    /// however deeply nested in another pass over it, goes on from there,
    /// as libkmod's passes would find all before it visited.
    softdep_next: Vec<usize>,
    /// How many more times a load may start over because a dependency it
    /// found loaded may have been removed meanwhile (a `modprobe -r`
    /// racing it).
    restarts: u8,
    /// The last insert failed that way: start over.
    vanished: bool,
    /// The modules being removed, outermost first (remove_module()).
    removing: Vec<Mod>,
}

pub fn main<K: Kernel>(ctx: &mut Ctx<K>, args: Vec<OsString>) -> i32 {
    let args = with_env_options(args);
    let opts = match args::parse(ctx, args, FLAGS, USAGE) {
        Ok(o) => o,
        Err(code) => return code,
    };
    if opts.has(SYSLOG) {
        ctx.err.to_syslog();
    }
    let mut verbose = WARNING;
    let mut wait_ms = 0;
    let mut configs = Vec::new();
    let (mut root, mut kver) = (None, None);
    for (bit, value) in &opts.seq {
        match *bit {
            QUIET => verbose = 0,
            VERBOSE => verbose = verbose.saturating_add(1),
            CONFIG => configs.push(value.clone()),
            DIRNAME => root = Some(value.clone()),
            KVER => kver = Some(value.clone()),
            WAIT => match std::str::from_utf8(value).ok().and_then(crate::sys::number::strtoul) {
                Some(ms) => wait_ms = ms,
                None => return ctx.fail(Error::BadWait(value.clone())),
            },
            _ => {}
        }
    }
    // Install commands that run modprobe again get the same options
    // (kmod appends them to $MODPROBE_OPTIONS).
    let mut child_opts = std::env::var_os("MODPROBE_OPTIONS").map(OsString::into_vec);
    for (bit, value) in &opts.seq {
        let arg: &[u8] = match *bit {
            CONFIG => b"-C",
            SYSLOG => b"-s",
            QUIET => b"-q",
            VERBOSE => b"-v",
            _ => continue,
        };
        for word in [arg, value].into_iter().filter(|w| !w.is_empty()) {
            child_opts = Some(match child_opts {
                Some(old) => [&old[..], b" ", word].concat(),
                None => word.to_vec(),
            });
        }
    }
    if opts.words.is_empty() && !opts.has(SHOW_CONFIG) {
        if verbose >= ERR {
            ctx.report(Error::MissingParams);
        }
        return 1;
    }
    let (dir, dirname) = if root.is_some() || kver.is_some() {
        let mut base = root.unwrap_or_default();
        if !base.is_empty() && !base.starts_with(b"/") {
            // kmod makes -d absolute against the working directory.
            base = crate::sys::file::absolute(&base);
        }
        let dir = ModDir::at(&base, &kver.unwrap_or_else(|| ctx.k.release()));
        let name = dir.path.clone();
        (dir, name)
    } else {
        let dir = ModDir::running(&ctx.k);
        let name = [&b"/lib/modules/"[..], &ctx.k.release()].concat();
        (dir, name)
    };
    let cmdline = cpath(ctx.k.root(), &[b"/proc/cmdline"]).ok().and_then(|p| read_small(&p).ok());
    let cfg = ModprobeD::read(ctx.k.root(), &configs, &dir.path, cmdline.as_deref());
    let flags = opts.flags;
    let cfg_softdeps = cfg.softdeps.len();
    let mut p = Probe {
        ctx,
        cfg,
        dir,
        dirname,
        verbose,
        log_priority: if flags & ALL != 0 { WARNING } else { CRIT },
        fatal: false,
        flags,
        show: flags & SHOW_DEPENDS != 0 || verbose > WARNING,
        dry_run: flags & (DRY_RUN | SHOW_DEPENDS) != 0,
        ignore_loaded: flags & SHOW_DEPENDS != 0,
        wait_ms,
        child_opts,
        visited: Vec::new(),
        required: Vec::new(),
        softdep_mods: vec![None; cfg_softdeps],
        softdep_next: Vec::new(),
        restarts: 0,
        vanished: false,
        removing: Vec::new(),
    };
    for w in std::mem::take(&mut p.cfg.warnings) {
        p.log(ERR, w);
    }
    let words = opts.words;
    let ok = if flags & SHOW_CONFIG != 0 {
        p.show_config()
    } else if flags & (MODVERSIONS | EXPORTS) != 0 {
        p.symbols(&words[0], flags & EXPORTS != 0)
    } else if flags & REMOVE != 0 {
        let mut ok = true;
        for w in &words {
            ok &= p.rmmod(w);
            if p.fatal {
                break;
            }
        }
        ok
    } else if flags & ALL != 0 {
        let mut ok = true;
        for w in &words {
            ok &= p.insmod(w, None);
            if p.fatal {
                break;
            }
        }
        ok
    } else {
        let params = (words.len() > 1).then(|| crate::kernel::params::join(words[1..].iter().map(|w| &w[..])));
        p.insmod(&words[0], params)
    };
    p.ctx.flush();
    (!ok || p.fatal) as i32
}

impl<K: Kernel> Probe<'_, K> {
    /// kmod's log_printf(): printed when the priority passes -q/-v; a FATAL
    /// one that is printed ends the run.
    fn log(&mut self, prio: u8, e: Error) {
        if prio > self.verbose {
            return;
        }
        let level = match prio {
            CRIT => "FATAL",
            ERR => "ERROR",
            _ => "WARNING",
        };
        e.report_at(self.ctx.applet, level, &mut self.ctx.err);
        self.ctx.err.flush();
        self.fatal |= prio <= CRIT;
    }

    /// A line of -v / -n / --show-depends output, at once, so that it comes
    /// before what an install command prints.
    fn say(&mut self, parts: &[&[u8]]) {
        if self.show {
            for (i, p) in parts.iter().enumerate() {
                if i > 0 {
                    self.ctx.out.byte(b' ');
                }
                self.ctx.out.bytes(p);
            }
            self.ctx.out.byte(b'\n').flush();
        }
    }

    /// kmod_module_new_from_lookup(): the first source that knows the name
    /// gives the list.
    fn lookup(&self, given: &[u8]) -> Result<Vec<Mod>, Error> {
        // kmod's alias_normalize(): underscores() of at most PATH_MAX - 1
        // bytes, and an unclosed bracket expression names nothing.
        let Some(key) = name::alias_normalize(given) else { return Ok(Vec::new()) };
        let key = &key[..];
        let found: Vec<Mod> = self
            .cfg
            .aliases
            .iter()
            .filter(|(pattern, _)| glob::matches(pattern, key))
            .map(|(pattern, m)| Mod::new(m, Some(pattern)))
            .collect();
        if !found.is_empty() {
            return Ok(found);
        }
        if self.dir.dep(key)?.is_some() {
            return Ok(vec![Mod::new(key, None)]);
        }
        let from_index = |which, builtin| -> Result<Vec<Mod>, Error> {
            Ok(self.dir.aliases(which, key)?.iter().map(|m| Mod { builtin, ..Mod::new(m, Some(key)) }).collect())
        };
        if key.starts_with(b"symbol:") {
            let found = from_index(Aliases::Symbols, false)?;
            if !found.is_empty() {
                return Ok(found);
            }
        }
        for cmds in [&self.cfg.install, &self.cfg.remove] {
            if cmds.iter().any(|(m, _)| m == key) {
                return Ok(vec![Mod { by_cmd: true, ..Mod::new(key, None) }]);
            }
        }
        let found = from_index(Aliases::Alias, false)?;
        if !found.is_empty() {
            return Ok(found);
        }
        if self.dir.is_builtin(key) {
            return Ok(vec![Mod { builtin: true, ..Mod::new(key, None) }]);
        }
        from_index(Aliases::Builtin, true)
    }

    /// lookup(), with a damaged index reported and taken as "not found".
    fn lookup_or_report(&mut self, given: &[u8]) -> Vec<Mod> {
        self.lookup(given).unwrap_or_else(|e| {
            self.log(ERR, e);
            Vec::new()
        })
    }

    fn is_builtin(&self, m: &Mod) -> bool {
        m.builtin || self.dir.is_builtin(&m.name)
    }

    /// The module's file: its own, or the one modules.dep names.
    fn path(&self, m: &Mod) -> Option<Vec<u8>> {
        m.path.clone().or_else(|| self.dir.module_path(&m.name))
    }

    /// What it depends on, to be loaded in this order (modules.dep lists
    /// them the other way round).
    fn dependencies(&self, m: &Mod) -> Vec<Mod> {
        let deps = self.dir.dep(&m.name).ok().flatten().map(|d| d.deps).unwrap_or_default();
        deps.into_iter().rev().map(|p| Mod { path: Some(p.clone()), ..Mod::new(&name::from_path(&p), None) }).collect()
    }

    /// kmod_module_get_initstate(): built in by the index, else the
    /// `initstate` attribute; `None` when the module is not loaded. A
    /// directory without the attribute is a module "coming" to kmod.
    fn initstate(&self, m: &Mod) -> Option<sysfs::State> {
        if self.is_builtin(m) {
            return Some(sysfs::State::Builtin);
        }
        sysfs::initstate(&self.ctx.k, &m.name)
            .or_else(|| sysfs::has_dir(&self.ctx.k, &m.name).then_some(sysfs::State::Coming))
    }

    /// Whether the module is live or built in. One the kernel is still
    /// initialising for someone else is waited for, so that two modprobes
    /// racing on one module both succeed.
    fn in_kernel(&mut self, m: &Mod) -> bool {
        if self.is_builtin(m) {
            return true;
        }
        let mut waited = 0;
        let mut pause = 1;
        loop {
            match sysfs::initstate(&self.ctx.k, &m.name) {
                Some(sysfs::State::Live) => return true,
                // Only a module being loaded says so; a directory without
                // the attribute is "coming" to kmod too, but not waited for.
                Some(sysfs::State::Coming) if waited < COMING_WAIT_MS => {
                    self.ctx.k.sleep_ms(pause);
                    waited += pause;
                    pause = (pause * 2).min(100);
                }
                _ => return false,
            }
        }
    }

    /// After EBUSY: waits while the kernel is loading or removing `m` (at
    /// most COMING_WAIT_MS), `pause` growing across calls. Returns how many
    /// of delete()'s 50 tries that was worth: one when it was coming or
    /// going, or already gone from /sys (a removal's last steps: the kernel
    /// drops the directory before the module), ten when it is live (a module
    /// the kernel can never remove says EBUSY while live, every time), all
    /// when it is still coming or going.
    fn settle(&mut self, m: &Mod, pause: &mut u64) -> u32 {
        let mut waited = 0;
        loop {
            match sysfs::initstate(&self.ctx.k, &m.name) {
                Some(sysfs::State::Coming | sysfs::State::Going) if waited >= COMING_WAIT_MS => return 50,
                Some(sysfs::State::Coming | sysfs::State::Going) => {}
                Some(_) if waited == 0 => return 10,
                _ if waited > 0 => return 1,
                _ => {}
            }
            self.ctx.k.sleep_ms(*pause);
            waited += *pause;
            *pause = (*pause * 2).min(100);
        }
    }

    fn is_blacklisted(&self, m: &Mod) -> bool {
        self.cfg.blacklist.contains(&m.name)
    }

    /// The `options` lines for the module, by its name or the alias it was
    /// found through, joined by spaces.
    fn options(&self, m: &Mod) -> Option<Vec<u8>> {
        let parts: Vec<&[u8]> = self
            .cfg
            .options
            .iter()
            .filter(|(n, o)| !o.is_empty() && (*n == m.name || Some(n) == m.alias.as_ref()))
            .map(|(_, o)| &o[..])
            .collect();
        (!parts.is_empty()).then(|| parts.join(&b' '))
    }

    /// The module's install or remove command: the first whose pattern
    /// matches its name, or the one of exactly its name it was found by.
    fn command(list: &[(Vec<u8>, Vec<u8>)], m: &Mod) -> Option<Vec<u8>> {
        let exact = list.iter().find(|(n, _)| m.by_cmd && *n == m.name);
        exact.or_else(|| list.iter().find(|(n, _)| glob::matches(n, &m.name))).map(|(_, c)| c.clone())
    }

    /// The first softdep line whose pattern matches the module's name.
    fn softdep_line(&self, m: &Mod) -> Option<usize> {
        self.cfg.softdeps.iter().position(|s| glob::matches(&s.name, &m.name))
    }

    /// Softdep line `i`'s modules, each looked up in full, with kmod's
    /// messages each time (a bad name is reported for every module the
    /// line applies to).
    fn softdeps(&mut self, i: usize) -> Rc<(Vec<Mod>, Vec<Mod>)> {
        let known = self.softdep_mods[i].clone();
        let (pre, post) = (self.cfg.softdeps[i].pre.clone(), self.cfg.softdeps[i].post.clone());
        let mut clean = true;
        let mut find = |names: Vec<Vec<u8>>| {
            let mut out = Vec::new();
            for n in names {
                match underscores(&n) {
                    None => self.log(ERR, Error::Softdep(n)),
                    Some(_) if known.is_some() => {}
                    Some(_) => match self.lookup(&n) {
                        Ok(found) => out.extend(found),
                        Err(e) => {
                            clean = false;
                            self.log(ERR, e);
                        }
                    },
                }
            }
            out
        };
        let found = (find(pre), find(post));
        if let Some(known) = known {
            return known;
        }
        let found = Rc::new(found);
        if clean {
            self.softdep_mods[i] = Some(found.clone());
        }
        found
    }

    // ---- loading (kmod_module_probe_insert_module()) ----

    /// modprobe's insmod(): everything NAME resolves to, loaded.
    fn insmod(&mut self, given: &[u8], extra: Option<Vec<u8>>) -> bool {
        let list = self.lookup_or_report(given);
        if list.is_empty() {
            let e = Error::NotFoundIn { name: given.to_vec(), dir: self.dirname.clone() };
            self.log(self.log_priority, e);
            return false;
        }
        let mut ok = true;
        for m in list {
            if self.flags & RESOLVE != 0 {
                self.ctx.out.bytes(&m.name).byte(b'\n');
                continue;
            }
            if let Err(errno) = self.probe(&m, extra.as_deref()) {
                self.log(ERR, Error::ProbeInsert { name: m.name.clone(), errno });
                ok = false;
            }
            if self.fatal {
                break;
            }
        }
        ok
    }

    fn probe(&mut self, m: &Mod, extra: Option<&[u8]>) -> Result<(), Errno> {
        let first_time = self.flags & FIRST_TIME != 0;
        if !self.ignore_loaded && self.in_kernel(m) {
            return if first_time { Err(Errno::EXIST) } else { Ok(()) };
        }
        // Blacklisted: quietly nothing, as kmod (an alias always; a name
        // with -b).
        if (m.alias.is_some() || self.flags & BLACKLIST != 0) && self.is_blacklisted(m) {
            return Ok(());
        }
        self.visited.clear();
        self.required.clear();
        self.softdep_next = vec![0; self.cfg.softdeps.len()];
        let mut list = Vec::new();
        let ignore_top = self.flags & IGNORE_CMDS != 0;
        self.probe_list(m, true, ignore_top, &mut list);
        self.restarts = 5;
        'again: loop {
            for step in &list {
                let s = &step.m;
                let top = s.same(m);
                let r = if !self.ignore_loaded && self.in_kernel(s) {
                    Err(Errno::EXIST)
                } else {
                    let options = concat_options(self.options(s), if top { extra } else { None });
                    // libkmod keeps the ignorecmd mark on the module object, so
                    // it holds for every place of the module in the list. A
                    // module's softdeps, and so its mark, are the same at every
                    // place; only the top one's with -i is set apart, and last.
                    match Self::command(&self.cfg.install, s).filter(|_| !(step.ignore_cmd || top && ignore_top)) {
                        Some(cmd) => {
                            self.say(&[b"install", &cmd, &options]);
                            if self.dry_run {
                                Ok(())
                            } else {
                                self.run_install(s, &cmd, &options)
                            }
                        }
                        None => self.insert(s, &options, top),
                    }
                };
                match r {
                    Err(Errno::EXIST) if top && first_time => return r,
                    // Loaded meanwhile: what we wanted.
                    Err(Errno::EXIST) => {}
                    // A dependency went while we loaded: its turn again.
                    Err(_) if std::mem::take(&mut self.vanished) => continue 'again,
                    // Softdeps may fail; the module and its dependencies not.
                    Err(_) if self.required.iter().any(|x| x.same(s)) => return r,
                    _ => {}
                }
            }
            return Ok(());
        }
    }

    /// __kmod_module_get_probe_list(): dependencies first (each with its
    /// softdeps around it), then the module with its own.
    fn probe_list(&mut self, m: &Mod, required: bool, ignore_cmd: bool, list: &mut Vec<Step>) {
        match self.visited.binary_search_by(|v| (&v.name, &v.alias).cmp(&(&m.name, &m.alias))) {
            Ok(_) => return,
            Err(at) => self.visited.insert(at, m.clone()),
        }
        let deps = self.dependencies(m);
        if required {
            self.required.push(m.clone());
            self.required.extend(deps.iter().cloned());
        }
        for d in &deps {
            self.with_softdeps(d, list);
        }
        if ignore_cmd {
            list.push(Step { m: m.clone(), ignore_cmd: true });
        } else {
            self.with_softdeps(m, list);
        }
    }

    /// The module with the first softdep line that matches its name
    /// around it (__kmod_module_fill_softdep()).
    fn with_softdeps(&mut self, m: &Mod, list: &mut Vec<Step>) {
        let Some(i) = self.softdep_line(m) else {
            list.push(Step { m: m.clone(), ignore_cmd: false });
            return;
        };
        let found = self.softdeps(i);
        let (pre, post) = &*found;
        let ignore_cmd = !pre.is_empty() || !post.is_empty();
        // The same line gives the same modules each time (each lookup is
        // memoised, or fails the same way).
        let go = |me: &mut Self, end: usize, list: &mut Vec<Step>| {
            while me.softdep_next[i] < end {
                let at = me.softdep_next[i];
                me.softdep_next[i] += 1;
                let p = if at < pre.len() { &pre[at] } else { &post[at - pre.len()] };
                me.probe_list(p, false, false, list);
            }
        };
        go(self, pre.len(), list);
        list.push(Step { m: m.clone(), ignore_cmd });
        go(self, pre.len() + post.len(), list);
    }

    /// One module into the kernel (kmod_module_insert_module()), or what
    /// -n/-v/--show-depends print for it.
    fn insert(&mut self, m: &Mod, options: &[u8], top: bool) -> Result<(), Errno> {
        let Some(path) = self.path(m) else {
            // A built-in module or an alias without a file: kmod prints
            // only the former, and fails the load of the latter.
            if self.initstate(m) == Some(sysfs::State::Builtin) {
                self.say(&[b"builtin", &m.name]);
            }
            if self.dry_run {
                return Ok(());
            }
            self.log(ERR, Error::NoFile(m.name.clone()));
            return Err(Errno::NOENT);
        };
        self.say(&[b"insmod", &path, options]);
        if self.dry_run {
            return Ok(());
        }
        let fd = match modfile::open_module(&path) {
            Ok(fd) => fd,
            Err(e) => {
                self.log(ERR, e);
                return Err(Errno::NOENT);
            }
        };
        let mut flags = 0;
        if self.flags & (FORCE | FORCE_MODVERSION) != 0 {
            flags |= MODULE_INIT_IGNORE_MODVERSIONS;
        }
        if self.flags & (FORCE | FORCE_VERMAGIC) != 0 {
            flags |= MODULE_INIT_IGNORE_VERMAGIC;
        }
        // Parameters come from files and the command line, which cannot
        // hold a NUL in the middle of a word.
        let params = CString::new(options).unwrap_or_default();
        let log = Kmsg::open(&self.ctx.k);
        match insert::insert(self.ctx, &path, &fd, &params, flags) {
            Ok(_) => Ok(()),
            Err(Failure::File(e)) => {
                self.log(ERR, e);
                Err(Errno::NOEXEC)
            }
            Err(Failure::Kernel(errno, image)) => {
                // A modprobe -r racing this one: probe() starts over, a few
                // times, once the dust has settled.
                // - "Unknown symbol": a dependency found loaded a moment
                //   ago may have been removed since (and maybe loaded again
                //   by a third: its state now says nothing); a real unknown
                //   symbol fails the same way each time.
                // - EBUSY: the kernel refuses a module whose namesake is
                //   still on its way out (module_patient_check_exists());
                //   wait until it is gone. A module whose own init says
                //   EBUSY is tried again too, and fails the same way.
                let raced = self.restarts > 0
                    && match errno {
                        Errno::NOENT => !self.dependencies(m).is_empty(),
                        Errno::BUSY => {
                            self.settle(m, &mut 1);
                            true
                        }
                        _ => false,
                    };
                if raced {
                    self.restarts -= 1;
                    self.vanished = true;
                    return Err(errno);
                }
                if errno != Errno::EXIST && self.verbose >= ERR {
                    // Where kmod says "see dmesg": which file, what the
                    // kernel said, and a dependency cycle if there is one.
                    if !top {
                        self.ctx.report(Error::Insert { path: path.clone(), errno });
                    }
                    insert::explain(self.ctx, &path, &fd, image, errno, &log);
                    if let Some(chain) = self.cycle(m) {
                        self.log(ERR, Error::DepCycle(chain));
                    }
                }
                Err(errno)
            }
        }
    }

    /// A module that its own dependencies depend on (a hand-edited or
    /// damaged modules.dep; depmod refuses to write one).
    fn cycle(&self, m: &Mod) -> Option<Vec<Vec<u8>>> {
        let me = self.dir.dep(&m.name).ok()??;
        for d in &me.deps {
            let dn = name::from_path(d);
            if self.dir.dep(&dn).ok()??.deps.contains(&me.path) {
                return Some(vec![m.name.clone(), dn, m.name.clone()]);
            }
        }
        None
    }

    /// An install command through /bin/sh, `$CMDLINE_OPTS` replaced by the
    /// options, MODPROBE_MODULE set (libkmod's command_do()).
    fn run_install(&mut self, m: &Mod, cmd: &[u8], options: &[u8]) -> Result<(), Errno> {
        let cmd = replace(cmd, b"$CMDLINE_OPTS", options);
        match shell(&cmd, &m.name, &self.child_opts) {
            0 => Ok(()),
            code => {
                self.log(ERR, Error::InstallFailed { cmd, name: m.name.clone(), code });
                Err(Errno::INVAL)
            }
        }
    }

    // ---- removing (modprobe.c's rmmod_do_module()) ----

    fn rmmod(&mut self, given: &[u8]) -> bool {
        let list = self.lookup_or_report(given);
        if list.is_empty() {
            self.log(self.log_priority, Error::ModuleNotFound(given.to_vec()));
            return false;
        }
        for m in list {
            let holders = self.flags & HOLDERS != 0;
            if self.remove_module(&m, holders, false).is_err() {
                return false;
            }
        }
        true
    }

    /// Softdeps may go round (`a pre: b`, `b pre: a`), and kmod then
    /// recurses until its stack overflows: a module already being removed
    /// further out is left to that removal.
    fn remove_module(&mut self, m: &Mod, holders: bool, ignore_builtin: bool) -> Result<(), Errno> {
        if self.removing.iter().any(|r| r.same(m)) {
            return Ok(());
        }
        self.removing.push(m.clone());
        let r = self.remove_one(m, holders, ignore_builtin);
        self.removing.pop();
        r
    }

    fn remove_one(&mut self, m: &Mod, holders: bool, ignore_builtin: bool) -> Result<(), Errno> {
        let (mut soft, mut cmd) = (Rc::default(), None);
        if self.flags & IGNORE_CMDS == 0 {
            if let Some(i) = self.softdep_line(m) {
                soft = self.softdeps(i);
            }
            cmd = Self::command(&self.cfg.remove, m);
        }
        if cmd.is_none() && !self.ignore_loaded {
            match self.initstate(m) {
                None if self.flags & FIRST_TIME != 0 => {
                    self.log(self.log_priority, Error::NotInKernel(m.name.clone()));
                    return Err(Errno::NOENT);
                }
                None => return Ok(()),
                Some(sysfs::State::Builtin) if ignore_builtin => return Ok(()),
                Some(sysfs::State::Builtin) => {
                    self.log(self.log_priority, Error::Builtin(m.name.clone()));
                    return Err(Errno::NOENT);
                }
                _ => {}
            }
        }
        self.remove_list(&soft.1, false)?;
        if holders {
            let hs: Vec<Mod> = sysfs::holders(&self.ctx.k, &m.name).iter().map(|h| Mod::new(h, None)).collect();
            self.remove_list(&hs, true)?;
        }
        if cmd.is_none() && !self.ignore_loaded && self.wait_ms == 0 && self.refcnt(m).is_some_and(|n| n > 0) {
            self.log(self.log_priority, Error::InUseStop(m.name.clone()));
            return Err(Errno::BUSY);
        }
        match &cmd {
            None => match self.delete(m, false) {
                // Removed meanwhile by another modprobe -r, which takes the
                // dependencies along too: what was asked for, as one
                // removal would have left it.
                Err(Errno::NOENT) if self.flags & FIRST_TIME == 0 => return Ok(()),
                r => r?,
            },
            Some(c) => {
                let c = replace(c, b"$CMDLINE_OPTS", b"");
                self.say(&[b"remove", &c]);
                if !self.dry_run && shell(&c, &m.name, &self.child_opts) != 0 {
                    self.log(self.log_priority, Error::RemoveCmdFailed(m.name.clone()));
                    return Err(Errno::INVAL);
                }
            }
        }
        if cmd.is_none() {
            // What it used and nothing else uses any more; failures here
            // are not the user's concern.
            for d in self.dependencies(m) {
                if self.refcnt(&d) == Some(0) {
                    let _ = self.delete(&d, true);
                }
            }
        }
        let _ = self.remove_list(&soft.0, false);
        Ok(())
    }

    /// Removes `list` last to first; with `stop`, the first failure ends it.
    fn remove_list(&mut self, list: &[Mod], stop: bool) -> Result<(), Errno> {
        for m in list.iter().rev() {
            let r = self.remove_module(m, false, true);
            if self.fatal || (stop && r.is_err()) {
                return r.and(Err(Errno::CANCELED));
            }
        }
        Ok(())
    }

    fn refcnt(&self, m: &Mod) -> Option<i64> {
        if !name::plausible(&m.name) {
            return None;
        }
        sysfs::refcnt(&self.ctx.k, &m.name).ok()
    }

    /// delete_module(2), with -w's wait while the module is in use. One
    /// the kernel is still removing (going) or loading (coming) for someone
    /// else is waited for; one gone by then, whoever removed it, is ENOENT
    /// without a message (but with --first-time's), so that modprobes
    /// racing on one module all succeed (kmod 30 means to treat a module
    /// that vanished so, but tests for -EEXIST, which delete_module never
    /// returns, and fails). `dep`: a dependency taken along, which may be
    /// in use again by now: then it stays, quietly, as when its reference
    /// count says so.
    fn delete(&mut self, m: &Mod, dep: bool) -> Result<(), Errno> {
        self.say(&[b"rmmod", &m.name]);
        if self.dry_run {
            return Ok(());
        }
        let flags = O_NONBLOCK | if self.flags & FORCE != 0 { O_TRUNC } else { 0 };
        let cname = CString::new(m.name.clone()).map_err(|_| Errno::NOENT)?;
        let (mut waited, mut pause, mut busy, mut settle_pause) = (0, 1, 0, 1);
        loop {
            match self.ctx.k.delete_module(&cname, flags) {
                Err(Errno::AGAIN) if waited < self.wait_ms => {
                    let step = pause.min(self.wait_ms - waited);
                    self.ctx.k.sleep_ms(step);
                    waited += step;
                    pause = (pause * 2).min(1000);
                }
                Err(Errno::AGAIN) if dep => return Err(Errno::AGAIN),
                // Not live: coming or going (another modprobe at work), or
                // gone or live again by the time we look.
                Err(Errno::BUSY) if busy < 50 => busy += self.settle(m, &mut settle_pause),
                // Gone meanwhile: another removal's doing (see remove_module()).
                Err(Errno::NOENT) => {
                    if !dep && self.flags & FIRST_TIME != 0 {
                        self.log(self.log_priority, Error::NotInKernel(m.name.clone()));
                    }
                    return Err(Errno::NOENT);
                }
                Err(errno) => {
                    self.log(ERR, Error::CouldNotRemove { name: m.name.clone(), errno });
                    return Err(errno);
                }
                Ok(()) => return Ok(()),
            }
        }
    }

    // ---- queries ----

    /// `modprobe -c`: the configuration as libkmod holds it, then the
    /// alias and symbol indexes.
    fn show_config(&mut self) -> bool {
        let c = &self.cfg;
        let o = &mut self.ctx.out;
        for b in &c.blacklist {
            o.str("blacklist ").bytes(b).byte(b'\n');
        }
        for (label, list) in
            [("install ", &c.install), ("remove ", &c.remove), ("alias ", &c.aliases), ("options ", &c.options)]
        {
            for (k, v) in list {
                o.str(label).bytes(k).byte(b' ').bytes(v).byte(b'\n');
            }
        }
        for s in &c.softdeps {
            o.str("softdep ").bytes(&s.name).byte(b' ').bytes(&s.value()).byte(b'\n');
        }
        o.str("\n# End of configuration files. Dumping indexes now:\n\n");
        for which in [Aliases::Alias, Aliases::Symbols] {
            if let Err(e) = self.dir.dump(which, &mut self.ctx.out) {
                self.log(ERR, e);
                return false;
            }
        }
        true
    }

    /// `--dump-modversions FILE` (the `__versions` table a module needs)
    /// and `--show-exports FILE` (what it exports): CRC and symbol.
    fn symbols(&mut self, file: &[u8], exports: bool) -> bool {
        let what = if exports { "symbols" } else { "modversions" };
        let fail = |p: &mut Self, errno| {
            p.log(p.log_priority, Error::SymbolsOf { what, path: file.to_vec(), errno });
            false
        };
        if cpath(b"", &[file]).ok().and_then(|c| rustix::fs::stat(c.as_c_str()).ok()).is_none() {
            self.log(self.log_priority, Error::ModuleNotFound(file.to_vec()));
            return false;
        }
        let image = match modfile::load(file) {
            Ok(image) => image,
            Err(Error::Load { errno, .. }) => return fail(self, errno),
            Err(Error::NotRegular { dir: true, .. }) => return fail(self, Errno::ISDIR),
            Err(_) => return fail(self, Errno::NOEXEC),
        };
        let list: Vec<(u64, &[u8])> = match crate::module::elf::Elf::new(&image) {
            Err(errno) => return fail(self, errno),
            Ok(e) if exports => e.exports().into_iter().map(|s| (s.crc, s.name)).collect(),
            // kmod skips the leading dot of ppc64 ELFv1 function names.
            Ok(e) => {
                e.versions().into_iter().map(|(name, crc)| (crc, name.strip_prefix(b".").unwrap_or(name))).collect()
            }
        };
        // libkmod answers "none" with ENOENT.
        if list.is_empty() {
            return fail(self, Errno::NOENT);
        }
        for (crc, sym) in list {
            self.ctx.out.str("0x").bytes(&hex8(crc)).byte(b'\t').bytes(sym).byte(b'\n');
        }
        true
    }
}

/// `%08x` of a CRC (wider values in full, as printf does).
fn hex8(v: u64) -> Vec<u8> {
    let digits = (16 - v.leading_zeros() as usize / 4).max(8);
    (0..digits).rev().map(|i| b"0123456789abcdef"[(v >> (4 * i)) as usize & 15]).collect()
}

/// libkmod's module_options_concat(): configured options, a space, and the
/// command line's (the space even when there are none).
fn concat_options(configured: Option<Vec<u8>>, extra: Option<&[u8]>) -> Vec<u8> {
    match (configured, extra) {
        (Some(c), e) => [&c[..], b" ", e.unwrap_or_default()].concat(),
        (None, e) => e.unwrap_or_default().to_vec(),
    }
}

fn replace(s: &[u8], what: &[u8], with: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if s[i..].starts_with(what) {
            out.extend_from_slice(with);
            i += what.len();
        } else {
            out.push(s[i]);
            i += 1;
        }
    }
    out
}

/// system(3): `/bin/sh -c CMD` with MODPROBE_MODULE (and the options for a
/// nested modprobe) added to our environment; the exit code, or 1 when the
/// shell could not run or was killed. posix_spawn and waitpid straight from
/// the C library (musl's is a vfork-like clone, no malloc):
/// std::process would add some 40 KB of spawning machinery.
fn shell(cmd: &[u8], module: &[u8], options: &Option<Vec<u8>>) -> i32 {
    use std::ffi::{c_char, CStr};
    extern "C" {
        static environ: *const *const c_char;
        fn posix_spawn(
            pid: *mut i32,
            path: *const c_char,
            actions: *const u8,
            attr: *const u8,
            argv: *const *const c_char,
            envp: *const *const c_char,
        ) -> i32;
        fn waitpid(pid: i32, status: *mut i32, options: i32) -> i32;
    }
    let mut set = vec![[&b"MODPROBE_MODULE="[..], module].concat()];
    if let Some(o) = options {
        set.push([&b"MODPROBE_OPTIONS="[..], o].concat());
    }
    let mut env: Vec<CString> = Vec::new();
    // SAFETY: environ is the NULL-terminated array of C strings the C
    // library keeps; nothing changes it while we read it.
    unsafe {
        let mut p = environ;
        while !p.is_null() && !(*p).is_null() {
            let kv = CStr::from_ptr(*p).to_bytes();
            let key = &kv[..kv.iter().position(|&c| c == b'=').unwrap_or(kv.len()) + 1];
            if !set.iter().any(|s| s.starts_with(key)) {
                env.push(CStr::from_ptr(*p).to_owned());
            }
            p = p.add(1);
        }
    }
    env.extend(set.into_iter().filter_map(|s| CString::new(s).ok()));
    let Ok(cmd) = CString::new(cmd) else { return 1 };
    let argv = [c"sh".as_ptr(), c"-c".as_ptr(), cmd.as_ptr(), core::ptr::null()];
    let envp: Vec<*const c_char> = env.iter().map(|e| e.as_ptr()).chain([core::ptr::null()]).collect();
    // SAFETY: NULL-terminated arrays of C strings that outlive the call.
    unsafe {
        let mut pid = 0;
        if posix_spawn(
            &mut pid,
            c"/bin/sh".as_ptr(),
            core::ptr::null(),
            core::ptr::null(),
            argv.as_ptr(),
            envp.as_ptr(),
        ) != 0
        {
            return 1;
        }
        let mut status = 0;
        while waitpid(pid, &mut status, 0) < 0 {
            if rustix::io::Errno::from_raw_os_error(std::io::Error::last_os_error().raw_os_error().unwrap_or(0))
                != Errno::INTR
            {
                return 1;
            }
        }
        // WIFEXITED / WEXITSTATUS.
        if status & 0x7f == 0 {
            (status >> 8) & 0xff
        } else {
            1
        }
    }
}

/// $MODPROBE_OPTIONS in front of the arguments, split at spaces, quotes
/// grouping (kmod's prepend_options_from_env()).
fn with_env_options(args: Vec<OsString>) -> Vec<OsString> {
    let Some(env) = std::env::var_os("MODPROBE_OPTIONS") else { return args };
    let mut words: Vec<OsString> = Vec::new();
    let (mut word, mut quote, mut any) = (Vec::new(), None, false);
    for &c in env.as_encoded_bytes() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => word.push(c),
            None if c == b' ' => {
                if any {
                    words.push(OsString::from_vec(std::mem::take(&mut word)));
                }
                any = false;
            }
            None if c == b'"' || c == b'\'' => {
                quote = Some(c);
                any = true;
            }
            None => {
                word.push(c);
                any = true;
            }
        }
    }
    if any {
        words.push(OsString::from_vec(word));
    }
    words.extend(args);
    words
}
