//! modinfo against kmod's on every module of Debian's real kernel trees
//! (fetched by initramfs/fetch-kernel into the cache; tests/run fetches
//! them first and sets MODBOX_REQUIRE_TREES so that CI cannot skip this).

mod common;
use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_modbox");

/// The lib/modules/KVER directories of the cached kernel packages.
fn trees() -> Vec<PathBuf> {
    let cache = std::env::var_os("MODBOX_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/cache"));
    let mut found = Vec::new();
    for pkg in std::fs::read_dir(cache.join("kernels")).into_iter().flatten().flatten() {
        // Only trees fetch-kernel finished unpacking.
        if !pkg.path().join(".complete").exists() {
            continue;
        }
        for kver in std::fs::read_dir(pkg.path().join("lib/modules")).into_iter().flatten().flatten() {
            found.push(kver.path());
        }
    }
    found.sort();
    let kmod = Command::new("modinfo").arg("--version").output().is_ok_and(|o| o.status.success());
    if !kmod {
        found.clear();
    }
    if found.len() < 2 {
        assert!(
            std::env::var_os("MODBOX_REQUIRE_TREES").is_none(),
            "MODBOX_REQUIRE_TREES is set but {cache:?} has no kernel trees or kmod is missing"
        );
        eprintln!("skipping: no kernel trees in {cache:?} (initramfs/fetch-kernel 6.1 and 6.12 fetch them) or no kmod");
    }
    found
}

fn modules(tree: &Path) -> Vec<String> {
    let out = Command::new("find").arg(tree.join("kernel")).args(["-name", "*.ko*", "-type", "f"]).output().unwrap();
    let mut v: Vec<String> = String::from_utf8(out.stdout).unwrap().lines().map(String::from).collect();
    v.sort();
    assert!(v.len() > 3000, "{tree:?} has only {} modules", v.len());
    v
}

fn run(cmd: &str, args: &[&str], files: &[String]) -> (Vec<u8>, Vec<u8>, Option<i32>) {
    let mut c = if cmd == "kmod" { Command::new("modinfo") } else { Command::new(BIN) };
    if cmd != "kmod" {
        c.arg("modinfo");
    }
    let o = c.args(args).args(files).output().unwrap();
    (o.stdout, o.stderr, o.status.code())
}

/// A run's (stdout, stderr, exit code).
type Run = (Vec<u8>, Vec<u8>, Option<i32>);

/// modbox's run and kmod's are the same; otherwise both are shown.
fn same_run(what: &str, o: &Run, t: &Run) {
    assert!(
        o == t,
        "{what}:\n--- modbox\n{}{}{:?}\n--- kmod\n{}{}{:?}",
        String::from_utf8_lossy(&o.0),
        String::from_utf8_lossy(&o.1),
        o.2,
        String::from_utf8_lossy(&t.0),
        String::from_utf8_lossy(&t.1),
        t.2
    );
}

#[test]
fn modinfo_matches_kmod_on_every_module() {
    for tree in trees() {
        let all = modules(&tree);
        // Every module in full; the field selections on every 10th (each
        // pass decompresses the whole set again).
        let some: Vec<String> = all.iter().step_by(10).cloned().collect();
        for flags in [
            &[][..],
            &["-0"],
            &["-F", "vermagic"],
            &["-p"],
            &["-0", "-p"],
            &["-a"],
            &["-d"],
            &["-l"],
            &["-n"],
            &["-F", "signature"],
            &["-F", "sig_key"],
            &["-F", "alias"],
        ] {
            let mods = if flags.len() > 1 || flags.first().is_some_and(|f| *f != "-0") { &some } else { &all };
            for chunk in mods.chunks(400) {
                let ours = run("modbox", flags, chunk);
                let theirs = run("kmod", flags, chunk);
                if ours != theirs {
                    // Narrow it down to the first module that differs.
                    for m in chunk {
                        let (o, t) = (
                            run("modbox", flags, std::slice::from_ref(m)),
                            run("kmod", flags, std::slice::from_ref(m)),
                        );
                        same_run(&format!("modinfo {flags:?} {m}"), &o, &t);
                    }
                    panic!("modinfo {flags:?} differs on a batch but on no single module of it");
                }
            }
        }
    }
}

