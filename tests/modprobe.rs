//! modprobe on small fake trees: lookups, load order, configuration,
//! removal and messages, with a kernel that records what it is asked.
//! (tests/trees.rs compares modprobe with kmod's on Debian's real trees;
//! initramfs/scenarios/70-modprobe.sh runs it on real kernels.)

mod common;
use common::*;
use modbox::applets::modprobe::main as modprobe;
use modbox::kernel::O_NONBLOCK;
use rustix::io::Errno;

const DIR: &str = "/lib/modules/6.1.0-99-amd64";

/// A fake kernel with a module tree: `dep` is modules.dep's text; every
/// module it names gets a small module file.
fn tree(dep: &str) -> FakeKernel {
    let k = FakeKernel::new();
    for line in dep.lines() {
        for path in line.split([':', ' ']).filter(|p| !p.is_empty()) {
            let name = path.rsplit('/').next().unwrap().trim_end_matches(".ko");
            k.root.write(
                &format!("{DIR}/{path}"),
                &elf_module(&[&format!("name={name}"), "vermagic=6.1.0-99-amd64 SMP mod_unload "], false),
            );
        }
    }
    k.root.write(&format!("{DIR}/modules.dep"), dep.as_bytes());
    k
}

const CHAIN: &str = "kernel/net/8021q.ko: kernel/net/garp.ko kernel/net/mrp.ko kernel/net/stp.ko kernel/net/llc.ko\nkernel/net/garp.ko: kernel/net/stp.ko kernel/net/llc.ko\nkernel/net/mrp.ko:\nkernel/net/stp.ko: kernel/net/llc.ko\nkernel/net/llc.ko:\nkernel/drivers/dummy.ko:\nkernel/drivers/snd-hda.ko:\n";

fn mp(k: FakeKernel, args: &[&str]) -> Run {
    let root = k.root.path().to_str().unwrap().to_string();
    let cfg = format!("{root}/etc/modprobe.d");
    let mut all = vec!["-C", &cfg];
    all.extend_from_slice(args);
    // The fake root is where /lib/modules is; messages name that directory.
    let r = run(modprobe, "modprobe", k, &all);
    Run { out: r.out.replace(&root, ""), err: r.err.replace(&root, ""), ..r }
}

#[test]
fn loads_dependencies_bottom_up() {
    let r = mp(tree(CHAIN), &["8021q"]);
    assert_eq!((r.code, r.err.as_str()), (0, ""));
    assert_eq!(r.k.files, ["llc.ko", "stp.ko", "mrp.ko", "garp.ko", "8021q.ko"]);
}

#[test]
fn show_depends_and_dry_run_print_kmods_lines() {
    let r = mp(tree(CHAIN), &["-D", "8021q"]);
    let want: String =
        ["llc", "stp", "mrp", "garp", "8021q"].iter().map(|m| format!("insmod {DIR}/kernel/net/{m}.ko \n")).collect();
    assert_eq!((r.code, r.out.as_str()), (0, want.as_str()));
    assert!(r.k.calls.is_empty());
    // Already loaded: -n -v skips, --show-depends does not.
    let k = tree(CHAIN);
    k.loaded("llc", 1, &[]);
    let r = mp(k, &["-n", "-v", "stp"]);
    assert_eq!(r.out, format!("insmod {DIR}/kernel/net/stp.ko \n"));
    assert!(r.k.calls.is_empty());
}

