//! The multicall front: which applet runs is the basename of argv[0]
//! (`insmod` through a link), or the first argument after `modbox`.

use crate::applets::{Applet, APPLETS, VERSION};
use crate::cli::ctx::Ctx;
use crate::cli::message::Msg;
use crate::kernel::Linux;
use crate::sys::out::{Out, Sink};
use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};

const USAGE: &str = "\
Usage: modbox APPLET [ARGS]...
   or: APPLET [ARGS]...   (through a link named after the applet)
   or: modbox --list
   or: modbox --install [-s] DIR

Linux kernel-module tools in one binary. --install makes a link in DIR
for every applet: hard links, or symbolic links with -s.

Applets:
";

const UNKNOWN_APPLET: &Msg = &Msg::plain("applet not found: %s");
const APPLET_LIST: &Msg = &Msg::plain("the applets of this build are:%s");
const INSTALL_USAGE: &Msg = &Msg::error("usage: modbox --install [-s] DIR");
const NO_EXE: &Msg = &Msg::error("cannot find this binary through /proc/self/exe: %m");
const LINK: &Msg = &Msg::error("cannot create %s: %m");

/// Runs the applet that `args` (argv, with argv[0]) asks for.
pub fn main(mut args: Vec<OsString>) -> i32 {
    let argv0 = if args.is_empty() { Vec::new() } else { args.remove(0).into_vec() };
    if let Some(applet) = find(basename(&argv0)) {
        return run(applet, args);
    }
    let mut out = Out::new(Sink::Fd(1));
    let mut err = Out::new(Sink::Fd(2));
    let code = match args.first().map(|a| a.as_bytes()) {
        None | Some(b"--help" | b"-h") => {
            out.str(USAGE);
            list(&mut out, b"  ");
            args.is_empty() as i32
        }
        Some(b"--list") => {
            list(&mut out, b"");
            0
        }
        Some(b"--version") => {
            out.str(VERSION);
            0
        }
        Some(b"--install") => install(&args[1..], &mut out, &mut err),
        Some(name) => match find(name) {
            Some(applet) => {
                args.remove(0);
                return run(applet, args);
            }
            None => {
                UNKNOWN_APPLET.print(&mut err, "modbox", &[name], None);
                let mut names = Vec::new();
                for (n, _) in APPLETS {
                    names.push(b' ');
                    names.extend_from_slice(n.as_bytes());
                }
                APPLET_LIST.print(&mut err, "modbox", &[&names], None);
                1
            }
        },
    };
    out.flush();
    err.flush();
    code
}

fn basename(path: &[u8]) -> &[u8] {
    path.rsplit(|&c| c == b'/').next().unwrap_or(path)
}

fn find(name: &[u8]) -> Option<(&'static str, Applet)> {
    APPLETS.iter().find(|(n, _)| n.as_bytes() == name).copied()
}

fn run((name, applet): (&'static str, Applet), args: Vec<OsString>) -> i32 {
    let mut ctx = Ctx::new(Linux, name);
    let code = applet(&mut ctx, args);
    ctx.flush();
    code
}

fn list(out: &mut Out, indent: &[u8]) {
    for (n, _) in APPLETS {
        out.bytes(indent).str(n).byte(b'\n');
    }
}

/// `--install [-s] DIR`: one link a applet, pointing at this binary. When
/// DIR is the binary's own directory the symbolic links are relative
/// (`insmod -> modbox`), so the tree can be moved, as into an initramfs.
fn install(args: &[OsString], out: &mut Out, err: &mut Out) -> i32 {
    let (symbolic, dir) = match args {
        [s, dir] if s == "-s" => (true, dir.as_bytes()),
        [dir] if dir != "-s" => (false, dir.as_bytes()),
        _ => {
            INSTALL_USAGE.print(err, "modbox", &[], None);
            return 1;
        }
    };
    let exe = match rustix::fs::readlink("/proc/self/exe", Vec::new()) {
        Ok(p) => p.into_bytes(),
        Err(errno) => {
            NO_EXE.print(err, "modbox", &[], Some(errno));
            return 1;
        }
    };
    // Relative when DIR/NAME is this very binary (same inode).
    let mut beside = dir.to_vec();
    beside.push(b'/');
    beside.extend_from_slice(basename(&exe));
    let same = |p: &[u8]| {
        crate::sys::file::cpath(b"", &[p])
            .ok()
            .and_then(|c| rustix::fs::stat(c.as_c_str()).ok())
            .map(|st| (st.st_dev, st.st_ino))
    };
    let here = same(&beside);
    let target = if symbolic && here.is_some() && here == same(&exe) { basename(&exe).to_vec() } else { exe.clone() };
    let (Ok(target_c), Ok(exe_c)) = (crate::sys::file::cpath(b"", &[&target]), crate::sys::file::cpath(b"", &[&exe]))
    else {
        return 1;
    };
    let mut code = 0;
    for (name, _) in APPLETS {
        let mut link = dir.to_vec();
        if !link.ends_with(b"/") {
            link.push(b'/');
        }
        link.extend_from_slice(name.as_bytes());
        let made = match crate::sys::file::cpath(b"", &[&link]) {
            Ok(l) if symbolic => rustix::fs::symlink(target_c.as_c_str(), l.as_c_str()),
            Ok(l) => rustix::fs::link(exe_c.as_c_str(), l.as_c_str()),
            Err(e) => Err(e),
        };
        match made {
            Ok(()) => {
                out.bytes(&link)
                    .str(if symbolic { " -> " } else { " => " })
                    .bytes(if symbolic { &target } else { &exe })
                    .byte(b'\n');
            }
            Err(errno) => {
                LINK.print(err, "modbox", &[&link], Some(errno));
                code = 1;
            }
        }
    }
    code
}
