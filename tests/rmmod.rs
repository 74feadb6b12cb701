mod common;
use common::*;
use modbox::applets::rmmod::main as rmmod;
use modbox::kernel::{O_NONBLOCK, O_TRUNC};
use rustix::io::Errno;

fn del(name: &str, flags: u32) -> Call {
    Call::Delete { name: name.into(), flags }
}

#[test]
fn removes_an_unused_module() {
    let k = FakeKernel::new();
    k.loaded("dummy", 0, &[]);
    let r = run(rmmod, "rmmod", k, &["dummy"]);
    assert_eq!((r.code, r.out.as_str(), r.err.as_str()), (0, "", ""));
    assert_eq!(r.k.calls, vec![del("dummy", O_NONBLOCK)]);
}

#[test]
fn names_are_normalised() {
    let d = TempDir::new("rm");
    let file = d.write("lib/crc-itu-t.ko.xz", b"not read").to_str().unwrap().to_string();
    for arg in ["crc-itu-t", "crc_itu_t", "crc-itu-t.ko", "crc_itu-t.ko.zst", file.as_str()] {
        let k = FakeKernel::new();
        k.loaded("crc_itu_t", 0, &[]);
        let r = run(rmmod, "rmmod", k, &[arg]);
        assert_eq!((r.code, r.k.calls.clone()), (0, vec![del("crc_itu_t", O_NONBLOCK)]), "{arg}: {}", r.err);
    }
}

#[test]
fn refuses_like_kmod() {
    let k = FakeKernel::new();
    k.loaded("stp", 1, &["bridge"]);
    k.loaded("llc", 2, &["stp"]);
    k.loaded("busy", 3, &[]);
    k.root.mkdir("/sys/module/printk");
    k.root.write(
        "/lib/modules/6.1.0-99-amd64/modules.builtin",
        b"kernel/fs/ext4/ext4.ko\nkernel/crypto/crc32c_generic.ko\n",
    );
    k.root.write("/sys/module/nounload/initstate", b"live\n");
    let r = run(rmmod, "rmmod", k, &["stp", "nosuch", "printk", "ext4", "crc32c-generic", "busy", "nounload", "llc"]);
    assert_eq!(r.code, 1);
    assert_eq!(
        r.err,
        "rmmod: ERROR: Module stp is in use by: bridge\n\
         rmmod: ERROR: Module nosuch is not currently loaded\n\
         rmmod: ERROR: Module printk is builtin.\n\
         rmmod: ERROR: Module ext4 is builtin.\n\
         rmmod: ERROR: Module crc32c_generic is builtin.\n\
         rmmod: ERROR: Module busy is in use\n\
         rmmod: ERROR: Module unloading is not supported\n\
         rmmod: ERROR: Module llc is in use by: stp\n"
    );
    assert_eq!(r.k.calls, vec![], "nothing reaches the kernel");
}

#[test]
fn holders_are_listed_all() {
    let k = FakeKernel::new();
    k.loaded("llc", 2, &["stp", "bridge"]);
    let r = run(rmmod, "rmmod", k, &["llc"]);
    let mut names: Vec<&str> =
        r.err.trim_end().strip_prefix("rmmod: ERROR: Module llc is in use by: ").unwrap().split(' ').collect();
    names.sort();
    assert_eq!(names, ["bridge", "stp"]);
}

#[test]
fn one_failure_does_not_stop_the_others() {
    let k = FakeKernel::new();
    k.loaded("a", 0, &[]);
    k.loaded("c", 0, &[]);
    let r = run(rmmod, "rmmod", k, &["a", "b", "c"]);
    assert_eq!(r.code, 1);
    assert_eq!(r.k.calls, vec![del("a", O_NONBLOCK), del("c", O_NONBLOCK)]);
}

#[test]
fn kernel_refusal_prints_both_kmod_lines() {
    let mut k = FakeKernel::new();
    k.loaded("dummy", 0, &[]);
    k.delete.push_back(Err(Errno::BUSY));
    let r = run(rmmod, "rmmod", k, &["dummy.ko"]);
    assert_eq!(r.code, 1);
    assert_eq!(r.err, "rmmod: ERROR: could not remove 'dummy': Device or resource busy\nrmmod: ERROR: could not remove module dummy.ko: Device or resource busy\n");
}