/// A hard-linked copy of a tree under target/, with the index files kmod's
/// depmod writes (the oracle's lookups need modules.dep.bin; modbox reads
/// modules.dep).
fn indexed_copy(tree: &Path, tag: &str) -> (common::TempDir, String) {
    let kver = tree.file_name().unwrap().to_str().unwrap().to_string();
    let root = common::TempDir(Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("target/tmp-{tag}-{kver}")));
    let _ = std::fs::remove_dir_all(root.path());
    std::fs::create_dir_all(root.path().join("lib/modules")).unwrap();
    assert!(Command::new("cp").arg("-al").arg(tree).arg(root.path().join("lib/modules")).status().unwrap().success());
    let st = Command::new("depmod").arg("-b").arg(root.path()).arg(&kver).status().unwrap();
    assert!(st.success());
    (root, kver)
}

#[test]
fn modinfo_by_name_matches_kmod() {
    for tree in trees() {
        let (root, kver) = indexed_copy(&tree, "byname");
        let base = root.path().to_str().unwrap();
        let mut names: Vec<String> = modules(&tree)
            .iter()
            .step_by(25)
            .map(|p| p.rsplit('/').next().unwrap().split('.').next().unwrap().to_string())
            .collect();
        let builtin = std::fs::read_to_string(tree.join("modules.builtin")).unwrap();
        names.extend(
            builtin
                .lines()
                .step_by(15)
                .map(|l| l.rsplit('/').next().unwrap().trim_end_matches(".ko").replace('_', "-")),
        );
        names.extend(["no-such-module", "../../etc/passwd", "snd-hda-intel"].map(String::from));
        for flags in [&[][..], &["-F", "filename"], &["-n"], &["-m"], &["-F", "name"], &["-0"]] {
            for name in &names {
                let args: Vec<&str> = ["-b", base, "-k", &kver]
                    .iter()
                    .copied()
                    .chain(flags.iter().copied())
                    .chain([name.as_str()])
                    .collect();
                let (o, t) = (run("modbox", &args, &[]), run("kmod", &args, &[]));
                same_run(&format!("modinfo {args:?}"), &o, &t);
            }
        }
    }
}

/// The index reader against the files kmod's depmod wrote: every key of
/// modules.dep.bin, .symbols.bin and .alias.bin as the text files list it,
/// and alias lookups resolving to what kmod's modprobe -R says.
#[test]
fn index_reader_agrees_with_kmod() {
    use modbox::moddir::index::Index;
    for tree in trees() {
        let (root, kver) = indexed_copy(&tree, "index");
        let dir = root.path().join("lib/modules").join(&kver);
        let read = |f: &str| std::fs::read(dir.join(f)).unwrap();
        let sorted_dump = |bin: &str| {
            let data = read(bin);
            let mut v: Vec<String> = Index::new(&data)
                .unwrap()
                .dump()
                .unwrap()
                .into_iter()
                .flat_map(|(k, vals)| {
                    vals.into_iter()
                        .map(move |(_, v)| format!("{} {}", String::from_utf8_lossy(&k), String::from_utf8_lossy(v)))
                })
                .collect();
            v.sort();
            v
        };
        let sorted_text = |txt: &str, f: &dyn Fn(&str) -> String| {
            let mut v: Vec<String> = String::from_utf8(read(txt))
                .unwrap()
                .lines()
                .filter(|l| !l.starts_with('#') && !l.is_empty())
                .map(f)
                .collect();
            v.sort();
            v
        };
        // modules.dep: "path: deps" under the module's name.
        let dep = sorted_text("modules.dep", &|l: &str| {
            format!(
                "{} {}",
                l.split(':').next().unwrap().rsplit('/').next().unwrap().split('.').next().unwrap().replace('-', "_"),
                l
            )
        });
        same_lines(&sorted_dump("modules.dep.bin"), &dep, "modules.dep.bin");
        // modules.alias / modules.symbols: "alias PATTERN MODULE".
        for (bin, txt) in [("modules.alias.bin", "modules.alias"), ("modules.symbols.bin", "modules.symbols")] {
            // depmod stores alias keys normalised: '-' as '_' outside [...].
            let t = sorted_text(txt, &|l: &str| {
                let rest = l.split_once(' ').unwrap().1;
                let (key, module) = rest.rsplit_once(' ').unwrap();
                format!("{} {module}", alias_normalize(key))
            });
            same_lines(&sorted_dump(bin), &t, bin);
        }
        // Lookups: one concrete key made from each 40th alias pattern.
        let aliases = String::from_utf8(read("modules.alias")).unwrap();
        let data = read("modules.alias.bin");
        let idx = Index::new(&data).unwrap();
        for pattern in aliases.lines().filter_map(|l| l.split(' ').nth(1)).step_by(40) {
            let key: String = pattern.replace('*', "").replace('?', "x");
            if key.contains('[') {
                continue;
            }
            let mut ours: Vec<String> = idx
                .search_wild(alias_normalize(&key).as_bytes())
                .unwrap()
                .iter()
                .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
                .collect();
            let out =
                Command::new("modprobe").arg("-d").arg(root.path()).args(["-S", &kver, "-R", &key]).output().unwrap();
            let mut theirs: Vec<String> = String::from_utf8(out.stdout).unwrap().lines().map(String::from).collect();
            // kmod adds built-in aliases and removes duplicates; compare
            // against modules.alias.bin's share only.
            ours.dedup();
            ours.sort();
            theirs.sort();
            theirs.dedup();
            theirs.retain(|m| {
                ours.contains(m)
                    || !tree.join("modules.builtin").exists()
                    || !String::from_utf8_lossy(&read("modules.builtin")).contains(&format!("/{m}.ko"))
            });
            assert_eq!(ours, theirs, "alias key {key} (pattern {pattern})");
        }
    }
}

