//! depmod on small synthetic trees, against kmod's depmod on a copy of the
//! same tree (status, stdout, stderr and every file written), and the
//! failure paths kmod has no answer for: loops, unreadable files, an output
//! directory that cannot be written.

mod common;
use common::{elf_module_syms as module, TempDir};
use std::fs;
use std::path::Path;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_modbox");
const KVER: &str = "6.1.0-99-amd64";

fn kmod_present() -> bool {
    let ok = Command::new("depmod").arg("--version").output().is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var_os("MODBOX_REQUIRE_ORACLE").is_none(),
            "MODBOX_REQUIRE_ORACLE is set but kmod's depmod is missing"
        );
        eprintln!("skipping the comparison: no kmod depmod");
    }
    ok
}

/// A tree BASE/lib/modules/KVER with `files` (path below it, contents).
fn tree(files: &[(&str, Vec<u8>)]) -> TempDir {
    let t = TempDir::new("depmod");
    for (p, data) in files {
        t.write(&format!("lib/modules/{KVER}/{p}"), data);
    }
    t
}

struct Result {
    code: Option<i32>,
    out: String,
    err: String,
    files: Vec<(String, Vec<u8>)>,
}

/// Runs one tool on a copy of `t` (`{}` in args stands for the copy's base).
fn run(tool: &str, t: &TempDir, args: &[&str]) -> Result {
    let copy = TempDir::new(tool);
    assert!(Command::new("cp").arg("-a").arg(t.path().join("lib")).arg(copy.path()).status().unwrap().success());
    let base = copy.path().to_str().unwrap();
    let args: Vec<String> = args.iter().map(|a| a.replace("{}", base)).collect();
    let o = if tool == "kmod" {
        Command::new("depmod").args(&args).output()
    } else {
        Command::new(BIN).arg("depmod").args(&args).output()
    }
    .unwrap();
    let mut files: Vec<(String, Vec<u8>)> = fs::read_dir(copy.path().join("lib/modules").join(KVER))
        .map(|d| {
            d.flatten()
                .filter(|e| e.file_type().unwrap().is_file())
                .map(|e| (e.file_name().into_string().unwrap(), fs::read(e.path()).unwrap()))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    let clean = |b: &[u8]| String::from_utf8_lossy(b).replace(base, "BASE");
    Result { code: o.status.code(), out: clean(&o.stdout), err: clean(&o.stderr), files }
}

/// modbox and kmod agree on `t` with `args`; returns modbox's result.
fn same(t: &TempDir, args: &[&str]) -> Result {
    let ours = run("modbox", t, args);
    if kmod_present() {
        let theirs = run("kmod", t, args);
        assert_eq!(
            (ours.code, &ours.out, &ours.err),
            (theirs.code, &theirs.out, &theirs.err),
            "depmod {args:?}: status, stdout, stderr"
        );
        let names = |r: &Result| r.files.iter().map(|f| f.0.clone()).collect::<Vec<_>>();
        assert_eq!(names(&ours), names(&theirs), "depmod {args:?}: files written");
        for (a, b) in ours.files.iter().zip(&theirs.files) {
            assert!(
                a.1 == b.1,
                "depmod {args:?}: {} differs:\n--- modbox\n{}\n--- kmod\n{}",
                a.0,
                String::from_utf8_lossy(&a.1),
                String::from_utf8_lossy(&b.1)
            );
        }
    }
    ours
}

fn file<'a>(r: &'a Result, name: &str) -> &'a str {
    std::str::from_utf8(&r.files.iter().find(|f| f.0 == name).unwrap_or_else(|| panic!("no {name}")).1).unwrap()
}

/// A small tree: a chain c -> b -> a of symbol users, aliases, a softdep, a
/// device node, and a module outside modules.order.
fn chain() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        (
            "kernel/lib/a.ko",
            module(
                &["alias=pci:v00001234d*", "alias=char-major-10-200", "alias=devname:foo", "name=a"],
                &["a_fn", "a_other"],
                &[],
            ),
        ),
        ("kernel/lib/b-two.ko", module(&["alias=fs-b[x-z]", "softdep=pre: a"], &["b_fn"], &["a_fn", "printk"])),
        ("kernel/drivers/c.ko", module(&["alias=c-alias"], &[], &["b_fn", "a_other", "~weak_one"])),
        ("kernel/drivers/d.ko", module(&["alias=devname:lonely"], &["d_fn"], &[])),
        ("extra/e.ko", module(&[], &[], &["d_fn"])),
    ]
}

