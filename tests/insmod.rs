mod common;
use common::*;
use modbox::applets::insmod::main as insmod;
use modbox::kernel::{MODULE_INIT_IGNORE_MODVERSIONS, MODULE_INIT_IGNORE_VERMAGIC};
use rustix::io::Errno;

fn module(dir: &TempDir, vermagic: &str) -> String {
    let vm = format!("vermagic={vermagic}");
    let p = dir.write("m/dummy.ko", &elf_module(&["license=GPL", &vm, "name=dummy"], true));
    p.to_str().unwrap().to_string()
}

#[test]
fn loads_with_finit_and_joined_params() {
    let d = TempDir::new("ins");
    let m = module(&d, "6.1.0-99-amd64 SMP mod_unload ");
    let r = run(insmod, "insmod", FakeKernel::new(), &[&m, "numdummies=3", "name=a b", "x"]);
    assert_eq!((r.code, r.out.as_str(), r.err.as_str()), (0, "", ""));
    assert_eq!(r.k.calls, vec![Call::Finit { params: "numdummies=3 name=\"a b\" x".into(), flags: 0 }]);
}

#[test]
fn force_sets_both_ignore_flags() {
    let d = TempDir::new("ins");
    let m = module(&d, "x");
    for flag in ["-f", "--force"] {
        let r = run(insmod, "insmod", FakeKernel::new(), &[flag, &m]);
        assert_eq!(r.code, 0);
        assert_eq!(
            r.k.calls,
            vec![Call::Finit {
                params: "".into(),
                flags: MODULE_INIT_IGNORE_MODVERSIONS | MODULE_INIT_IGNORE_VERMAGIC
            }]
        );
    }
}

#[test]
fn options_after_the_file_are_still_options() {
    // GNU getopt permutes, so kmod takes `insmod FILE -f` as forced too.
    let d = TempDir::new("ins");
    let m = module(&d, "x");
    let r = run(insmod, "insmod", FakeKernel::new(), &[&m, "-f", "a=1"]);
    assert_eq!(r.k.calls, vec![Call::Finit { params: "a=1".into(), flags: 3 }]);
    // -p and -s are accepted and ignored, as by kmod.
    let r = run(insmod, "insmod", FakeKernel::new(), &["-p", "-s", &m]);
    assert_eq!((r.code, r.k.calls.len()), (0, 1));
}

#[test]
fn falls_back_to_init_module_only_on_enosys() {
    let d = TempDir::new("ins");
    let m = module(&d, "6.1.0-99-amd64 SMP ");
    let image = std::fs::read(&m).unwrap();
    let mut k = FakeKernel::new();
    k.finit.push_back(Err(Errno::NOSYS));
    let r = run(insmod, "insmod", k, &["-v", &m, "a=1"]);
    assert_eq!(r.code, 0);
    assert_eq!(r.k.calls[1], Call::Init { image, params: "a=1".into() });
    assert!(r.err.contains("finit_module(2) is not available"), "{}", r.err);
    assert!(r.err.contains(&format!("loaded {m} with init_module(2)")), "{}", r.err);

    let mut k = FakeKernel::new();
    k.finit.push_back(Err(Errno::PERM));
    let r = run(insmod, "insmod", k, &[&m]);
    assert_eq!(r.k.calls.len(), 1, "no fallback on errors other than ENOSYS");
    assert_eq!(r.err, format!("insmod: ERROR: could not insert module {m}: Operation not permitted\n"));
}

#[test]
fn forced_fallback_strips_versions_and_vermagic() {
    let d = TempDir::new("ins");
    let m = module(&d, "5.0.0 SMP ");
    let mut k = FakeKernel::new();
    k.finit.push_back(Err(Errno::NOSYS));
    let r = run(insmod, "insmod", k, &["-f", &m]);
    let Call::Init { image, .. } = &r.k.calls[1] else { panic!("{:?}", r.k.calls) };
    let info = modbox::module::modfile::modinfo_section(image).unwrap();
    assert_eq!(modbox::module::modfile::modinfo_value(info, b"vermagic"), None);
    assert_eq!(modbox::module::modfile::modinfo_value(info, b"name"), Some(&b"dummy"[..]));
    // The __versions header (the third) lost SHF_ALLOC; nothing else changed.
    let orig = std::fs::read(&m).unwrap();
    let diff: Vec<usize> = (0..orig.len()).filter(|&i| orig[i] != image[i]).collect();
    assert!(diff.iter().all(|&i| image[i] == 0), "only zeroing: {diff:?}");
    assert!(diff.len() == "vermagic=5.0.0 SMP ".len() + 1, "{diff:?}");
}