/// Asserts two sorted line lists are equal, showing only what differs.
fn same_lines(ours: &[String], theirs: &[String], what: &str) {
    if ours != theirs {
        let only_ours: Vec<&String> = ours.iter().filter(|l| theirs.binary_search(l).is_err()).take(10).collect();
        let only_theirs: Vec<&String> = theirs.iter().filter(|l| ours.binary_search(l).is_err()).take(10).collect();
        panic!(
            "{what}: {} vs {} lines\nonly in ours: {only_ours:#?}\nonly in theirs: {only_theirs:#?}",
            ours.len(),
            theirs.len()
        );
    }
}

/// kmod's alias_normalize(): '-' as '_' outside bracket expressions.
fn alias_normalize(key: &str) -> String {
    let mut depth = 0;
    key.chars()
        .map(|c| {
            depth += (c == '[') as i32 - (c == ']') as i32;
            if c == '-' && depth == 0 {
                '_'
            } else {
                c
            }
        })
        .collect()
}

/// A sample of the names modprobe is asked for: module names (with `-` and
/// `_`), concrete keys made from alias patterns (pci:, usb:, fs-,
/// char-major-, crypto-...), `symbol:` names, built-in modules, and names
/// that resolve to nothing.
fn probe_names(dir: &Path) -> Vec<String> {
    let text = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap();
    let dep = text("modules.dep");
    let mods: Vec<&str> = dep
        .lines()
        .map(|l| l.split(':').next().unwrap().rsplit('/').next().unwrap().split('.').next().unwrap())
        .collect();
    let mut names: Vec<String> = mods.iter().step_by(8).map(|m| m.to_string()).collect();
    names.extend(mods.iter().step_by(16).map(|m| m.replace('_', "-")));
    let aliases = text("modules.alias");
    let patterns: Vec<&str> = aliases.lines().filter_map(|l| l.split(' ').nth(1)).collect();
    names
        .extend(patterns.iter().step_by(60).filter(|p| !p.contains('[')).map(|p| p.replace('*', "").replace('?', "x")));
    names.extend(
        patterns
            .iter()
            .filter(|p| {
                ["fs-", "char-major-", "crypto-", "block-major-", "net-pf-", "devname:"]
                    .iter()
                    .any(|s| p.starts_with(s))
            })
            .step_by(3)
            .map(|p| p.to_string()),
    );
    names.extend(text("modules.symbols").lines().filter_map(|l| l.split(' ').nth(1)).step_by(80).map(String::from));
    names.extend(
        text("modules.builtin")
            .lines()
            .step_by(10)
            .map(|l| l.rsplit('/').next().unwrap().trim_end_matches(".ko").to_string()),
    );
    names.extend(
        [
            "nosuch-module",
            "../../etc/passwd",
            "/etc/passwd",
            "a[b",
            "x]",
            "symbol:nosuch",
            "dummy.ko",
            "my-dummy",
            "pcspkr",
            "platform:pcspkr",
            "bridge",
            "8021q",
            "crc7",
            "loop",
            "dummy",
            "snd-hda-intel",
        ]
        .map(String::from),
    );
    names
}

/// The same modprobe command line through modbox and through kmod.
fn both(args: &[&str]) -> (Run, Run) {
    let o = Command::new(BIN).arg("modprobe").args(args).output().unwrap();
    let t = Command::new("modprobe").args(args).output().unwrap();
    ((o.stdout, o.stderr, o.status.code()), (t.stdout, t.stderr, t.status.code()))
}

