//! Loading (kmod_module_probe_insert_module()): the probe list with
//! dependencies bottom-up and softdeps around each module, install
//! commands, and each insert with its messages.

use super::messages::{DEP_CYCLE, INSERT, INSTALL_FAILED, NOT_FOUND_IN, NO_FILE};
use super::{replace, Mod, Modprobe, Step, BLACKLIST, FIRST_TIME, FORCE, FORCE_MODVERSION, FORCE_VERMAGIC};
use super::{IGNORE_CMDS, RESOLVE};
use crate::cli::message::{errno_text, num_text, Error, Level};
use crate::kernel::insert::{self, Failure};
use crate::kernel::kmsg::Kmsg;
use crate::kernel::{sysfs, Kernel, MODULE_INIT_IGNORE_MODVERSIONS, MODULE_INIT_IGNORE_VERMAGIC};
use crate::module::{modfile, name};
use crate::sys::spawn::shell;
use rustix::io::Errno;
use std::ffi::CString;

impl<K: Kernel> Modprobe<'_, K> {
    /// modprobe's insmod(): everything NAME resolves to, loaded.
    pub(super) fn load_given(&mut self, given: &[u8], extra: Option<Vec<u8>>) -> bool {
        let list = self.lookup_or_report(given);
        if list.is_empty() {
            self.log(Error::new(NOT_FOUND_IN, &[given, &self.dirname]));
            return false;
        }
        let mut ok = true;
        for m in list {
            if self.flags & RESOLVE != 0 {
                self.ctx.out.bytes(&m.name).byte(b'\n');
                continue;
            }
            if let Err(errno) = self.probe(&m, extra.as_deref()) {
                let why: &[u8] = match errno {
                    Errno::EXIST => b"Module already in kernel",
                    Errno::NOENT => b"Unknown symbol in module, or unknown parameter (see dmesg)",
                    _ => &errno_text(errno),
                };
                self.log(Error::new(INSERT, &[&m.name, why]));
                ok = false;
            }
            if self.fatal {
                break;
            }
        }
        ok
    }

    pub(super) fn probe(&mut self, m: &Mod, extra: Option<&[u8]>) -> Result<(), Errno> {
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
    pub(super) fn probe_list(&mut self, m: &Mod, required: bool, ignore_cmd: bool, list: &mut Vec<Step>) {
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
    pub(super) fn with_softdeps(&mut self, m: &Mod, list: &mut Vec<Step>) {
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
    pub(super) fn insert(&mut self, m: &Mod, options: &[u8], top: bool) -> Result<(), Errno> {
        let Some(path) = self.path(m) else {
            // A built-in module or an alias without a file: kmod prints
            // only the former, and fails the load of the latter.
            if self.initstate(m) == Some(sysfs::State::Builtin) {
                self.say(&[b"builtin", &m.name]);
            }
            if self.dry_run {
                return Ok(());
            }
            self.log(Error::new(NO_FILE, &[&m.name]));
            return Err(Errno::NOENT);
        };
        self.say(&[b"insmod", &path, options]);
        if self.dry_run {
            return Ok(());
        }
        let fd = match modfile::open_module(&path) {
            Ok(fd) => fd,
            Err(e) => {
                self.log(e);
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
                self.log(e);
                Err(Errno::NOEXEC)
            }
            Err(Failure::Kernel(errno, image)) => {
                if self.raced(m, errno) {
                    return Err(errno);
                }
                if errno != Errno::EXIST && self.shows(Level::Error) {
                    // Where kmod says "see dmesg": which file, what the
                    // kernel said, and a dependency cycle if there is one.
                    if !top {
                        self.ctx.report(insert::refused(&path, errno));
                    }
                    insert::explain(self.ctx, &path, &fd, image, errno, &log);
                    if let Some(chain) = self.cycle(m) {
                        self.log(Error::new(DEP_CYCLE, &[&chain.join(&b" -> "[..])]));
                    }
                }
                Err(errno)
            }
        }
    }

    /// Whether a failed insert may be a modprobe -r racing this one; then
    /// probe() starts over, a few times, once the dust has settled.
    /// - "Unknown symbol": a dependency found loaded a moment ago may have
    ///   been removed since (and maybe loaded again by a third: its state
    ///   now says nothing); a real unknown symbol fails the same way each
    ///   time.
    /// - EBUSY: the kernel refuses a module whose namesake is still on its
    ///   way out (module_patient_check_exists()); wait until it is gone. A
    ///   module whose own init says EBUSY is tried again too, and fails the
    ///   same way.
    fn raced(&mut self, m: &Mod, errno: Errno) -> bool {
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
        }
        raced
    }

    /// A module that its own dependencies depend on (a hand-edited or
    /// damaged modules.dep; depmod refuses to write one).
    pub(super) fn cycle(&self, m: &Mod) -> Option<Vec<Vec<u8>>> {
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
    pub(super) fn run_install(&mut self, m: &Mod, cmd: &[u8], options: &[u8]) -> Result<(), Errno> {
        let cmd = replace(cmd, b"$CMDLINE_OPTS", options);
        match shell(&cmd, &m.name, &self.child_opts) {
            0 => Ok(()),
            code => {
                self.log(Error::new(INSTALL_FAILED, &[&cmd, &m.name, &num_text(code.into())]));
                Err(Errno::INVAL)
            }
        }
    }
}

/// libkmod's module_options_concat(): configured options, a space, and the
/// command line's (the space even when there are none).
pub(super) fn concat_options(configured: Option<Vec<u8>>, extra: Option<&[u8]>) -> Vec<u8> {
    match (configured, extra) {
        (Some(c), e) => [&c[..], b" ", e.unwrap_or_default()].concat(),
        (None, e) => e.unwrap_or_default().to_vec(),
    }
}
