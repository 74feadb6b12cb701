//! What the running kernel says about loaded modules, read the way libkmod
//! reads it: the list and its order from /proc/modules, everything about one
//! module from /sys/module/NAME (libkmod-module.c).

use crate::kernel::Kernel;
use crate::sys::file::{cpath, list_dir, read_small, stat_dir};
use crate::sys::number::decimal;
use rustix::io::Errno;

#[derive(Debug, PartialEq)]
pub enum State {
    Builtin,
    Live,
    Coming,
    Going,
    NotLoaded,
}

/// A /proc/modules line: `name size refcnt holders, state address`.
pub struct ProcModule {
    pub name: Vec<u8>,
    /// The size column; `None` when it is not a number.
    pub size: Option<i64>,
}

pub fn proc_modules<K: Kernel>(k: &K) -> Result<Vec<ProcModule>, Errno> {
    Ok(parse_proc_modules(&read_small(&cpath(k.root(), &[b"/proc/modules"])?)?))
}

/// The lines of /proc/modules; any bytes at all give some list (a line
/// without fields is skipped, a size that is not a number is `None`).
pub fn parse_proc_modules(text: &[u8]) -> Vec<ProcModule> {
    let mut mods = Vec::new();
    for line in text.split(|&c| c == b'\n') {
        let mut fields = line.split(|&c| c == b' ' || c == b'\t').filter(|f| !f.is_empty());
        if let Some(name) = fields.next() {
            let size = fields.next().and_then(decimal);
            mods.push(ProcModule { name: name.to_vec(), size });
        }
    }
    mods
}

/// kmod_module_get_initstate(): built-in modules first, then the
/// `initstate` attribute. A /sys/module directory without it is a built-in
/// module with parameters (the kernel creates it at boot); kmod calls that
/// "coming" when its modules.builtin index does not list the module, but
/// loadable modules get every attribute at once, so built-in is the truth.
pub fn state<K: Kernel>(k: &K, name: &[u8]) -> State {
    if !crate::module::name::plausible(name) {
        return State::NotLoaded;
    }
    if let Some(s) = initstate(k, name) {
        return s;
    }
    if has_dir(k, name) || crate::moddir::ModDir::running(k).is_builtin(name) {
        State::Builtin
    } else {
        State::NotLoaded
    }
}

/// /sys/module/NAME/initstate: live, coming or going; `None` when the
/// file is missing or says something else, or the name cannot be a
/// module's.
pub fn initstate<K: Kernel>(k: &K, name: &[u8]) -> Option<State> {
    if !crate::module::name::plausible(name) {
        return None;
    }
    match &read_small(&cpath(k.root(), &[b"/sys/module/", name, b"/initstate"]).ok()?).ok()?[..] {
        b"live\n" => Some(State::Live),
        b"coming\n" => Some(State::Coming),
        b"going\n" => Some(State::Going),
        _ => None,
    }
}

/// Whether /sys/module/NAME is a directory.
pub fn has_dir<K: Kernel>(k: &K, name: &[u8]) -> bool {
    crate::module::name::plausible(name)
        && cpath(k.root(), &[b"/sys/module/", name]).ok().and_then(|p| stat_dir(&p)) == Some(true)
}

/// kmod_module_get_refcnt(): the `refcnt` attribute, or the errno as a
/// negative number, which kmod's lsmod prints as it is.
pub fn refcnt<K: Kernel>(k: &K, name: &[u8]) -> Result<i64, Errno> {
    read_long(&cpath(k.root(), &[b"/sys/module/", name, b"/refcnt"])?)
}

/// libkmod's read_str_long(): strtol() over the first 31 bytes, which must
/// be followed by white space (the attribute's newline).
fn read_long(path: &std::ffi::CString) -> Result<i64, Errno> {
    let text = read_small(path)?;
    let text = &text[..text.len().min(31)];
    let start = text.iter().position(|c| !c.is_ascii_whitespace()).unwrap_or(text.len());
    let num = &text[start..];
    let sign = matches!(num.first(), Some(b'-' | b'+')) as usize;
    let digits = num[sign..].iter().take_while(|c| c.is_ascii_digit()).count();
    match num.get(sign + digits) {
        Some(c) if digits > 0 && c.is_ascii_whitespace() => {
            decimal(num[..sign + digits].strip_prefix(b"+").unwrap_or(&num[..sign + digits])).ok_or(Errno::RANGE)
        }
        _ => Err(Errno::INVAL),
    }
}

/// kmod_module_get_holders(): the entries of /sys/module/NAME/holders in
/// readdir order; none when the directory cannot be read.
pub fn holders<K: Kernel>(k: &K, name: &[u8]) -> Vec<Vec<u8>> {
    cpath(k.root(), &[b"/sys/module/", name, b"/holders"]).and_then(|p| list_dir(&p)).unwrap_or_default()
}

/// kmod_module_get_size(): -ENOENT-style when /sys/module/NAME is missing,
/// the `coresize` attribute (Linux >= 3.3) when there is one, else the size
/// column of /proc/modules.
pub fn size<K: Kernel>(k: &K, m: &ProcModule) -> i64 {
    let dir = match cpath(k.root(), &[b"/sys/module/", &m.name]) {
        Ok(d) => d,
        Err(e) => return -(e.raw_os_error() as i64),
    };
    match stat_dir(&dir) {
        None => return -(Errno::NOENT.raw_os_error() as i64),
        Some(false) => return -(Errno::NOTDIR.raw_os_error() as i64),
        Some(true) => {}
    }
    if let Ok(p) = cpath(k.root(), &[b"/sys/module/", &m.name, b"/coresize"]) {
        match read_long(&p) {
            Ok(v) => return v,
            // libkmod's size is 0 when coresize exists but is not a number.
            Err(Errno::INVAL | Errno::RANGE) => return 0,
            Err(_) => {}
        }
    }
    m.size.unwrap_or(-(Errno::NOENT.raw_os_error() as i64))
}
