//! What each fuzz target checks, one function a target. The targets in
//! fuzz_targets/ only call these; tests/fuzz_regressions.rs runs them on
//! every input kept in fuzz/regressions/, in the normal test suite.
//!
//! Beyond "no panic, no hang, bounded memory", three targets compare with
//! an oracle: the index writer with the reader (round trip), alias globs
//! with glibc's fnmatch() and depmod.d version patterns with glibc's
//! regexec(), which are what kmod calls.

use modbox::cli::ctx::Ctx;
use modbox::kernel::Kernel;
use modbox::moddir::{Aliases, ModDir};
use modbox::sys::out::{Out, Sink};
use std::ffi::{c_char, c_int, c_void, CStr, CString, OsString};
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Parts of one input that stand for several files: this 4-byte marker
/// separates them (seeds are made with it, see fuzz/seed).
pub const SEP: &[u8] = b"\xff\xfe\xfd\xfc";

pub fn parts(data: &[u8], n: usize) -> Vec<&[u8]> {
    let mut out = Vec::with_capacity(n);
    let mut rest = data;
    while out.len() + 1 < n {
        match rest.windows(SEP.len()).position(|w| w == SEP) {
            Some(i) => {
                out.push(&rest[..i]);
                rest = &rest[i + SEP.len()..];
            }
            None => break,
        }
    }
    out.push(rest);
    out.resize(n, &[]);
    out
}

/// A directory of this process's own, made once (fuzzers run one process
/// per job, so jobs do not share files).
fn scratch() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let d = std::env::temp_dir().join(format!("modbox-fuzz-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).expect("scratch dir");
        d
    })
}

fn put(rel: &str, data: &[u8]) -> PathBuf {
    let p = scratch().join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, data).unwrap();
    p
}

/// A kernel that loads nothing: applets run against the scratch tree.
struct NoKernel(Vec<u8>);

impl Kernel for NoKernel {
    fn finit_module(&mut self, _: rustix::fd::BorrowedFd<'_>, _: &CStr, _: u32) -> Result<(), rustix::io::Errno> {
        Err(rustix::io::Errno::PERM)
    }
    fn init_module(&mut self, _: &[u8], _: &CStr) -> Result<(), rustix::io::Errno> {
        Err(rustix::io::Errno::PERM)
    }
    fn delete_module(&mut self, _: &CStr, _: u32) -> Result<(), rustix::io::Errno> {
        Err(rustix::io::Errno::PERM)
    }
    fn release(&self) -> Vec<u8> {
        b"0.0-fuzz".to_vec()
    }
    fn root(&self) -> &[u8] {
        &self.0
    }
    fn sleep_ms(&mut self, _: u64) {}
}

fn applet(
    main: fn(&mut Ctx<NoKernel>, Vec<OsString>) -> i32,
    name: &'static str,
    args: &[&str],
) -> (i32, Vec<u8>, Vec<u8>) {
    let root = scratch().to_str().unwrap().as_bytes().to_vec();
    let mut ctx = Ctx::buffered(NoKernel(root), name);
    let code = main(&mut ctx, args.iter().map(OsString::from).collect());
    (code, std::mem::take(&mut ctx.out.buf), std::mem::take(&mut ctx.err.buf))
}

/// An applet's failure is one or more messages naming it; success or
/// failure, it never panics (the fuzzer catches that) and never stays
/// silent about a failure.
fn check_failure(name: &str, (code, _, err): &(i32, Vec<u8>, Vec<u8>)) {
    if *code != 0 {
        assert!(
            err.starts_with(name.as_bytes()),
            "{name} failed with no message of its own: {}",
            String::from_utf8_lossy(err)
        );
    }
}

pub fn modinfo(data: &[u8]) {
    let p = put("m.ko", data);
    let r = applet(modbox::applets::modinfo::main, "modinfo", &[p.to_str().unwrap()]);
    check_failure("modinfo", &r);
}

