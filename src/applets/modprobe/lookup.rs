//! What a name given to modprobe is: libkmod's lookups in their order
//! (modprobe.d aliases, modules.dep, `symbol:`, install commands,
//! modules.alias, built-in modules), and what the configuration and the
//! running kernel say about a module found.

use super::messages::SOFTDEP;
use super::{Mod, Modprobe, SoftdepMods, COMING_WAIT_MS};
use crate::cli::message::Error;
use crate::kernel::{sysfs, Kernel};
use crate::moddir::{glob, Aliases};
use crate::module::name::{self, underscores};
use std::rc::Rc;

impl<K: Kernel> Modprobe<'_, K> {
    /// kmod_module_new_from_lookup(): the first source that knows the name
    /// gives the list.
    pub(super) fn lookup(&self, given: &[u8]) -> Result<Vec<Mod>, Error> {
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
    pub(super) fn lookup_or_report(&mut self, given: &[u8]) -> Vec<Mod> {
        self.lookup(given).unwrap_or_else(|e| {
            self.log(e);
            Vec::new()
        })
    }

    pub(super) fn is_builtin(&self, m: &Mod) -> bool {
        m.builtin || self.dir.is_builtin(&m.name)
    }

    /// The module's file: its own, or the one modules.dep names.
    pub(super) fn path(&self, m: &Mod) -> Option<Vec<u8>> {
        m.path.clone().or_else(|| self.dir.module_path(&m.name))
    }

    /// What it depends on, to be loaded in this order (modules.dep lists
    /// them the other way round).
    pub(super) fn dependencies(&self, m: &Mod) -> Vec<Mod> {
        let deps = self.dir.dep(&m.name).ok().flatten().map(|d| d.deps).unwrap_or_default();
        deps.into_iter().rev().map(|p| Mod { path: Some(p.clone()), ..Mod::new(&name::from_path(&p), None) }).collect()
    }

    /// kmod_module_get_initstate(): built in by the index, else the
    /// `initstate` attribute; `None` when the module is not loaded. A
    /// directory without the attribute is a module "coming" to kmod.
    pub(super) fn initstate(&self, m: &Mod) -> Option<sysfs::State> {
        if self.is_builtin(m) {
            return Some(sysfs::State::Builtin);
        }
        sysfs::initstate(&self.ctx.k, &m.name)
            .or_else(|| sysfs::has_dir(&self.ctx.k, &m.name).then_some(sysfs::State::Coming))
    }

    /// Whether the module is live or built in. One the kernel is still
    /// initialising for someone else is waited for, so that two modprobes
    /// racing on one module both succeed.
    pub(super) fn in_kernel(&mut self, m: &Mod) -> bool {
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
    pub(super) fn settle(&mut self, m: &Mod, pause: &mut u64) -> u32 {
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

    pub(super) fn is_blacklisted(&self, m: &Mod) -> bool {
        self.cfg.blacklist.contains(&m.name)
    }

    /// The `options` lines for the module, by its name or the alias it was
    /// found through, joined by spaces.
    pub(super) fn options(&self, m: &Mod) -> Option<Vec<u8>> {
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
    pub(super) fn command(list: &[(Vec<u8>, Vec<u8>)], m: &Mod) -> Option<Vec<u8>> {
        let exact = list.iter().find(|(n, _)| m.by_cmd && *n == m.name);
        exact.or_else(|| list.iter().find(|(n, _)| glob::matches(n, &m.name))).map(|(_, c)| c.clone())
    }

    /// The first softdep line whose pattern matches the module's name.
    pub(super) fn softdep_line(&self, m: &Mod) -> Option<usize> {
        self.cfg.softdeps.iter().position(|s| glob::matches(&s.name, &m.name))
    }

    /// Softdep line `i`'s modules, each looked up in full, with kmod's
    /// messages each time (a bad name is reported for every module the
    /// line applies to).
    pub(super) fn softdeps(&mut self, i: usize) -> Rc<SoftdepMods> {
        let known = self.softdep_mods[i].clone();
        let (pre, post) = (self.cfg.softdeps[i].pre.clone(), self.cfg.softdeps[i].post.clone());
        let mut clean = true;
        let mut find = |names: Vec<Vec<u8>>| {
            let mut out = Vec::new();
            for n in names {
                match underscores(&n) {
                    None => self.log(Error::new(SOFTDEP, &[&n])),
                    Some(_) if known.is_some() => {}
                    Some(_) => match self.lookup(&n) {
                        Ok(found) => out.extend(found),
                        Err(e) => {
                            clean = false;
                            self.log(e);
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
}