/// modprobe's answers against kmod's on both Debian trees: what
/// --show-depends, -n -v and -R print for hundreds of names, with and
/// without a configuration that has every kind of directive, and -c.
#[test]
fn modprobe_matches_kmod() {
    for tree in trees() {
        let (root, kver) = indexed_copy(&tree, "modprobe");
        let base = root.path().to_str().unwrap().to_string();
        let conf = root.path().join("modprobe.d");
        std::fs::create_dir_all(&conf).unwrap();
        std::fs::write(
            conf.join("test.conf"),
            "alias my-dummy dummy\nalias pci:v00008086d000010D3sv*sd*bc*sc*i* dummy\noptions dummy numdummies=3\noptions snd-hda-intel  model=x\tindex=1\noptions my_dummy extra=1\ninstall crc7 /bin/true\nsoftdep bridge pre: dummy crc7 post: loop\nsoftdep 8021q post: nosuch-mod\nblacklist snd_pcsp\nblacklist pcspkr\n",
        )
        .unwrap();
        std::fs::write(conf.join("00-early.conf"), "options loop max_loop=4\nsoftdep dumm* pre: crc7\n").unwrap();
        let names = probe_names(&root.path().join("lib/modules").join(&kver));
        let conf = conf.to_str().unwrap();
        let empty = root.path().join("empty.d");
        std::fs::create_dir_all(&empty).unwrap();
        for cfg in [empty.to_str().unwrap(), conf] {
            for mode in [&["--show-depends"][..], &["-n", "-v"], &["-R"], &["-n", "-v", "-b"], &["-n", "-v", "-i"]] {
                for chunk in names.chunks(100) {
                    let mut args = vec!["-d", &base, "-S", &kver, "-C", cfg, "-a"];
                    args.extend_from_slice(mode);
                    let batch: Vec<&str> = args.iter().copied().chain(chunk.iter().map(String::as_str)).collect();
                    let (o, t) = both(&batch);
                    if o == t {
                        continue;
                    }
                    for n in chunk {
                        let one: Vec<&str> = args.iter().copied().filter(|a| *a != "-a").chain([n.as_str()]).collect();
                        let (o, t) = both(&one);
                        same_run(&format!("modprobe {one:?}"), &o, &t);
                    }
                    panic!("modprobe {args:?} differs on a batch but on no single name of it");
                }
            }
        }
        let (o, t) = both(&["-d", &base, "-S", &kver, "-C", conf, "-c"]);
        same_run("modprobe -c", &o, &t);
        // The symbols modules export and the versions they need, for every
        // 50th module and a few files that are no modules.
        let mut files: Vec<String> = modules(&tree).into_iter().step_by(50).collect();
        files.extend(["/etc/passwd", "/nonexistent", "/tmp"].map(String::from));
        for f in &files {
            for flag in ["--show-exports", "--dump-modversions"] {
                let (o, t) = both(&[flag, f]);
                same_run(&format!("modprobe {flag} {f}"), &o, &t);
            }
        }
    }
}

/// modbox's or kmod's depmod with `args`, then `-b ROOT KVER`: exit code,
/// stdout and stderr, ROOT written as B in both.
fn depmod(tool: &str, args: &[&std::ffi::OsStr], root: &Path, kver: &str) -> (Option<i32>, String, String) {
    let mut c = if tool == "kmod" { Command::new("depmod") } else { Command::new(BIN) };
    if tool != "kmod" {
        c.arg("depmod");
    }
    let o = c.args(args).arg("-b").arg(root).arg(kver).output().unwrap();
    let clean = |b: &[u8]| String::from_utf8_lossy(b).replace(root.to_str().unwrap(), "B");
    (o.status.code(), clean(&o.stdout), clean(&o.stderr))
}

/// The ten files depmod writes are the same in both module directories,
/// byte for byte.
fn same_depmod_files(ours: &Path, theirs: &Path, what: &str) {
    for f in common::DEPMOD_FILES {
        let (a, b) = (std::fs::read(ours.join(f)).unwrap(), std::fs::read(theirs.join(f)).unwrap());
        assert!(a == b, "{what}: {f} differs ({} vs {} bytes)", a.len(), b.len());
    }
}

