//! Test support: a fake root tree (/proc, /sys, /dev/kmsg, /lib/modules),
//! a kernel that records the module syscalls instead of making them, and a
//! builder of small ELF module files.
#![allow(dead_code)]

use modbox::cli::ctx::Ctx;
use modbox::kernel::Kernel;
use rustix::fd::BorrowedFd;
use rustix::io::Errno;
use std::collections::VecDeque;
use std::ffi::{CStr, OsString};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// What depmod writes, in the order it renames them.
pub const DEPMOD_FILES: [&str; 10] = [
    "modules.dep",
    "modules.dep.bin",
    "modules.alias",
    "modules.alias.bin",
    "modules.softdep",
    "modules.symbols",
    "modules.symbols.bin",
    "modules.builtin.bin",
    "modules.builtin.alias.bin",
    "modules.devname",
];

pub const RELEASE: &str = "6.1.0-99-amd64";

/// A directory removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let p = std::env::temp_dir().join(format!(
            "modbox-test-{}-{}-{}",
            std::process::id(),
            tag,
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&p);
        fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    /// Writes `rel` (creating directories) with `content`.
    pub fn write(&self, rel: &str, content: &[u8]) -> PathBuf {
        let p = self.0.join(rel.trim_start_matches('/'));
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, content).unwrap();
        p
    }

    pub fn mkdir(&self, rel: &str) {
        fs::create_dir_all(self.0.join(rel.trim_start_matches('/'))).unwrap();
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

#[derive(Debug, PartialEq, Clone)]
pub enum Call {
    Finit { params: String, flags: u32 },
    Init { image: Vec<u8>, params: String },
    Delete { name: String, flags: u32 },
    Sleep(u64),
}

/// Records calls; answers with the queued results (Ok when none is left).
pub struct FakeKernel {
    pub root: TempDir,
    pub calls: Vec<Call>,
    pub finit: VecDeque<Result<(), Errno>>,
    pub init: VecDeque<Result<(), Errno>>,
    pub delete: VecDeque<Result<(), Errno>>,
    /// Kernel log records "logged" during the next finit/init call.
    pub log_on_load: Vec<String>,
    /// The files given to finit_module, by base name, in order.
    pub files: Vec<String>,
    /// Files written into the fake tree at the N-th sleep: (N, path, text).
    pub on_sleep: Vec<(usize, String, String)>,
    /// The same at the N-th finit_module call (before it answers).
    pub on_finit: Vec<(usize, String, String)>,
}

impl FakeKernel {
    pub fn new() -> FakeKernel {
        let root = TempDir::new("root");
        root.write("/dev/kmsg", b"6,1,1,-;old record that must not be shown\n");
        FakeKernel {
            root,
            calls: Vec::new(),
            finit: VecDeque::new(),
            init: VecDeque::new(),
            delete: VecDeque::new(),
            log_on_load: Vec::new(),
            files: Vec::new(),
            on_sleep: Vec::new(),
            on_finit: Vec::new(),
        }
    }

    fn log(&mut self) {
        use std::io::Write;
        let mut f = fs::OpenOptions::new().append(true).open(self.root.0.join("dev/kmsg")).unwrap();
        for (i, r) in self.log_on_load.drain(..).enumerate() {
            write!(f, "3,{},{},-;{}\n SUBSYSTEM=module\n", i + 100, i * 1000, r).unwrap();
        }
    }

    /// A loaded module as the kernel shows it in /sys/module.
    pub fn loaded(&self, name: &str, refcnt: i32, holders: &[&str]) {
        self.root.write(&format!("/sys/module/{name}/initstate"), b"live\n");
        self.root.write(&format!("/sys/module/{name}/refcnt"), format!("{refcnt}\n").as_bytes());
        self.root.mkdir(&format!("/sys/module/{name}/holders"));
        for h in holders {
            self.root.write(&format!("/sys/module/{name}/holders/{h}"), b"");
        }
    }
}

impl Kernel for FakeKernel {
    fn finit_module(&mut self, fd: BorrowedFd<'_>, params: &CStr, flags: u32) -> Result<(), Errno> {
        use std::os::fd::AsRawFd;
        let file = fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd())).unwrap_or_default();
        self.files.push(file.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default());
        self.calls.push(Call::Finit { params: params.to_str().unwrap().into(), flags });
        let n = self.calls.iter().filter(|c| matches!(c, Call::Finit { .. })).count();
        for (at, path, text) in self.on_finit.clone() {
            if at == n {
                self.root.write(&path, text.as_bytes());
            }
        }
        self.log();
        self.finit.pop_front().unwrap_or(Ok(()))
    }

    fn init_module(&mut self, image: &[u8], params: &CStr) -> Result<(), Errno> {
        self.calls.push(Call::Init { image: image.to_vec(), params: params.to_str().unwrap().into() });
        self.log();
        self.init.pop_front().unwrap_or(Ok(()))
    }

    fn delete_module(&mut self, name: &CStr, flags: u32) -> Result<(), Errno> {
        self.calls.push(Call::Delete { name: name.to_str().unwrap().into(), flags });
        self.delete.pop_front().unwrap_or(Ok(()))
    }

    fn release(&self) -> Vec<u8> {
        RELEASE.as_bytes().to_vec()
    }

    fn root(&self) -> &[u8] {
        use std::os::unix::ffi::OsStrExt;
        self.root.0.as_os_str().as_bytes()
    }

    fn sleep_ms(&mut self, ms: u64) {
        self.calls.push(Call::Sleep(ms));
        let n = self.calls.iter().filter(|c| matches!(c, Call::Sleep(_))).count();
        for (at, path, text) in self.on_sleep.clone() {
            if at == n {
                self.root.write(&path, text.as_bytes());
            }
        }
    }
}