#[test]
fn chain_with_and_without_modules_order() {
    let t = tree(&chain());
    let r = same(&t, &["-b", "{}", KVER]);
    assert_eq!(r.code, Some(0));
    assert!(file(&r, "modules.dep").contains("kernel/drivers/c.ko: kernel/lib/b-two.ko kernel/lib/a.ko\n"));
    assert_eq!(file(&r, "modules.devname"), "# Device nodes to trigger on-demand module loading.\na foo c10:200\n");
    t.write(
        &format!("lib/modules/{KVER}/modules.order"),
        b"kernel/drivers/c.ko\nkernel/lib/b-two.ko\nkernel/lib/a.ko\nkernel/drivers/d.ko\n",
    );
    same(&t, &["-b", "{}", KVER]);
    // A last line without its newline: kmod ignores the whole file.
    t.write(&format!("lib/modules/{KVER}/modules.order"), b"kernel/lib/a.ko\nkernel/drivers/c.ko");
    same(&t, &["-b", "{}", KVER]);
    // NULs: a line starting with one is empty to kmod, one inside a line
    // makes it a line without its newline.
    t.write(&format!("lib/modules/{KVER}/modules.order"), b"kernel/drivers/d.ko\n\0junk\nkernel/lib/a.ko\n");
    same(&t, &["-b", "{}", KVER]);
    t.write(&format!("lib/modules/{KVER}/modules.order"), b"kernel/drivers/d.ko\nkernel/lib/a\0.ko\n");
    same(&t, &["-b", "{}", KVER]);
}

#[test]
fn show_verbose_warn_and_files() {
    let t = tree(&chain());
    let r = same(&t, &["-n", "-b", "{}", KVER]);
    assert!(r.out.starts_with("kernel/"), "{}", r.out);
    assert!(r.files.is_empty());
    same(&t, &["-v", "-w", "-b", "{}", KVER]);
    same(
        &t,
        &[
            "-b",
            "{}",
            KVER,
            "{}/lib/modules/6.1.0-99-amd64/kernel/lib/a.ko",
            "{}/lib/modules/6.1.0-99-amd64/kernel/lib/b-two.ko",
        ],
    );
    same(&t, &["-b", "{}", KVER, "relative/x.ko"]);
    // Two files of one name: kmod's library logs a line of its own first.
    let two = run(
        "modbox",
        &t,
        &[
            "-b",
            "{}",
            KVER,
            "{}/lib/modules/6.1.0-99-amd64/kernel/lib/a.ko",
            "{}/lib/modules/6.1.0-99-amd64/kernel/lib/a.ko",
        ],
    );
    assert_eq!(
        (two.code, two.err.lines().last()),
        (
            Some(1),
            Some("depmod: FATAL: could not add module BASE/lib/modules/6.1.0-99-amd64/kernel/lib/a.ko: File exists")
        )
    );
    t.write(&format!("lib/modules/{KVER}/extra/a.ko"), &module(&[], &[], &[]));
    let two = run(
        "modbox",
        &t,
        &[
            "-b",
            "{}",
            KVER,
            "{}/lib/modules/6.1.0-99-amd64/kernel/lib/a.ko",
            "{}/lib/modules/6.1.0-99-amd64/extra/a.ko",
        ],
    );
    assert_eq!(
        (two.code, two.err.lines().last()),
        (
            Some(1),
            Some("depmod: FATAL: could not create module BASE/lib/modules/6.1.0-99-amd64/extra/a.ko: File exists")
        )
    );
    same(&t, &["-b", "{}", "notaversion"]);
    same(&t, &["--frobnicate"]);
    same(&t, &["-Z"]);
    same(&t, &["-P", "xy", "-b", "{}", KVER]);
}