pub fn elf(data: &[u8]) {
    use modbox::module::modfile;
    if let Ok(e) = modbox::module::elf::Elf::new(data) {
        let _ = e.strings(b".modinfo");
        let _ = e.exports();
        let _ = e.needs();
        let _ = e.versions();
    }
    if let Some(mi) = modfile::modinfo_section(data) {
        let _ = modfile::modinfo_strings(mi).count();
        let _ = modfile::modinfo_value(mi, b"vermagic");
    }
    let _ = modfile::layout(data);
    let _ = modfile::compression(data);
    if let Some(sig) = modbox::module::signature::parse(data) {
        let mut hex = Vec::new();
        modbox::module::signature::hex(sig.key_id, &mut hex);
        // `XX:` a byte, the last without `:`, and a `\n\t\t` after every 20th.
        let n = sig.key_id.len();
        assert_eq!(hex.len(), if n == 0 { 0 } else { 3 * n - 1 + 3 * ((n - 1) / 20) });
    }
    // --force edits a copy in place; it must keep the length.
    for vermagic in [false, true] {
        let mut copy = data.to_vec();
        modfile::strip_for_force(&mut copy, modfile::Force { modversions: true, vermagic });
        assert_eq!(copy.len(), data.len());
    }
}

fn decompress(format: &'static str, data: &[u8]) {
    if let Ok(out) = modbox::module::decompress::decompress(format, data) {
        assert!(out.len() <= modbox::module::decompress::MAX_OUTPUT);
    }
}

pub fn gzip(data: &[u8]) {
    decompress("gzip", data)
}
pub fn xz(data: &[u8]) {
    decompress("xz", data)
}
pub fn zstd(data: &[u8]) {
    decompress("zstd", data)
}

/// Input: the key (up to the first NUL), then the index file.
pub fn index(data: &[u8]) {
    let (key, file) = match data.iter().position(|&c| c == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &data[..0]),
    };
    if let Ok(idx) = modbox::moddir::index::Index::new(file) {
        let _ = idx.get(key);
        let _ = idx.search_wild(key);
        if let Ok(all) = idx.dump() {
            // Everything dumped can be found again by exact lookup.
            for (k, values) in all.iter().take(64) {
                if !values.is_empty() && !k.contains(&0) {
                    assert!(matches!(idx.get(k), Ok(Some(_))), "dumped key {k:?} not found");
                }
            }
        }
    }
}

/// Input: lines `key\tvalue\tpriority`; the file written for them reads
/// back with every key's values in kmod's order (by priority, the later
/// of equal priority first).
pub fn index_roundtrip(data: &[u8]) {
    use std::collections::BTreeMap;
    let mut w = modbox::moddir::index::Writer::default();
    let mut model: BTreeMap<Vec<u8>, Vec<(u32, Vec<u8>)>> = BTreeMap::new();
    for line in data.split(|&c| c == b'\n').take(256) {
        let mut f = line.splitn(3, |&c| c == b'\t');
        let (Some(k), Some(v)) = (f.next(), f.next()) else { continue };
        // Keys and values are C strings in the file.
        if k.contains(&0) || v.contains(&0) {
            continue;
        }
        let prio = f.next().map_or(0, |p| p.iter().fold(0u32, |n, &c| n.wrapping_mul(31).wrapping_add(c as u32)) % 8);
        w.insert(k, v, prio);
        let vals = model.entry(k.to_vec()).or_default();
        let at = vals.iter().position(|x| x.0 >= prio).unwrap_or(vals.len());
        vals.insert(at, (prio, v.to_vec()));
    }
    let bytes = w.write();
    let idx = modbox::moddir::index::Index::new(&bytes).expect("the writer's own file reads");
    let dumped = idx.dump().expect("the writer's own file dumps");
    let got: BTreeMap<Vec<u8>, Vec<(u32, Vec<u8>)>> =
        dumped.into_iter().map(|(k, v)| (k, v.into_iter().map(|(p, v)| (p, v.to_vec())).collect())).collect();
    assert_eq!(got, model);
    for (k, vals) in &model {
        assert_eq!(idx.get(k).unwrap(), Some(&vals[0].1[..]), "key {:?}", String::from_utf8_lossy(k));
    }
}

