//! modinfo against kmod's on every module of Debian's real kernel trees
//! (fetched by initramfs/fetch-kernel into the cache; tests/run fetches
//! them first and sets MODBOX_REQUIRE_TREES so that CI cannot skip this).

mod common;
use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_modbox");

/// The lib/modules/KVER directories of the cached kernel packages.
fn trees() -> Vec<PathBuf> {
    let cache = std::env::var_os("MODBOX_CACHE").map(PathBuf::from).unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/cache"));
    let mut found = Vec::new();
    for pkg in std::fs::read_dir(cache.join("kernels")).into_iter().flatten().flatten() {
        for kver in std::fs::read_dir(pkg.path().join("lib/modules")).into_iter().flatten().flatten() {
            found.push(kver.path());
        }
    }
    found.sort();
    if found.len() < 2 {
        assert!(std::env::var_os("MODBOX_REQUIRE_TREES").is_none(), "MODBOX_REQUIRE_TREES is set but {cache:?} has no kernel trees");
        eprintln!("skipping: no kernel trees in {cache:?} (initramfs/fetch-kernel 6.1 and 6.12 fetch them)");
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

#[test]
fn modinfo_matches_kmod_on_every_module() {
    for tree in trees() {
        let mods = modules(&tree);
        for flags in [&[][..], &["-0"], &["-F", "vermagic"], &["-p"], &["-0", "-p"], &["-a"], &["-d"], &["-l"], &["-n"], &["-F", "signature"], &["-F", "sig_key"], &["-F", "alias"]] {
            for chunk in mods.chunks(400) {
                let ours = run("modbox", flags, chunk);
                let theirs = run("kmod", flags, chunk);
                if ours != theirs {
                    // Narrow it down to the first module that differs.
                    for m in chunk {
                        let (o, t) = (run("modbox", flags, std::slice::from_ref(m)), run("kmod", flags, std::slice::from_ref(m)));
                        assert!(o == t, "modinfo {flags:?} {m}:\n--- modbox\n{}{}--- kmod\n{}{}", String::from_utf8_lossy(&o.0), String::from_utf8_lossy(&o.1), String::from_utf8_lossy(&t.0), String::from_utf8_lossy(&t.1));
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
        names.extend(builtin.lines().step_by(15).map(|l| l.rsplit('/').next().unwrap().trim_end_matches(".ko").replace('_', "-")));
        names.extend(["no-such-module", "../../etc/passwd", "snd-hda-intel"].map(String::from));
        for flags in [&[][..], &["-F", "filename"], &["-n"], &["-m"], &["-F", "name"], &["-0"]] {
            for name in &names {
                let args: Vec<&str> = ["-b", base, "-k", &kver].iter().copied().chain(flags.iter().copied()).chain([name.as_str()]).collect();
                let (o, t) = (run("modbox", &args, &[]), run("kmod", &args, &[]));
                assert!(o == t, "modinfo {args:?}:\n--- modbox\n{}{}{:?}\n--- kmod\n{}{}{:?}", String::from_utf8_lossy(&o.0), String::from_utf8_lossy(&o.1), o.2, String::from_utf8_lossy(&t.0), String::from_utf8_lossy(&t.1), t.2);
            }
        }
    }
}