#[test]
fn unknown_symbols_with_system_map() {
    let mut files = chain();
    files.push(("kernel/needy.ko", module(&[], &[], &["nowhere_fn", "~weak_nowhere", "printk"])));
    let t = tree(&files);
    t.write("System.map", b"ffffffff81000000 T printk\nffffffff82000000 r __ksymtab_printk\nbadline\n");
    t.write("Module.symvers", b"0x12345678\tprintk\tvmlinux\tEXPORT_SYMBOL\n0x1\tshort\tvmlinux\n");
    let map = t.path().join("System.map");
    let symvers = t.path().join("Module.symvers");
    let (map, symvers) = (map.to_str().unwrap(), symvers.to_str().unwrap());
    let r = same(&t, &["-e", "-F", map, "-b", "{}", KVER]);
    assert!(r.err.contains("kernel/needy.ko needs unknown symbol nowhere_fn\n"), "{}", r.err);
    assert!(!r.err.contains("weak_nowhere"), "{}", r.err);
    same(&t, &["-e", "-E", symvers, "-b", "{}", KVER]);
    same(&t, &["-e", "-E", symvers, "-F", map, "-b", "{}", KVER]);
    same(&t, &["-e", "-b", "{}", KVER]);
    same(&t, &["-F", "{}/nonexistent", "-b", "{}", KVER]);
}

#[test]
fn duplicates_and_depmod_d() {
    let mut files = chain();
    files.push(("updates/a.ko", module(&["alias=updated-a"], &["a_fn", "a_other"], &[])));
    files.push(("extra/b_two.ko", module(&["alias=extra-b"], &["b_fn"], &[])));
    files.push(("kernel/skipme/z.ko", module(&[], &[], &[])));
    files.push(("kernel/build/y.ko", module(&[], &[], &[])));
    files.push(("ext/a.ko", module(&["alias=external-a"], &["a_fn"], &[])));
    let t = tree(&files);
    let r = same(&t, &["-b", "{}", KVER]);
    assert!(file(&r, "modules.dep").contains("updates/a.ko:"), "{}", file(&r, "modules.dep"));
    let ext = t.path().join(format!("lib/modules/{KVER}/ext"));
    for conf in [
        "search extra built-in updates\n",
        "search built-in\noverride b_two * extra\nexclude skipme\n",
        "search external updates built-in\nexternal * EXT\n",
        "override a 6\\.1.* kernel/lib\n# comment\nbogus line\noverride a\ninclude x\n",
        "search updates\\\n extra\nexclude build skipme\n",
    ] {
        let conf = conf.replace("EXT", ext.to_str().unwrap());
        let c = t.write("depmod.conf", conf.as_bytes());
        // Both tools see the configuration at the same path, outside the copies.
        same(&t, &["-C", c.to_str().unwrap(), "-b", "{}", KVER]);
        let d = t.path().join("conf.d");
        fs::create_dir_all(d.join("sub.conf")).unwrap();
        fs::write(d.join("10-x.conf"), conf.as_bytes()).unwrap();
        fs::write(d.join("ignored.txt"), b"bogus\n").unwrap();
        same(&t, &["-C", d.to_str().unwrap(), "-v", "-b", "{}", KVER]);
    }
}

#[test]
fn cycles_are_reported_and_nothing_is_written() {
    let t = tree(&[
        ("kernel/x.ko", module(&[], &["x_fn"], &["y_fn"])),
        ("kernel/y.ko", module(&[], &["y_fn"], &["z_fn"])),
        ("kernel/z.ko", module(&[], &["z_fn"], &["x_fn"])),
        ("kernel/w.ko", module(&[], &[], &["x_fn"])),
        ("kernel/p.ko", module(&[], &["p_fn"], &["q_fn"])),
        ("kernel/q.ko", module(&[], &["q_fn"], &["p_fn"])),
    ]);
    let r = same(&t, &["-b", "{}", KVER]);
    assert_eq!(r.code, Some(1));
    assert!(r.err.contains("Cycle detected"), "{}", r.err);
    assert!(r.files.is_empty());
}