/// Input: modules.dep, modules.alias, modules.symbols, modules.builtin,
/// modules.builtin.modinfo, a modprobe.d file and the name to look up,
/// separated by SEP. Looks the name up directly and through `modprobe
/// --show-depends`, which follows dependencies (cycles included), softdeps
/// and aliases.
pub fn moddir_text(data: &[u8]) {
    let p = parts(data, 7);
    let rel = "lib/modules/0.0-fuzz";
    let _ = std::fs::remove_dir_all(scratch().join(rel));
    for (name, body) in
        ["modules.dep", "modules.alias", "modules.symbols", "modules.builtin", "modules.builtin.modinfo"].iter().zip(&p)
    {
        put(&format!("{rel}/{name}"), body);
    }
    put("etc/modprobe.d/fuzz.conf", p[5]);
    let key = p[6];
    let dir = ModDir::at(scratch().to_str().unwrap().as_bytes(), b"0.0-fuzz");
    let norm = modbox::module::name::underscores(key);
    if let Some(k) = &norm {
        let _ = dir.dep(k);
        for a in [Aliases::Alias, Aliases::Symbols, Aliases::Builtin] {
            let _ = dir.aliases(a, k);
        }
        let _ = dir.is_builtin(k);
        let _ = dir.builtin_modinfo(k);
    }
    // A name is one argument: no NUL; lexopt would take `-x` as a flag.
    if !key.contains(&0) && !key.starts_with(b"-") {
        if let Ok(name) = std::str::from_utf8(key) {
            let r = applet(modbox::applets::modprobe::main, "modprobe", &["--show-depends", "--", name]);
            check_failure("modprobe", &r);
            let r = applet(modbox::applets::modprobe::main, "modprobe", &["-c"]);
            check_failure("modprobe", &r);
        }
    }
}

pub fn modprobe_conf(data: &[u8]) {
    let mut c = modbox::config::modprobe_d::ModprobeD::default();
    c.parse(data, b"/etc/modprobe.d/fuzz.conf");
    // A directive without its module name is a bad line, never an entry.
    for (name, _) in c.aliases.iter().chain(&c.options).chain(&c.install).chain(&c.remove) {
        assert!(!name.is_empty(), "entry without a name from {data:?}");
    }
}

pub fn cmdline(data: &[u8]) {
    let mut c = modbox::config::modprobe_d::ModprobeD::default();
    c.parse_cmdline(data);
    // A module name ends at the first `.` or blank of a word (kmod takes
    // an empty one as it comes: `.x=1` gives options for "").
    for (name, _) in &c.options {
        assert!(!name.iter().any(|c| matches!(c, b'.' | b' ' | b'\t' | b'\n')), "module name {name:?} from {data:?}");
    }
}

#[repr(C, align(16))]
struct RegexT([u8; 256]);

extern "C" {
    fn fnmatch(pattern: *const c_char, string: *const c_char, flags: c_int) -> c_int;
    fn regcomp(preg: *mut RegexT, regex: *const c_char, cflags: c_int) -> c_int;
    fn regexec(preg: *const RegexT, string: *const c_char, nmatch: usize, pmatch: *mut c_void, eflags: c_int) -> c_int;
    fn regfree(preg: *mut RegexT);
}

/// `f()` within a second of wall time: super-linear matching takes far
/// longer on the inputs that trigger it. A slow first run is tried again,
/// as a busy machine can stall any one run (seen: 1.8 s for a 59-byte
/// pattern that takes microseconds).
fn bounded<T>(what: &str, f: impl Fn() -> T) -> T {
    for _ in 0..2 {
        let t = Instant::now();
        let r = f();
        if t.elapsed() < Duration::from_secs(1) {
            return r;
        }
    }
    panic!("{what} took over a second, twice");
}

/// glibc's answer for `pattern` searched in `s`, as kmod's
/// cfg_kernel_matches() asks it; `None` when regcomp() refuses it.
pub fn glibc_regex(pattern: &[u8], s: &[u8]) -> Option<bool> {
    let (p, s) = (CString::new(pattern).ok()?, CString::new(s).ok()?);
    let mut re = RegexT([0; 256]);
    // REG_EXTENDED | REG_NOSUB.
    // SAFETY: re is larger than glibc's regex_t; both strings end in NUL.
    unsafe {
        if regcomp(&mut re, p.as_ptr(), 1 | 8) != 0 {
            return None;
        }
        let hit = regexec(&re, s.as_ptr(), 0, std::ptr::null_mut(), 0) == 0;
        regfree(&mut re);
        Some(hit)
    }
}