#[test]
fn already_loaded_is_success_unless_first_time() {
    let k = tree(CHAIN);
    k.loaded("dummy", 0, &[]);
    let r = mp(k, &["dummy"]);
    assert_eq!((r.code, r.err.as_str(), r.k.calls.len()), (0, "", 0));
    let k = tree(CHAIN);
    k.loaded("dummy", 0, &[]);
    let r = mp(k, &["--first-time", "dummy"]);
    assert_eq!((r.code, r.err.as_str()), (1, "modprobe: ERROR: could not insert 'dummy': Module already in kernel\n"));
    // A dependency loaded meanwhile by someone else (EEXIST) is fine.
    let mut k = tree(CHAIN);
    k.finit.push_back(Err(Errno::EXIST));
    let r = mp(k, &["stp"]);
    assert_eq!((r.code, r.k.files.len()), (0, 2));
    // EBUSY: a module of that name still on its way out (a racing
    // modprobe -r); once it is gone the load starts over.
    let mut k = tree(CHAIN);
    k.finit.push_back(Err(Errno::BUSY));
    let r = mp(k, &["stp"]);
    assert_eq!((r.code, r.k.files.len(), r.err.as_str()), (0, 3, ""));
    // One that stays busy fails after the retries, with kmod's message.
    let mut k = tree(CHAIN);
    k.finit.extend([
        Ok(()),
        Err(Errno::BUSY),
        Err(Errno::BUSY),
        Err(Errno::BUSY),
        Err(Errno::BUSY),
        Err(Errno::BUSY),
        Err(Errno::BUSY),
    ]);
    let r = mp(k, &["stp"]);
    assert_eq!(r.code, 1);
    assert!(r.err.ends_with("could not insert 'stp': Device or resource busy\n"), "{}", r.err);
}

#[test]
fn waits_for_a_module_the_kernel_is_still_loading() {
    let mut k = tree(CHAIN);
    k.root.write("/sys/module/llc/initstate", b"coming\n");
    k.on_sleep.push((3, "/sys/module/llc/initstate".into(), "live\n".into()));
    let r = mp(k, &["stp"]);
    assert_eq!((r.code, r.err.as_str()), (0, ""));
    assert_eq!(r.k.files, ["stp.ko"]);
    assert_eq!(r.k.calls.iter().filter(|c| matches!(c, Call::Sleep(_))).count(), 3);
}

#[test]
fn not_found() {
    for name in ["nosuch", "../../etc/passwd", "/etc/passwd", "a[b", "dummy.ko", ""] {
        let r = mp(tree(CHAIN), &[name]);
        assert_eq!(
            (r.code, r.err.clone()),
            (1, format!("modprobe: FATAL: Module {name} not found in directory {DIR}\n")),
            "{name}"
        );
        assert!(r.k.calls.is_empty());
    }
    let r = mp(tree(CHAIN), &["-q", "nosuch"]);
    assert_eq!((r.code, r.err.as_str()), (1, ""));
    // -a goes on after a name it cannot find, with a warning.
    let r = mp(tree(CHAIN), &["-a", "nosuch", "dummy"]);
    assert_eq!(
        (r.code, r.err.clone(), r.k.files.clone()),
        (1, format!("modprobe: WARNING: Module nosuch not found in directory {DIR}\n"), vec!["dummy.ko".to_string()])
    );
    let r = mp(tree(CHAIN), &[]);
    assert_eq!((r.code, r.err.as_str()), (1, "modprobe: ERROR: missing parameters. See -h.\n"));
}

#[test]
fn names_aliases_and_normalisation() {
    let k = tree(CHAIN);
    k.root
        .write(&format!("{DIR}/modules.alias"), b"alias pci:v00008086d*sv*sd*bc*sc*i* snd_hda\nalias net-pf-7 dummy\n");
    k.root.write("/etc/modprobe.d/a.conf", b"alias my-alias dummy\n");
    let r =
        mp(k, &["-R", "snd_hda", "-a", "snd-hda", "pci:v00008086d00001234sv0sd0bc04sc03i00", "net-pf-7", "my_alias"]);
    assert_eq!((r.code, r.out.as_str()), (0, "snd_hda\nsnd_hda\nsnd_hda\ndummy\ndummy\n"), "{}", r.err);
}

#[test]
fn options_from_config_command_line_and_arguments() {
    let k = tree(CHAIN);
    k.root.write(
        "/etc/modprobe.d/dummy.conf",
        b"options dummy numdummies=2\noptions my_alias x=1\nalias my-alias dummy\n",
    );
    k.root.write("/proc/cmdline", b"BOOT_IMAGE=/vmlinuz quiet dummy.y=\"a b\" llc.z=3\n");
    let r = mp(k, &["my-alias", "w=1", "v=a b"]);
    assert_eq!(r.code, 0, "{}", r.err);
    assert_eq!(r.k.calls, [Call::Finit { params: "numdummies=2 x=1 y=\"a b\" w=1 v=\"a b\"".into(), flags: 0 }]);
    let k = tree(CHAIN);
    k.root.write("/etc/modprobe.d/dummy.conf", b"options dummy numdummies=2\n");
    let r = mp(k, &["-D", "dummy"]);
    // libkmod adds a space after configured options even when no more follow.
    assert_eq!(r.out, format!("insmod {DIR}/kernel/drivers/dummy.ko numdummies=2 \n"));
}