#[test]
fn corrupt_and_odd_modules() {
    let mut files = chain();
    files.push(("kernel/garbage.ko", b"this is not an ELF file at all".to_vec()));
    files.push(("kernel/tiny.ko", b"abc".to_vec()));
    files.push(("kernel/empty.ko", Vec::new()));
    let mut cut = module(&["alias=cut"], &["cut_fn"], &[]);
    cut.truncate(100);
    files.push(("kernel/cut.ko", cut));
    files.push(("kernel/bad.ko.xz", b"\xfd7zXZ\0 but not really xz".to_vec()));
    files.push(("kernel/weird name.ko", module(&["alias=with space", "alias"], &[], &["nowhere_fn"])));
    files.push(("modules.builtin", b"kernel/fs/ext4.ko\n/bad/line.ko\nkernel/crypto/crc32c_generic.ko\n".to_vec()));
    files.push((
        "modules.builtin.modinfo",
        b"ext4.alias=fs-ext4\0ext4.license=GPL\0crc32c_generic.alias=crypto-crc32c\0noperiod\0x.alias=a[b\0".to_vec(),
    ));
    let t = tree(&files);
    let r = same(&t, &["-b", "{}", KVER]);
    assert!(r.err.contains("garbage.ko"), "{}", r.err);
}

/// Files kmod cannot agree on byte for byte: modbox alone.
fn modbox(t: &TempDir, args: &[&str]) -> Result {
    run("modbox", t, args)
}

#[test]
fn symlink_loop_is_reported_once() {
    let t = tree(&chain());
    std::os::unix::fs::symlink("..", t.path().join(format!("lib/modules/{KVER}/kernel/lib/up"))).unwrap();
    std::os::unix::fs::symlink("self", t.path().join(format!("lib/modules/{KVER}/kernel/self"))).unwrap();
    let r = modbox(&t, &["-b", "{}", KVER]);
    assert_eq!(r.code, Some(0), "{}", r.err);
    assert!(r.err.contains("symbolic link loop"), "{}", r.err);
    assert!(r.err.contains("Too many levels of symbolic links"), "{}", r.err);
    // The same indexes as without the links.
    let plain = modbox(&tree(&chain()), &["-b", "{}", KVER]);
    assert!(r.files == plain.files);
}

#[test]
fn unreadable_module_as_an_unprivileged_user() {
    if Command::new("setpriv").arg("--help").output().is_err()
        || !String::from_utf8_lossy(&Command::new("id").arg("-u").output().unwrap().stdout).starts_with("0\n")
    {
        eprintln!("skipping: needs root and setpriv");
        return;
    }
    let t = tree(&chain());
    let dir = t.path().join(format!("lib/modules/{KVER}"));
    fs::set_permissions(dir.join("kernel/lib/a.ko"), std::os::unix::fs::PermissionsExt::from_mode(0o000)).unwrap();
    Command::new("chmod").arg("-R").arg("a+rX").arg(t.path()).status().unwrap();
    fs::set_permissions(dir.join("kernel/lib/a.ko"), std::os::unix::fs::PermissionsExt::from_mode(0o000)).unwrap();
    let base = t.path().to_str().unwrap();
    let nobody = |cmd: &[&str]| {
        Command::new("setpriv").args(["--reuid=65534", "--regid=65534", "--clear-groups"]).args(cmd).output().unwrap()
    };
    let ours = nobody(&[BIN, "depmod", "-n", "-b", base, KVER]);
    let err = String::from_utf8_lossy(&ours.stderr);
    assert!(err.contains("a.ko: Permission denied"), "{err}");
    assert_eq!(ours.status.code(), Some(0));
    if kmod_present() {
        let theirs = nobody(&["depmod", "-n", "-b", base, KVER]);
        assert_eq!(ours.stdout, theirs.stdout);
        assert_eq!(ours.status.code(), theirs.status.code());
    }
}