#[test]
fn kmod_wording_for_each_errno() {
    let d = TempDir::new("ins");
    let m = module(&d, "6.1.0-99-amd64 SMP ");
    for (errno, text) in [
        (Errno::EXIST, "File exists"),
        (Errno::NOENT, "Unknown symbol in module"),
        (Errno::NOEXEC, "Invalid module format"),
        (Errno::SRCH, "Module has wrong symbol version"),
        (Errno::INVAL, "Invalid parameters"),
        (Errno::KEYREJECTED, "Key was rejected by service"),
        (Errno::PERM, "Operation not permitted"),
        (Errno::NODEV, "No such device"),
        (Errno::BUSY, "Device or resource busy"),
        (Errno::NOKEY, "Required key not available"),
        (Errno::from_raw_os_error(4000), "Unknown error 4000"),
    ] {
        let mut k = FakeKernel::new();
        k.finit.push_back(Err(errno));
        let r = run(insmod, "insmod", k, &[&m]);
        assert_eq!(r.code, 1);
        assert_eq!(r.err, format!("insmod: ERROR: could not insert module {m}: {text}\n"));
        assert_eq!(r.out, "");
    }
}

#[test]
fn kernel_log_of_the_attempt_is_shown() {
    let d = TempDir::new("ins");
    let m = module(&d, "6.1.0-99-amd64 SMP ");
    let mut k = FakeKernel::new();
    k.finit.push_back(Err(Errno::NOENT));
    k.log_on_load = vec![
        "garp: Unknown symbol stp_proto_register (err -2)".into(),
        "garp: Unknown symbol stp_proto_unregister (err -2)".into(),
    ];
    let r = run(insmod, "insmod", k, &[&m]);
    assert_eq!(
        r.err,
        format!(
            "insmod: ERROR: could not insert module {m}: Unknown symbol in module\n\
             insmod: kernel: garp: Unknown symbol stp_proto_register (err -2)\n\
             insmod: kernel: garp: Unknown symbol stp_proto_unregister (err -2)\n"
        )
    );
}

#[test]
fn enoexec_is_explained() {
    let d = TempDir::new("ins");
    let other = module(&d, "6.1.0-12-amd64 SMP preempt mod_unload modversions ");
    let cases: Vec<(String, String)> = vec![
        (other.clone(), format!("{other} was built for another kernel: its vermagic is '6.1.0-12-amd64 SMP preempt mod_unload modversions ', the running kernel is {RELEASE}")),
        (d.write("t.txt", b"hello").to_str().unwrap().into(), "is not an ELF file, so not a kernel module".into()),
        (d.write("e.ko", b"").to_str().unwrap().into(), "is not an ELF file".into()),
        (d.write("v.ko", &elf_module(&["license=GPL"], false)[..]).to_str().unwrap().into(), "has no vermagic".into()),
        (d.write("n.ko", &elf_module(&[], false)[..]).to_str().unwrap().into(), "has no vermagic in a .modinfo section".into()),
    ];
    for (path, hint) in cases {
        let mut k = FakeKernel::new();
        k.finit.push_back(Err(Errno::NOEXEC));
        let r = run(insmod, "insmod", k, &[&path]);
        assert_eq!(r.code, 1);
        let lines: Vec<&str> = r.err.lines().collect();
        assert_eq!(lines[0], format!("insmod: ERROR: could not insert module {path}: Invalid module format"));
        assert_eq!(lines.len(), 2, "{}", r.err);
        assert!(lines[1].starts_with("insmod: ERROR: ") && lines[1].contains(&hint), "{}", r.err);
    }
    // Same release, other flags: nothing to add from modbox's side.
    let same = module(&d, "6.1.0-99-amd64 SMP preempt ");
    let mut k = FakeKernel::new();
    k.finit.push_back(Err(Errno::NOEXEC));
    let r = run(insmod, "insmod", k, &[&same]);
    assert_eq!(r.err.lines().count(), 1);
}