#[test]
fn blacklist_applies_to_aliases_and_with_b_to_names() {
    let k = || {
        let k = tree(CHAIN);
        k.root.write(&format!("{DIR}/modules.alias"), b"alias net-pf-7 dummy\n");
        k.root.write("/etc/modprobe.d/bl.conf", b"blacklist dummy\n");
        k
    };
    assert_eq!(mp(k(), &["net-pf-7"]).k.files.len(), 0);
    assert_eq!(mp(k(), &["dummy"]).k.files, ["dummy.ko"]);
    let r = mp(k(), &["-b", "dummy"]);
    assert_eq!((r.code, r.k.files.len()), (0, 0));
    let k2 = k();
    k2.root.write("/proc/cmdline", b"modprobe.blacklist=llc,dummy\n");
    assert_eq!(mp(k2, &["-b", "llc"]).k.files.len(), 0);
}

#[test]
fn install_commands_and_softdeps() {
    let k = tree(CHAIN);
    let out = k.root.path().join("out");
    k.root.write("/etc/modprobe.d/i.conf", format!("install dummy echo \"$MODPROBE_MODULE:$CMDLINE_OPTS\" >> {}\noptions dummy n=1\nsoftdep stp pre: dummy post: mrp\n", out.display()).as_bytes());
    let r = mp(k, &["-v", "stp"]);
    assert_eq!(r.code, 0, "{}", r.err);
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "dummy:n=1 \n");
    assert_eq!(r.k.files, ["llc.ko", "stp.ko", "mrp.ko"]);
    let cmd = format!("echo \"$MODPROBE_MODULE:$CMDLINE_OPTS\" >> {}", out.display())
        .replace(r.k.root.path().to_str().unwrap(), "");
    assert_eq!(r.out, format!("insmod {DIR}/kernel/net/llc.ko \ninstall {cmd} n=1 \ninsmod {DIR}/kernel/net/stp.ko \ninsmod {DIR}/kernel/net/mrp.ko \n"));
    // A failing install command fails the load, with both of kmod's lines.
    let k = tree(CHAIN);
    k.root.write("/etc/modprobe.d/i.conf", b"install dummy exit 3\n");
    let r = mp(k, &["dummy"]);
    assert_eq!((r.code, r.err.as_str()), (1, "modprobe: ERROR: Error running install command 'exit 3' for module dummy: retcode 3\nmodprobe: ERROR: could not insert 'dummy': Invalid argument\n"));
    // -i ignores it.
    let k = tree(CHAIN);
    k.root.write("/etc/modprobe.d/i.conf", b"install dummy exit 3\n");
    assert_eq!(mp(k, &["-i", "dummy"]).k.files, ["dummy.ko"]);
}

#[test]
fn failures_name_the_file_and_the_kernels_reason() {
    // (A dependency without dependencies of its own: one with them would
    // be tried again, see races_with_other_modprobes.)
    let mut k = tree(CHAIN);
    k.finit.push_back(Err(Errno::NOENT));
    k.log_on_load = vec!["llc: Unknown symbol register_8022_client (err -2)".into()];
    let r = mp(k, &["stp"]);
    assert_eq!(r.code, 1);
    assert_eq!(
        r.err,
        format!("modprobe: ERROR: could not insert module {DIR}/kernel/net/llc.ko: Unknown symbol in module\nmodprobe: kernel: llc: Unknown symbol register_8022_client (err -2)\nmodprobe: ERROR: could not insert 'stp': Unknown symbol in module, or unknown parameter (see dmesg)\n")
    );
    // A dependency whose file is missing.
    let k = tree(CHAIN);
    std::fs::remove_file(k.root.path().join(format!(".{DIR}/kernel/net/llc.ko"))).unwrap();
    let r = mp(k, &["stp"]);
    assert_eq!(r.code, 1);
    assert!(
        r.err.starts_with(&format!(
            "modprobe: ERROR: could not load module {DIR}/kernel/net/llc.ko: No such file or directory\n"
        )),
        "{}",
        r.err
    );
}