/// depmod: modbox's and kmod's on two hard-linked copies of each tree write
/// the same ten files, byte for byte; then modprobe (kmod's) and modbox's
/// index reader, each given only modbox's files, answer dependency lookups
/// as they do from kmod's files.
#[test]
fn depmod_matches_kmod_on_both_trees() {
    use modbox::moddir::index::Index;
    for tree in trees() {
        let kver = tree.file_name().unwrap().to_str().unwrap().to_string();
        let copy = |tag: &str| {
            let root =
                common::TempDir(Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("target/tmp-depmod-{tag}-{kver}")));
            let _ = std::fs::remove_dir_all(root.path());
            std::fs::create_dir_all(root.path().join("lib/modules")).unwrap();
            assert!(Command::new("cp")
                .arg("-al")
                .arg(&tree)
                .arg(root.path().join("lib/modules"))
                .status()
                .unwrap()
                .success());
            root
        };
        let (ours, theirs) = (copy("modbox"), copy("kmod"));
        let (o, t) = (depmod("modbox", &[], ours.path(), &kver), depmod("kmod", &[], theirs.path(), &kver));
        assert_eq!(o.0, Some(0), "modbox depmod: {}", o.2);
        assert_eq!(t.0, Some(0));
        assert_eq!(o.2, t.2);
        let dir = |r: &common::TempDir| r.path().join("lib/modules").join(&kver);
        same_depmod_files(&dir(&ours), &dir(&theirs), &kver);
        // -e with the package's System.map: the same warnings, line for line.
        let map = tree.join(format!("../../../boot/System.map-{kver}"));
        if map.exists() {
            let args = ["-n".as_ref(), "-e".as_ref(), "-F".as_ref(), map.as_os_str()];
            let (a, b) = (depmod("modbox", &args, ours.path(), &kver), depmod("kmod", &args, theirs.path(), &kver));
            assert!(a == b, "{kver}: depmod -n -e -F System.map differs");
            assert!(a.2.contains("needs unknown symbol"));
        }
        // Only modbox's files in the tree kmod's modprobe reads from, and of
        // those the binary indexes wherever one exists (softdeps only have
        // the text form).
        for f in ["modules.dep", "modules.alias", "modules.symbols", "modules.devname"] {
            std::fs::remove_file(dir(&ours).join(f)).unwrap();
        }
        let dep_bin = std::fs::read(dir(&ours).join("modules.dep.bin")).unwrap();
        let kmod_bin = std::fs::read(dir(&theirs).join("modules.dep.bin")).unwrap();
        let (ix, kx) = (Index::new(&dep_bin).unwrap(), Index::new(&kmod_bin).unwrap());
        for m in modules(&tree).iter().step_by(37) {
            let name = m.rsplit('/').next().unwrap().split('.').next().unwrap().replace('-', "_");
            assert_eq!(ix.get(name.as_bytes()).unwrap(), kx.get(name.as_bytes()).unwrap(), "{name}");
            let show = |root: &common::TempDir| {
                let o = Command::new("modprobe")
                    .arg("-d")
                    .arg(root.path())
                    .args(["-S", &kver, "--show-depends", &name])
                    .output()
                    .unwrap();
                (
                    o.status.code(),
                    String::from_utf8_lossy(&o.stdout).replace(root.path().to_str().unwrap(), "ROOT"),
                    String::from_utf8_lossy(&o.stderr).replace(root.path().to_str().unwrap(), "ROOT"),
                )
            };
            assert_eq!(show(&ours), show(&theirs), "modprobe --show-depends {name}");
        }
    }
}

