const USAGE: &str = "\
Usage: modinfo [-0] [-F FIELD] [-a|-d|-l|-p|-n] [-m] [-b BASEDIR] [-k KVER] MODULE|FILE...

Show what a module file says about itself (its .modinfo section and its
signature), or a module of the kernel by name, built-in ones included.

  -a, --author           only the author
  -d, --description      only the description
  -l, --license          only the license
  -p, --parameters       only the parameters
  -n, --filename         only the file name
  -F, --field=FIELD      only FIELD
  -0, --null             end each entry with a NUL, not a newline
  -m, --modname          take each argument as a module name, never a file
      --sizes            what the module costs once loaded: the bytes and pages
                         of each kind of memory the kernel lays it out in
                         (text, read-only, data; init ones are freed after
                         its init ran), from its sections (not counting the
                         kernel's copy of its symbol table)
  -b, --basedir=DIR      look in DIR/lib/modules instead of /lib/modules
  -k, --set-version=KVER look in KVER's directory instead of the running kernel's
  -h, --help             show this help
  -V, --version          show the version
";

use crate::cli::args;
use crate::cli::ctx::Ctx;
use crate::cli::message::{Error, Msg};
use crate::kernel::Kernel;
use crate::moddir::ModDir;
use crate::module::modfile;
use crate::module::name;
use crate::module::signature;
use crate::sys::file::absolute;
use rustix::fs::FileType;
use std::ffi::OsString;

crate::options! { FLAGS;
    // The fields with an option of their own, in FIELD_FLAGS's order.
    AUTHOR = 'a', "author", false;
    DESCRIPTION = 'd', "description", false;
    LICENSE = 'l', "license", false;
    PARAMETERS = 'p', "parameters", false;
    FILENAME = 'n', "filename", false;
    FIELD = 'F', "field", true;
    NULL = '0', "null", false;
    MODNAME = 'm', "modname", false;
    BASEDIR = 'b', "basedir", true;
    KVER = 'k', "set-version", true;
    // No short form: kmod has none, and a letter could clash with a later one.
    SIZES = '\u{1}', "sizes", false;
}
/// The options that pick one field: the last one given wins, as in kmod.
const MISSING: &Msg = &Msg::error("missing module or filename.");
const NOT_FOUND: &Msg = &Msg::error("Module %s not found.");
const NAME_NOT_FOUND: &Msg = &Msg::error("Module name %s not found.");
const NO_MODINFO: &Msg = &Msg::error("could not get modinfo from %s: not an ELF module with a .modinfo section");
const BAD_PARM: &Msg = &Msg::error("Found invalid \"%s=%s\": missing ':'");

const FIELD_FLAGS: [&[u8]; 5] = [b"author", b"description", b"license", b"parm", b"filename"];

struct Show<'a> {
    field: Option<&'a [u8]>,
    sep: u8,
    sizes: bool,
}

pub fn main<K: Kernel>(ctx: &mut Ctx<K>, args: Vec<OsString>) -> i32 {
    let opts = match args::parse(ctx, args, FLAGS, USAGE) {
        Ok(o) => o,
        Err(code) => return code,
    };
    let mut field = None;
    let (mut base, mut kver) = (None, None);
    for (bit, value) in &opts.seq {
        match *bit {
            FIELD => field = Some(&value[..]),
            BASEDIR => base = Some(&value[..]),
            KVER => kver = Some(&value[..]),
            b if b < FIELD => field = Some(FIELD_FLAGS[b.trailing_zeros() as usize]),
            _ => {}
        }
    }
    if opts.words.is_empty() {
        return ctx.fail(Error::new(MISSING, &[]));
    }
    let show = Show { field, sep: if opts.has(NULL) { 0 } else { b'\n' }, sizes: opts.has(SIZES) };
    // kmod: -b or -k name the directory BASEDIR/lib/modules/KVER, with the
    // running kernel's release when only -b is given.
    let dir = if base.is_some() || kver.is_some() {
        ModDir::at(base.unwrap_or_default(), &kver.map_or_else(|| ctx.k.release(), <[u8]>::to_vec))
    } else {
        ModDir::running(&ctx.k)
    };
    let mut failed = false;
    for word in &opts.words {
        let result = if !opts.has(MODNAME) && is_module_file(word) {
            from_file(ctx, &show, word, &absolute(word))
        } else {
            by_name(ctx, &show, &dir, word, opts.has(MODNAME))
        };
        if let Err(e) = result {
            ctx.report(e);
            failed = true;
        }
    }
    failed as i32
}