/// Input: a depmod.d file. Then its bytes, read as a recipe, make a
/// version pattern of the kind modbox claims to match as regexec() does,
/// and a version to search.
pub fn depmod_conf(data: &[u8]) {
    let mut c = modbox::config::depmod_d::DepmodD::default();
    let mut err = Out::new(Sink::Buffer);
    c.parse(b"/etc/depmod.d/fuzz.conf", data, b"6.1.0-41-amd64", true, &mut err);
    bounded("version pattern", || modbox::config::depmod_d::kernel_matches(data, b"6.1.0-41-amd64"));

    const ATOMS: [&str; 12] = ["6", "1", ".", "\\.", "-", "a", "m", "[0-9]", "[^.]", "[a-m]", "[]a]", "[.-]"];
    const CHARS: &[u8] = b"61.-am]";
    let (recipe, version) = data.split_at(data.len() / 2);
    let mut pattern = Vec::new();
    for (i, &b) in recipe.iter().take(24).enumerate() {
        if i == 0 && b & 0x80 != 0 {
            pattern.push(b'^');
        }
        pattern.extend_from_slice(ATOMS[(b & 0x0f) as usize % ATOMS.len()].as_bytes());
        match (b >> 4) & 7 {
            1 => pattern.push(b'*'),
            2 => pattern.push(b'+'),
            3 => pattern.push(b'?'),
            _ => {}
        }
    }
    if recipe.last().is_some_and(|&b| b & 0x80 != 0) {
        pattern.push(b'$');
    }
    let kver: Vec<u8> = version.iter().take(64).map(|&b| CHARS[b as usize % CHARS.len()]).collect();
    if let Some(want) = glibc_regex(&pattern, &kver) {
        let got = modbox::config::depmod_d::kernel_matches(&pattern, &kver);
        assert_eq!(
            got,
            want,
            "pattern {:?} on {:?}",
            String::from_utf8_lossy(&pattern),
            String::from_utf8_lossy(&kver)
        );
    }
}

/// glibc's fnmatch(pattern, s, 0), as libkmod's alias lookups call it.
pub fn glibc_fnmatch(pattern: &[u8], s: &[u8]) -> Option<bool> {
    let (p, s) = (CString::new(pattern).ok()?, CString::new(s).ok()?);
    // SAFETY: both strings end in NUL.
    Some(unsafe { fnmatch(p.as_ptr(), s.as_ptr(), 0) } == 0)
}

/// Input: pattern, NUL, text. modbox's matcher must agree with fnmatch()
/// and stay polynomial.
pub fn glob(data: &[u8]) {
    let Some(nul) = data.iter().position(|&c| c == 0) else { return };
    let (pattern, text) = (&data[..nul], &data[nul + 1..]);
    let got = bounded("glob", || modbox::moddir::glob::matches(pattern, text));
    if let Some(want) = glibc_fnmatch(pattern, text) {
        assert_eq!(got, want, "pattern {:?} on {:?}", String::from_utf8_lossy(pattern), String::from_utf8_lossy(text));
    }
    let _ = modbox::module::name::alias_normalize(pattern);
}

/// Input: /proc/modules, SEP, then the text of each listed module's
/// /sys/module/NAME/refcnt and coresize.
pub fn proc_modules(data: &[u8]) {
    let p = parts(data, 2);
    let _ = std::fs::remove_dir_all(scratch().join("sys"));
    put("proc/modules", p[0]);
    let mods = modbox::kernel::sysfs::parse_proc_modules(p[0]);
    for m in mods.iter().take(8) {
        if let Ok(name) = std::str::from_utf8(&m.name) {
            if modbox::module::name::plausible(&m.name) && !name.contains('/') {
                put(&format!("sys/module/{name}/refcnt"), p[1]);
                put(&format!("sys/module/{name}/coresize"), p[1]);
            }
        }
    }
    let r = applet(modbox::applets::lsmod::main, "lsmod", &[]);
    check_failure("lsmod", &r);
}