/// A module file of a cached Debian kernel tree (initramfs/fetch-kernel),
/// e.g. `kernel/drivers/net/dummy.ko`, when one is there; the cache is
/// $MODBOX_CACHE or target/cache, as for tests/trees.rs.
pub fn cached_module(rel: &str) -> Option<PathBuf> {
    let cache = std::env::var_os("MODBOX_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/cache"))
        .join("kernels");
    for pkg in fs::read_dir(cache).ok()?.flatten() {
        for kver in fs::read_dir(pkg.path().join("lib/modules")).into_iter().flatten().flatten() {
            let p = kver.path().join(rel);
            if p.exists() {
                return Some(p);
            }
        }
    }
    None
}

/// The result of running an applet against a fake kernel.
pub struct Run {
    pub code: i32,
    pub out: String,
    pub err: String,
    pub k: FakeKernel,
}

pub fn run(
    applet: fn(&mut Ctx<FakeKernel>, Vec<OsString>) -> i32,
    name: &'static str,
    k: FakeKernel,
    args: &[&str],
) -> Run {
    let mut ctx = Ctx::buffered(k, name);
    let code = applet(&mut ctx, args.iter().map(OsString::from).collect());
    Run {
        code,
        out: String::from_utf8_lossy(&ctx.out.buf).into_owned(),
        err: String::from_utf8_lossy(&ctx.err.buf).into_owned(),
        k: ctx.k,
    }
}