/// kmod's is_module_filename(): an existing regular file with a module
/// file name (a FIFO or a device named x.ko is looked up as a name).
fn is_module_file(word: &[u8]) -> bool {
    let regular = crate::sys::file::cpath(b"", &[word]).is_ok_and(|p| {
        rustix::fs::stat(p.as_c_str()).is_ok_and(|st| FileType::from_raw_mode(st.st_mode) == FileType::RegularFile)
    });
    regular && crate::module::modfile::has_module_ending(word)
}

fn by_name<K: Kernel>(ctx: &mut Ctx<K>, show: &Show, dir: &ModDir, word: &[u8], modname: bool) -> Result<(), Error> {
    let name = name::normalize(word);
    if name::plausible(&name) {
        if let Some(path) = dir.module_path(&name) {
            return from_file(ctx, show, &path, &path);
        }
        if let Some(strings) = dir.builtin_modinfo(&name) {
            builtin(ctx, show, &name, &strings);
            return Ok(());
        }
    }
    Err(Error::new(if modname { NAME_NOT_FOUND } else { NOT_FOUND }, &[word]))
}

fn from_file<K: Kernel>(ctx: &mut Ctx<K>, show: &Show, path: &[u8], filename: &[u8]) -> Result<(), Error> {
    if show.field == Some(b"filename") {
        // As kmod: the name alone needs no reading of the file.
        ctx.out.bytes(filename).byte(show.sep);
        return Ok(());
    }
    // modules.dep may name a directory or a device: modinfo inserts
    // nothing, so say what reading it gave.
    let image = modfile::load(path).map_err(|e| match e.is(modfile::DIRECTORY) || e.is(modfile::NOT_REGULAR) {
        true => e.reworded(modfile::LOAD),
        false => e,
    })?;
    let info = modfile::modinfo_section(&image).ok_or_else(|| Error::new(NO_MODINFO, &[path]))?;
    if show.sizes {
        let sizes = modfile::layout(&image).ok_or_else(|| Error::new(NO_MODINFO, &[path]))?;
        print_sizes(ctx, show.sep, filename, &sizes);
        return Ok(());
    }
    let mut entries: Vec<(&[u8], Vec<u8>)> = modfile::modinfo_strings(info).map(split_kv).collect();
    if let Some(sig) = signature::parse(&image) {
        let mut key_id = Vec::new();
        signature::hex(sig.key_id, &mut key_id);
        let mut sig_hex = Vec::new();
        signature::hex(sig.sig, &mut sig_hex);
        entries.push((b"sig_id", sig.id_type.as_bytes().to_vec()));
        entries.push((b"signer", sig.signer.to_vec()));
        entries.push((b"sig_key", key_id));
        entries.push((b"sig_hashalgo", sig.hash_algo.as_bytes().to_vec()));
        entries.push((b"signature", sig_hex));
    }
    print(ctx, show, filename, &entries);
    Ok(())
}

fn builtin<K: Kernel>(ctx: &mut Ctx<K>, show: &Show, name: &[u8], strings: &[Vec<u8>]) {
    match show.field {
        None => drop(ctx.out.pad(b"name:", 16).bytes(name).byte(show.sep)),
        Some(b"name") => drop(ctx.out.bytes(name).byte(show.sep)),
        Some(_) => {}
    }
    let entries: Vec<(&[u8], Vec<u8>)> = strings.iter().map(|s| split_kv(s)).collect();
    print(ctx, show, b"(builtin)", &entries);
}

/// `modinfo --sizes`: each memory type, then what stays and what goes.
fn print_sizes<K: Kernel>(ctx: &mut Ctx<K>, sep: u8, filename: &[u8], sizes: &[u64; 7]) {
    let out = &mut ctx.out;
    out.pad(b"filename:", 16).bytes(filename).byte(sep);
    let pages = |n: u64| n.div_ceil(4096);
    let line = |out: &mut crate::sys::out::Out, key: &str, bytes: u64, pages: u64, tail: &str| {
        out.pad(key.as_bytes(), 16)
            .num(bytes as i64)
            .str(" bytes, ")
            .num(pages as i64)
            .str(if pages == 1 { " page" } else { " pages" })
            .str(tail)
            .byte(sep);
    };
    let mut core = (0, 0);
    let mut init = (0, 0);
    for (i, &n) in sizes.iter().enumerate() {
        let mut key = modfile::MEM_TYPES[i].as_bytes().to_vec();
        key.push(b':');
        line(out, std::str::from_utf8(&key).unwrap_or_default(), n, pages(n), "");
        let total = if i < 4 { &mut core } else { &mut init };
        total.0 += n;
        total.1 += pages(n);
    }
    line(out, "core:", core.0, core.1, ", kept while the module is loaded");
    line(out, "init:", init.0, init.1, ", freed once its init function has run");
}