/// Trees built for other architectures, which depmod and modinfo meet when
/// an image for another machine is put together on this one: every plain
/// module of a tree rewritten by tests/elfconv as 32-bit, big-endian and
/// both. modbox's depmod writes kmod's files byte for byte with the same
/// warnings (also against System.map, where exports' CRCs are compared with
/// their users' __versions), and modinfo and --dump-modversions print what
/// kmod's do.
#[test]
fn other_architectures_match_kmod() {
    let all = trees();
    // The first tree with uncompressed modules, and those modules' paths
    // relative to it.
    let Some((tree, plain)) = all.iter().find_map(|t| {
        let plain: Vec<String> = modules(t).into_iter().filter(|m| m.ends_with(".ko")).collect();
        (!plain.is_empty()).then_some((t, plain))
    }) else {
        assert!(all.is_empty(), "no tree with uncompressed modules");
        return;
    };
    let kver = tree.file_name().unwrap().to_str().unwrap().to_string();
    let rel: Vec<&str> =
        plain.iter().map(|m| m.strip_prefix(tree.to_str().unwrap()).unwrap().trim_start_matches('/')).collect();
    let map = tree.join(format!("../../../boot/System.map-{kver}"));
    for (class, order) in [("32", "le"), ("64", "be"), ("32", "be")] {
        let make = |tool: &str| {
            let root = common::TempDir(
                Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("target/tmp-arch{class}{order}-{tool}-{kver}")),
            );
            let _ = std::fs::remove_dir_all(root.path());
            let dir = root.path().join("lib/modules").join(&kver);
            let mut c = Command::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/elfconv"));
            c.args([class, order]);
            for (m, r) in plain.iter().zip(&rel) {
                let out = dir.join(r);
                std::fs::create_dir_all(out.parent().unwrap()).unwrap();
                c.arg(m).arg(out);
            }
            assert!(c.status().unwrap().success(), "tests/elfconv {class} {order}");
            for f in ["modules.order", "modules.builtin", "modules.builtin.modinfo"] {
                std::fs::copy(tree.join(f), dir.join(f)).unwrap();
            }
            (root, dir)
        };
        let ((ours, ours_dir), (theirs, theirs_dir)) = (make("modbox"), make("kmod"));
        let what = format!("{kver} as {class}-bit {order}");
        assert_eq!(
            depmod("modbox", &[], ours.path(), &kver),
            depmod("kmod", &[], theirs.path(), &kver),
            "{what}: depmod"
        );
        same_depmod_files(&ours_dir, &theirs_dir, &what);
        let symbols = std::fs::read_to_string(ours_dir.join("modules.symbols")).unwrap();
        assert!(symbols.lines().count() > 1000, "{what}: only {} exports found", symbols.lines().count());
        if map.exists() {
            let args = ["-n".as_ref(), "-e".as_ref(), "-F".as_ref(), map.as_os_str()];
            let (a, b) = (depmod("modbox", &args, ours.path(), &kver), depmod("kmod", &args, theirs.path(), &kver));
            assert!(a == b, "{what}: depmod -n -e -F System.map differs");
            assert!(a.2.contains("needs unknown symbol"), "{what}: no warning from -e");
        }
        let converted: Vec<String> = rel.iter().map(|r| ours_dir.join(r).to_str().unwrap().to_string()).collect();
        for chunk in converted.chunks(400) {
            assert!(
                run("modbox", &[], chunk) == run("kmod", &[], chunk),
                "{what}: modinfo differs on a module of {}..",
                chunk[0]
            );
        }
        for m in converted.iter().step_by(40) {
            let (o, t) = both(&["--dump-modversions", m]);
            assert!(o == t, "{what}: modprobe --dump-modversions {m} differs");
        }
    }
}

/// modinfo's signature fields against kmod's (which reads them with
/// OpenSSL) for the signatures fuzz/sigseeds appends to a real module: every
/// digest algorithm kmod names, issuers with and without a commonName, a
/// NUL inside one, long DER lengths, and the older PGP and X.509 kinds.
/// Two shapes are left out on purpose: a PKCS#7 blob OpenSSL refuses as a
/// whole (a certificate that does not parse, a serial number with a
/// superfluous leading zero) makes kmod print no signature fields, where
/// modbox, which walks only to the fields it shows, prints them.
#[test]
fn signature_shapes_match_kmod() {
    let trees = trees();
    if trees.is_empty() {
        return;
    }
    let llc = trees
        .iter()
        .flat_map(|t| modules(t))
        .find(|m| m.ends_with("/llc.ko"))
        .expect("an uncompressed llc.ko in a tree");
    let dir = common::TempDir::new("sigseeds");
    let st =
        Command::new(concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz/sigseeds")).arg(&llc).arg(dir.path()).status().unwrap();
    assert!(st.success());
    let mut files: Vec<String> =
        std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().path().to_str().unwrap().to_string()).collect();
    files.sort();
    files.retain(|f| !f.ends_with("-certs-attrs.ko") && !f.ends_with("-serial-zero.ko"));
    assert!(files.len() >= 19, "{files:?}");
    for f in &files {
        let (o, t) = (run("modbox", &[], std::slice::from_ref(f)), run("kmod", &[], std::slice::from_ref(f)));
        same_run(&format!("modinfo {f}"), &o, &t);
        if !f.ends_with("-unknown.ko") {
            assert!(String::from_utf8_lossy(&o.0).contains("\nsig_hashalgo:"), "{f}: no signature read");
        }
    }
}