/// A minimal relocatable ELF64 little-endian file with the sections modbox
/// reads: `.modinfo` (the given key=value strings) and, optionally, a
/// `__versions` section marked SHF_ALLOC.
pub fn elf_module(modinfo: &[&str], versions: bool) -> Vec<u8> {
    let mut info = Vec::new();
    for kv in modinfo {
        info.extend_from_slice(kv.as_bytes());
        info.push(0);
    }
    let shstrtab = b"\0.modinfo\0__versions\0.shstrtab\0".to_vec();
    let vers = vec![0xAAu8; 64];
    // Layout: header (64), .modinfo, __versions, .shstrtab, section headers.
    let mut data = vec![0u8; 64];
    let info_off = data.len();
    data.extend_from_slice(&info);
    let vers_off = data.len();
    data.extend_from_slice(&vers);
    let str_off = data.len();
    data.extend_from_slice(&shstrtab);
    while !data.len().is_multiple_of(8) {
        data.push(0);
    }
    let shoff = data.len();
    let sh = |name: u32, typ: u32, flags: u64, off: usize, size: usize| {
        let mut h = Vec::new();
        h.extend_from_slice(&name.to_le_bytes());
        h.extend_from_slice(&typ.to_le_bytes());
        h.extend_from_slice(&flags.to_le_bytes());
        h.extend_from_slice(&0u64.to_le_bytes()); // addr
        h.extend_from_slice(&(off as u64).to_le_bytes());
        h.extend_from_slice(&(size as u64).to_le_bytes());
        h.extend_from_slice(&0u32.to_le_bytes()); // link
        h.extend_from_slice(&0u32.to_le_bytes()); // info
        h.extend_from_slice(&1u64.to_le_bytes()); // addralign
        h.extend_from_slice(&0u64.to_le_bytes()); // entsize
        h
    };
    let mut headers = sh(0, 0, 0, 0, 0);
    headers.extend(sh(1, 1, 2, info_off, info.len())); // .modinfo PROGBITS ALLOC
    headers.extend(sh(10, 1, if versions { 2 } else { 0 }, vers_off, vers.len())); // __versions
    headers.extend(sh(21, 3, 0, str_off, shstrtab.len())); // .shstrtab STRTAB
    data.extend_from_slice(&headers);
    let mut eh = Vec::new();
    eh.extend_from_slice(b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0");
    eh.extend_from_slice(&1u16.to_le_bytes()); // ET_REL
    eh.extend_from_slice(&62u16.to_le_bytes()); // EM_X86_64
    eh.extend_from_slice(&1u32.to_le_bytes());
    eh.extend_from_slice(&0u64.to_le_bytes()); // entry
    eh.extend_from_slice(&0u64.to_le_bytes()); // phoff
    eh.extend_from_slice(&(shoff as u64).to_le_bytes());
    eh.extend_from_slice(&0u32.to_le_bytes()); // flags
    eh.extend_from_slice(&64u16.to_le_bytes()); // ehsize
    eh.extend_from_slice(&0u16.to_le_bytes()); // phentsize
    eh.extend_from_slice(&0u16.to_le_bytes()); // phnum
    eh.extend_from_slice(&64u16.to_le_bytes()); // shentsize
    eh.extend_from_slice(&4u16.to_le_bytes()); // shnum
    eh.extend_from_slice(&3u16.to_le_bytes()); // shstrndx
    data[..64].copy_from_slice(&eh);
    data
}

/// A relocatable ELF64 module with a `.modinfo` section, the symbols it
/// exports (in `__ksymtab_strings`, as modules built without modversions
/// have them) and the symbols it needs (undefined in `.symtab`; a name
/// starting with `~` is a weak reference).
pub fn elf_module_syms(modinfo: &[&str], exports: &[&str], needs: &[&str]) -> Vec<u8> {
    let strings = |list: &[&str]| {
        let mut v = vec![0u8];
        for s in list {
            v.extend_from_slice(s.trim_start_matches('~').as_bytes());
            v.push(0);
        }
        v
    };
    let mut info = Vec::new();
    for kv in modinfo {
        info.extend_from_slice(kv.as_bytes());
        info.push(0);
    }
    let ksymtab = strings(exports);
    let strtab = strings(needs);
    // Symbol 0 is the null symbol; then one undefined symbol per need.
    let mut symtab = vec![0u8; 24];
    let mut name = 1u32;
    for n in needs {
        let mut s = vec![0u8; 24];
        s[..4].copy_from_slice(&name.to_le_bytes());
        s[4] = if n.starts_with('~') { 0x20 } else { 0x10 }; // STB_WEAK / STB_GLOBAL, STT_NOTYPE
        symtab.extend_from_slice(&s);
        name += n.trim_start_matches('~').len() as u32 + 1;
    }
    let shstrtab = b"\0.modinfo\0__ksymtab_strings\0.symtab\0.strtab\0.shstrtab\0".to_vec();
    let sections: [(u32, u32, &[u8], u64); 5] =
        [(1, 1, &info, 0), (10, 1, &ksymtab, 0), (28, 2, &symtab, 24), (36, 3, &strtab, 0), (44, 3, &shstrtab, 0)];
    let mut data = vec![0u8; 64];
    let mut offs = Vec::new();
    for (_, _, bytes, _) in &sections {
        while !data.len().is_multiple_of(8) {
            data.push(0);
        }
        offs.push(data.len());
        data.extend_from_slice(bytes);
    }
    while !data.len().is_multiple_of(8) {
        data.push(0);
    }
    let shoff = data.len();
    data.extend_from_slice(&[0u8; 64]);
    for (i, (name, typ, bytes, entsize)) in sections.iter().enumerate() {
        let mut h = Vec::new();
        h.extend_from_slice(&name.to_le_bytes());
        h.extend_from_slice(&typ.to_le_bytes());
        h.extend_from_slice(&(if i == 0 { 2u64 } else { 0 }).to_le_bytes());
        h.extend_from_slice(&0u64.to_le_bytes());
        h.extend_from_slice(&(offs[i] as u64).to_le_bytes());
        h.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
        h.extend_from_slice(&(if *typ == 2 { 4u32 } else { 0 }).to_le_bytes()); // .symtab links .strtab
        h.extend_from_slice(&0u32.to_le_bytes());
        h.extend_from_slice(&1u64.to_le_bytes());
        h.extend_from_slice(&entsize.to_le_bytes());
        data.extend_from_slice(&h);
    }
    let mut eh = Vec::new();
    eh.extend_from_slice(b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0");
    eh.extend_from_slice(&1u16.to_le_bytes());
    eh.extend_from_slice(&62u16.to_le_bytes());
    eh.extend_from_slice(&1u32.to_le_bytes());
    eh.extend_from_slice(&[0u8; 16]); // entry, phoff
    eh.extend_from_slice(&(shoff as u64).to_le_bytes());
    eh.extend_from_slice(&0u32.to_le_bytes());
    eh.extend_from_slice(&64u16.to_le_bytes());
    eh.extend_from_slice(&[0u8; 4]); // phentsize, phnum
    eh.extend_from_slice(&64u16.to_le_bytes());
    eh.extend_from_slice(&6u16.to_le_bytes());
    eh.extend_from_slice(&5u16.to_le_bytes());
    data[..64].copy_from_slice(&eh);
    data
}