#[test]
fn argument_errors() {
    let d = TempDir::new("ins");
    let cases: &[(&[&str], &str)] = &[
        (&[], "insmod: ERROR: missing filename.\n"),
        (&["-"], "insmod: ERROR: this tool does not support loading from stdin!\n"),
        (&["-x"], "insmod: invalid option -- 'x'\n"),
        (&["--bogus"], "insmod: unrecognized option '--bogus'\n"),
        (&["/nonexistent/m.ko"], "insmod: ERROR: could not load module /nonexistent/m.ko: No such file or directory\n"),
    ];
    for (args, want) in cases {
        let r = run(insmod, "insmod", FakeKernel::new(), args);
        assert_eq!((r.code, r.err.as_str(), r.k.calls.len()), (1, *want, 0), "{args:?}");
    }
    let dir = d.path().to_str().unwrap();
    let r = run(insmod, "insmod", FakeKernel::new(), &[dir]);
    assert_eq!(r.err, format!("insmod: ERROR: could not insert module {dir}: Is a directory\n"));
    let r = run(insmod, "insmod", FakeKernel::new(), &["/dev/null"]);
    assert_eq!(r.err, "insmod: ERROR: could not insert module /dev/null: Not a regular file\n");
    let long = "a".repeat(10_000);
    let r = run(insmod, "insmod", FakeKernel::new(), &[&long]);
    assert_eq!(r.err, format!("insmod: ERROR: could not load module {long}: File name too long\n"));
}

#[test]
fn help_and_version() {
    let r = run(insmod, "insmod", FakeKernel::new(), &["--help"]);
    assert!(r.out.starts_with("Usage: insmod [-f] [-v] FILE [PARAM=VALUE]..."));
    assert_eq!((r.code, r.k.calls.len()), (0, 0));
    let r = run(insmod, "insmod", FakeKernel::new(), &["-V"]);
    assert!(r.out.starts_with("modbox version "));
}

#[test]
fn compressed_files_go_to_a_kernel_that_decompresses_them() {
    let d = TempDir::new("ins");
    let xz = d.write("m/dummy.ko.xz", b"\xfd7zXZ\0 xz stream").to_str().unwrap().to_string();
    let gz = d.write("m/loop.ko.gz", b"\x1f\x8b\x08 gzip stream").to_str().unwrap().to_string();
    let k = FakeKernel::new();
    k.root.write("/sys/module/compression", b"xz\n");
    let r = run(insmod, "insmod", k, &["-v", &xz, "a=1"]);
    assert_eq!(r.k.calls, vec![Call::Finit { params: "a=1".into(), flags: 4 }]);
    assert_eq!(r.err, format!("insmod: loaded {xz} with finit_module(2), decompressed by the kernel\n"));
    // The kernel's format but a stream it refuses: explained.
    let mut k = FakeKernel::new();
    k.root.write("/sys/module/compression", b"xz\n");
    k.finit.push_back(Err(Errno::NOEXEC));
    let r = run(insmod, "insmod", k, &[&xz]);
    assert!(
        r.err.ends_with(&format!("insmod: ERROR: {xz} is xz-compressed and the kernel could not decompress it\n")),
        "{}",
        r.err
    );
    // Another format than the kernel's, or a kernel without decompression:
    // modbox decompresses, and a corrupt stream never reaches the kernel.
    for (file, compression) in [(&gz, Some("xz\n")), (&xz, None)] {
        let k = FakeKernel::new();
        if let Some(c) = compression {
            k.root.write("/sys/module/compression", c.as_bytes());
        }
        let r = run(insmod, "insmod", k, &[file]);
        assert_eq!((r.code, r.k.calls.len()), (1, 0), "{}", r.err);
        assert!(r.err.starts_with(&"insmod: ERROR: could not read ".to_string()), "{}", r.err);
        assert!(r.err.contains(&format!("-compressed module {file}: ")), "{}", r.err);
    }
}