#[test]
fn force_skips_checks_and_truncates() {
    let k = FakeKernel::new();
    k.loaded("stp", 1, &["bridge"]);
    let r = run(rmmod, "rmmod", k, &["-f", "stp"]);
    assert_eq!((r.code, r.k.calls), (0, vec![del("stp", O_NONBLOCK | O_TRUNC)]));
    // Even forced, a module that is not loaded is not asked for.
    let r = run(rmmod, "rmmod", FakeKernel::new(), &["--force", "nosuch"]);
    assert_eq!((r.code, r.k.calls.len()), (1, 0));
}

#[test]
fn wait_retries_until_the_users_are_gone() {
    let mut k = FakeKernel::new();
    k.loaded("stp", 1, &["bridge"]);
    for _ in 0..9 {
        k.delete.push_back(Err(Errno::AGAIN));
    }
    k.delete.push_back(Err(Errno::BUSY));
    let r = run(rmmod, "rmmod", k, &["-w", "-v", "stp"]);
    assert_eq!(r.code, 0, "{}", r.err);
    let sleeps: Vec<u64> =
        r.k.calls.iter().filter_map(|c| if let Call::Sleep(ms) = c { Some(*ms) } else { None }).collect();
    assert_eq!(sleeps, [10, 20, 40, 80, 160, 320, 640, 1000, 1000, 1000], "bounded exponential backoff");
    assert_eq!(r.k.calls.iter().filter(|c| matches!(c, Call::Delete { .. })).count(), 11);
    assert_eq!(r.err, "rmmod: removed stp\n");
    // Errors other than "still in use" end the wait.
    let mut k = FakeKernel::new();
    k.loaded("stp", 1, &[]);
    k.delete.push_back(Err(Errno::AGAIN));
    k.delete.push_back(Err(Errno::NOENT));
    let r = run(rmmod, "rmmod", k, &["--wait", "stp"]);
    assert_eq!(r.code, 1);
    assert!(r.err.ends_with("could not remove module stp: No such file or directory\n"), "{}", r.err);
}

#[test]
fn hostile_names_never_reach_sys_or_the_kernel() {
    let k = FakeKernel::new();
    k.loaded("victim", 0, &[]);
    let long = "x".repeat(10_000);
    for arg in ["../sys/module/victim", "a/b", "", long.as_str(), "/nonexistent/victim"] {
        let k2 = FakeKernel::new();
        k2.loaded("victim", 0, &[]);
        let r = run(rmmod, "rmmod", k2, &[arg]);
        assert_eq!(r.code, 1, "{arg}");
        assert!(
            r.err.starts_with("rmmod: ERROR: Module ") && r.err.ends_with(" is not currently loaded\n"),
            "{arg}: {}",
            r.err
        );
        assert_eq!(r.err.lines().count(), 1);
        assert!(r.k.calls.is_empty());
    }
    let r = run(rmmod, "rmmod", k, &["-f", "a/b"]);
    assert!(r.k.calls.is_empty());
}

#[test]
fn argument_errors() {
    for (args, want) in [
        (&[][..], "rmmod: ERROR: missing module name.\n"),
        (&["-q"][..], "rmmod: invalid option -- 'q'\n"),
        (&["--quiet", "x"][..], "rmmod: unrecognized option '--quiet'\n"),
        (&["--force=yes", "x"][..], "rmmod: option '--force' doesn't allow an argument\n"),
    ] {
        let r = run(rmmod, "rmmod", FakeKernel::new(), args);
        assert_eq!((r.code, r.err.as_str()), (1, want), "{args:?}");
    }
    let r = run(rmmod, "rmmod", FakeKernel::new(), &["-h"]);
    assert!(r.out.starts_with("Usage: rmmod [-f] [-s] [-v] [-w] MODULE..."));
}