#[test]
fn remove_takes_unused_dependencies_along() {
    let k = tree(CHAIN);
    k.loaded("stp", 0, &[]);
    k.loaded("llc", 0, &[]);
    let r = mp(k, &["-r", "-v", "stp"]);
    assert_eq!((r.code, r.err.as_str(), r.out.as_str()), (0, "", "rmmod stp\nrmmod llc\n"));
    assert_eq!(
        r.k.calls,
        [
            Call::Delete { name: "stp".into(), flags: O_NONBLOCK },
            Call::Delete { name: "llc".into(), flags: O_NONBLOCK }
        ]
    );
    // In use, not loaded, built in.
    let k = tree(CHAIN);
    k.loaded("stp", 1, &["garp"]);
    let r = mp(k, &["-r", "stp"]);
    assert_eq!((r.code, r.err.as_str(), r.k.calls.len()), (1, "modprobe: FATAL: Module stp is in use.\n", 0));
    let r = mp(tree(CHAIN), &["-r", "stp"]);
    assert_eq!((r.code, r.err.as_str()), (0, ""));
    let r = mp(tree(CHAIN), &["-r", "--first-time", "stp"]);
    assert_eq!((r.code, r.err.as_str()), (1, "modprobe: FATAL: Module stp is not in kernel.\n"));
    let k = tree(CHAIN);
    k.root.write(&format!("{DIR}/modules.builtin"), b"kernel/fs/ext4/ext4.ko\n");
    let r = mp(k, &["-r", "ext4"]);
    assert_eq!((r.code, r.err.as_str()), (1, "modprobe: FATAL: Module ext4 is builtin.\n"));
    let r = mp(tree(CHAIN), &["-r", "nosuch"]);
    assert_eq!((r.code, r.err.as_str()), (1, "modprobe: FATAL: Module nosuch not found.\n"));
    // -w waits while the kernel says the module is busy.
    let mut k = tree(CHAIN);
    k.loaded("dummy", 0, &[]);
    k.delete.extend([Err(Errno::AGAIN), Err(Errno::AGAIN)]);
    let r = mp(k, &["-r", "-w", "100", "dummy"]);
    assert_eq!((r.code, r.k.calls.iter().filter(|c| matches!(c, Call::Delete { .. })).count()), (0, 3));
    let r = mp(tree(CHAIN), &["-r", "-w", "soon", "dummy"]);
    assert_eq!((r.code, r.err.as_str()), (1, "modprobe: ERROR: unexpected wait value 'soon'.\n"));
}

#[test]
fn show_config_and_config_rules() {
    let k = tree(CHAIN);
    k.root.write("/etc/modprobe.d/b.conf", b"alias x-y dummy\noptions dummy a=1\nblacklist evil\ninstall foo /bin/true\nremove foo /bin/false\nsoftdep stp pre: llc post: mrp garp\nnonsense here\n");
    // The same name in a later directory is hidden; other names are read in name order.
    k.root.write("/run/modprobe.d/b.conf", b"alias hidden dummy\n");
    k.root.write("/run/modprobe.d/a.conf", b"options llc b=2\n");
    k.root.write("/run/modprobe.d/ignored.txt", b"options llc c=3\n");
    k.root.write(&format!("{DIR}/modules.softdep"), b"softdep mrp pre: llc\n");
    let root = k.root.path().to_str().unwrap().to_string();
    let r = run(
        modprobe,
        "modprobe",
        k,
        &["-c", "-C", &format!("{root}/etc/modprobe.d"), "-C", &format!("{root}/run/modprobe.d")],
    );
    assert_eq!(r.code, 0);
    assert_eq!(
        r.err,
        format!("modprobe: ERROR: {root}/etc/modprobe.d/b.conf line 7: ignoring bad line starting with 'nonsense'\n")
    );
    assert_eq!(
        r.out,
        "blacklist evil\ninstall foo /bin/true\nremove foo /bin/false\nalias x_y dummy\noptions llc b=2\noptions dummy a=1\nsoftdep stp pre: llcpost: mrp garp\nsoftdep mrp pre: llc\n\n# End of configuration files. Dumping indexes now:\n\n"
    );
}

