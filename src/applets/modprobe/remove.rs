//! Removing (modprobe.c's rmmod_do_module()): -r, --remove-holders and
//! the dependencies left unused, waiting where the kernel is busy.

use super::messages::{BUILTIN, COULD_NOT_REMOVE, IN_USE, NOT_FOUND, NOT_IN_KERNEL, REMOVE_CMD_FAILED};
use super::{replace, Mod, Modprobe, FIRST_TIME, FORCE, HOLDERS, IGNORE_CMDS};
use crate::cli::message::Error;
use crate::kernel::{sysfs, Kernel, O_NONBLOCK, O_TRUNC};
use crate::module::name;
use crate::sys::spawn::shell;
use rustix::io::Errno;
use std::ffi::CString;
use std::rc::Rc;

impl<K: Kernel> Modprobe<'_, K> {
    pub(super) fn remove_given(&mut self, given: &[u8]) -> bool {
        let list = self.lookup_or_report(given);
        if list.is_empty() {
            self.log(Error::new(NOT_FOUND, &[given]));
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
    pub(super) fn remove_module(&mut self, m: &Mod, holders: bool, ignore_builtin: bool) -> Result<(), Errno> {
        if self.removing.iter().any(|r| r.same(m)) {
            return Ok(());
        }
        self.removing.push(m.clone());
        let r = self.remove_one(m, holders, ignore_builtin);
        self.removing.pop();
        r
    }

    pub(super) fn remove_one(&mut self, m: &Mod, holders: bool, ignore_builtin: bool) -> Result<(), Errno> {
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
                    self.log(Error::new(NOT_IN_KERNEL, &[&m.name]));
                    return Err(Errno::NOENT);
                }
                None => return Ok(()),
                Some(sysfs::State::Builtin) if ignore_builtin => return Ok(()),
                Some(sysfs::State::Builtin) => {
                    self.log(Error::new(BUILTIN, &[&m.name]));
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
            self.log(Error::new(IN_USE, &[&m.name]));
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
                    self.log(Error::new(REMOVE_CMD_FAILED, &[&m.name]));
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
    pub(super) fn remove_list(&mut self, list: &[Mod], stop: bool) -> Result<(), Errno> {
        for m in list.iter().rev() {
            let r = self.remove_module(m, false, true);
            if self.fatal || (stop && r.is_err()) {
                return r.and(Err(Errno::CANCELED));
            }
        }
        Ok(())
    }

    pub(super) fn refcnt(&self, m: &Mod) -> Option<i64> {
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
    pub(super) fn delete(&mut self, m: &Mod, dep: bool) -> Result<(), Errno> {
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
                        self.log(Error::new(NOT_IN_KERNEL, &[&m.name]));
                    }
                    return Err(Errno::NOENT);
                }
                Err(errno) => {
                    self.log(Error::errno(COULD_NOT_REMOVE, &[&m.name], errno));
                    return Err(errno);
                }
                Ok(()) => return Ok(()),
            }
        }
    }
}
