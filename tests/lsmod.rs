//! lsmod against saved /proc/modules samples (tests/data/lsmod/*.txt), each
//! turned into a consistent fake /proc and /sys the way the kernel shows a
//! module in both, with `#` directives for the odd cases. The expected
//! outputs (*.expected) are what kmod 30's lsmod printed for the same trees:
//! `identical_to_kmod_on_the_same_tree` checks that again wherever kmod, root
//! and unshare(1) are at hand, and writes them with MODBOX_BLESS=1.

mod common;
use common::*;
use modbox::applets::lsmod::main as lsmod;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

fn samples() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/lsmod"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    v.sort();
    assert!(v.len() >= 4);
    v
}

/// Builds proc/modules and sys/module/* under `root` from a sample.
fn build_tree(sample: &Path, root: &TempDir) {
    let text = fs::read_to_string(sample).unwrap();
    let mut proc = String::new();
    let directives: Vec<Vec<&str>> =
        text.lines().filter_map(|l| l.strip_prefix('#')).map(|l| l.split(' ').collect()).collect();
    let has = |d: &str, name: &str| directives.iter().any(|v| v[0] == d && v[1] == name);
    root.mkdir("/sys/module");
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        proc.push_str(line);
        proc.push('\n');
        let f: Vec<&str> = line.split(' ').collect();
        let (name, size, refcnt, holders, state) = (f[0], f[1], f[2], f[3], f[4]);
        if has("no-sys", name) {
            continue;
        }
        let dir = format!("/sys/module/{name}");
        let initstate = match state {
            "Live" => "live",
            "Loading" => "coming",
            _ => "going",
        };
        root.write(&format!("{dir}/initstate"), format!("{initstate}\n").as_bytes());
        if !has("no-refcnt", name) {
            root.write(&format!("{dir}/refcnt"), format!("{refcnt}\n").as_bytes());
        }
        match directives.iter().find(|v| v[0] == "coresize" && v[1] == name) {
            Some(v) => drop(root.write(&format!("{dir}/coresize"), format!("{}\n", v[2]).as_bytes())),
            None if !has("no-coresize", name) => {
                drop(root.write(&format!("{dir}/coresize"), format!("{size}\n").as_bytes()))
            }
            None => {}
        }
        root.mkdir(&format!("{dir}/holders"));
        for h in holders.trim_end_matches(',').split(',').filter(|h| *h != "-" && *h != "[permanent]") {
            std::os::unix::fs::symlink(
                format!("../../{h}"),
                root.path().join(format!("sys/module/{name}/holders/{h}")),
            )
            .unwrap();
        }
    }
    root.write("/proc/modules", proc.as_bytes());
}

/// Holder lists in readdir order depend on the file system; compare them
/// as sets in the portable test.
fn sort_holders(text: &str) -> String {
    text.lines()
        .map(|l| match l.rsplit_once(' ') {
            Some((head, hs)) if l.len() > 33 && hs.contains(|c: char| c.is_ascii_alphabetic()) => {
                let mut v: Vec<&str> = hs.split(',').collect();
                v.sort();
                format!("{head} {}\n", v.join(","))
            }
            _ => format!("{l}\n"),
        })
        .collect()
}

#[test]
fn matches_kmod_output_for_saved_samples() {
    for s in samples() {
        let k = FakeKernel::new();
        build_tree(&s, &k.root);
        let r = run(lsmod, "lsmod", k, &[]);
        let want = fs::read_to_string(s.with_extension("expected")).unwrap();
        assert_eq!((r.code, r.err.as_str()), (0, ""), "{s:?}");
        assert_eq!(sort_holders(&r.out), sort_holders(&want), "{s:?}");
    }
}

#[test]
fn identical_to_kmod_on_the_same_tree() {
    let required = std::env::var_os("MODBOX_REQUIRE_ORACLE").is_some();
    let usable = Command::new("kmod").arg("--version").output().is_ok_and(|o| o.status.success())
        && Command::new("unshare").args(["-m", "true"]).status().is_ok_and(|s| s.success());
    if !usable {
        assert!(!required, "MODBOX_REQUIRE_ORACLE is set but kmod or unshare -m is not usable");
        eprintln!("skipping: kmod or unshare -m not usable here (tests/run installs them)");
        return;
    }
    let modbox = env!("CARGO_BIN_EXE_modbox");
    for s in samples() {
        let t = TempDir::new("oracle");
        build_tree(&s, &t);
        let p = t.path().display();
        let script = format!(
            "mount --bind {p}/proc /proc && mount --bind {p}/sys /sys && \
             kmod list > {p}/kmod.out 2> {p}/kmod.err; echo $? > {p}/kmod.rc; \
             {modbox} lsmod > {p}/modbox.out 2> {p}/modbox.err; echo $? > {p}/modbox.rc"
        );
        let st = Command::new("unshare").args(["-m", "sh", "-c", &script]).status().unwrap();
        assert!(st.success(), "{s:?}");
        let read = |n: &str| fs::read_to_string(t.path().join(n)).unwrap();
        assert_eq!(read("kmod.rc"), "0\n", "kmod failed on {s:?}: {}", read("kmod.err"));
        assert_eq!(read("modbox.out"), read("kmod.out"), "{s:?}");
        assert_eq!(read("modbox.rc"), "0\n");
        if std::env::var_os("MODBOX_BLESS").is_some() {
            fs::write(s.with_extension("expected"), read("kmod.out")).unwrap();
        }
    }
}

#[test]
fn errors_and_arguments() {
    let r = run(lsmod, "lsmod", FakeKernel::new(), &[]);
    assert_eq!(
        (r.code, r.out.as_str(), r.err.as_str()),
        (1, "", "Error: could not get list of modules: No such file or directory\n")
    );
    let r = run(lsmod, "lsmod", FakeKernel::new(), &["x"]);
    assert_eq!((r.code, r.err.as_str()), (1, "Usage: lsmod\n"));
    let r = run(lsmod, "lsmod", FakeKernel::new(), &["--help"]);
    assert_eq!(r.code, 0);
    assert!(r.out.starts_with("Usage: lsmod\n"));
}