#[test]
fn damaged_indexes_are_reported() {
    let k = tree(CHAIN);
    k.root.write(&format!("{DIR}/modules.dep.bin"), b"\xb0\x07\xf4\x57\x00\x02\x00\x01\x7f\xff\xff\xff");
    let r = mp(k, &["dummy"]);
    assert_eq!(r.code, 1);
    assert_eq!(r.err, format!("modprobe: ERROR: {DIR}/modules.dep.bin is not a valid index file (corrupt, or from another kmod version); run depmod\nmodprobe: FATAL: Module dummy not found in directory {DIR}\n"));
}

#[test]
fn force_flags_reach_the_kernel() {
    for (flag, want) in [("-f", 3), ("--force-modversion", 1), ("--force-vermagic", 2)] {
        let r = mp(tree(CHAIN), &[flag, "dummy"]);
        assert_eq!(r.k.calls, [Call::Finit { params: String::new(), flags: want }], "{flag}");
    }
}

/// modprobes racing on one module: a removal finds it going (another
/// removal) or gone, a load finds a dependency it saw loaded removed; each
/// still does what was asked, silently.
#[test]
fn races_with_other_modprobes() {
    let deletes = |r: &Run| r.k.calls.iter().filter(|c| matches!(c, Call::Delete { .. })).count();
    // Going (EBUSY): waited for until it is gone, then that is success.
    let mut k = tree(CHAIN);
    k.loaded("dummy", 0, &[]);
    k.root.write("/sys/module/dummy/initstate", b"going\n");
    k.on_sleep.push((2, "/sys/module/dummy/initstate".into(), String::new()));
    k.delete.extend([Err(Errno::BUSY), Err(Errno::NOENT)]);
    let r = mp(k, &["-r", "dummy"]);
    assert_eq!((r.code, r.err.as_str(), deletes(&r)), (0, "", 2));
    // Gone between the look and the removal (ENOENT): success, unless
    // --first-time; the other removal takes the dependencies along.
    let mut k = tree(CHAIN);
    k.loaded("stp", 0, &[]);
    k.loaded("llc", 0, &[]);
    k.delete.push_back(Err(Errno::NOENT));
    let r = mp(k, &["-r", "stp"]);
    assert_eq!((r.code, r.err.as_str(), deletes(&r)), (0, "", 1));
    let mut k = tree(CHAIN);
    k.loaded("dummy", 0, &[]);
    k.delete.push_back(Err(Errno::NOENT));
    let r = mp(k, &["-r", "--first-time", "dummy"]);
    assert_eq!((r.code, r.err.as_str()), (1, "modprobe: FATAL: Module dummy is not in kernel.\n"));
    // Gone by the time it looks (the going state not seen): tried again.
    let mut k = tree(CHAIN);
    k.loaded("dummy", 0, &[]);
    k.delete.extend([Err(Errno::BUSY), Err(Errno::NOENT)]);
    let r = mp(k, &["-r", "dummy"]);
    assert_eq!((r.code, r.err.as_str(), deletes(&r)), (0, "", 2));
    // Busy while live, every time (no exit function): the kernel's answer
    // after a few tries.
    let mut k = tree(CHAIN);
    k.loaded("dummy", 0, &[]);
    k.delete.extend([Err(Errno::BUSY); 6]);
    let r = mp(k, &["-r", "dummy"]);
    assert_eq!(
        (r.code, r.err.as_str(), deletes(&r)),
        (1, "modprobe: ERROR: could not remove 'dummy': Device or resource busy\n", 6)
    );
    // A dependency in use again by the time it would go stays, quietly.
    let mut k = tree(CHAIN);
    k.loaded("stp", 0, &[]);
    k.loaded("llc", 0, &[]);
    k.delete.extend([Ok(()), Err(Errno::AGAIN)]);
    let r = mp(k, &["-r", "stp"]);
    assert_eq!((r.code, r.err.as_str(), deletes(&r)), (0, "", 2));
    // A load whose dependency was removed while it loaded ("Unknown
    // symbol"): it starts over and loads the dependency again.
    let mut k = tree(CHAIN);
    k.loaded("llc", 0, &[]);
    k.on_finit.push((1, "/sys/module/llc/initstate".into(), String::new()));
    k.finit.push_back(Err(Errno::NOENT));
    k.log_on_load = vec!["stp: Unknown symbol llc_sap_open (err -2)".into()];
    let r = mp(k, &["stp"]);
    assert_eq!((r.code, r.err.as_str()), (0, ""));
    assert_eq!(r.k.files, ["stp.ko", "llc.ko", "stp.ko"]);
    // Removed and loaded again by a third modprobe before this one looks:
    // tried again all the same.
    let mut k = tree(CHAIN);
    k.loaded("llc", 0, &[]);
    k.finit.push_back(Err(Errno::NOENT));
    let r = mp(k, &["stp"]);
    assert_eq!((r.code, r.err.as_str()), (0, ""));
    assert_eq!(r.k.files, ["stp.ko", "stp.ko"]);
    // Not for ever: a real unknown symbol fails after five more tries, with
    // the message of the last; a module without dependencies at once.
    let mut k = tree(CHAIN);
    k.loaded("llc", 0, &[]);
    k.finit.extend([Err(Errno::NOENT); 6]);
    let r = mp(k, &["stp"]);
    assert_eq!((r.code, r.k.files.len()), (1, 6));
    assert_eq!(
        r.err,
        "modprobe: ERROR: could not insert 'stp': Unknown symbol in module, or unknown parameter (see dmesg)\n"
    );
    let mut k = tree(CHAIN);
    k.finit.push_back(Err(Errno::NOENT));
    let r = mp(k, &["llc"]);
    assert_eq!((r.code, r.k.files.len()), (1, 1));
}