/// `key=value`; a string without `=` is a key with an empty value.
fn split_kv(s: &[u8]) -> (&[u8], Vec<u8>) {
    match s.iter().position(|&c| c == b'=') {
        Some(eq) => (&s[..eq], s[eq + 1..].to_vec()),
        None => (s, Vec::new()),
    }
}

/// kmod's modinfo_do(): `filename:` first, then every entry in file order
/// with the key padded to 16 columns, then the parameters, each `parm` and
/// `parmtype` of one name merged into one line.
fn print<K: Kernel>(ctx: &mut Ctx<K>, show: &Show, filename: &[u8], entries: &[(&[u8], Vec<u8>)]) {
    let out = &mut ctx.out;
    let sep = show.sep;
    match show.field {
        Some(b"filename") => {
            out.bytes(filename).byte(sep);
            return;
        }
        None => drop(out.pad(b"filename:", 16).bytes(filename).byte(sep)),
        Some(_) => {}
    }
    let params = params(&mut ctx.err, entries);
    let out = &mut ctx.out;
    match show.field {
        Some(b"parm") => {
            for p in &params {
                match (p.1, p.2) {
                    (None, t) => out.bytes(p.0).str(": (").bytes(t.unwrap_or_default()).byte(b')'),
                    (Some(d), Some(t)) => out.bytes(p.0).byte(b':').bytes(d).str(" (").bytes(t).byte(b')'),
                    (Some(d), None) => out.bytes(p.0).byte(b':').bytes(d),
                }
                .byte(sep);
            }
        }
        Some(f) => {
            for (k, v) in entries {
                if *k == f {
                    out.bytes(v).byte(sep);
                }
            }
        }
        None => {
            for (k, v) in entries {
                if *k == b"parm" || *k == b"parmtype" {
                    continue;
                }
                if sep == 0 {
                    out.bytes(k).byte(b'=').bytes(v).byte(0);
                    continue;
                }
                // printf("%s:%-*s", key, 15 - keylen, ""): a negative width
                // pads too, so a key longer than 15 still gets spaces.
                out.bytes(k).byte(b':');
                for _ in 0..(15 - k.len() as isize).unsigned_abs() {
                    out.byte(b' ');
                }
                out.bytes(v).byte(sep);
            }
            for p in &params {
                out.pad(b"parm:", 16).bytes(p.0).byte(b':');
                match (p.1, p.2) {
                    (None, t) => out.bytes(t.unwrap_or_default()),
                    (Some(d), Some(t)) => out.bytes(d).str(" (").bytes(t).byte(b')'),
                    (Some(d), None) => out.bytes(d),
                }
                .byte(sep);
            }
        }
    }
}

/// A parameter: name, description (`parm=name:text`), type
/// (`parmtype=name:type`).
type Param<'a> = (&'a [u8], Option<&'a [u8]>, Option<&'a [u8]>);

/// kmod's process_parm(): a parameter seen first is put at the front of
/// the list, so they come out in reverse order of first mention.
fn params<'a>(err: &mut crate::sys::out::Out, entries: &'a [(&'a [u8], Vec<u8>)]) -> Vec<Param<'a>> {
    let mut list: Vec<Param> = Vec::new();
    for (k, v) in entries {
        let is_type = match *k {
            b"parm" => false,
            b"parmtype" => true,
            _ => continue,
        };
        let Some(colon) = v.iter().position(|&c| c == b':') else {
            BAD_PARM.print(err, "modinfo", &[k, v], None);
            continue;
        };
        let (name, text) = (&v[..colon], &v[colon + 1..]);
        let i = match list.iter().position(|p| p.0 == name) {
            Some(i) => i,
            None => {
                list.insert(0, (name, None, None));
                0
            }
        };
        if is_type {
            list[i].2 = Some(text);
        } else {
            list[i].1 = Some(text);
        }
    }
    list
}