/// Every way a write can fail leaves the old files as they were and no
/// temporary files behind, with one error line and status 1.
#[test]
fn failed_writes_leave_the_old_index() {
    let t = tree(&chain());
    let base = t.path().to_str().unwrap().to_string();
    let dir = t.path().join(format!("lib/modules/{KVER}"));
    let listing = |d: &Path| {
        let mut v: Vec<(String, Vec<u8>)> = fs::read_dir(d)
            .unwrap()
            .flatten()
            .filter(|e| e.file_type().unwrap().is_file())
            .map(|e| (e.file_name().into_string().unwrap(), fs::read(e.path()).unwrap()))
            .collect();
        v.sort();
        v
    };
    let ok = Command::new(BIN).args(["depmod", "-b", &base, KVER]).output().unwrap();
    assert!(ok.status.success());
    let before = listing(&dir);
    // A new module, so that a successful run would change modules.dep.
    t.write(&format!("lib/modules/{KVER}/kernel/new.ko"), &module(&[], &[], &["a_fn"]));
    let mut modules = before.clone();
    modules.retain(|f| !f.0.starts_with("modules."));

    let check = |what: &str, o: std::process::Output, errno: &str| {
        let err = String::from_utf8_lossy(&o.stderr).into_owned();
        assert_eq!(o.status.code(), Some(1), "{what}: {err}");
        let writes: Vec<&str> = err.lines().filter(|l| l.contains("could not write")).collect();
        assert_eq!(writes.len(), 1, "{what}: {err}");
        assert!(writes[0].starts_with("depmod: ERROR: could not write ") && writes[0].contains(errno), "{what}: {err}");
        let mut now = listing(&dir);
        now.retain(|f| f.0 != "new.ko");
        assert!(now == before, "{what}: the old files changed or temporary files were left");
    };

    // 1. A file size limit (as a full disk would) stops the writing part
    //    way through the set: modules.dep fits, the alias index does not.
    for i in 0..60 {
        t.write(
            &format!("lib/modules/{KVER}/kernel/many/m{i}.ko"),
            &module(&[&format!("alias=pci:v0000{i:04}d*sv*sd*bc*sc*i*")], &[], &[]),
        );
    }
    let o = Command::new("sh")
        .args(["-c", &format!("trap '' XFSZ; ulimit -f 2; exec {BIN} depmod -b {base} {KVER}")])
        .output()
        .unwrap();
    check("file size limit", o, "File too large");

    // 2. A read-only bind mount of the directory (needs mount namespaces).
    let ro = Command::new("unshare")
        .args([
            "-m",
            "sh",
            "-c",
            &format!(
                "mount --bind {0} {0} && mount -o remount,bind,ro {0} && exec {BIN} depmod -b {base} {KVER}",
                dir.display()
            ),
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&ro.stderr);
    if err.starts_with("unshare:") || err.starts_with("mount:") {
        eprintln!("skipping the read-only mount: {err}");
    } else {
        check("read-only mount", ro, "Read-only file system");
    }
}

#[test]
fn quick_mode_skips_an_up_to_date_tree() {
    use std::os::unix::fs::MetadataExt;
    let t = tree(&chain());
    // On a tree without modules.dep, both say so and index it.
    same(&t, &["-A", "-b", "{}", KVER]);
    same(&t, &["-A", "-n", "-b", "{}", KVER]);
    let base = t.path().to_str().unwrap();
    let dep = t.path().join(format!("lib/modules/{KVER}/modules.dep"));
    let run = |args: &[&str]| assert!(Command::new(BIN).arg("depmod").args(args).output().unwrap().status.success());
    run(&["-b", base, KVER]);
    let ino = fs::metadata(&dep).unwrap().ino();
    run(&["-A", "-b", base, KVER]);
    assert_eq!(fs::metadata(&dep).unwrap().ino(), ino, "-A rewrote an up-to-date index");
    // A module newer than modules.dep: the index is made again (renamed
    // into place, so a new inode).
    let m = t.path().join(format!("lib/modules/{KVER}/kernel/lib/a.ko"));
    assert!(Command::new("touch").args(["-d", "tomorrow"]).arg(&m).status().unwrap().success());
    run(&["-A", "-b", base, KVER]);
    assert_ne!(fs::metadata(&dep).unwrap().ino(), ino, "-A ignored a newer module");
}
