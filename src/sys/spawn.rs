//! Running a configuration's install or remove command: `/bin/sh -c CMD`
//! through posix_spawn(), with $MODPROBE_MODULE (and $MODPROBE_OPTIONS) set
//! as kmod sets them. posix_spawn rather than std::process::Command, which
//! brings its own machinery for pipes and error reporting.

use rustix::io::Errno;
use std::ffi::CString;

/// Runs `cmd` with `module` and `options` in the environment; its exit
/// status, or 1 when it could not run or did not exit normally.
/// system(3): `/bin/sh -c CMD` with MODPROBE_MODULE (and the options for a
/// nested modprobe) added to our environment; the exit code, or 1 when the
/// shell could not run or was killed. posix_spawn and waitpid straight from
/// the C library (musl's is a vfork-like clone, no malloc):
/// std::process would add some 40 KB of spawning machinery.
pub fn shell(cmd: &[u8], module: &[u8], options: &Option<Vec<u8>>) -> i32 {
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