#[test]
fn remove_holders_first() {
    let k = tree(CHAIN);
    k.loaded("llc", 0, &["stp"]);
    k.loaded("stp", 0, &[]);
    let r = mp(k, &["-r", "--remove-holders", "llc"]);
    assert_eq!((r.code, r.err.as_str()), (0, ""));
    // stp goes first; its dependency llc then looks unused (this fake
    // kernel never updates refcnt) and goes with it, as kmod does; then the
    // module asked for.
    let del = |n: &str| Call::Delete { name: n.into(), flags: O_NONBLOCK };
    assert_eq!(r.k.calls, [del("stp"), del("llc"), del("llc")]);
}

#[test]
fn text_fallback_for_aliases_symbols_and_builtins() {
    let k = tree(CHAIN);
    k.root.write(&format!("{DIR}/modules.symbols"), b"alias symbol:stp_proto_register stp\n");
    k.root.write(&format!("{DIR}/modules.builtin"), b"kernel/fs/ext4/ext4.ko\n");
    k.root.write(&format!("{DIR}/modules.builtin.modinfo"), b"ext4.alias=fs-ext4\0ext4.license=GPL\0");
    let r = mp(k, &["-D", "-a", "symbol:stp_proto_register", "ext4", "fs-ext4"]);
    assert_eq!((r.code, r.err.as_str()), (0, ""));
    assert_eq!(
        r.out,
        format!("insmod {DIR}/kernel/net/llc.ko \ninsmod {DIR}/kernel/net/stp.ko \nbuiltin ext4\nbuiltin ext4\n")
    );
}

