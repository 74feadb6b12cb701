//! The modes that print and load nothing: -c and --dump-modversions /
//! --show-exports.

use super::messages::{NOT_FOUND, NO_EXPORTS, NO_MODVERSIONS};
use super::Modprobe;
use crate::cli::message::Error;
use crate::kernel::Kernel;
use crate::moddir::Aliases;
use crate::module::modfile;
use crate::sys::file::cpath;
use rustix::io::Errno;

impl<K: Kernel> Modprobe<'_, K> {
    /// `modprobe -c`: the configuration as libkmod holds it, then the
    /// alias and symbol indexes.
    pub(super) fn show_config(&mut self) -> bool {
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
                self.log(e);
                return false;
            }
        }
        true
    }

    /// `--dump-modversions FILE` (the `__versions` table a module needs)
    /// and `--show-exports FILE` (what it exports): CRC and symbol.
    pub(super) fn symbols(&mut self, file: &[u8], exports: bool) -> bool {
        let msg = if exports { NO_EXPORTS } else { NO_MODVERSIONS };
        let fail = |p: &mut Self, errno| {
            p.log(Error::errno(msg, &[file], errno));
            false
        };
        if cpath(b"", &[file]).ok().and_then(|c| rustix::fs::stat(c.as_c_str()).ok()).is_none() {
            self.log(Error::new(NOT_FOUND, &[file]));
            return false;
        }
        let image = match modfile::load(file) {
            Ok(image) => image,
            Err(e) if e.is(modfile::LOAD) || e.is(modfile::DIRECTORY) => {
                return fail(self, e.errno.unwrap_or(Errno::INVAL))
            }
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
pub(super) fn hex8(v: u64) -> Vec<u8> {
    let digits = (16 - v.leading_zeros() as usize / 4).max(8);
    (0..digits).rev().map(|i| b"0123456789abcdef"[(v >> (4 * i)) as usize & 15]).collect()
}