/// A web of softdeps: `*` aliases make every softdep name every module,
/// and every module has the softdeps, one of them a bad name. kmod looks
/// each softdep up again for every module it applies to and reports the
/// bad name each time; its list, and so what --show-depends prints, grows
/// with the square of the modules. modprobe must print that list and those
/// messages byte for byte, from the .bin indexes as kmod does and from the
/// text files alone (where fuzzing found the repeated lookups costing
/// seconds: moddir_text).
#[test]
fn softdep_web_matches_kmod_from_bin_and_text_indexes() {
    use modbox::moddir::index::Writer;
    use std::process::Command;
    const N: usize = 40;
    let t = TempDir::new("softdep-web");
    let moddir = "lib/modules/0.0-web";
    let (mut dep, mut alias) = (Writer::default(), Writer::default());
    let (mut dep_text, mut alias_text) = (String::new(), String::new());
    for i in 0..N {
        let line = format!("kernel/m{i}.ko: kernel/m{}.ko", (i + 1) % N);
        dep.insert(format!("m{i}").as_bytes(), line.as_bytes(), 0);
        dep_text += &format!("{line}\n");
        // kmod skips a dependency whose file is missing.
        t.write(&format!("{moddir}/kernel/m{i}.ko"), b"");
        alias.insert(b"*", format!("m{i}").as_bytes(), i as u32);
        alias_text += &format!("alias * m{i}\n");
    }
    t.write(&format!("{moddir}/modules.dep"), dep_text.as_bytes());
    t.write(&format!("{moddir}/modules.alias"), alias_text.as_bytes());
    let bins = [
        t.write(&format!("{moddir}/modules.dep.bin"), &dep.write()),
        t.write(&format!("{moddir}/modules.alias.bin"), &alias.write()),
    ];
    let conf = t.write("web.conf", b"softdep m* pre: x1 x2 [bad post: x3\n");
    let args =
        ["-C", conf.to_str().unwrap(), "-d", t.path().to_str().unwrap(), "-S", "0.0-web", "--show-depends", "top"];
    let run = |prog: &str, pre: &[&str]| {
        let o = Command::new(prog).args(pre).args(args).output().unwrap();
        (
            String::from_utf8_lossy(&o.stdout).into_owned(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
            o.status.code(),
        )
    };
    let from_bin = run(env!("CARGO_BIN_EXE_modbox"), &["modprobe"]);
    // N aliases of `top`, each probed: 6N + 2 lines each, and as many
    // reports of the bad name.
    assert_eq!((from_bin.0.lines().count(), from_bin.1.lines().count()), (6 * N * N + 2 * N, 6 * N * N + 2 * N));
    if Command::new("modprobe").arg("--version").output().is_ok_and(|o| o.status.success()) {
        let mut kmod = run("modprobe", &[]);
        // Some builds of kmod put where in libkmod a message comes from
        // after "ERROR: ".
        kmod.1 = kmod
            .1
            .lines()
            .map(|l| match l.split_once("ERROR: ../libkmod/") {
                Some((head, rest)) => format!("{head}ERROR: {}\n", rest.split_once("() ").map_or(rest, |r| r.1)),
                None => format!("{l}\n"),
            })
            .collect();
        assert!(kmod.0 == from_bin.0, "kmod's --show-depends differs");
        assert!(kmod.1 == from_bin.1, "kmod's messages differ:\n{}", &kmod.1[..kmod.1.len().min(500)]);
        assert_eq!(kmod.2, from_bin.2);
    } else {
        assert!(
            std::env::var_os("MODBOX_REQUIRE_ORACLE").is_none(),
            "MODBOX_REQUIRE_ORACLE is set but kmod is missing"
        );
        eprintln!("kmod missing: only the text indexes are compared");
    }
    for b in bins {
        std::fs::remove_file(b).unwrap();
    }
    assert!(run(env!("CARGO_BIN_EXE_modbox"), &["modprobe"]) == from_bin, "the text indexes give another list");
}

/// The module directory's modules.softdep is one more configuration file,
/// taken before any other of that name (kmod): a directory there is a file
/// that cannot be read, not a directory of configuration files, and a `-C`
/// file named modules.softdep does not replace it.
#[test]
fn modules_softdep_is_a_file_taken_first() {
    let k = tree(CHAIN);
    k.root.write(&format!("{DIR}/modules.softdep/x.conf"), b"alias from-dir dummy\n");
    k.root.write("/etc/conf/modules.softdep", b"alias from-c dummy\n");
    let root = k.root.path().to_str().unwrap().to_string();
    let r = run(modprobe, "modprobe", k, &["-c", "-C", &format!("{root}/etc/conf/modules.softdep")]);
    assert_eq!(r.code, 0);
    assert_eq!(r.err, format!("modprobe: ERROR: could not read {root}{DIR}/modules.softdep: Is a directory\n"));
    assert_eq!(r.out, "\n# End of configuration files. Dumping indexes now:\n\n");
}
